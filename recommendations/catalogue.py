"""Moving in from the replaced service: its catalogue export read, checked and written here.

The export is one JSON array of outfit snaps, each with its items (see README, "Move in from the
replaced service"). `read_export` turns it into plain rows and says what it could not take;
`write_catalogue` writes those rows in batches, each batch in its own transaction with a fixed number
of queries, and is idempotent: the export's ids are kept as `source_id`, so a row seen before is
compared with what is stored and updated in place only when it changed (its `catalogue_version`
moves, so its cached fragment is never served again). The rows get the service's own ids, small
enough for a JavaScript client; none is ever given explicitly, so no database sequence falls behind.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from .models import (
    Category,
    Coordi,
    CoordiImage,
    CoordiItem,
    Gender,
    Item,
    ItemImage,
    Season,
    Style,
    new_catalogue_version,
)
from .signals import bump_coordis_holding

# The replaced service's vocabulary, and ours (an export of this service's own values reads too).
GENDERS: dict[str, str] = {value: value for value in Gender.values}  # its MALE / FEMALE, in any case
SEASONS: dict[str, str] = {"봄": "spring", "여름": "summer", "가을": "fall", "겨울": "winter"}
STYLES: dict[str, str] = {"캐주얼": "casual", "스트리트": "street", "스포티": "sporty", "미니멀": "minimal"}
CATEGORIES: dict[str, str] = {"아우터": "outer", "상의": "top", "하의": "bottom"}
for _choices, _mapping in ((Season, SEASONS), (Style, STYLES), (Category, CATEGORIES)):
    _mapping.update({value: value for value in _choices.values})

BATCH_SIZE = 500
MAX_ID_CHARS = 40  # the models' source_id
MAX_URL_CHARS = 500
MAX_PRICE = 2_147_483_647  # PositiveIntegerField, on every database
# Recency from the file's order when it has no dates: each outfit a millisecond older than the one before.
RECENCY_STEP = timedelta(milliseconds=1)

_Row = TypeVar("_Row")
_is_url = URLValidator(schemes=["http", "https"])


class ExportUnreadable(Exception):
    """The file as a whole cannot be read as an export: nothing is written."""


# The rows' fields that are the models' own, under the same names: compared, written and updated.
ITEM_FIELDS = ("category", "brand", "name", "price", "purchase_url")
OUTFIT_FIELDS = ("gender", "season", "style", "description", "detail_url")


@dataclass(frozen=True)
class ItemRow:
    source_id: str
    category: str
    brand: str
    name: str
    price: int
    purchase_url: str
    image_urls: tuple[str, ...]


@dataclass(frozen=True)
class OutfitRow:
    index: int  # in the file, from 0
    source_id: str
    gender: str
    season: str
    style: str
    description: str
    image_url: str
    detail_url: str
    item_ids: tuple[str, ...]  # in position order


@dataclass(frozen=True)
class Problem:
    """A row left out, and why."""

    index: int
    source_id: str | None
    why: str

    def __str__(self) -> str:
        named = f" (outfit_id {self.source_id})" if self.source_id else ""
        return f"row {self.index}{named}: {self.why}"


@dataclass
class Export:
    """What a file holds once read: the rows to write and what was made of the rest."""

    rows: int = 0
    outfits: list[OutfitRow] = field(default_factory=list)
    items: dict[str, ItemRow] = field(default_factory=dict)  # by source id, the first seen
    malformed: list[Problem] = field(default_factory=list)
    # (field, value) outside the vocabulary, for the rows skipped over them.
    skipped_values: Counter[tuple[str, str]] = field(default_factory=Counter)
    style_fallbacks: Counter[str] = field(default_factory=Counter)  # styles outside it, taken as fallback
    # Items given more than one category by their outfits: the categories, the first kept.
    category_conflicts: dict[str, list[str]] = field(default_factory=dict)

    @property
    def skipped(self) -> int:
        return self.rows - len(self.outfits)

    @property
    def outside_vocabulary(self) -> int:
        return self.skipped_values.total() + self.style_fallbacks.total()


@dataclass
class Written:
    """What writing changed, by kind: new, updated (changed in place) and unchanged rows."""

    outfits: Counter[str] = field(default_factory=Counter)
    items: Counter[str] = field(default_factory=Counter)


def load_export(path: Path, *, style_fallback: str) -> Export:
    """The export at `path`, read; raises ExportUnreadable (one line) when it cannot be."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ExportUnreadable(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ExportUnreadable(f"{path}: a directory, not an export file") from None
    except UnicodeDecodeError as error:
        raise ExportUnreadable(f"{path}: not UTF-8 text (byte {error.start})") from None
    except OSError as error:
        raise ExportUnreadable(f"{path}: cannot be read ({error.strerror or error})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ExportUnreadable(
            f"{path}: not JSON ({error.msg} at line {error.lineno}, column {error.colno})"
        ) from None
    except RecursionError:
        raise ExportUnreadable(f"{path}: not JSON this service reads (nested too deeply)") from None
    if not isinstance(data, list):
        raise ExportUnreadable(f"{path}: an export is a JSON array of outfits, not {_json_type(data)}")
    return read_export(data, style_fallback=style_fallback)


