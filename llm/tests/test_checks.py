"""The output rules: one clean line, 1–50 user-perceived characters, at least one emoji."""

from __future__ import annotations

import pytest

from llm.checks import InvalidMessage, clean_message, count_chars, graphemes, has_emoji


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("", 0),
        ("abc", 3),
        ("민지님", 3),
        ("민지님, 안녕 ✨", 9),
        ("👍", 1),
        ("👍🏽", 1),  # skin tone
        ("👩🏽‍💻", 1),  # skin tone inside a ZWJ sequence
        ("👨‍👩‍👧‍👦", 1),  # family
        ("🧑‍🤝‍🧑", 1),
        ("🏳️‍🌈", 1),  # VS16 then ZWJ
        ("❤️", 1),  # VS16
        ("❤️‍🔥", 1),
        ("🇰🇷", 1),  # flag
        ("🇰🇷🇯🇵🇺🇸", 3),
        ("🇰🇷🇯", 2),  # a lone regional indicator after a flag
        ("🏴󠁧󠁢󠁳󠁣󠁴󠁿", 1),  # subdivision flag (tag sequence)
        ("1️⃣", 1),  # keycap
        ("#️⃣*️⃣", 2),
        ("e\u0301", 1),  # combining accent
        ("\u1100\u1161\u11a8", 1),  # conjoining jamo: 각
        ("a\u200db", 2),  # ZWJ between letters joins nothing after it
        ("क्षि", 2),  # Devanagari: marks stay with their consonant
        ("\r\n", 1),
    ],
)
def test_graphemes_count_what_a_reader_sees(text, count):
    assert count_chars(text) == count
    assert "".join(graphemes(text)) == text


@pytest.mark.parametrize("text", ["✨", "🌸", "👍🏽", "👨‍👩‍👧", "🇰🇷", "1️⃣", "❤️", "☀", "☀️", "⭐", "🫶", "©️"])
def test_emoji(text):
    assert has_emoji(f"민지님 {text}")


@pytest.mark.parametrize("text", ["민지님", "©", "™", "→", ":)", "🇰", "1", "ㅋㅋ", "…"])
def test_not_emoji(text):
    assert not has_emoji(text)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("민지님, 봄 산책에 딱이에요 🌸", "민지님, 봄 산책에 딱이에요 🌸"),
        ('"민지님, 봄 산책에 딱이에요 🌸"', "민지님, 봄 산책에 딱이에요 🌸"),
        ("“민지님, 봄 산책에 딱이에요 🌸”", "민지님, 봄 산책에 딱이에요 🌸"),
        ("‘민지님 🌸’", "민지님 🌸"),
        ("「민지님, 봄 산책에 딱이에요 🌸」", "민지님, 봄 산책에 딱이에요 🌸"),
        ("『민지님 🌸』", "민지님 🌸"),
        ("**민지님**, 봄 산책에 *딱*이에요 🌸", "민지님, 봄 산책에 딱이에요 🌸"),
        ('**"민지님, 딱이에요 🌸"**', "민지님, 딱이에요 🌸"),
        ("`민지님 🌸`", "민지님 🌸"),
        ("# 민지님 🌸", "민지님 🌸"),
        ("- 민지님 🌸", "민지님 🌸"),
        ("> 민지님 🌸", "민지님 🌸"),
        ("__민지님__ 🌸", "민지님 🌸"),
        ("  민지님,   봄이에요 🌸  \n", "민지님, 봄이에요 🌸"),
        ("민지님, 오늘\t딱 🌸", "민지님, 오늘 딱 🌸"),
        ("민지님\u202e, 딱 🌸", "민지님, 딱 🌸"),  # bidi override dropped
        ("Minji, it's your look 🌸", "Minji, it's your look 🌸"),  # inner apostrophe kept
    ],
)
def test_clean_message_strips_decoration(raw, clean):
    assert clean_message(raw) == clean


def test_fifty_characters_pass_fifty_one_fail():
    fifty = "민" * 48 + " ✨"
    assert count_chars(fifty) == 50
    assert clean_message(fifty) == fifty
    with pytest.raises(InvalidMessage, match="too_long"):
        clean_message("민" * 49 + " ✨")


def test_emoji_sequences_count_once_towards_the_limit():
    text = "민" * 45 + "👨‍👩‍👧‍👦🇰🇷👍🏽1️⃣🏴󠁧󠁢󠁳󠁣󠁴󠁿"
    assert len(text) > 50
    assert clean_message(text) == text


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "empty"),
        ("", "empty"),
        ("   ", "empty"),
        ('""', "empty"),
        ("**", "empty"),
        ("민지님, 오늘 코디 좋아요", "no_emoji"),
        ("민지님, 좋아요 ✨\n다른 것도 보세요 👀", "multiline"),
        ("민지님\u2028좋아요 ✨", "multiline"),
        ("민지님\x07 좋아요 ✨", "control_character"),
        ("민" * 60 + " ✨", "too_long"),
    ],
)
def test_clean_message_rejects(raw, reason):
    with pytest.raises(InvalidMessage) as caught:
        clean_message(raw)
    assert caught.value.reason == reason


def test_a_trailing_line_break_is_not_a_second_line():
    assert clean_message("민지님, 좋아요 ✨\r\n") == "민지님, 좋아요 ✨"
