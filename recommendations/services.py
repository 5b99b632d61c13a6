"""Writes: the operations that change data."""

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import authenticate
from django.contrib.auth.models import update_last_login
from django.core.files import File
from django.core.files.storage import Storage
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import FileField, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.authtoken.models import Token

from llm.facts import CoordiFacts, UserFacts
from llm.results import Known, MessageResult, Outcome, Usage
from llm.service import generate_message_results
from llm.store import Stored

from . import background
from .connections import database_hop
from .messages import PENDING, UNAVAILABLE, OutfitMessage
from .models import (
    MAX_DATABASE_ID,
    Coordi,
    CoordiView,
    GeneratedMessage,
    Hashtag,
    Item,
    User,
    UserClosetItem,
    UserCoordiInteraction,
    UserPreferredCoordi,
    UserPreferredHashtag,
)
from .selectors import Account, account

logger = logging.getLogger(__name__)


def issue_token(*, request: HttpRequest | None, email: str, password: str) -> str | None:
    """The API token of the user these credentials sign in, created on first use; None if they don't."""
    signed_in = _signed_in_user(request=request, email=email, password=password)
    return None if signed_in is None else signed_in[1]


def _signed_in_user(*, request: HttpRequest | None, email: str, password: str) -> tuple[User, str] | None:
    """The user these credentials sign in and their API token (created on first use), or None.

    The sign-in is kept as `last_login`, as a session sign-in keeps it; no session is made, so the
    user_logged_in signal (whose receivers may expect one) is not sent.
    """
    user = authenticate(request, email=email, password=password)
    if not isinstance(user, User):  # None: the credentials sign no one in
        return None
    update_last_login(type(user), user)
    token, _ = Token.objects.get_or_create(user=user)
    return user, token.key


def record_messages(*, user_id: int, results: Sequence[MessageResult]) -> int:
    """Keeps a GeneratedMessage for each call this request made, in one INSERT; returns the count.

    Results served from the cache, made by another request, or not attempted (no key) are skipped.
    """
    rows = [
        GeneratedMessage(
            coordi_id=result.coordi_id,
            user_id=user_id,
            text=result.text,
            outcome=result.outcome.value,
            detail=result.detail[:60],
            model=result.model,
            prompt_version=result.prompt_version,
            scope=result.scope,
            latency_ms=result.latency_ms,
            reached_gemini=result.sent,
            image_bytes=result.image_bytes,
            **_tokens(result.usage),
        )
        for result in results
        if _called_here(result)
    ]
    if not rows:
        return 0
    try:
        GeneratedMessage.objects.bulk_create(rows)
    except DatabaseError:
        # An outfit deleted meanwhile, a database hiccup: the page is served all the same.
        logger.warning("could not record %d generated messages", len(rows), exc_info=True)
        return 0
    return len(rows)


def _tokens(usage: Usage | None) -> dict[str, int | None]:
    """The row's token fields; all NULL when Gemini reported none."""
    return {
        f"{kind}_tokens": getattr(usage, kind) if usage is not None else None
        for kind in ("input", "image", "cached", "output", "thinking")
    }


def _called_here(result: MessageResult) -> bool:
    """Whether this request made the attempt: not from the cache or another request, not keyless."""
    return not result.cached and result.outcome is not Outcome.NO_KEY


