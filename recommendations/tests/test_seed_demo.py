"""seed_demo: the catalogue and accounts it makes, its pictures, its re-runs and the input it refuses."""

import re
from io import StringIO
from itertools import product
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Model
from PIL import Image
from rest_framework.authtoken.models import Token

from recommendations.demo.catalogue import build_items, plan_coordis
from recommendations.models import (
    Category,
    Coordi,
    CoordiImage,
    CoordiItem,
    Gender,
    Item,
    ItemImage,
    Season,
    Style,
    User,
    UserClosetItem,
    UserCoordiInteraction,
    UserPreferredCoordi,
    UserPreferredHashtag,
)

BASE_URL = "http://127.0.0.1:8000"
HANGUL = re.compile("[가-힣]")
SEEDED_MODELS: tuple[type[Model], ...] = (
    User,
    Item,
    ItemImage,
    Coordi,
    CoordiImage,
    CoordiItem,
    UserCoordiInteraction,
    UserClosetItem,
    UserPreferredHashtag,
    UserPreferredCoordi,
    Token,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_dir(settings, tmp_path: Path) -> Path:
    """Where the pictures go: a temporary DEMO_STATIC_DIR, so tests never write into the repository."""
    settings.DEMO_STATIC_DIR = tmp_path / "static"
    # The real hasher costs ~0.3 s a user; these tests are not about hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return tmp_path / "static" / "demo"


def seed_demo(*args: str, **options: object) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out, **options)
    return out.getvalue()


def demo_token(output: str) -> str:
    (line,) = [line for line in output.splitlines() if line.startswith("DEMO_TOKEN=")]
    return line.removeprefix("DEMO_TOKEN=")


def counts() -> dict[str, int]:
    return {model.__name__: model._default_manager.count() for model in SEEDED_MODELS}


def image_urls() -> list[str]:
    return [
        *CoordiImage.objects.values_list("image_url", flat=True),
        *ItemImage.objects.values_list("image_url", flat=True),
    ]


def test_default_run_builds_a_varied_catalogue(demo_dir: Path) -> None:
    seed_demo()

    coordis = list(Coordi.objects.prefetch_related("images", "coordi_items__item"))
    assert len(coordis) >= 60
    assert {c.style for c in coordis} == set(Style.values)
    assert {c.season for c in coordis} == set(Season.values)
    assert {c.gender for c in coordis} == set(Gender.values)
    assert len({(c.gender, c.description) for c in coordis}) == len(coordis)
    for coordi in coordis:
        images = list(coordi.images.all())
        assert 1 <= len(images) <= 3
        assert [image.is_main for image in images] == [True] + [False] * (len(images) - 1)
        assert [image.position for image in images] == list(range(len(images)))
        categories = [link.item.category for link in coordi.coordi_items.all()]
        assert 2 <= len(categories) <= 4
        assert {Category.TOP, Category.BOTTOM} <= set(categories)
        if coordi.season in (Season.FALL, Season.WINTER):
            assert Category.OUTER in categories
        assert HANGUL.search(coordi.description)

    items = list(Item.objects.prefetch_related("images"))
    assert {item.category for item in items} == set(Category.values)
    for item in items:
        assert 1 <= len(item.images.all()) <= 2
        assert 19_000 <= item.price <= 289_000 and item.price % 1_000 == 0
        assert item.purchase_url.startswith("https://shop.example.com/items/")
        assert HANGUL.search(item.brand) and HANGUL.search(item.name)


def test_pictures_are_small_jpegs_served_under_the_base_url(demo_dir: Path) -> None:
    seed_demo()

    for coordi in Coordi.objects.prefetch_related("images"):
        assert coordi.images.all()[0].image_url == f"{BASE_URL}/static/demo/coordi-{coordi.pk}.jpg"
    for item in Item.objects.prefetch_related("images"):
        assert item.images.all()[0].image_url == f"{BASE_URL}/static/demo/item-{item.pk}.jpg"
    for url in image_urls():
        assert url.startswith(f"{BASE_URL}/static/demo/")
        path = demo_dir / url.rsplit("/", 1)[1]
        with Image.open(path) as picture:
            assert picture.format == "JPEG"
            assert picture.size == ((480, 640) if "/coordi-" in url else (400, 400))
        assert path.stat().st_size < 60_000


