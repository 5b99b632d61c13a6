"""The rules a model's answer must meet before a user sees it: one clean line, 1–50 characters, an emoji.

"Characters" are what a reader counts: extended grapheme clusters (UAX #29), so 👍🏽, 👨‍👩‍👧, 🇰🇷 and 1️⃣ count
once each. The segmenter below covers what a one-line message holds (marks, emoji sequences, flags,
Hangul jamo) without the `regex` package's full tables.
"""

from __future__ import annotations

import unicodedata

MAX_MESSAGE_CHARS = 50

_QUOTES = "\"'`“”‘’‚„‟«»‹›「」『』〝〞〟＂＇"
_MARKDOWN = str.maketrans("", "", "*_`#")
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
# Invisible direction overrides: nothing a message needs, and they can disguise what it says.
_BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

_ZWJ = 0x200D
_KEYCAP = 0x20E3
_VS16 = 0xFE0F


class InvalidMessage(ValueError):
    """The answer broke a rule; `reason` says which (it never holds the answer itself)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def clean_message(raw: str | None) -> str:
    """The answer without quotes, markdown and stray whitespace; raises InvalidMessage if it fails."""
    if raw is None:
        raise InvalidMessage("empty")
    text = unicodedata.normalize("NFC", raw).strip()
    if any(char in _LINE_BREAKS for char in text):
        raise InvalidMessage("multiline")
    text = _strip_decoration(text)
    text = "".join(char for char in text if char not in _BIDI_CONTROLS)
    # Tabs and odd spaces become one plain space; any control left after that is refused.
    text = " ".join(text.split())
    if any(unicodedata.category(char) == "Cc" for char in text):
        raise InvalidMessage("control_character")
    if not text:
        raise InvalidMessage("empty")
    clusters = graphemes(text)
    if len(clusters) > MAX_MESSAGE_CHARS:
        raise InvalidMessage("too_long")
    if not any(_is_emoji_cluster(cluster) for cluster in clusters):
        raise InvalidMessage("no_emoji")
    return text


def clean_template(raw: str | None, *, placeholder: str) -> str:
    """A shared-scope answer: the rules above, opening with the one `placeholder` for the reader's
    name (as the prompt asks), and a valid message left when the name is taken out."""
    text = clean_message(raw)
    if text.count(placeholder) != 1 or not text.startswith(placeholder):
        raise InvalidMessage("placeholder")
    clean_message(without_name(text, placeholder=placeholder))
    return text


def render_template(template: str, *, name: str, placeholder: str) -> str:
    """The template with the reader's name in, or its nameless form when the name would break a rule."""
    if name:
        try:
            return clean_message(template.replace(placeholder, name))
        except InvalidMessage:
            pass
    return without_name(template, placeholder=placeholder)


def without_name(template: str, *, placeholder: str) -> str:
    """`{name}님, 봄 룩이에요 🌸` → `봄 룩이에요 🌸`; `{name}, this look… ✨` → `This look… ✨`."""
    rest = template.removeprefix(placeholder)
    for honorific in ("님", "씨"):
        rest = rest.removeprefix(honorific)
    rest = rest.lstrip(" ,，!~")
    return rest[:1].upper() + rest[1:]


def count_chars(text: str) -> int:
    """User-perceived characters in `text`."""
    return len(graphemes(text))


def has_emoji(text: str) -> bool:
    return any(_is_emoji_cluster(cluster) for cluster in graphemes(text))


def graphemes(text: str) -> list[str]:
    """`text` split into extended grapheme clusters."""
    clusters: list[str] = []
    start = 0
    for index in range(1, len(text)):
        if _breaks_between(text, start, index):
            clusters.append(text[start:index])
            start = index
    if text:
        clusters.append(text[start:])
    return clusters


def _strip_decoration(text: str) -> str:
    # Leading bullets and quote markers first, then emphasis, code and heading marks anywhere, then
    # quotes around the whole: repeated, since a model may wrap **"…"** in both.
    previous = None
    while previous != text:
        previous = text
        for prefix in ("- ", "• ", "> "):
            if text.startswith(prefix):
                text = text[len(prefix):]
        text = text.translate(_MARKDOWN).strip()
        text = text.strip(_QUOTES).strip()
    return text


