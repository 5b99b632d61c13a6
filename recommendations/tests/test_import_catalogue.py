"""import_catalogue: the replaced service's export loaded, mapped, idempotent, and the vocabulary
enforced by the database.

The export (data/export.json) is small and written for these tests: five outfits with 19-digit ids,
Korean vocabulary, an item given two categories by two outfits (7002), a style outside the vocabulary
(로맨틱), a season outside it (한여름), a malformed row (an image URL that is not one) and an item
without a price (7003).
"""

import copy
import json
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from recommendations.catalogue import read_export, write_catalogue
from recommendations.models import (
    Coordi,
    CoordiImage,
    CoordiItem,
    Item,
    ItemImage,
    User,
    UserCoordiInteraction,
)

from .factories import make_coordi, make_user, token_for

EXPORT = Path(__file__).parent / "data" / "export.json"
ROWS = json.loads(EXPORT.read_text(encoding="utf-8"))
FIRST, SECOND, FIFTH = "1438118102159533779", "1438118102159533780", "1438118102159533783"
JS_MAX_SAFE_INTEGER = 2**53 - 1

pytestmark = pytest.mark.django_db


def run(*args, path=EXPORT):
    out, err = StringIO(), StringIO()
    call_command("import_catalogue", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def write(tmp_path, rows, name="export.json"):
    path = tmp_path / name
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return path


def catalogue():
    """Everything the import writes, as plain values, to compare before and after."""
    return {
        "coordis": sorted(Coordi.objects.values_list(
            "id", "source_id", "gender", "season", "style", "description", "detail_url", "created_at",
            "catalogue_version")),
        "images": sorted(CoordiImage.objects.values_list("coordi_id", "image_url", "is_main", "position")),
        "items": sorted(Item.objects.values_list("id", "source_id", "category", "brand", "name", "price",
                                                 "purchase_url")),
        "item_images": sorted(ItemImage.objects.values_list("item_id", "image_url", "position")),
        "links": sorted(CoordiItem.objects.values_list("coordi_id", "item_id", "position")),
    }  # fmt: skip


def test_the_export_is_mapped_to_the_vocabulary_with_its_ids_kept_as_source_ids():
    out, err = run()

    assert out.splitlines()[0] == (
        "5 rows read; outfits: 3 new, 0 updated, 0 unchanged, 2 skipped; items: 4 new, 0 updated, 0 unchanged"
    )
    assert "styles outside the vocabulary, imported as casual: '로맨틱' ×1" in out
    assert "rows skipped for a value outside the vocabulary: season '한여름' ×1" in out
    assert "items given another category by another outfit, the first kept: 7002 (bottom; also top)" in out
    assert err == "skipped row 3 (outfit_id 1438118102159533782): image_url is not an http(s) URL\n"
    outfits = {c.source_id: c for c in Coordi.objects.all()}
    assert sorted(outfits, key=str) == [FIRST, SECOND, FIFTH]
    first = outfits[FIRST]
    assert (first.gender, first.season, first.style, first.detail_url) == (
        "male", "fall", "minimal", "https://shop.example.com/snap/1"
    )
    second = outfits[SECOND]
    assert (second.gender, second.season, second.style) == ("female", "winter", "casual")
    assert [i.image_url for i in first.images.all()] == ["https://img.example.com/snap/1.jpg"]
    assert first.images.get().is_main
    # Items in position order, not the file's.
    assert [link.item.source_id for link in first.coordi_items.order_by("position")] == ["7001", "7002"]
    items = {i.source_id: i for i in Item.objects.all()}
    assert {s: (i.category, i.brand, i.name, i.price) for s, i in items.items()} == {
        "7001": ("outer", "브랜드A", "울 블레이저", 129000),
        "7002": ("bottom", "브랜드B", "와이드 슬랙스", 59000),  # its first outfit's category
        "7003": ("top", "브랜드C", "앙고라 니트", 0),  # no price in the export
        "7004": ("top", "브랜드D", "드라이 티셔츠", 0),
    }
    assert [i.image_url for i in items["7002"].images.order_by("position")] == [
        "https://img.example.com/goods/7002.jpg", "https://img.example.com/goods/7002-back.jpg",
    ]  # fmt: skip
    # The file's order is recency: its first outfit is the newest.
    assert [c.source_id for c in Coordi.objects.order_by("-created_at")] == [FIRST, SECOND, FIFTH]


def test_the_same_file_twice_changes_nothing():
    run()
    before = catalogue()

    out, _ = run()

    assert catalogue() == before
    assert out.splitlines()[0] == (
        "5 rows read; outfits: 0 new, 0 updated, 3 unchanged, 2 skipped; items: 0 new, 0 updated, 4 unchanged"
    )


def test_a_changed_outfit_is_updated_in_place_and_served_at_once(tmp_path, client):
    run()
    auth = {"Authorization": f"Bearer {token_for(make_user(gender='male', name='민준'))}"}
    first = Coordi.objects.get(source_id=FIRST)
    fifth_version = Coordi.objects.get(source_id=FIFTH).catalogue_version
    page = client.get("/api/recommendations", headers=auth).json()  # the fragments are cached now
    assert [o["description"] for o in page["data"]["outfits"] if o["id"] == first.pk] == [first.description]
    rows = copy.deepcopy(ROWS)
    rows[0]["description"] = "새 설명 #미니멀"
    rows[0]["items"].reverse()  # the same items, the same positions: no change

    out, _ = run(path=write(tmp_path, rows))

    assert out.splitlines()[0] == (
        "5 rows read; outfits: 0 new, 1 updated, 2 unchanged, 2 skipped; items: 0 new, 0 updated, 4 unchanged"
    )
    again = Coordi.objects.get(source_id=FIRST)
    assert (again.pk, again.created_at) == (first.pk, first.created_at)
    assert again.description == "새 설명 #미니멀" and again.catalogue_version != first.catalogue_version
    assert again.updated_at > first.updated_at
    assert Coordi.objects.get(source_id=FIFTH).catalogue_version == fifth_version
    served = {o["id"]: o for o in client.get("/api/recommendations", headers=auth).json()["data"]["outfits"]}
    assert served[first.pk]["description"] == "새 설명 #미니멀"


def test_a_changed_item_is_updated_in_place_and_its_outfits_served_anew(tmp_path, client):
    run()
    auth = {"Authorization": f"Bearer {token_for(make_user(gender='male', name='민준'))}"}
    first = Coordi.objects.get(source_id=FIRST)
    versions = dict(Coordi.objects.values_list("source_id", "catalogue_version"))
    client.get("/api/recommendations", headers=auth)  # the fragments are cached now
    rows = copy.deepcopy(ROWS)
    rows[0]["items"][1]["price"] = 139000  # 7001, in the first outfit only
    rows[1]["items"][0]["name"] = "앙고라 니트 (new)"  # 7003, in the second outfit only

    out, _ = run(path=write(tmp_path, rows))

    assert out.splitlines()[0] == (
        "5 rows read; outfits: 0 new, 0 updated, 3 unchanged, 2 skipped; items: 0 new, 2 updated, 2 unchanged"
    )
    assert Item.objects.get(source_id="7001").price == 139000
    assert Item.objects.get(source_id="7003").name == "앙고라 니트 (new)"
    after = dict(Coordi.objects.values_list("source_id", "catalogue_version"))
    assert [source for source in after if after[source] != versions[source]] == [FIRST, SECOND]
    served = {o["id"]: o for o in client.get("/api/recommendations", headers=auth).json()["data"]["outfits"]}
    assert [item["price"] for item in served[first.pk]["items"]] == [139000, 59000]


def test_an_item_whose_images_change_gets_the_new_ones(tmp_path):
    run()
    rows = copy.deepcopy(ROWS)
    rows[0]["items"][0]["image_urls"] = []  # 7002 loses its second image
    rows[0]["items"][1]["image_urls"] = ["https://img.example.com/goods/7001-side.jpg"]

    run(path=write(tmp_path, rows))

    def images(source_id):
        item = Item.objects.get(source_id=source_id)
        urls = item.images.order_by("position").values_list("image_url", flat=True)
        return [url.rsplit("/", 1)[1] for url in urls]

    assert images("7002") == ["7002.jpg"]
    assert images("7001") == ["7001.jpg", "7001-side.jpg"]


def test_an_outfit_whose_items_change_gets_them_in_the_new_order(tmp_path):
    run()
    rows = copy.deepcopy(ROWS)
    rows[0]["items"][0]["position"], rows[0]["items"][1]["position"] = 1, 2  # 7002 first now
    rows[0]["image_url"] = "https://img.example.com/snap/1-new.jpg"

    run(path=write(tmp_path, rows))

    first = Coordi.objects.get(source_id=FIRST)
    assert [link.item.source_id for link in first.coordi_items.order_by("position")] == ["7002", "7001"]
    assert list(first.images.values_list("image_url", "is_main")) == [
        ("https://img.example.com/snap/1-new.jpg", True)
    ]
    assert CoordiItem.objects.count() == 5 and Item.objects.count() == 4  # 2 + 2 + 1, none left behind


def test_a_dry_run_checks_everything_and_writes_nothing():
    out, err = run("--dry-run")

    assert catalogue() == {"coordis": [], "images": [], "items": [], "item_images": [], "links": []}
    assert out.splitlines()[0] == (
        "5 rows read; outfits: 3 new, 0 updated, 0 unchanged, 2 skipped; items: 4 new, 0 updated, 0 unchanged"
    )
    assert out.splitlines()[-1] == "dry run: nothing written"
    assert "row 3" in err


def test_strict_refuses_the_file_with_values_outside_the_vocabulary():
    err = StringIO()
    with pytest.raises(CommandError, match=r"^--strict: 1 malformed rows, 2 values outside the vocabulary; "
                                           r"nothing imported\.$") as refused:  # fmt: skip
        call_command("import_catalogue", str(EXPORT), "--strict", stdout=StringIO(), stderr=err)

    assert refused.value.returncode == 2
    assert Coordi.objects.count() == Item.objects.count() == 0
    assert err.getvalue().splitlines()[:2] == [
        "skipped row 3 (outfit_id 1438118102159533782): image_url is not an http(s) URL",
        "5 rows read: 3 outfits and 4 items to import, 2 rows skipped",
    ]


def test_strict_takes_a_clean_file(tmp_path):
    clean = [ROWS[0], ROWS[4]]

    out, err = run("--strict", path=write(tmp_path, clean))

    assert out.splitlines() == [
        "2 rows read; outfits: 2 new, 0 updated, 0 unchanged, 0 skipped; items: 3 new, 0 updated, 0 unchanged"
    ]
    assert err == ""


def test_the_style_fallback_is_chosen_and_checked():
    run("--style-fallback", "street")
    assert Coordi.objects.get(source_id=SECOND).style == "street"

    says = r"^--style-fallback must be one of casual, street, sporty, minimal, not 'romantic'\.$"
    with pytest.raises(CommandError, match=says) as refused:
        run("--style-fallback", "romantic")
    assert refused.value.returncode == 2


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, r"no such file"),
        (b"[{", r"not JSON \(Expecting property name enclosed in double quotes at line 1, column 3\)"),
        (b'{"outfits": []}', r"an export is a JSON array of outfits, not an object"),
        (b"\xff\xfe[]", r"not UTF-8 text \(byte 0\)"),
        (b"[" * 100_000, r"not JSON this service reads \(nested too deeply\)"),
    ],
    ids=["missing", "truncated", "an-object", "not-utf8", "too-deep"],
)
def test_a_file_that_is_no_export_is_one_line_and_exit_2_with_nothing_written(tmp_path, content, says):
    make_coordi()
    before = catalogue()
    path = tmp_path / "export.json"
    if content is not None:
        path.write_bytes(content)

    with pytest.raises(CommandError, match=rf"^{path}: ({says}); nothing imported\.$") as refused:
        run(path=path)

    assert refused.value.returncode == 2
    assert "\n" not in str(refused.value)
    assert catalogue() == before


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda row: row.pop("outfit_id"), "outfit_id is missing"),
        (lambda row: row.update(gender=None), "gender is missing"),
        (lambda row: row.update(items={"a": 1}), "items is an object, not a list"),
        (lambda row: row["items"][0].update(price=-1), r"items\[0\].price is not a whole number of won"),
        (lambda row: row["items"][0].update(price="many"), r"items\[0\].price is not a whole number of won"),
        (lambda row: row["items"][0].update(name=""), r"items\[0\].name is missing"),
        (lambda row: row["items"][0].update(position="1"), r"items\[0\].position is not a whole number"),
        (lambda row: row["items"][0].update(image_urls=["javascript:alert(1)"]),
         r"items\[0\].image_urls\[0\] is not an http\(s\) URL"),
        (lambda row: row.update(detail_url="https://x.example/" + "a" * 500),
         "detail_url is longer than 500"),
        (lambda row: row.update(outfit_id="9" * 41), "outfit_id is longer than 40 characters"),
    ],
    ids=["no-id", "no-gender", "items-object", "negative-price", "text-price", "no-name", "text-position",
         "script-url", "long-url", "long-id"],
)  # fmt: skip
def test_a_malformed_row_is_reported_and_skipped_and_the_rest_imported(tmp_path, change, why):
    rows = copy.deepcopy([ROWS[4], ROWS[0]])
    change(rows[1])

    out, err = run(path=write(tmp_path, rows))

    assert [c.source_id for c in Coordi.objects.all()] == [FIFTH]
    [line] = err.splitlines()
    assert line.startswith("skipped row 1")
    assert re.search(why, line)
    assert "rows skipped as malformed: 1 (listed on stderr)" in out


