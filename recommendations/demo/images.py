"""The demo pictures: small JPEGs of coordis and items, drawn once into the directory the app serves."""

import os
import tempfile
from collections.abc import Callable, Iterable
from functools import lru_cache, partial
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from .catalogue import CoordiSpec, ItemSpec
from .garment_shapes import RGB, draw_garment, shade
from .vocabulary import BOTTOM, OUTER, TOP

COORDI_SIZE = (480, 640)
ITEM_SIZE = (400, 400)
JPEG_QUALITY = 82  # flat colours: 10–25 KB a picture, no visible artefacts

SEASON_BACKGROUNDS: dict[str, RGB] = {
    "spring": (248, 228, 232),
    "summer": (214, 236, 248),
    "fall": (241, 223, 198),
    "winter": (222, 228, 240),
}
STYLE_ACCENTS: dict[str, RGB] = {
    "casual": (84, 130, 92),
    "street": (38, 38, 42),
    "sporty": (222, 96, 40),
    "minimal": (128, 124, 118),
}
ITEM_BACKGROUND: RGB = (244, 242, 238)
WHITE: RGB = (255, 255, 255)

ImageFontType = ImageFont.FreeTypeFont | ImageFont.ImageFont


def coordi_image_names(coordi_id: int, count: int) -> list[str]:
    """coordi-12.jpg (the main picture), then coordi-12-2.jpg, coordi-12-3.jpg."""
    return [f"coordi-{coordi_id}.jpg"] + [f"coordi-{coordi_id}-{n}.jpg" for n in range(2, count + 1)]


def item_image_names(item_id: int, count: int) -> list[str]:
    """item-3.jpg, then item-3-2.jpg."""
    return [f"item-{item_id}.jpg"] + [f"item-{item_id}-{n}.jpg" for n in range(2, count + 1)]


def draw_missing(
    directory: Path,
    *,
    coordis: Iterable[tuple[int, CoordiSpec]],
    items: Iterable[tuple[int, ItemSpec]],
) -> tuple[int, int]:
    """Draw the pictures of these (id, spec) pairs not on disk yet; return (drawn, already there)."""
    jobs: list[tuple[str, Callable[[], Image.Image]]] = []
    for coordi_id, coordi in coordis:
        for variant, name in enumerate(coordi_image_names(coordi_id, coordi.image_count)):
            jobs.append((name, partial(draw_coordi, coordi_id, coordi, variant=variant)))
    for item_id, item in items:
        for variant, name in enumerate(item_image_names(item_id, item.image_count)):
            jobs.append((name, partial(draw_item, item_id, item, variant=variant)))

    directory.mkdir(parents=True, exist_ok=True)
    drawn = sum(_save_if_missing(directory / name, picture) for name, picture in jobs)
    kept = len(jobs) - drawn
    return drawn, kept


def draw_coordi(coordi_id: int, coordi: CoordiSpec, *, variant: int = 0) -> Image.Image:
    """Variant 0 is the look on a body line, 1 a flat lay of its items, 2 a close-up of the look."""
    if variant == 2:
        look = draw_coordi(coordi_id, coordi, variant=0)
        width, height = COORDI_SIZE
        return look.crop((60, 40, width - 60, 40 + (width - 120) * height // width)).resize(COORDI_SIZE)

    background = _mix(SEASON_BACKGROUNDS[coordi.season], STYLE_ACCENTS[coordi.style], 0.12)
    if variant == 1:
        background = shade(background, 1.4)
    image = Image.new("RGB", COORDI_SIZE, background)
    draw = ImageDraw.Draw(image)
    if variant == 1:
        _draw_flat_lay(draw, coordi)
    else:
        _draw_look(draw, coordi)

    width, height = COORDI_SIZE
    accent = STYLE_ACCENTS[coordi.style]
    draw.rectangle([0, height - 72, width, height], fill=accent)
    draw.text(
        (20, height - 62),
        f"#{coordi_id}  {coordi.style.upper()} / {coordi.season.upper()}",
        fill=WHITE,
        font=_font(24),
    )
    draw.text(
        (20, height - 30),
        "WOMEN" if coordi.gender == "female" else "MEN",
        fill=shade(accent, 1.6),
        font=_font(16),
    )
    return image


def draw_item(item_id: int, item: ItemSpec, *, variant: int = 0) -> Image.Image:
    """Variant 0 is the product shot, 1 a smaller view on a darker ground, as a shop's second picture."""
    background = ITEM_BACKGROUND if variant == 0 else shade(ITEM_BACKGROUND, 0.9)
    image = Image.new("RGB", ITEM_SIZE, background)
    draw = ImageDraw.Draw(image)
    height = ITEM_SIZE[1]
    box = (70, 36, 330, 316) if variant == 0 else (115, 70, 285, 290)
    if item.category == BOTTOM:
        box = (box[0] + 30, box[1], box[2] - 30, box[3])
    draw_garment(draw, item.garment.shape, box, item.colour.rgb)
    draw.text(
        (16, height - 70),
        f"#{item_id} {item.category.upper()}  {item.brand.slug.upper()}",
        fill=(60, 60, 60),
        font=_font(18),
    )
    draw.text((16, height - 42), f"KRW {item.price:,}", fill=(20, 20, 20), font=_font(22))
    return image


def _draw_look(draw: ImageDraw.ImageDraw, coordi: CoordiSpec) -> None:
    by_category = {item.category: item for item in reversed(coordi.items)}  # the first of each wins
    bottom, outer, top = by_category.get(BOTTOM), by_category.get(OUTER), by_category.get(TOP)
    if bottom is not None:
        box = (150, 300, 330, 560) if bottom.garment.shape != "shorts" else (140, 300, 340, 470)
        draw_garment(draw, bottom.garment.shape, box, bottom.colour.rgb)
    if outer is not None:
        long = outer.garment.shape in ("coat", "puffer-long")
        draw_garment(draw, outer.garment.shape, (80, 60, 400, 460 if long else 360), outer.colour.rgb)
    if top is not None:
        # Under an outer only the front of the top shows.
        box = (170, 80, 310, 330) if outer is not None else (100, 60, 380, 340)
        draw_garment(draw, top.garment.shape, box, top.colour.rgb)


def _draw_flat_lay(draw: ImageDraw.ImageDraw, coordi: CoordiSpec) -> None:
    cells = [(30, 30, 230, 270), (250, 30, 450, 270), (30, 290, 230, 550), (250, 290, 450, 550)]
    for item, (left, top, right, bottom) in zip(coordi.items, cells, strict=False):
        inset = 30 if item.category == BOTTOM else 10
        draw_garment(
            draw,
            item.garment.shape,
            (left + inset, top + 10, right - inset, bottom - 10),
            item.colour.rgb,
        )


def _mix(a: RGB, b: RGB, weight: float) -> RGB:
    return tuple(round(x * (1 - weight) + y * weight) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFontType:
    try:
        return ImageFont.load_default(size=size)
    except ImportError:  # Pillow built without FreeType: the small bitmap font still labels the picture.
        return ImageFont.load_default()


def _save_if_missing(path: Path, picture: Callable[[], Image.Image]) -> bool:
    if path.exists():
        return False
    # Written under a temporary name and renamed, so an interrupted run never leaves a half picture that
    # the next run would take for a finished one.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            picture().save(file, "JPEG", quality=JPEG_QUALITY)
        os.chmod(
            temporary, 0o644
        )  # mkstemp makes 0600; a web server running as another user must read it
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True
