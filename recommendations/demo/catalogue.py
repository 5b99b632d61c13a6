"""The demo catalogue as plain values: items, the coordis combining them, the demo user's activity.

Everything comes from `random.Random` seeded by a fixed string per item or coordi, so every machine makes
the same catalogue, and the first N coordis are the same whatever count is asked for: a larger
`--coordis` only appends.
"""

import random
from dataclasses import dataclass
from datetime import timedelta
from itertools import product

from .vocabulary import (
    BOTH,
    BOTTOM,
    BRANDS,
    COLOURS,
    FALL,
    FEMALE,
    GARMENTS,
    GENDERS,
    OUTER,
    PALETTES,
    SEASON_OCCASIONS,
    SEASON_WORDS,
    SEASONS,
    SPRING,
    STYLE_OCCASIONS,
    STYLE_WORDS,
    STYLES,
    TOP,
    WINTER,
    Brand,
    Colour,
    Garment,
)

SHOP_URL = "https://shop.example.com/items/"
VARIANTS_PER_GARMENT = 3
# Consecutive coordis are posted 14 hours apart, give or take: 60 coordis span about five weeks.
POSTING_INTERVAL = timedelta(hours=14)
POSTING_JITTER_MINUTES = 12 * 60  # < the interval, so index order is exactly newest-first order


@dataclass(frozen=True)
class ItemSpec:
    slug: str  # the natural key: it ends the purchase URL
    garment: Garment
    brand: Brand
    colour: Colour
    price: int
    image_count: int

    @property
    def name(self) -> str:
        return self.garment.name

    @property
    def category(self) -> str:
        return self.garment.category

    @property
    def purchase_url(self) -> str:
        return SHOP_URL + self.slug

    @property
    def genders(self) -> frozenset[str]:
        return self.garment.genders & self.brand.genders


@dataclass(frozen=True)
class CoordiSpec:
    index: int  # 0 is the newest
    gender: str
    season: str
    style: str
    description: str  # unique per gender: with the gender, the natural key
    items: tuple[ItemSpec, ...]  # in display order: top(s), bottom, outer
    image_count: int
    age: timedelta  # how long before the newest demo coordi this one was posted


@dataclass(frozen=True)
class DemoActivity:
    """What the demo user has done: coordi indices liked and skipped, item slugs in the closet, and
    the onboarding choice (hashtag names, sample coordi indices in the order chosen)."""

    likes: tuple[int, ...]
    skips: tuple[int, ...]
    closet: tuple[str, ...]
    hashtags: tuple[str, ...] = ()
    preferred: tuple[int, ...] = ()


# The demo user's onboarding hashtags (of the eight the migrations seed), and how many sample outfits
# onboarding takes.
DEMO_HASHTAGS = ("#캐주얼", "#미니멀", "#데일리룩")
PREFERRED_COORDIS = 5