def test_accounts_and_sign_in_instructions(demo_dir: Path) -> None:
    output = seed_demo()

    demo = User.objects.get(email="demo@example.com")
    assert (demo.name, demo.gender, demo.is_staff) == ("김민지", Gender.FEMALE, False)
    assert demo.check_password("demo-password")
    admin = User.objects.get(email="admin@example.com")
    assert (admin.name, admin.is_staff, admin.is_superuser) == ("관리자", True, True)
    assert admin.check_password("admin-password")
    assert demo_token(output) == Token.objects.get(user=demo).key
    assert f"{BASE_URL}/admin/" in output
    assert "admin-password" in output and "demo-password" in output
    assert f"Bearer {demo_token(output)}" in output


def test_second_run_creates_nothing_and_keeps_ids_token_and_pictures(demo_dir: Path) -> None:
    first = seed_demo()
    before = counts()
    coordi_ids = list(Coordi.objects.values_list("pk", flat=True))
    item_ids = list(Item.objects.values_list("pk", flat=True))
    drawn = {path.name: path.stat().st_mtime_ns for path in demo_dir.iterdir()}

    second = seed_demo()

    assert counts() == before
    assert list(Coordi.objects.values_list("pk", flat=True)) == coordi_ids
    assert list(Item.objects.values_list("pk", flat=True)) == item_ids
    assert demo_token(second) == demo_token(first)
    assert {path.name: path.stat().st_mtime_ns for path in demo_dir.iterdir()} == drawn
    assert re.search(r"coordis\s+0 created\s+\d+ existing", second)


def test_rerun_draws_missing_pictures_and_keeps_a_changed_password(demo_dir: Path) -> None:
    seed_demo()
    coordi = Coordi.objects.first()
    assert coordi is not None
    (demo_dir / f"coordi-{coordi.pk}.jpg").unlink()
    demo = User.objects.get(email="demo@example.com")
    demo.set_password("chosen-by-the-user")
    demo.save()

    seed_demo()

    assert (demo_dir / f"coordi-{coordi.pk}.jpg").is_file()
    demo.refresh_from_db()
    assert demo.check_password("chosen-by-the-user")


def test_another_base_url_rewrites_the_picture_urls(demo_dir: Path) -> None:
    seed_demo()
    before = counts()

    output = seed_demo("--base-url", "http://127.0.0.1:8123/")

    assert counts() == before
    urls = image_urls()
    assert urls and all(url.startswith("http://127.0.0.1:8123/static/demo/") for url in urls)
    assert "http://127.0.0.1:8123/admin/" in output


def test_a_larger_count_adds_only_the_missing_coordis_in_the_same_timeline(demo_dir: Path) -> None:
    seed_demo("--coordis", "8")
    first_ids = dict(Coordi.objects.values_list("description", "pk"))

    seed_demo("--coordis", "12")

    assert Coordi.objects.count() == 12
    assert {
        d: pk for d, pk in Coordi.objects.values_list("description", "pk") if d in first_ids
    } == first_ids
    newest_first = list(
        Coordi.objects.order_by("-created_at", "-id").values_list("description", flat=True)
    )
    assert newest_first == [coordi.description for coordi in plan_coordis(12)]


def test_the_catalogue_is_the_same_on_every_run() -> None:
    assert build_items() == build_items()
    assert plan_coordis(40) == plan_coordis(40)
    assert plan_coordis(60)[:40] == plan_coordis(40)


def test_coordis_are_spread_evenly(demo_dir: Path) -> None:
    seed_demo("--coordis", "64")

    combinations = list(Coordi.objects.values_list("gender", "style", "season"))
    expected = product(Gender.values, Style.values, Season.values)
    assert sorted(combinations) == sorted(list(expected) * 2)


