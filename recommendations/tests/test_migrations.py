"""Data migrations: what they make of rows written before them."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate_to(name):
    """The database migrated (forward or back) to this migration of the app; its models then."""
    target = [("recommendations", name)]
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()  # the migrations applied so far, as they stand now
    executor.migrate(target)
    return executor.loader.project_state(target).apps


@pytest.mark.django_db(transaction=True)
def test_old_message_rows_reached_gemini_when_only_gemini_could_have_answered():
    apps = migrate_to("0003_coordi_catalogue_version")
    User = apps.get_model("recommendations", "User")
    Coordi = apps.get_model("recommendations", "Coordi")
    GeneratedMessage = apps.get_model("recommendations", "GeneratedMessage")
    user = User.objects.create(email="old@example.com", gender="female")
    coordi = Coordi.objects.create(season="spring", style="casual", gender="female")
    rows = {
        ("ok", ""): True, ("blocked", "finish_SAFETY"): True, ("invalid", "too_long"): True,
        ("error", "status_500"): True, ("rate_limited", "status_429"): True,
        ("timeout", "ReadTimeout"): True, ("timeout", "deadline"): False,
        ("error", "ConnectError"): False, ("rate_limited", "rate_limit"): False,
    }  # fmt: skip
    for outcome, detail in rows:
        GeneratedMessage.objects.create(
            coordi=coordi, user=user, outcome=outcome, detail=detail, model="m", prompt_version="p",
            latency_ms=1,
        )  # fmt: skip
    try:
        apps = migrate_to("0005_generated_message_reached_gemini_backfill")
        marked = {
            (row.outcome, row.detail): row.reached_gemini
            for row in apps.get_model("recommendations", "GeneratedMessage").objects.all()
        }
    finally:
        call_command("migrate", verbosity=0)  # back to the latest, for the tests after this one

    assert marked == rows


@pytest.mark.django_db(transaction=True)
def test_emails_differing_only_in_case_stop_the_migration_naming_them_and_keep_both_accounts():
    User = migrate_to("0005_generated_message_reached_gemini_backfill").get_model("recommendations", "User")
    User.objects.create(email="Twin@example.com", gender="female")
    User.objects.create(email="twin@example.com", gender="female")
    try:
        with pytest.raises(RuntimeError, match=r"twin@example\.com.*Merge or rename"):
            migrate_to("0006_user_email_unique_ignoring_case")
        assert sorted(User.objects.values_list("email", flat=True)) == [
            "Twin@example.com", "twin@example.com",
        ]  # fmt: skip
    finally:
        User.objects.filter(email__iexact="twin@example.com").delete()
        call_command("migrate", verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_rows_outside_the_vocabulary_stop_the_migration_naming_them_and_keep_them():
    Coordi7 = migrate_to("0007_message_tokens_and_page_views").get_model("recommendations", "Coordi")
    bad = Coordi7.objects.create(gender="FEMALE", season="겨울", style="casual")
    try:
        with pytest.raises(RuntimeError, match=(
            rf"1 Coordi rows with a gender outside male/female \(values 'FEMALE'; ids {bad.pk}\); "
            rf"1 Coordi rows with a season outside spring/summer/fall/winter "
            rf"\(values '겨울'; ids {bad.pk}\)\. "
            r"Correct them")):  # fmt: skip
            migrate_to("0008_catalogue_source_and_vocabulary")
        assert Coordi7.objects.filter(pk=bad.pk).exists()
    finally:
        Coordi7.objects.filter(pk=bad.pk).delete()
        call_command("migrate", verbosity=0)