def build_items() -> tuple[ItemSpec, ...]:
    """A few brand and colour variants of every garment."""
    items: list[ItemSpec] = []
    for garment in GARMENTS:
        rng = random.Random(f"demo-item:{garment.slug}")
        makers = [b for b in BRANDS if b.styles & garment.styles and b.genders & garment.genders]
        unisex = [b for b in makers if b.genders == BOTH]
        # A unisex garment needs at least one unisex maker, or men's coordis could never wear it.
        first = rng.choice(unisex if garment.genders == BOTH else makers)
        others = rng.sample(
            [b for b in makers if b != first], k=min(VARIANTS_PER_GARMENT - 1, len(makers) - 1)
        )
        palette = PALETTES[garment.palette]
        for brand in (first, *others):
            colour = COLOURS[rng.choice(palette)]
            low, high = garment.price_range
            # Korean shops price in 10,000s ending in 9,000: 39,000원, 129,000원.
            price = rng.randrange(low // 10_000, high // 10_000 + 1) * 10_000 + 9_000
            items.append(
                ItemSpec(
                    slug=f"{brand.slug}-{garment.slug}-{colour.slug}",
                    garment=garment,
                    brand=brand,
                    colour=colour,
                    price=price,
                    image_count=rng.randint(1, 2),
                )
            )
    return tuple(items)


def plan_coordis(count: int, items: tuple[ItemSpec, ...] | None = None) -> tuple[CoordiSpec, ...]:
    """The first `count` demo coordis, newest first; genders alternate, styles and seasons rotate."""
    items = build_items() if items is None else items
    used: set[tuple[str, str]] = set()
    coordis = []
    for index in range(count):
        gender, style, season = _slot(index)
        coordi = _plan_coordi(index, gender=gender, style=style, season=season, items=items, used=used)
        used.add((coordi.gender, coordi.description))
        coordis.append(coordi)
    return tuple(coordis)


def plan_activity(coordis: tuple[CoordiSpec, ...], *, gender: str = FEMALE) -> DemoActivity:
    """A few likes and skips, and closet items from coordis the default recommender still shows.

    The default recommender leaves out liked and skipped coordis, so they stay few: with 60 coordis
    the demo user still gets 26 of their gender.
    """
    theirs = [c for c in coordis if c.gender == gender]
    likes = tuple(theirs[rank].index for rank in (2, 7) if rank < len(theirs))
    skips = tuple(theirs[rank].index for rank in (4, 11) if rank < len(theirs))
    shown = [c for c in theirs if c.index not in likes + skips]
    closet: list[str] = []
    # Items of the newest coordis shown, so that isSaved is true on the first page.
    for rank, position in ((0, 0), (1, 1), (5, 0)):
        if rank < len(shown):
            coordi_items = shown[rank].items
            slug = coordi_items[min(position, len(coordi_items) - 1)].slug
            if slug not in closet:
                closet.append(slug)
    # Onboarded with the newest outfits they still see, as the options route offers them.
    preferred = tuple(c.index for c in shown[:PREFERRED_COORDIS])
    return DemoActivity(
        likes=likes, skips=skips, closet=tuple(closet), hashtags=DEMO_HASHTAGS, preferred=preferred
    )


def _slot(index: int) -> tuple[str, str, str]:
    """Gender, style and season of the coordi at `index`: every 32 coordis hold each combination once."""
    gender = GENDERS[index % 2]
    rank = index // 2
    block = rank // (len(STYLES) * len(SEASONS))
    combinations = list(product(STYLES, SEASONS))
    # Shuffled per block so the feed does not walk through the vocabulary in order.
    random.Random(f"demo-slots:{gender}:{block}").shuffle(combinations)
    style, season = combinations[rank % len(combinations)]
    return gender, style, season


def _plan_coordi(
    index: int,
    *,
    gender: str,
    style: str,
    season: str,
    items: tuple[ItemSpec, ...],
    used: set[tuple[str, str]],
) -> CoordiSpec:
    rng = random.Random(f"demo-coordi:{index}")
    age = POSTING_INTERVAL * index + timedelta(minutes=rng.randrange(POSTING_JITTER_MINUTES))
    image_count = rng.randint(1, 3)

    def fitting(category: str) -> list[ItemSpec]:
        return [
            item
            for item in items
            if item.category == category
            and gender in item.genders
            and season in item.garment.seasons
            and style in item.garment.styles
        ]

    tops, bottoms, outers = fitting(TOP), fitting(BOTTOM), fitting(OUTER)
    if not tops or not bottoms or (season in (FALL, WINTER) and not outers):
        raise ValueError(f"The vocabulary has no complete outfit for {gender} {style} {season}.")
    layers = [item for item in items if item.garment.layer and gender in item.genders]

    for _attempt in range(50):
        top, bottom = rng.choice(tops), rng.choice(bottoms)
        wants_outer = season in (FALL, WINTER) or (season == SPRING and rng.random() < 0.4)
        outer = rng.choice(outers) if outers and wants_outer else None
        # A tee under an open shirt: the only four-piece look, and only now and then.
        layer = rng.choice(layers) if top.garment.shape == "shirt" and rng.random() < 0.3 else None
        description = _describe(rng, style=style, season=season, top=top, bottom=bottom, outer=outer)
        if (gender, description) not in used:
            break
    else:
        # Only for catalogues far larger than the vocabulary: the index keeps the key unique.
        description = f"{description} #{index + 1}"

    picked = tuple(item for item in (top, layer, bottom, outer) if item is not None)
    return CoordiSpec(
        index=index,
        gender=gender,
        season=season,
        style=style,
        description=description,
        items=picked,
        image_count=image_count,
        age=age,
    )


def _describe(
    rng: random.Random,
    *,
    style: str,
    season: str,
    top: ItemSpec,
    bottom: ItemSpec,
    outer: ItemSpec | None,
) -> str:
    occasion = rng.choice(SEASON_OCCASIONS[season] + STYLE_OCCASIONS[style])
    moment = f"{rng.choice(SEASON_WORDS[season])} {occasion}"
    look = f"{STYLE_WORDS[style]} {rng.choice(('룩', '코디'))}"
    if outer is not None:
        lead = f"{outer.colour.name} {outer.name}"
        if rng.random() < 0.5:
            return f"{lead}에 {_and(top.name)} {_object(bottom.name)} 매치한 {moment} {look}"
        return f"{_and(top.name)} {bottom.name} 위에 {_object(lead)} 걸친 {moment} {look}"
    lead = f"{top.colour.name} {top.name}"
    if rng.random() < 0.5:
        return f"{_and(lead)} {_with(bottom.name)} 완성한 {moment} {look}"
    return f"{lead}에 {_object(bottom.name)} 매치한 {moment} {look}"


def _final_consonant(word: str) -> int:
    """The final consonant (jongseong) index of the word's last syllable: 0 for none, 8 for ㄹ."""
    last = word.rstrip()[-1]
    if "가" <= last <= "힣":
        return (ord(last) - ord("가")) % 28
    return 0


def _and(word: str) -> str:
    return word + ("과" if _final_consonant(word) else "와")


def _object(word: str) -> str:
    return word + ("을" if _final_consonant(word) else "를")


def _with(word: str) -> str:
    return word + ("으로" if _final_consonant(word) not in (0, 8) else "로")
