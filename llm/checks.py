"""The rules a model's answer must meet before a user sees it: one clean line, 1–50 characters, an emoji.

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
# Invisible direction overrides: nothing a message needs, and they can disguise what it says.
_BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

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
