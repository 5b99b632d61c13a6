from django.db import migrations, models
from django.db.models import Count
from django.db.models.functions import Lower


def refuse_case_duplicates(apps, schema_editor):
    """Two accounts whose emails differ only in case cannot both sign in: say which, change nothing."""
    User = apps.get_model("recommendations", "User")
    duplicates = list(
        User.objects.values(email_lower=Lower("email"))
        .annotate(accounts=Count("id"))
        .filter(accounts__gt=1)
        .values_list("email_lower", flat=True)[:10]
    )
    if duplicates:
        raise RuntimeError(
            "Emails are now case-insensitive, and these belong to more than one user: "
            f"{', '.join(duplicates)}. Merge or rename those accounts, then migrate again."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("recommendations", "0005_generated_message_reached_gemini_backfill"),
    ]

    operations = [
        migrations.RunPython(refuse_case_duplicates, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(
                Lower("email"),
                name="user_email_unique_ignoring_case",
                violation_error_message="A user with this email address already exists.",
            ),
        ),
    ]
