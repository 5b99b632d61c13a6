"""The rules a model's answer must meet before a user sees it: one clean line of visible characters,
1–50 of them, an emoji, and no markup or link.

"Characters" are what a reader counts: extended grapheme clusters (UAX #29, the `regex` module's `\\X`), so
👍🏽, 👨‍👩‍👧, 🇰🇷 and 1️⃣ count once each. An emoji is one the `emoji` package knows, bar text-default signs
without VS16 that read as typography (© ™ ‼ ↔ ▶ 〰). Both packages follow new Unicode versions when upgraded.
"""

from __future__ import annotations

import unicodedata

import emoji
import regex

MAX_MESSAGE_CHARS = 50

_QUOTES = "\"'`“”‘’‚„‟«»‹›「」『』〝〞〟＂＇"
_MARKDOWN = str.maketrans("", "", "*_`#")
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
# Letters that draw nothing (Hangul fillers, a favourite for blank names); the rest of the invisible
# ones are format characters (category Cf: zero-width spaces and joiners, direction overrides, soft
# hyphens, BOMs, tags), kept only inside an emoji, where they join it (👨‍👩‍👧, 🏴󠁧󠁢󠁳󠁣󠁴󠁿).
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")
# A link a reader could follow: a scheme, www., or a host under a common top-level domain.
_URL = regex.compile(
    r"(?i)\b(?:[a-z][a-z0-9+.-]*://|www\.)"
    r"|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|net|org|io|co|kr|me|ly|app|shop|store|link|xyz|info|biz)\b"
)

_GRAPHEME = regex.compile(r"\X")
_UNQUALIFIED = emoji.STATUS["unqualified"]
# Where the pictures start: before the Miscellaneous Symbols block a text-default emoji is a typographic
# sign (© ® ™ ‼ ℹ, arrows, ▶ ▪); from it on (☀ ❤ ✔ 🕶 🛍) a picture, which many phones draw as emoji anyway.
_FIRST_PICTURE = "\u2600"
# CJK punctuation that Korean and Japanese text uses as such: 좋아요〰.
_CJK_MARKS = frozenset({"\u3030", "\u303d"})


class InvalidMessage(ValueError):
    """The answer broke a rule; `reason` says which (it never holds the answer itself)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def clean_message(raw: str | None) -> str:
    """The answer without quotes, markdown and stray whitespace; raises InvalidMessage if it fails."""
    if raw is None:
        raise InvalidMessage("empty")
    text = visible(unicodedata.normalize("NFC", raw)).strip()
    if any(char in _LINE_BREAKS for char in text):
        raise InvalidMessage("multiline")
    text = _strip_decoration(text)
    # Tabs and odd spaces become one plain space; any control left after that is refused.
    text = " ".join(text.split())
    if any(unicodedata.category(char) == "Cc" for char in text):
        raise InvalidMessage("control_character")
    if not text:
        raise InvalidMessage("empty")
    if "<" in text or ">" in text:
        raise InvalidMessage("markup")
    if _URL.search(text):
        raise InvalidMessage("url")
    if count_chars(text) > MAX_MESSAGE_CHARS:
        raise InvalidMessage("too_long")
    if not has_emoji(text):
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


def visible(text: str) -> str:
    """`text` without the characters that draw nothing (format characters, Hangul fillers), but for
    those inside an emoji."""
    return "".join(
        cluster if emoji.is_emoji(cluster) else "".join(
            char for char in cluster
            if unicodedata.category(char) != "Cf" and char not in _BLANK_LETTERS
        )
        for cluster in graphemes(text)
    )  # fmt: skip


def holds_secret(text: str | None, secret: str) -> bool:
    """Whether `text` spells out `secret` (an API key), even with invisible characters or spaces in it."""
    if not text or not secret:
        return False
    return secret in "".join(visible(text).split())


def count_chars(text: str) -> int:
    """User-perceived characters in `text`."""
    return len(graphemes(text))


def has_emoji(text: str) -> bool:
    """Whether `text` holds an emoji that a reader sees as one."""
    return any(_draws_as_emoji(found["emoji"]) for found in emoji.emoji_list(text))


def graphemes(text: str) -> list[str]:
    """`text` split into extended grapheme clusters."""
    return _GRAPHEME.findall(text)


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


def _draws_as_emoji(found: str) -> bool:
    # Emoji by default (⌚ ✨ 🌸), with VS16 (❤️ ©️), a skin tone, a keycap or a sequence: a reader sees an
    # emoji. A lone text-default one without VS16 (❤ ☀ ©) counts when it is a picture, not a typographic
    # sign or a CJK mark.
    if emoji.EMOJI_DATA[found]["status"] != _UNQUALIFIED or len(found) > 1:
        return True
    return found >= _FIRST_PICTURE and found not in _CJK_MARKS