def read_export(data: Sequence[object], *, style_fallback: str) -> Export:
    """The rows of an export already parsed from JSON, mapped to this service's vocabulary."""
    export = Export(rows=len(data))
    seen_outfits: set[str] = set()
    categories: dict[str, list[str]] = {}
    for index, raw in enumerate(data):
        try:
            outfit, items = _outfit(index, raw, export, style_fallback=style_fallback)
        except _Malformed as error:
            export.malformed.append(Problem(index, _raw_id(raw), str(error)))
            continue
        except _OutsideVocabulary as error:
            export.skipped_values[(error.field, error.value)] += 1
            continue
        if outfit.source_id in seen_outfits:
            export.malformed.append(Problem(index, outfit.source_id, "the same outfit_id as an earlier row"))
            continue
        seen_outfits.add(outfit.source_id)
        export.outfits.append(outfit)
        for item in items:
            export.items.setdefault(item.source_id, item)
            seen = categories.setdefault(item.source_id, [])
            if item.category not in seen:
                seen.append(item.category)
    export.category_conflicts = {item: seen for item, seen in categories.items() if len(seen) > 1}
    return export


def write_catalogue(
    export: Export,
    *,
    batch_size: int = BATCH_SIZE,
    now: datetime | None = None,
    progress: Callable[[int], object] = lambda done: None,
) -> Written:
    """Writes the export's items, then its outfits, `batch_size` rows a transaction; `progress` hears
    how many outfits each batch wrote."""
    written = Written()
    now = now or timezone.now()
    item_ids: dict[str, int] = {}
    for items in _batches(list(export.items.values()), batch_size):
        with transaction.atomic():
            item_ids.update(_write_items(items, written.items))
    for outfits in _batches(export.outfits, batch_size):
        with transaction.atomic():
            _write_outfits(outfits, item_ids, written.outfits, now=now)
        progress(len(outfits))
    return written


# --- reading -----------------------------------------------------------------------------------------


class _Malformed(Exception):
    pass


class _OutsideVocabulary(Exception):
    def __init__(self, field: str, value: str) -> None:
        super().__init__(field, value)
        self.field, self.value = field, value


def _outfit(
    index: int, raw: object, export: Export, *, style_fallback: str
) -> tuple[OutfitRow, list[ItemRow]]:
    row = _object(raw, "the row")
    source_id = _id(row, "outfit_id")
    gender = _term(row, "gender", GENDERS, fold=str.lower)
    season = _term(row, "season", SEASONS)
    style_text = _text(row, "style", required=True)
    style = STYLES.get(style_text)
    raw_items = row.get("items", [])
    if not isinstance(raw_items, list):
        raise _Malformed(f"items is {_json_type(raw_items)}, not a list")
    items = [_item(n, raw_item) for n, raw_item in enumerate(raw_items)]
    # Position order; an item listed twice in one outfit is shown once, where it first comes.
    ordered: dict[str, ItemRow] = {}
    for _, item in sorted(items, key=lambda pair: pair[0]):
        ordered.setdefault(item.source_id, item)
    outfit = OutfitRow(
        index=index,
        source_id=source_id,
        gender=gender,
        season=season,
        style=style or style_fallback,
        description=_text(row, "description"),
        image_url=_url(row, "image_url"),
        detail_url=_url(row, "detail_url"),
        item_ids=tuple(ordered),
    )
    if style is None:  # counted only for a row otherwise taken
        export.style_fallbacks[style_text] += 1
    return outfit, list(ordered.values())


def _item(n: int, raw: object) -> tuple[tuple[int, int], ItemRow]:
    where = f"items[{n}]"
    row = _object(raw, where)
    position = row.get("position", n)
    if isinstance(position, bool) or not isinstance(position, int):
        raise _Malformed(f"{where}.position is not a whole number")
    extra = row.get("image_urls", [])
    if not isinstance(extra, list):
        raise _Malformed(f"{where}.image_urls is {_json_type(extra)}, not a list")
    images = [_url(row, "image_url", where=where)] + [
        _checked_url(url, f"{where}.image_urls[{k}]") for k, url in enumerate(extra)
    ]
    item = ItemRow(
        source_id=_id(row, "item_id", where=where),
        category=_term(row, "category", CATEGORIES, where=where),
        brand=_text(row, "brand", where=where, max_chars=100),
        name=_text(row, "name", where=where, required=True, max_chars=200),
        price=_price(row.get("price"), where),
        purchase_url=_url(row, "purchase_url", where=where),
        image_urls=tuple(dict.fromkeys(url for url in images if url)),
    )
    return (position, n), item


