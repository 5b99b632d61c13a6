"""The shared-scope rules: a template opens with the reader's name placeholder and reads well without it."""

from __future__ import annotations

import pytest

from llm.checks import InvalidMessage, clean_template, render_template, without_name

NAME = "{name}"
TEMPLATE = "{name}님, 봄 룩이에요 🌸"


def template_refusal(raw: str | None, *, placeholder: str = NAME) -> str:
    with pytest.raises(InvalidMessage) as caught:
        clean_template(raw, placeholder=placeholder)
    return caught.value.reason


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("{name}님, 봄 산책에 딱이에요 🌸", "{name}님, 봄 산책에 딱이에요 🌸"),
        ('"{name}님, 봄 산책에 딱이에요 🌸"', "{name}님, 봄 산책에 딱이에요 🌸"),  # the message rules apply
        ("**{name}**, this look ✨", "{name}, this look ✨"),
    ],
)
def test_clean_template(raw, clean):
    assert clean_template(raw, placeholder=NAME) == clean


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("민지님, 봄 산책에 딱이에요 🌸", "placeholder"),  # no placeholder
        ("봄 산책에 딱이에요, {name}님 🌸", "placeholder"),  # not at the start
        ("{name}님, {name}님 봄이에요 🌸", "placeholder"),  # twice
        ("{name}님, 봄 산책에 딱이에요", "no_emoji"),
        ("{name}님,\n봄이에요 🌸", "multiline"),
        (None, "empty"),
    ],
)
def test_clean_template_rejects(raw, reason):
    assert template_refusal(raw) == reason


def test_a_template_must_still_be_a_message_without_the_name():
    # Only a placeholder that carries the emoji can leave none behind; the rule holds whatever it is.
    assert clean_template("🙂 봄 산책에 딱이에요 🌸", placeholder="🙂") == "🙂 봄 산책에 딱이에요 🌸"
    assert template_refusal("🌸 봄 산책에 딱이에요", placeholder="🌸") == "no_emoji"


@pytest.mark.parametrize(
    ("template", "nameless"),
    [
        ("{name}님, 봄 룩이에요 🌸", "봄 룩이에요 🌸"),
        ("{name}씨, 봄 룩이에요 🌸", "봄 룩이에요 🌸"),
        ("{name}, this look… ✨", "This look… ✨"),
        ("{name}，봄 룩이에요 🌸", "봄 룩이에요 🌸"),  # full-width comma
        ("{name}님~! 봄 룩이에요 🌸", "봄 룩이에요 🌸"),
        ("{name} 🌸", "🌸"),
        ("{name}", ""),
        ("{name}, XL is your size ✨", "XL is your size ✨"),
        ("{name}, über cool ✨", "Über cool ✨"),  # only the first letter goes up
    ],
)
def test_without_name(template, nameless):
    assert without_name(template, placeholder=NAME) == nameless


def test_render_template_puts_the_name_in():
    assert render_template(TEMPLATE, name="민지", placeholder=NAME) == "민지님, 봄 룩이에요 🌸"


def test_render_template_cleans_what_the_name_brings():
    assert render_template(TEMPLATE, name="**민지**", placeholder=NAME) == "민지님, 봄 룩이에요 🌸"


@pytest.mark.parametrize(
    "name",
    [
        "",  # no name on the account
        "민" * 60,  # the message would pass 50 characters
        "민\n지",  # or break a line
    ],
)
def test_render_template_without_a_usable_name(name):
    assert render_template(TEMPLATE, name=name, placeholder=NAME) == "봄 룩이에요 🌸"
