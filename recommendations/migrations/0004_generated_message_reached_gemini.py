from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("recommendations", "0003_coordi_catalogue_version"),
    ]

    operations = [
        migrations.AddField(
            model_name="generatedmessage",
            name="reached_gemini",
            field=models.BooleanField(
                default=False,
                help_text="The request went to Gemini (a call paid for); false when it was never sent "
                "(paused, rate limited, no free slot).",
            ),
        ),
    ]