def _breaks_between(text: str, start: int, index: int) -> bool:
    """Whether a cluster boundary falls before text[index], the cluster so far being text[start:index]."""
    prev, cur = ord(text[index - 1]), ord(text[index])
    if prev == 0x0D and cur == 0x0A:
        return False
    if _is_control(prev) or _is_control(cur):
        return True
    if _hangul_joins(prev, cur):
        return False
    if _is_extend(cur) or cur == _ZWJ or unicodedata.category(chr(cur)) == "Mc":
        return False
    if prev == _ZWJ and _is_pictographic(cur):
        # GB11: ZWJ joins two pictographs, e.g. 👨‍👩‍👧; not a ZWJ after plain letters.
        cluster = [ord(char) for char in text[start:index - 1]]
        while cluster and _is_extend(cluster[-1]):
            cluster.pop()
        return not (cluster and _is_pictographic(cluster[-1]))
    if _is_regional_indicator(prev) and _is_regional_indicator(cur):
        # GB12/13: flags pair up, so an odd run before cur means cur completes a flag.
        run = 0
        for char in reversed(text[start:index]):
            if not _is_regional_indicator(ord(char)):
                break
            run += 1
        return run % 2 == 0
    return True


def _is_control(cp: int) -> bool:
    if cp in (_ZWJ, 0x200C):
        return False
    category = unicodedata.category(chr(cp))
    # Tag characters are Cf but extend a flag such as 🏴󠁧󠁢󠁳󠁣󠁴󠁿 (the subdivision flags).
    return category in ("Cc", "Zl", "Zp") or (category == "Cf" and not 0xE0020 <= cp <= 0xE007F)


def _is_extend(cp: int) -> bool:
    return (
        unicodedata.category(chr(cp)) in ("Mn", "Me")
        or 0x1F3FB <= cp <= 0x1F3FF  # skin tones
        or 0xE0020 <= cp <= 0xE007F  # tags
        or cp == 0x200C
    )


def _is_regional_indicator(cp: int) -> bool:
    return 0x1F1E6 <= cp <= 0x1F1FF


# Extended_Pictographic, close enough for messages: the emoji blocks and the BMP symbols that
# phones draw as emoji.
_PICTOGRAPHIC_RANGES = (
    (0x00A9, 0x00A9), (0x00AE, 0x00AE), (0x203C, 0x203C), (0x2049, 0x2049), (0x2122, 0x2122),
    (0x2139, 0x2139), (0x2194, 0x2199), (0x21A9, 0x21AA), (0x231A, 0x231B), (0x2328, 0x2328),
    (0x2388, 0x2388), (0x23CF, 0x23CF), (0x23E9, 0x23F3), (0x23F8, 0x23FA), (0x24C2, 0x24C2),
    (0x25AA, 0x25AB), (0x25B6, 0x25B6), (0x25C0, 0x25C0), (0x25FB, 0x25FE), (0x2600, 0x27BF),
    (0x2934, 0x2935), (0x2B05, 0x2B07), (0x2B1B, 0x2B1C), (0x2B50, 0x2B50), (0x2B55, 0x2B55),
    (0x3030, 0x3030), (0x303D, 0x303D), (0x3297, 0x3297), (0x3299, 0x3299),
    (0x1F000, 0x1F1E5), (0x1F200, 0x1F3FA), (0x1F400, 0x1FAFF), (0x1FC00, 0x1FFFD),
)
# Pictographs that are plain text unless followed by U+FE0F (© ® ™ ‼ ⁉ ℹ arrows ▪ ▶ …).
_TEXT_DEFAULT_BELOW = 0x2600


def _is_pictographic(cp: int) -> bool:
    return any(low <= cp <= high for low, high in _PICTOGRAPHIC_RANGES)


def _is_emoji_cluster(cluster: str) -> bool:
    points = [ord(char) for char in cluster]
    if _KEYCAP in points or (_VS16 in points and any(_is_pictographic(cp) for cp in points)):
        return True
    if len(points) >= 2 and all(_is_regional_indicator(cp) for cp in points[:2]):
        return True
    return any(
        _is_pictographic(cp) and (cp >= _TEXT_DEFAULT_BELOW and cp not in (0x3030, 0x303D))
        for cp in points
    )


def _hangul_joins(prev: int, cur: int) -> bool:
    prev_type, cur_type = _hangul_type(prev), _hangul_type(cur)
    if prev_type == "L":
        return cur_type in ("L", "V", "LV", "LVT")
    if prev_type in ("LV", "V"):
        return cur_type in ("V", "T")
    if prev_type in ("LVT", "T"):
        return cur_type == "T"
    return False


def _hangul_type(cp: int) -> str | None:
    if 0x1100 <= cp <= 0x115F or 0xA960 <= cp <= 0xA97C:
        return "L"
    if 0x1160 <= cp <= 0x11A7 or 0xD7B0 <= cp <= 0xD7C6:
        return "V"
    if 0x11A8 <= cp <= 0x11FF or 0xD7CB <= cp <= 0xD7FB:
        return "T"
    if 0xAC00 <= cp <= 0xD7A3:
        return "LV" if (cp - 0xAC00) % 28 == 0 else "LVT"
    return None