def test_demo_user_gets_twenty_fresh_coordis_and_sees_saved_items(demo_dir: Path) -> None:
    seed_demo()

    demo = User.objects.get(email="demo@example.com")
    verdicts = set(demo.coordi_interactions.values_list("action", "coordi__gender"))
    assert verdicts == {("like", demo.gender), ("skip", demo.gender)}
    # The default recommender's rule: the user's gender, not liked or skipped, newest first.
    shown = (
        Coordi.objects.filter(gender=demo.gender)
        .exclude(interactions__user=demo)
        .order_by("-created_at", "-id")
    )
    assert shown.count() >= 20
    first_page_items = set(
        CoordiItem.objects.filter(coordi__in=list(shown[:20])).values_list("item_id", flat=True)
    )
    closet = set(demo.closet_items.values_list("item_id", flat=True))
    assert closet and closet <= first_page_items


def test_demo_user_is_onboarded(demo_dir: Path) -> None:
    seed_demo()

    demo = User.objects.get(email="demo@example.com")
    assert demo.has_completed_onboarding is True
    tags = list(demo.preferred_hashtags.order_by("hashtag_id").values_list("hashtag__name", flat=True))
    assert sorted(tags) == sorted(["#캐주얼", "#미니멀", "#데일리룩"])
    preferred = list(demo.preferred_coordis.order_by("id").select_related("coordi"))
    assert len(preferred) == 5
    assert {entry.coordi.gender for entry in preferred} == {demo.gender}
    # Outfits the demo user still sees (not liked or skipped), newest first.
    shown = (
        Coordi.objects.filter(gender=demo.gender)
        .exclude(interactions__user=demo)
        .order_by("-created_at", "-id")
    )
    assert [entry.coordi_id for entry in preferred] == [coordi.id for coordi in shown[:5]]
    admin = User.objects.get(email="admin@example.com")
    assert admin.has_completed_onboarding is False


def test_rerun_keeps_an_onboarding_choice_the_user_made_since(demo_dir: Path) -> None:
    seed_demo()
    demo = User.objects.get(email="demo@example.com")
    demo.preferred_hashtags.exclude(hashtag__name="#캐주얼").delete()
    chosen = list(demo.preferred_coordis.values_list("pk", "coordi_id"))

    output = seed_demo()

    assert list(demo.preferred_hashtags.values_list("hashtag__name", flat=True)) == ["#캐주얼"]
    assert list(demo.preferred_coordis.values_list("pk", "coordi_id")) == chosen
    assert re.search(r"onboarding\s+0 created\s+1 existing", output)


def test_a_demo_user_seeded_before_onboarding_existed_is_onboarded_on_a_rerun(demo_dir: Path) -> None:
    seed_demo()
    demo = User.objects.get(email="demo@example.com")
    UserPreferredHashtag.objects.all().delete()
    UserPreferredCoordi.objects.all().delete()
    User.objects.filter(pk=demo.pk).update(has_completed_onboarding=False)

    seed_demo()

    demo.refresh_from_db()
    assert demo.has_completed_onboarding is True
    assert (demo.preferred_hashtags.count(), demo.preferred_coordis.count()) == (3, 5)


@pytest.mark.parametrize(
    "args",
    [
        ("--coordis", "0"),
        ("--coordis", "-5"),
        ("--coordis", "many"),
        ("--base-url", "ftp://127.0.0.1:8000"),
        ("--base-url", "127.0.0.1:8000"),
        ("--base-url", "http://127.0.0.1:port"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(demo_dir: Path, args: tuple[str, str]) -> None:
    with pytest.raises(CommandError, match=args[0]):
        seed_demo(*args)

    assert set(counts().values()) == {0}
    assert not demo_dir.parent.exists()


def test_a_zero_count_from_code_is_refused_too(demo_dir: Path) -> None:
    with pytest.raises(CommandError, match="--coordis"):
        seed_demo(coordis=0)
    assert Coordi.objects.count() == 0
