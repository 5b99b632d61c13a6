"""Flat garment silhouettes (tee, knit, pants, coat …) drawn with Pillow into any box of a picture."""

from PIL import ImageDraw

Point = tuple[float, float]
Box = tuple[int, int, int, int]
RGB = tuple[int, int, int]

# Outlines in unit coordinates (0..1 of the box), front view, neck at the top.
# fmt: off
_TEE: list[Point] = [
    (0.33, 0.06), (0.67, 0.06), (0.95, 0.22), (0.85, 0.40), (0.75, 0.34),
    (0.75, 0.95), (0.25, 0.95), (0.25, 0.34), (0.15, 0.40), (0.05, 0.22),
]
_LONG_SLEEVE: list[Point] = [
    (0.33, 0.05), (0.67, 0.05), (0.90, 0.17), (1.00, 0.86), (0.87, 0.88), (0.78, 0.36),
    (0.78, 0.95), (0.22, 0.95), (0.22, 0.36), (0.13, 0.88), (0.00, 0.86), (0.10, 0.17),
]
_TANK: list[Point] = [
    (0.33, 0.05), (0.41, 0.05), (0.44, 0.20), (0.56, 0.20), (0.59, 0.05), (0.67, 0.05),
    (0.72, 0.32), (0.72, 0.95), (0.28, 0.95), (0.28, 0.32),
]
_COAT: list[Point] = [
    (0.32, 0.03), (0.68, 0.03), (0.92, 0.14), (1.00, 0.72), (0.88, 0.74), (0.81, 0.32),
    (0.85, 0.98), (0.15, 0.98), (0.19, 0.32), (0.12, 0.74), (0.00, 0.72), (0.08, 0.14),
]
_PANTS: list[Point] = [
    (0.25, 0.03), (0.75, 0.03), (0.83, 0.97), (0.56, 0.97), (0.50, 0.30), (0.44, 0.97), (0.17, 0.97),
]
_LEGGINGS: list[Point] = [
    (0.30, 0.03), (0.70, 0.03), (0.66, 0.97), (0.54, 0.97), (0.50, 0.30), (0.46, 0.97), (0.34, 0.97),
]
_SHORTS: list[Point] = [
    (0.22, 0.12), (0.78, 0.12), (0.87, 0.70), (0.54, 0.73), (0.50, 0.40), (0.46, 0.73), (0.13, 0.70),
]
_SKIRT: list[Point] = [(0.33, 0.06), (0.67, 0.06), (0.86, 0.90), (0.14, 0.90)]
# fmt: on

_OUTLINES: dict[str, list[Point]] = {
    "tee": _TEE,
    "sweater": _LONG_SLEEVE,
    "shirt": _LONG_SLEEVE,
    "hoodie": _LONG_SLEEVE,
    "tank": _TANK,
    "jacket": _LONG_SLEEVE,
    "puffer": _LONG_SLEEVE,
    "coat": _COAT,
    "puffer-long": _COAT,
    "pants": _PANTS,
    "leggings": _LEGGINGS,
    "shorts": _SHORTS,
    "skirt": _SKIRT,
}


def shade(rgb: RGB, factor: float) -> RGB:
    """Darker below 1, lighter above; used for seams and details so they read on any colour."""
    if factor < 1:
        return tuple(round(c * factor) for c in rgb)  # type: ignore[return-value]
    return tuple(round(c + (255 - c) * (factor - 1)) for c in rgb)  # type: ignore[return-value]


def draw_garment(draw: ImageDraw.ImageDraw, shape: str, box: Box, colour: RGB) -> None:
    """Draw one garment of `shape` filling `box`, with a few details in a shade of its colour."""
    left, top, right, bottom = box
    width, height = right - left, bottom - top

    def at(x: float, y: float) -> tuple[int, int]:
        return round(left + x * width), round(top + y * height)

    detail = shade(colour, 0.7) if sum(colour) > 240 else shade(colour, 1.5)
    line = max(2, width // 90)
    draw.polygon([at(x, y) for x, y in _OUTLINES[shape]], fill=colour, outline=detail)

    if shape in ("tee", "sweater", "shirt", "hoodie", "tank"):
        draw.chord([at(0.40, 0.00), at(0.60, 0.13)], 0, 180, fill=detail)
    if shape == "shirt":
        draw.polygon(
            [at(0.36, 0.05), at(0.50, 0.16), at(0.44, 0.20)], fill=shade(colour, 1.2), outline=detail
        )
        draw.polygon(
            [at(0.64, 0.05), at(0.50, 0.16), at(0.56, 0.20)], fill=shade(colour, 1.2), outline=detail
        )
        for y in (0.30, 0.45, 0.60, 0.75):
            draw.ellipse([at(0.49, y), at(0.51, y + 0.02)], fill=detail)
    if shape == "hoodie":
        draw.ellipse([at(0.36, -0.04), at(0.64, 0.16)], outline=detail, width=line)
        draw.rectangle([at(0.34, 0.62), at(0.66, 0.80)], outline=detail, width=line)
    if shape in ("jacket", "coat", "puffer", "puffer-long"):
        draw.line([at(0.50, 0.10), at(0.50, 0.97)], fill=detail, width=line)
        draw.polygon([at(0.36, 0.04), at(0.50, 0.30), at(0.42, 0.30)], fill=shade(colour, 0.85))
        draw.polygon([at(0.64, 0.04), at(0.50, 0.30), at(0.58, 0.30)], fill=shade(colour, 0.85))
    if shape in ("puffer", "puffer-long"):
        # Quilting lines are what make a puffer read as one at this size.
        for y in (0.35, 0.50, 0.65, 0.80):
            draw.line([at(0.22, y), at(0.78, y)], fill=detail, width=line)
    if shape in ("pants", "leggings", "shorts", "skirt"):
        waist = 0.10 if shape != "shorts" else 0.19
        start = 0.03 if shape != "shorts" else 0.12
        draw.rectangle(
            [
                at(0.27 if shape != "skirt" else 0.34, start),
                at(0.73 if shape != "skirt" else 0.66, waist),
            ],
            fill=detail,
        )
    if shape == "skirt":
        for x in (0.38, 0.46, 0.54, 0.62):
            draw.line([at(x, 0.12), at(x + (x - 0.5) * 0.5, 0.88)], fill=detail, width=line)
