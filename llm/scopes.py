"""Message scopes (LLM_MESSAGE_SCOPE): for whom a message is written, chosen once per settings read.

`user`: one message per outfit and reader, written with their name. `shared`: one per outfit and
gender, written with a {name} placeholder that each reader's name fills in, so a catalogue costs a
few calls rather than one per reader. A scope owns all that differs between the two: the cache key
(everything that changes the message, and only that), the prompt, the check of Gemini's answer,
and what a reader sees of the stored text.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from llm.checks import clean_message, clean_template, render_template
from llm.facts import CoordiFacts, UserFacts
from llm.prompts import NAME_PLACEHOLDER, PROMPT_VERSION, Prompt, build_prompt, build_shared_prompt


class Scope(Protocol):
    name: str

    def key(self, coordi: CoordiFacts, user: UserFacts, *, model: str, language: str) -> str:
        """The cache key of this outfit's message for this reader."""
        ...

    def prompt(self, coordi: CoordiFacts, user: UserFacts, *, language: str) -> Prompt:
        ...

    def check(self, answer: str | None) -> str:
        """What to store of Gemini's answer; raises llm.checks.InvalidMessage when it breaks a rule."""
        ...

    def for_reader(self, stored: str | None, user: UserFacts) -> str | None:
        """What this reader sees of a stored text."""
        ...


def _key(head: str, varies: tuple[object, ...], *, model: str) -> str:
    digest = hashlib.blake2b(repr(varies).encode(), digest_size=8).hexdigest()
    return f"{head}:{PROMPT_VERSION}:{model}:{digest}"


class UserScope:
    name = "user"

    def key(self, coordi: CoordiFacts, user: UserFacts, *, model: str, language: str) -> str:
        varies = (coordi.version, coordi.image_url, coordi.items, language, user.name, user.gender)
        return _key(f"llm_message:{coordi.id}:{user.id}", varies, model=model)

    def prompt(self, coordi: CoordiFacts, user: UserFacts, *, language: str) -> Prompt:
        return build_prompt(coordi=coordi, user=user, language=language)

    def check(self, answer: str | None) -> str:
        return clean_message(answer)

    def for_reader(self, stored: str | None, user: UserFacts) -> str | None:
        return stored


class SharedScope:
    name = "shared"

    def key(self, coordi: CoordiFacts, user: UserFacts, *, model: str, language: str) -> str:
        # Not the reader's id or name: every reader of this gender shares the message.
        varies = (coordi.version, coordi.image_url, coordi.items, language)
        return _key(f"llm_message_shared:{coordi.id}:{user.gender}", varies, model=model)

    def prompt(self, coordi: CoordiFacts, user: UserFacts, *, language: str) -> Prompt:
        return build_shared_prompt(coordi=coordi, gender=user.gender, language=language)

    def check(self, answer: str | None) -> str:
        return clean_template(answer, placeholder=NAME_PLACEHOLDER)

    def for_reader(self, stored: str | None, user: UserFacts) -> str | None:
        if stored is None:
            return None
        return render_template(stored, name=user.name.strip(), placeholder=NAME_PLACEHOLDER)


SCOPES: dict[str, Scope] = {scope.name: scope for scope in (UserScope(), SharedScope())}