class PageMessages:
    """One page's messages for one reader: those already known, and the rest being made.

    The making runs in a background task (recommendations.background), not in the request: whether
    the client waits for every message, leaves at LLM_RESPONSE_DEADLINE_SECONDS, asked for none
    (`?messages=defer`), listens to a stream or hangs up, the calls go on (each within its own
    bounds), reach the cache and are recorded as if it had waited. Past LLM_BACKGROUND_MAX, the
    messages not started are unavailable.
    """

    def __init__(self, known: Known, user: UserFacts, *, use_cache: bool = True) -> None:
        self.messages: dict[int, OutfitMessage] = {
            coordi_id: OutfitMessage.of(result) for coordi_id, result in known.results.items()
        }
        granted = background.room(len(known.missing))
        making, refused = known.missing[:granted], known.missing[granted:]
        self.messages.update({coordi.id: UNAVAILABLE for coordi in refused})
        self.messages.update({coordi.id: PENDING for coordi in making})
        # Each pending outfit's id as its message lands, then None once the work has ended.
        self._landed: asyncio.Queue[int | None] = asyncio.Queue()
        self._claimed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        if not making:
            self._claimed.set()
            return
        self._task = background.start(
            _messages_and_record(
                making, user, use_cache=use_cache, stored=known.stored,
                on_result=self._land, on_claimed=self._claimed.set,
            ),
            name=f"messages for user {user.id}",
            messages=len(making),
        )  # fmt: skip
        self._task.add_done_callback(self._ended)

    def _land(self, result: MessageResult) -> None:
        self.messages[result.coordi_id] = OutfitMessage.of(result)
        self._landed.put_nowait(result.coordi_id)

    def _ended(self, task: asyncio.Task[None]) -> None:
        # After every result it landed; work that ended without claiming has nothing more to claim.
        self._claimed.set()
        self._landed.put_nowait(None)

    def now(self) -> dict[int, OutfitMessage]:
        """Every outfit's message as it stands."""
        return dict(self.messages)

    async def claimed(self) -> dict[int, OutfitMessage]:
        """The messages as they stand once those pending are known to be in the making (to a poll of
        any process); no Gemini wait."""
        await self._claimed.wait()
        return self.now()

    async def settled(self, *, timeout: float | None) -> dict[int, OutfitMessage]:
        """The messages once all are settled, or as they stand after `timeout` s (None: no limit)."""
        if self._task is not None:
            with contextlib.suppress(TimeoutError):  # the rest lands in the cache for the next page
                await asyncio.wait_for(asyncio.shield(self._task), timeout=timeout)
        return self.now()

    async def landing(self, *, heartbeat: float) -> AsyncIterator[int | None]:
        """Each pending outfit's id as its message lands, in the order they land, until none is left
        pending; None after every `heartbeat` s with nothing landed. Work that ended without settling
        an outfit (it failed) leaves that outfit unavailable."""
        waiting = {coordi_id for coordi_id, message in self.messages.items() if message is PENDING}
        while waiting:
            try:
                coordi_id = await asyncio.wait_for(self._landed.get(), timeout=heartbeat)
            except TimeoutError:
                yield None
                continue
            if coordi_id is None:  # the work ended
                for left in sorted(waiting):
                    self.messages[left] = UNAVAILABLE
                    yield left
                return
            if coordi_id in waiting:
                waiting.discard(coordi_id)
                yield coordi_id


async def _messages_and_record(
    coordis: Sequence[CoordiFacts],
    user: UserFacts,
    *,
    use_cache: bool,
    stored: Mapping[str, Stored],
    on_result: Callable[[MessageResult], None],
    on_claimed: Callable[[], None],
) -> None:
    results = await generate_message_results(
        coordis, user, use_cache=use_cache, stored=stored, on_result=on_result, on_claimed=on_claimed
    )
    if any(_called_here(result) for result in results):
        await database_hop(record_messages)(user_id=user.id, results=results)


# --- Accounts: sign-up, sign-in, onboarding, the profile photo (writes) -----------------------------


@dataclass(frozen=True, slots=True)
class SignedIn:
    token: str
    account: Account


class EmailTaken(Exception):
    """A user with this email address (in any case) already exists."""


class UnknownIds(Exception):
    """Some of the ids asked for name nothing (kept in `ids`, in the order given)."""

    def __init__(self, ids: Sequence[int]) -> None:
        super().__init__(ids)
        self.ids = list(ids)


class UnknownHashtags(UnknownIds):
    pass


class UnknownOutfits(UnknownIds):
    pass


def sign_up(*, email: str, password: str, name: str, gender: str) -> SignedIn:
    """A new user, signed in (a token, `last_login`); EmailTaken when the address is someone's.

    No check before the insert: the case-insensitive unique constraint decides, so two sign-ups of
    one address at once make one user and one EmailTaken.
    """
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email, password, name=name, gender=gender, last_login=timezone.now()
            )
            token = Token.objects.create(user=user)
    except IntegrityError:
        if User.objects.filter(email__iexact=email).exists():
            raise EmailTaken(email) from None
        raise
    return SignedIn(token=token.key, account=account(user))


def sign_in(*, request: HttpRequest | None, email: str, password: str) -> SignedIn | None:
    """issue_token(), and the user it signed in; None when the credentials sign no one in."""
    signed_in = _signed_in_user(request=request, email=email, password=password)
    if signed_in is None:
        return None
    user, key = signed_in
    return SignedIn(token=key, account=account(user))