def _object(raw: object, what: str) -> Mapping[str, Any]:
    if not isinstance(raw, dict):
        raise _Malformed(f"{what} is {_json_type(raw)}, not an object")
    return raw


def _id(row: Mapping[str, Any], key: str, *, where: str = "") -> str:
    value = row.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # a number where a string was meant: the same id
    if not isinstance(value, str) or not value.strip():
        raise _Malformed(f"{_name(where, key)} is missing")
    value = value.strip()
    if len(value) > MAX_ID_CHARS:
        raise _Malformed(f"{_name(where, key)} is longer than {MAX_ID_CHARS} characters")
    return value


def _text(
    row: Mapping[str, Any], key: str, *, where: str = "", required: bool = False, max_chars: int = 0
) -> str:
    value = row.get(key)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _Malformed(f"{_name(where, key)} is {_json_type(value)}, not a string")
    value = value.strip()
    if required and not value:
        raise _Malformed(f"{_name(where, key)} is missing")
    if max_chars and len(value) > max_chars:
        raise _Malformed(f"{_name(where, key)} is longer than {max_chars} characters")
    return value


def _term(
    row: Mapping[str, Any],
    key: str,
    vocabulary: Mapping[str, str],
    *,
    where: str = "",
    fold: Callable[[str], str] = str,
) -> str:
    text = _text(row, key, where=where, required=True)
    term = vocabulary.get(fold(text))
    if term is None:
        raise _OutsideVocabulary(key, text)
    return str(term)


def _url(row: Mapping[str, Any], key: str, *, where: str = "") -> str:
    return _checked_url(row.get(key), _name(where, key))


def _checked_url(value: object, name: str) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        raise _Malformed(f"{name} is {_json_type(value)}, not a string")
    value = value.strip()
    if len(value) > MAX_URL_CHARS:
        raise _Malformed(f"{name} is longer than {MAX_URL_CHARS} characters")
    try:
        _is_url(value)
    except ValidationError:
        raise _Malformed(f"{name} is not an http(s) URL") from None
    return value


def _price(value: object, where: str) -> int:
    if value is None or value == "":
        return 0  # the export may leave it out: shown as 0, as the replaced service did
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_PRICE:
        raise _Malformed(f"{where}.price is not a whole number of won")
    return value