def test_the_same_outfit_twice_in_a_file_is_taken_once(tmp_path):
    run(path=write(tmp_path, [ROWS[0], ROWS[0]]))

    assert Coordi.objects.filter(source_id=FIRST).count() == 1


def test_a_price_as_text_and_an_id_as_a_number_are_read_as_meant(tmp_path):
    row = copy.deepcopy(ROWS[4])
    row["outfit_id"] = int(row["outfit_id"])
    row["items"][0].update(item_id=7004, price="12000")

    run(path=write(tmp_path, [row]))

    assert Coordi.objects.get().source_id == FIFTH
    assert (Item.objects.get().source_id, Item.objects.get().price) == ("7004", 12000)


def test_the_api_serves_imported_outfits_with_ids_exact_in_javascript(client):
    run()
    reader = make_user(gender="female", name="서연")

    response = client.get("/api/recommendations", headers={"Authorization": f"Bearer {token_for(reader)}"})

    [outfit] = response.json()["data"]["outfits"]
    assert outfit["id"] == Coordi.objects.get(source_id=SECOND).pk
    assert 0 < outfit["id"] <= JS_MAX_SAFE_INTEGER
    assert all(0 < item["id"] <= JS_MAX_SAFE_INTEGER for item in outfit["items"])
    assert (outfit["style"], outfit["season"]) == ("casual", "winter")


