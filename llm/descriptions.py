"""An outfit's description as the prompt gives it: its headline, and at most a few topical hashtags.

Catalogue descriptions are mostly hashtags (82–95% of a real export's characters, 19–42 tags an
outfit): credits (`#에디터_…`, `#모델_…`), the shop's promotions, generic tags (`#ootd`, `#데일리룩`)
and style or season tags that contradict the outfit's own fields. Sent whole, they cost tokens and a
message could name a model or an editor. What is kept: the text that is not a hashtag, with plain
credit lines (`Model: …`) taken out, then the first MAX_TAGS tags that say something the structured
fields do not.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

MAX_TAGS = 3

_TAG = re.compile(r"#[^\s#]+")
# Who made the photo, not what is worn: as a tag's first word (`#에디터_김하늘`, `#model_jin`).
CREDIT_WORDS = frozenset({
    "에디터", "모델", "포토", "포토그래퍼", "사진", "촬영", "스타일리스트", "스타일링", "헤어", "메이크업",
    "editor", "model", "photo", "photographer", "photography", "ph", "stylist", "styling", "hair",
    "makeup", "mua", "credit",
})  # fmt: skip
# The same credits written out: `Model: Park`, `에디터 : 김하늘`: a name of at most three words that
# ends the text or its part (a separator, a newline, a tag next). "사진: 실제 색상과 다를 수 있어요"
# is a sentence, not a credit, and stays.
_CREDIT_ALTERNATIVES = "|".join(sorted(sorted(CREDIT_WORDS), key=len, reverse=True))
_NAME_WORD = r"[^,/|#·\s]+"
_CREDIT_LINE = re.compile(
    r"(?i)\b(?:" + _CREDIT_ALTERNATIVES + r")[ \t]*[:\uff1a][ \t]*"
    + _NAME_WORD + r"(?:[ \t]+" + _NAME_WORD + r"){0,2}[ \t]*(?=$|[,/|#·\n])",
    re.MULTILINE,
)
# Selling, not describing: Korean ones anywhere in a tag (`#10%할인`), the others at its start
# as a word of their own (`#sale`, `#sale50`; never `#wholesale` or `#eventwear`).
PROMOTION_WORDS = (
    "할인", "세일", "특가", "쿠폰", "이벤트", "단독", "광고", "협찬", "무료배송", "적립", "공구",
    "sale", "discount", "coupon", "event", "promo", "sponsored", "giveaway",
)  # fmt: skip
# Say nothing about this outfit.
GENERIC_TAGS = frozenset({
    "ootd", "오오티디", "데일리", "데일리룩", "데일리코디", "오늘의코디", "오늘뭐입지", "코디", "코디추천",
    "패션", "패션스타그램", "옷스타그램", "코디스타그램", "일상", "좋아요", "팔로우", "맞팔", "선팔",
    "fashion", "daily", "dailylook", "look", "lookbook", "style", "instafashion", "outfit", "ootdfashion",
    "fashionista", "follow", "like",
})  # fmt: skip
_NUMBERED = re.compile(r"^(?:no\.?)?\d+(?:번)?(?:코디|룩|look)?$")
# The structured fields' words: a tag naming another style or season contradicts the outfit, and
# one naming its own repeats what the prompt already says.
SEASON_WORDS = {
    "spring": ("봄", "spring"), "summer": ("여름", "summer"),
    "fall": ("가을", "fall", "autumn"), "winter": ("겨울", "winter"),
}  # fmt: skip
STYLE_WORDS = {
    "casual": ("캐주얼", "casual"), "street": ("스트릿", "스트리트", "street"),
    "sporty": ("스포티", "sporty", "athleisure", "애슬레저"), "minimal": ("미니멀", "minimal"),
}  # fmt: skip
_ENDINGS = ("코디", "룩", "패션", "look", "style", "코디룩")


def clean_description(description: str, *, brands: Iterable[str] = ()) -> str:
    """The headline of `description` and at most MAX_TAGS of its tags that are about the outfit:
    none that credits someone, promotes (a promotion word, or one of `brands`: the outfit's items'),
    is generic, or names a style or season (the outfit's own fields are in the prompt already, and
    a tag naming another contradicts them)."""
    # Credits first: a tag right after one ends its name.
    headline = _TAG.sub(" ", _CREDIT_LINE.sub(" ", description))
    headline = " ".join(headline.split()).strip(" ,/|·")
    # A brand of one letter would shun every tag starting with it.
    shunned = {word for word in (_squeezed(_folded(brand)) for brand in brands) if len(word) >= 2}
    kept: list[str] = []
    seen: set[str] = set()
    for tag in _TAG.findall(description):
        folded = _folded(tag[1:])
        word = _squeezed(folded)
        if word in seen or not _topical(folded, word, shunned=shunned):
            continue
        seen.add(word)
        kept.append(tag)
        if len(kept) == MAX_TAGS:
            break
    return " ".join([headline, *kept]).strip()


def vocabulary() -> tuple[object, ...]:
    """Every word list this module decides by, for the prompt's fingerprint."""
    return (
        MAX_TAGS, _TAG.pattern, _CREDIT_LINE.pattern, sorted(CREDIT_WORDS), PROMOTION_WORDS,
        sorted(GENERIC_TAGS), _NUMBERED.pattern, sorted(SEASON_WORDS.items()),
        sorted(STYLE_WORDS.items()), _ENDINGS,
    )  # fmt: skip


def _topical(folded: str, word: str, *, shunned: set[str]) -> bool:
    """`folded`: the tag without its #, folded; `word`: the same without spaces or separators."""
    if not word or word in GENERIC_TAGS or _NUMBERED.match(word):
        return False
    # A credit is the credit word alone or followed by a separator and a name.
    if re.split(r"[_.\-]", folded, maxsplit=1)[0] in CREDIT_WORDS:
        return False
    if any(_promotes(word, promotion) for promotion in PROMOTION_WORDS):
        return False
    if any(word.startswith(brand) for brand in shunned):
        return False
    return not _names_a_field(word)


def _promotes(word: str, promotion: str) -> bool:
    if not promotion.isascii():
        return promotion in word
    after = word[len(promotion) : len(promotion) + 1]
    return word.startswith(promotion) and not (after.isascii() and after.isalpha())  # `#event당첨` too


def _names_a_field(word: str) -> bool:
    """A style or season word, alone or with a generic ending (`가을코디`, `streetlook`)."""
    for words in (*SEASON_WORDS.values(), *STYLE_WORDS.values()):
        for field_word in words:
            if word.startswith(field_word) and word[len(field_word):] in ("", *_ENDINGS):
                return True
    return False


def _folded(text: str) -> str:
    """Compared without case or width: a full-width `OOTD` is `ootd`."""
    return unicodedata.normalize("NFKC", text).casefold()


def _squeezed(text: str) -> str:
    """Without spaces, underscores, dots or dashes: `Musinsa Standard` and `#musinsa_standard` match."""
    return re.sub(r"[\s_.\-]+", "", text)