def _name(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _raw_id(raw: object) -> str | None:
    value = raw.get("outfit_id") if isinstance(raw, dict) else None
    return str(value)[:MAX_ID_CHARS] if isinstance(value, str | int) and not isinstance(value, bool) else None


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


# --- writing -----------------------------------------------------------------------------------------


def _batches(rows: Sequence[_Row], size: int) -> Iterator[Sequence[_Row]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _write_items(batch: Sequence[ItemRow], counts: Counter[str]) -> dict[str, int]:
    """Writes a batch of items (4 queries, and 2 more if any changed); their ids by source id."""
    stored = {
        item.source_id: item
        for item in Item.objects.filter(source_id__in=[row.source_id for row in batch]).prefetch_related(
            Prefetch("images", queryset=ItemImage.objects.order_by("position", "id"))
        )
    }
    new: list[Item] = []
    changed: list[Item] = []
    images_replaced: list[Item] = []
    for row in batch:
        item = stored.get(row.source_id)
        if item is None:
            new.append(Item(source_id=row.source_id, **_values(row, ITEM_FIELDS)))
            continue
        urls = tuple(image.image_url for image in item.images.all())
        if _values(item, ITEM_FIELDS) == _values(row, ITEM_FIELDS) and urls == row.image_urls:
            counts["unchanged"] += 1
            continue
        for name, value in _values(row, ITEM_FIELDS).items():
            setattr(item, name, value)
        changed.append(item)
        if urls != row.image_urls:
            images_replaced.append(item)
    Item.objects.bulk_create(new)
    counts["new"] += len(new)
    if changed:
        Item.objects.bulk_update(changed, ITEM_FIELDS)
        counts["updated"] += len(changed)
        # Their outfits show them: those outfits' fragments must not be served again.
        bump_coordis_holding([item.pk for item in changed])
    if images_replaced:
        ItemImage.objects.filter(item__in=images_replaced).delete()
    rows = {row.source_id: row for row in batch}
    ItemImage.objects.bulk_create(
        ItemImage(item=item, image_url=url, position=position)
        for item in [*new, *images_replaced]
        for position, url in enumerate(rows[item.source_id or ""].image_urls)
    )
    return {item.source_id or "": item.pk for item in [*stored.values(), *new]}


def _values(row: object, names: Iterable[str]) -> dict[str, object]:
    return {name: getattr(row, name) for name in names}


def _write_outfits(
    batch: Sequence[OutfitRow], item_ids: Mapping[str, int], counts: Counter[str], *, now: datetime
) -> None:
    """Writes a batch of outfits (5 queries, and up to 4 more if any changed)."""
    stored = {
        coordi.source_id: coordi
        for coordi in Coordi.objects.filter(source_id__in=[row.source_id for row in batch]).prefetch_related(
            Prefetch("images", queryset=CoordiImage.objects.filter(is_main=True), to_attr="main_images"),
            Prefetch(
                "coordi_items",
                queryset=CoordiItem.objects.order_by("position", "id").only("coordi_id", "item_id"),
            ),
        )
    }
    new: list[Coordi] = []
    changed: list[Coordi] = []
    images_replaced: list[Coordi] = []
    items_replaced: list[Coordi] = []
    for row in batch:
        coordi = stored.get(row.source_id)
        if coordi is None:
            new.append(
                Coordi(
                    source_id=row.source_id,
                    created_at=now - row.index * RECENCY_STEP,
                    **_values(row, OUTFIT_FIELDS),
                )
            )
            continue
        main = coordi.main_images[0].image_url if coordi.main_images else ""
        items = tuple(link.item_id for link in coordi.coordi_items.all())
        wanted = tuple(item_ids[source_id] for source_id in row.item_ids)
        same = _values(coordi, OUTFIT_FIELDS) == _values(row, OUTFIT_FIELDS)
        if same and main == row.image_url and items == wanted:
            counts["unchanged"] += 1
            continue
        for name, value in _values(row, OUTFIT_FIELDS).items():
            setattr(coordi, name, value)
        coordi.catalogue_version = new_catalogue_version()  # its cached fragment is never served again
        coordi.updated_at = now  # bulk_update() sets no auto_now field itself
        changed.append(coordi)
        if main != row.image_url:
            images_replaced.append(coordi)
        if items != wanted:
            items_replaced.append(coordi)
    Coordi.objects.bulk_create(new)
    counts["new"] += len(new)
    if changed:
        Coordi.objects.bulk_update(changed, [*OUTFIT_FIELDS, "catalogue_version", "updated_at"])
        counts["updated"] += len(changed)
    if images_replaced:
        CoordiImage.objects.filter(coordi__in=images_replaced, is_main=True).delete()
    if items_replaced:
        CoordiItem.objects.filter(coordi__in=items_replaced).delete()
    rows = {row.source_id: row for row in batch}
    CoordiImage.objects.bulk_create(
        CoordiImage(coordi=coordi, image_url=rows[coordi.source_id or ""].image_url, is_main=True)
        for coordi in [*new, *images_replaced]
        if rows[coordi.source_id or ""].image_url
    )
    CoordiItem.objects.bulk_create(
        CoordiItem(coordi=coordi, item_id=item_ids[source_id], position=position)
        for coordi in [*new, *items_replaced]
        for position, source_id in enumerate(rows[coordi.source_id or ""].item_ids)
    )


def summary(export: Export, written: Written | None, *, style_fallback: str) -> Iterable[str]:
    """The import in a few lines, for the operator; `written` None for one not written."""
    if written is None:
        yield (f"{export.rows:,} rows read: {len(export.outfits):,} outfits and {len(export.items):,} items "
               f"to import, {export.skipped:,} rows skipped")  # fmt: skip
    else:
        yield (f"{export.rows:,} rows read; outfits: {_counts(written.outfits)}, {export.skipped:,} skipped; "
               f"items: {_counts(written.items)}")  # fmt: skip
    if export.style_fallbacks:
        yield f"styles outside the vocabulary, imported as {style_fallback}: {_tally(export.style_fallbacks)}"
    if export.skipped_values:
        tally = Counter({f"{name} {value!r}": n for (name, value), n in export.skipped_values.items()})
        yield f"rows skipped for a value outside the vocabulary: {_tally(tally, quote=False)}"
    if export.malformed:
        yield f"rows skipped as malformed: {len(export.malformed):,} (listed on stderr)"
    if export.category_conflicts:
        listed = ", ".join(
            f"{item} ({seen[0]}; also {', '.join(seen[1:])})"
            for item, seen in list(export.category_conflicts.items())[:20]
        )
        more = len(export.category_conflicts) - 20
        yield (f"items given another category by another outfit, the first kept: {listed}"
               f"{f' and {more:,} more' if more > 0 else ''}")  # fmt: skip


def _counts(counts: Counter[str]) -> str:
    return f"{counts['new']:,} new, {counts['updated']:,} updated, {counts['unchanged']:,} unchanged"


def _tally(counts: Counter[str], *, quote: bool = True) -> str:
    return ", ".join(f"{value!r} ×{n}" if quote else f"{value} ×{n}" for value, n in counts.most_common())
