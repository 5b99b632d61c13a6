"""The replaced service's eight hashtags, which its web client offers at onboarding. Reversing the
migration leaves them: a user's choices may point at them."""

from django.apps.registry import Apps
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

HASHTAGS = ["#캐주얼", "#미니멀", "#스트리트", "#스포티", "#편안한", "#데일리룩", "#오피스룩", "#데이트룩"]


def seed(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    Hashtag = apps.get_model("recommendations", "Hashtag")
    for name in HASHTAGS:
        Hashtag.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("recommendations", "0009_web_client")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