def sign_out(*, user: User) -> None:
    """Deletes the user's API token: every client holding it is signed out (sign-in makes a new one)."""
    Token.objects.filter(user=user).delete()


def choose_preferences(*, user: User, hashtag_ids: Sequence[int], coordi_ids: Sequence[int]) -> None:
    """The user's onboarding choice, replacing any earlier one, and the user marked onboarded, in one
    transaction; UnknownHashtags or UnknownOutfits (nothing written) when an id names nothing.

    The user's row is locked first: two choices of one user at once are made one after the other
    (else both would delete the old rows, and the second insert would break the unique constraints).
    """
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).exists()
        _check_known(Hashtag.objects.all(), hashtag_ids, UnknownHashtags)
        _check_known(Coordi.objects.all(), coordi_ids, UnknownOutfits)
        UserPreferredHashtag.objects.filter(user=user).delete()
        UserPreferredCoordi.objects.filter(user=user).delete()
        now = timezone.now()
        UserPreferredHashtag.objects.bulk_create(
            UserPreferredHashtag(user=user, hashtag_id=hashtag_id, created_at=now)
            for hashtag_id in hashtag_ids
        )
        # One timestamp, ids in the order given: the order chosen is read back by id.
        UserPreferredCoordi.objects.bulk_create(
            UserPreferredCoordi(user=user, coordi_id=coordi_id, created_at=now)
            for coordi_id in coordi_ids
        )
        User.objects.filter(pk=user.pk).update(has_completed_onboarding=True)


def _check_known(
    queryset: QuerySet[Hashtag] | QuerySet[Coordi], ids: Sequence[int], unknown: type[UnknownIds]
) -> None:
    candidates = [pk for pk in ids if 0 < pk <= MAX_DATABASE_ID]
    known = set(queryset.filter(pk__in=candidates).values_list("pk", flat=True))
    missing = [pk for pk in ids if pk not in known]
    if missing:
        raise unknown(missing)


@dataclass(frozen=True, slots=True)
class StoredPhoto:
    url: str  # as the storage names it (relative with the local disk)
    created_at: datetime


def replace_profile_photo(*, user: User, photo: File, extension: str) -> StoredPhoto:
    """Stores the photo under a new random name, points the user at it, then deletes the previous
    file (only once the new one is stored and the row updated: a failure keeps the old photo)."""
    field = _photo_field()
    storage = field.storage
    name = storage.save(field.generate_filename(user, f"{uuid.uuid4().hex}.{extension}"), photo)
    try:
        with transaction.atomic():
            previous = _locked_photo_name(user)
            User.objects.filter(pk=user.pk).update(profile_photo=name)
    except BaseException:
        storage.delete(name)
        raise
    if previous:
        storage.delete(previous)
    return StoredPhoto(url=storage.url(name), created_at=timezone.now())


def remove_profile_photo(*, user: User) -> datetime:
    """The user without a profile photo, its file deleted; when they had none, nothing changes."""
    storage: Storage = _photo_field().storage
    with transaction.atomic():
        previous = _locked_photo_name(user)
        if previous:
            User.objects.filter(pk=user.pk).update(profile_photo="")
    if previous:
        storage.delete(previous)
    return timezone.now()


def _photo_field() -> FileField:
    field = User._meta.get_field("profile_photo")
    if not isinstance(field, FileField):  # (for the type checker: it is the model's ImageField)
        raise TypeError(field)
    return field


def _locked_photo_name(user: User) -> str:
    """The user's photo as stored now, the row locked until the transaction ends (so two uploads
    at once each delete the file the other replaced, never the one kept)."""
    return User.objects.select_for_update().values_list("profile_photo", flat=True).get(pk=user.pk)


# --- Likes, skips, views and the closet (writes) ----------------------------------------------------

# One verdict per user and outfit (the model's unique constraint): a like replaces a skip, a skip
# leaves a like. Two writes at once are told apart by that constraint, never by a read before the
# write, so two likes of one outfit make one row and one AlreadyFavorited.
LIKE, SKIP = UserCoordiInteraction.Action.LIKE, UserCoordiInteraction.Action.SKIP


class AlreadyFavorited(Exception):
    pass


