"""Message scopes: each key moves with everything that changes the message, and only with that."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from llm.checks import InvalidMessage
from llm.facts import CoordiFacts, ItemFacts, UserFacts
from llm.scopes import SCOPES

READER = UserFacts(id=7, name="민지", gender="female")
OUTFIT = CoordiFacts(id=42, style="casual", season="spring", gender="female", description="봄 니트",
                     image_url="http://img.test/1.jpg", version="v1")  # fmt: skip


def key(scope: str, *, coordi: CoordiFacts = OUTFIT, user: UserFacts = READER, model: str = "m1",
        language: str = "ko") -> str:  # fmt: skip
    return SCOPES[scope].key(coordi, user, model=model, language=language)


CHANGES: dict[str, dict[str, Any]] = {
    "outfit version": {"coordi": replace(OUTFIT, version="v2")},
    "outfit image": {"coordi": replace(OUTFIT, image_url="http://img.test/2.jpg")},
    "outfit items": {"coordi": replace(OUTFIT, items=(ItemFacts("top", "Zara", "Knit"),))},
    "another outfit": {"coordi": replace(OUTFIT, id=43)},
    "language": {"language": "en"},
    "model": {"model": "m2"},
    "reader's gender": {"user": replace(READER, gender="male")},
}


@pytest.mark.parametrize("scope", ["user", "shared"])
@pytest.mark.parametrize("change", list(CHANGES))
def test_a_change_to_the_message_is_a_new_key(scope, change):
    assert key(scope, **CHANGES[change]) != key(scope)


@pytest.mark.parametrize("change", [{"user": replace(READER, name="서연")}, {"user": replace(READER, id=8)}])
def test_a_user_key_is_the_readers_own(change):
    assert key("user", **change) != key("user")


@pytest.mark.parametrize("change", [{"user": replace(READER, name="서연")}, {"user": replace(READER, id=8)}])
def test_a_shared_key_is_every_readers_of_the_gender(change):
    assert key("shared", **change) == key("shared")


def test_the_shared_prompt_names_the_gender_and_never_the_reader():
    prompt = SCOPES["shared"].prompt(OUTFIT, READER, language="ko")

    assert "여성 (female)" in prompt.text
    assert READER.name not in prompt.text and READER.name not in prompt.system


def test_the_user_prompt_names_the_reader():
    prompt = SCOPES["user"].prompt(OUTFIT, READER, language="ko")

    assert f"name: {READER.name}" in prompt.text
    assert "여성 (female)" in prompt.text


def test_each_scope_checks_its_own_answer_and_shows_it_to_the_reader():
    user, shared = SCOPES["user"], SCOPES["shared"]

    assert user.check("민지님, 봄 산책 룩이에요 🌸") == "민지님, 봄 산책 룩이에요 🌸"
    assert user.for_reader("민지님, 봄 산책 룩이에요 🌸", READER) == "민지님, 봄 산책 룩이에요 🌸"
    assert shared.check("{name}님, 봄 산책 룩이에요 🌸") == "{name}님, 봄 산책 룩이에요 🌸"
    assert shared.for_reader("{name}님, 봄 산책 룩이에요 🌸", READER) == "민지님, 봄 산책 룩이에요 🌸"
    assert shared.for_reader(None, READER) is None
    assert user.for_reader(None, READER) is None
    with pytest.raises(InvalidMessage, match="placeholder"):
        shared.check("봄 산책 룩이에요 🌸")