def test_queries_stay_flat_as_rows_grow():
    def export_of(n, first):
        rows = []
        for k in range(first, first + n):
            row = copy.deepcopy(ROWS[0])
            row["outfit_id"] = str(10**18 + k)
            for item in row["items"]:
                item["item_id"] = f"{item['item_id']}-{k}"
            rows.append(row)
        return read_export(rows, style_fallback="casual")

    def queries(export):
        with CaptureQueriesContext(connection) as captured:
            write_catalogue(export, batch_size=1000)
        return len(captured)

    small, large = export_of(5, first=0), export_of(50, first=100)
    first_small, first_large = queries(small), queries(large)
    again_small, again_large = queries(small), queries(large)

    assert Coordi.objects.count() == 55 and Item.objects.count() == 110
    assert first_small == first_large
    assert again_small == again_large < first_small  # nothing written the second time


def test_batches_cost_the_same_queries_each():
    rows = []
    for k in range(30):
        row = copy.deepcopy(ROWS[4])
        row["outfit_id"] = str(10**18 + k)
        row["items"][0]["item_id"] = f"i{k}"
        rows.append(row)
    export = read_export(rows, style_fallback="casual")

    with CaptureQueriesContext(connection) as captured:
        write_catalogue(export, batch_size=10)

    writes = [q["sql"] for q in captured if q["sql"].startswith("INSERT")]
    # Items, their images; outfits, their images, their items: five inserts a batch of ten.
    assert len(writes) == 5 * 3
    assert Coordi.objects.count() == 30


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        (Coordi, {"gender": "female", "season": "겨울", "style": "casual"}),
        (Coordi, {"gender": "FEMALE", "season": "winter", "style": "casual"}),
        (Coordi, {"gender": "female", "season": "winter", "style": "로맨틱"}),
        (Item, {"category": "상의", "brand": "b", "name": "n", "price": 1, "purchase_url": "https://x.example"}),
        (User, {"email": "x@example.com", "gender": "FEMALE"}),
    ],
    ids=["season", "gender", "style", "category", "user-gender"],
)
def test_the_database_refuses_a_value_outside_the_vocabulary(model, fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.create(**fields)


def test_the_database_refuses_an_unknown_interaction():
    coordi, user = make_coordi(), make_user()
    with pytest.raises(IntegrityError), transaction.atomic():
        UserCoordiInteraction.objects.create(user=user, coordi=coordi, action="love")


def test_ids_made_after_an_import_do_not_collide():
    run()
    largest = max(Coordi.objects.values_list("pk", flat=True))

    made = make_coordi()

    assert made.pk > largest
    assert Item.objects.create(category="top", brand="b", name="n", price=1, purchase_url="https://x.example").pk


class Terminal(StringIO):
    """A stderr that says it is a terminal, so the command draws its bar."""

    def isatty(self) -> bool:
        return True


def test_the_progress_bar_is_drawn_on_a_terminals_stderr_only():
    out, err = StringIO(), Terminal()
    call_command("import_catalogue", str(EXPORT), stdout=out, stderr=err)

    assert "outfits: 100%" in err.getvalue() and "3/3" in err.getvalue()
    assert "\r" not in out.getvalue()
    _, plain = run()  # not a terminal: the malformed row's line alone
    assert plain.splitlines() == [
        "skipped row 3 (outfit_id 1438118102159533782): image_url is not an http(s) URL"
    ]
