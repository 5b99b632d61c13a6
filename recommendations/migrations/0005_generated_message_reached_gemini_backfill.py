"""Rows written before `reached_gemini`: those whose outcome could only come from Gemini reached it.

Apart from the column's migration, and outside a transaction, so that a large table is updated with
row locks only, not behind the ALTER's table lock.
"""

from django.db import migrations
from django.db.models import Q


def mark_old_rows(apps, schema_editor):
    # A row cut by the old page deadline ("deadline") may or may not have been sent; it is counted as
    # not sent, as it would be if the call had never left.
    GeneratedMessage = apps.get_model("recommendations", "GeneratedMessage")
    GeneratedMessage.objects.filter(
        Q(outcome__in=["ok", "blocked", "invalid"])
        | Q(detail__startswith="status_")
        | (Q(outcome="timeout") & ~Q(detail="deadline"))
    ).update(reached_gemini=True)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("recommendations", "0004_generated_message_reached_gemini"),
    ]

    operations = [
        migrations.RunPython(mark_old_rows, migrations.RunPython.noop, elidable=True),
    ]
