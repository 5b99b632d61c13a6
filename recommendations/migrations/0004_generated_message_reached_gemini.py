from django.db import migrations, models
from django.db.models import Q


def mark_old_rows(apps, schema_editor):
    """Rows written before the field: those whose outcome could only come from Gemini reached it.

    A row cut by the old page deadline ("deadline") may or may not have been sent; it is counted as
    not sent, as it would be if the call had never left.
    """
    GeneratedMessage = apps.get_model("recommendations", "GeneratedMessage")
    GeneratedMessage.objects.filter(
        Q(outcome__in=["ok", "blocked", "invalid"])
        | Q(detail__startswith="status_")
        | (Q(outcome="timeout") & ~Q(detail="deadline"))
    ).update(reached_gemini=True)


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
        migrations.RunPython(mark_old_rows, migrations.RunPython.noop, elidable=True),
    ]