class NotFavorited(Exception):
    pass


class AlreadySaved(Exception):
    pass


class NotSaved(Exception):
    pass


def _ensure_coordi(coordi_id: int) -> None:
    if coordi_id > MAX_DATABASE_ID or not Coordi.objects.filter(pk=coordi_id).exists():
        raise Coordi.DoesNotExist(f"No outfit with id {coordi_id}.")


def _ensure_item(item_id: int) -> None:
    if item_id > MAX_DATABASE_ID or not Item.objects.filter(pk=item_id).exists():
        raise Item.DoesNotExist(f"No item with id {item_id}.")


def favorite_outfit(*, user: User, coordi_id: int) -> datetime:
    """Likes the outfit (a skip of it becomes the like); returns when. Raises Coordi.DoesNotExist,
    or AlreadyFavorited when the user likes it already."""
    _ensure_coordi(coordi_id)
    now = timezone.now()
    verdicts = UserCoordiInteraction.objects.filter(user=user, coordi_id=coordi_id)
    # A skip becomes the like, in one UPDATE (of a skip only: a like already there stays as it is).
    if verdicts.filter(action=SKIP).update(action=LIKE, created_at=now):
        return now
    try:
        with transaction.atomic():
            UserCoordiInteraction.objects.create(user=user, coordi_id=coordi_id, action=LIKE, created_at=now)
    except IntegrityError:
        # A verdict got there first: a like (this one is the second), or a skip made meanwhile.
        if verdicts.filter(action=SKIP).update(action=LIKE, created_at=now):
            return now
        _ensure_coordi(coordi_id)  # (or the outfit was deleted meanwhile)
        raise AlreadyFavorited(f"Outfit {coordi_id} is already a favorite.") from None
    return now


def unfavorite_outfit(*, user: User, coordi_id: int) -> datetime:
    """Takes the like back (the outfit is then recommended again); returns when. Raises
    NotFavorited when the user does not like it, Coordi.DoesNotExist when there is no such outfit."""
    likes = UserCoordiInteraction.objects.filter(user=user, coordi_id=coordi_id, action=LIKE)
    if coordi_id > MAX_DATABASE_ID or not likes.delete()[0]:
        _ensure_coordi(coordi_id)
        raise NotFavorited(f"Outfit {coordi_id} is not a favorite.")
    return timezone.now()


def skip_outfit(*, user: User, coordi_id: int) -> UserCoordiInteraction:
    """Records a skip of the outfit, unless the user likes it (the like stays) or skipped it already
    (the first skip stays): the user's verdict on it. Raises Coordi.DoesNotExist."""
    _ensure_coordi(coordi_id)
    # get_or_create settles a race on the unique constraint: the second writer reads the first's row.
    verdict, _ = UserCoordiInteraction.objects.get_or_create(
        user=user, coordi_id=coordi_id, defaults={"action": SKIP}
    )
    return verdict


def record_view(*, user: User, coordi_id: int, duration_seconds: float) -> CoordiView:
    """Keeps how long the user looked at the outfit (one row per view). Raises Coordi.DoesNotExist."""
    _ensure_coordi(coordi_id)
    return CoordiView.objects.create(user=user, coordi_id=coordi_id, duration_seconds=duration_seconds)


def save_item(*, user: User, item_id: int) -> datetime:
    """Puts the item in the user's closet; returns when. Raises Item.DoesNotExist, or AlreadySaved
    (also for the second of two saves at once: the unique constraint decides)."""
    _ensure_item(item_id)
    try:
        with transaction.atomic():
            entry = UserClosetItem.objects.create(user=user, item_id=item_id)
    except IntegrityError:
        _ensure_item(item_id)  # (or the item was deleted meanwhile)
        raise AlreadySaved(f"Item {item_id} is already in the closet.") from None
    return entry.created_at


def remove_item(*, user: User, item_id: int) -> datetime:
    """Takes the item out of the user's closet; returns when. Raises NotSaved when it is not there,
    Item.DoesNotExist when there is no such item."""
    entries = UserClosetItem.objects.filter(user=user, item_id=item_id)
    if item_id > MAX_DATABASE_ID or not entries.delete()[0]:
        _ensure_item(item_id)
        raise NotSaved(f"Item {item_id} is not in the closet.")
    return timezone.now()
