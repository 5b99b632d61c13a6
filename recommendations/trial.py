"""The admin's "Try messages": the messages a chosen customer would read on chosen outfits, made now
(or taken from the cache) and shown beside each outfit with how they came about."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from asgiref.sync import async_to_sync
from django import forms
from django.contrib.admin.sites import AdminSite
from django.contrib.admin.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from django.http import QueryDict

from llm import explain
from llm.prompts import Prompt
from llm.results import MessageResult
from llm.service import generate_message_results, prompt_for

from .connections import release
from .models import Coordi, GeneratedMessage, User
from .selectors import Outfit, load_outfits, user_facts
from .services import record_messages

# A trial is a handful of calls paid for at once, within one page's deadline.
MAX_TRIED = 20

FRESH, CACHED = "fresh", "cache"


class TryForm(forms.Form):
    """Whom for, which outfits, and whether to ask Gemini afresh. The autocompletes are the admin's
    own (over the users' and coordis' search fields), reached through GeneratedMessage's fields."""

    customer = forms.ModelChoiceField(
        queryset=User.objects.all(), help_text="Search by email or name.", label="Customer"
    )
    coordis = forms.ModelMultipleChoiceField(
        queryset=Coordi.objects.all(), label="Outfits",
        help_text=f"Search by id or description; at most {MAX_TRIED} are tried at once.",
    )  # fmt: skip
    source = forms.ChoiceField(
        choices=[
            (FRESH, "Fresh: ask Gemini now (each call is paid for, recorded, and replaces the stored "
                    "message)"),
            (CACHED, "As the customer would get it now: the stored message where there is one"),
        ],
        initial=FRESH, widget=forms.RadioSelect, label="Messages",
    )  # fmt: skip

    def __init__(self, data: QueryDict | None = None, *, admin_site: AdminSite, **kwargs: object) -> None:
        if data is not None:
            # Ids only: the admin's autocomplete widgets look the chosen values up to show them again,
            # and a word there would be a database error, not a form error.
            data = data.copy()
            for name in ("customer", "coordis"):
                data.setlist(name, [value for value in data.getlist(name) if is_id(value)])
        super().__init__(data, **kwargs)  # type: ignore[arg-type]
        for name, source, widget in (
            ("customer", "user", AutocompleteSelect),
            ("coordis", "coordi", AutocompleteSelectMultiple),
        ):
            field = self.fields[name]
            field.widget = widget(GeneratedMessage._meta.get_field(source), admin_site)
            field.widget.choices = field.choices  # type: ignore[attr-defined]  # as the field's own widget

    def chosen_ids(self) -> list[int]:
        """The chosen outfits' ids in the order given (the field's queryset has none), once each."""
        existing = {coordi.pk for coordi in self.cleaned_data["coordis"]}
        data = self.data if isinstance(self.data, QueryDict) else QueryDict()
        # The data holds ids only (see __init__), and the field found each of those that exist.
        return list(dict.fromkeys(value for value in map(int, data.getlist("coordis")) if value in existing))


def is_id(value: str) -> bool:
    """A row id as the address or a form gives it: ASCII digits, within a bigint."""
    return value.isascii() and value.isdigit() and len(value) < 19


@dataclass(frozen=True, slots=True)
class Tried:
    """One outfit as the page shows it: the outfit, what came of its message, and what was asked."""

    outfit: Outfit
    result: MessageResult
    prompt: Prompt
    problem: str
    image_problem: str

    @property
    def image_sent(self) -> bool:
        return self.result.image_status == "sent"


def try_messages(customer: User, coordi_ids: Sequence[int], *, fresh: bool) -> list[Tried]:
    """The messages `customer` would read on these outfits (at most MAX_TRIED, in this order),
    made under the API's limits and recorded as the API records its calls. Never raises for Gemini's
    sake: each outfit's problem is in its result."""
    outfits = load_outfits(coordi_ids[:MAX_TRIED])
    chosen = [outfits[coordi_id] for coordi_id in coordi_ids[:MAX_TRIED] if coordi_id in outfits]
    reader = user_facts(customer)
    facts = [outfit.facts() for outfit in chosen]
    release()  # not held across the Gemini wait
    results = async_to_sync(generate_message_results)(facts, reader, use_cache=not fresh)
    record_messages(user_id=customer.pk, results=results)
    by_id = {result.coordi_id: result for result in results}
    return [
        Tried(
            outfit=outfit,
            result=by_id[outfit.id],
            prompt=prompt_for(fact, reader),
            problem=explain.problem(by_id[outfit.id]),
            image_problem=explain.image_problem(by_id[outfit.id]),
        )
        for outfit, fact in zip(chosen, facts, strict=True)
    ]
