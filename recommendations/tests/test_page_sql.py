"""The page's SQL (recommendations.page_sql) and the API token's lookup agree with the ORM querysets
they replace, kept here as the reference, on random catalogues, likes, skips and closets (on SQLite
and on PostgreSQL: CI runs both)."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Window
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from recommendations import page_sql
from recommendations.api.authentication import TokenAuthentication
from recommendations.models import Coordi, User, UserClosetItem, UserCoordiInteraction

from .factories import BASE_TIME, make_coordi, make_user, token_for

pytestmark = pytest.mark.django_db


# --- the reference: the querysets the SQL replaced -------------------------------------------------


def orm_newest_for_gender(user: User, *, offset: int, limit: int) -> tuple[list[int], int]:
    seen = UserCoordiInteraction.objects.filter(user=user).values("coordi_id")
    coordis = Coordi.objects.exclude(id__in=seen)
    if user.gender:
        coordis = coordis.filter(gender=user.gender)
    rows = list(
        coordis.order_by("-created_at", "-id")
        .annotate(total=Window(Count("id")))
        .values_list("id", "total")[offset : offset + limit]
    )
    return [coordi_id for coordi_id, _ in rows], rows[0][1] if rows else coordis.count()


def orm_versions_and_likes(user: User, ids: list[int]) -> dict[int, tuple[int, bool]]:
    liked = Exists(
        UserCoordiInteraction.objects.filter(
            user=user, coordi=OuterRef("pk"), action=UserCoordiInteraction.Action.LIKE
        )
    )
    coordis = Coordi.objects.filter(id__in=ids).annotate(liked=liked)
    rows = coordis.values_list("id", "catalogue_version", "liked")
    return {coordi_id: (version, liked) for coordi_id, version, liked in rows}


def orm_saved_items(user: User, ids: list[int]) -> frozenset[int]:
    entries = UserClosetItem.objects.filter(user=user, item__coordi_items__coordi_id__in=ids)
    return frozenset(entries.values_list("item_id", flat=True))


# --- random worlds ---------------------------------------------------------------------------------

worlds = st.fixed_dictionaries({
    # Each coordi: its gender and how many minutes ago it was made (repeats: ties on created_at).
    "coordis": st.lists(st.tuples(st.sampled_from(["female", "male"]), st.integers(0, 4)), max_size=9),
    # "": a user without one (the database refuses it today; the recommender still copes).
    "gender": st.sampled_from(["female", "male", ""]),
    # (coordi pick, action) for this user, and for another one who must not count.
    "mine": st.lists(st.tuples(st.integers(0, 99), st.sampled_from(["like", "skip"])), max_size=6),
    "theirs": st.lists(st.tuples(st.integers(0, 99), st.sampled_from(["like", "skip"])), max_size=4),
    "saved": st.lists(st.integers(0, 99), max_size=6),
    "offset": st.integers(0, 10),
    "limit": st.integers(0, 6),
})  # fmt: skip


def _build(world: dict) -> tuple[User, list[Coordi]]:
    user, other = make_user(gender=world["gender"] or "female"), make_user()
    user.gender = world["gender"]  # in memory only
    coordis = []
    for gender, minutes in world["coordis"]:
        coordi = make_coordi(gender=gender, items=2, images=1)
        Coordi.objects.filter(pk=coordi.pk).update(created_at=BASE_TIME - timedelta(minutes=minutes))
        coordis.append(coordi)
    if coordis:
        for who, picks in ((user, world["mine"]), (other, world["theirs"])):
            for pick, action in picks:
                UserCoordiInteraction.objects.update_or_create(
                    user=who, coordi=coordis[pick % len(coordis)], defaults={"action": action}
                )
        items = [item for coordi in coordis for item in coordi.items.all()]
        for pick in world["saved"]:
            UserClosetItem.objects.get_or_create(user=user, item=items[pick % len(items)])
            UserClosetItem.objects.get_or_create(user=other, item=items[(pick + 1) % len(items)])
    return user, coordis


@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(world=worlds)
def test_the_sql_agrees_with_the_orm(world):
    with transaction.atomic():  # each example starts from the same database, rolled back after
        user, coordis = _build(world)
        offset, limit = world["offset"], world["limit"]

        assert page_sql.newest_for_gender(
            user.pk, user.gender, offset=offset, limit=limit
        ) == orm_newest_for_gender(user, offset=offset, limit=limit)

        # Every coordi, and one that does not exist: versions, likes and closet entries alike.
        ids = [coordi.pk for coordi in coordis] + [10**9]
        found, saved = page_sql.reader_state(user.pk, ids)
        assert found == orm_versions_and_likes(user, ids)
        assert all(type(liked) is bool for _, liked in found.values())
        assert saved == orm_saved_items(user, ids)
        assert page_sql.saved_items(user.pk, ids) == orm_saved_items(user, ids)
        transaction.set_rollback(True)


def test_each_read_is_one_query_and_none_without_ids():
    user = make_user()
    ids = [make_coordi().pk for _ in range(3)]

    with CaptureQueriesContext(connection) as captured:
        assert page_sql.newest_for_gender(user.pk, "female", offset=0, limit=2) == (ids[:2], 3)
        page_sql.reader_state(user.pk, ids)
        page_sql.saved_items(user.pk, ids)
    assert len(captured) == 3

    with CaptureQueriesContext(connection) as captured:
        assert page_sql.reader_state(user.pk, []) == ({}, frozenset())
        assert page_sql.saved_items(user.pk, []) == frozenset()
    assert len(captured) == 0


def test_a_page_past_the_end_still_counts_them_all():
    user = make_user()
    for _ in range(3):
        make_coordi()

    assert page_sql.newest_for_gender(user.pk, "female", offset=3, limit=20) == ([], 3)
    assert page_sql.newest_for_gender(user.pk, "female", offset=0, limit=0) == ([], 3)


def test_a_name_that_is_no_column_is_refused():
    assert page_sql.quoted(Coordi, "catalogue_version") == connection.ops.quote_name("catalogue_version")
    with pytest.raises(TypeError, match="images is not a column"):
        page_sql.quoted(Coordi, "images")  # the other end of CoordiImage.coordi


# --- the API token's user --------------------------------------------------------------------------


def test_the_tokens_user_is_the_one_drf_would_give():
    user = make_user(name="김민지", gender="male", is_staff=True)
    User.objects.filter(pk=user.pk).update(last_login=BASE_TIME)  # a datetime through the converters
    key = token_for(user)

    ours, token = TokenAuthentication().authenticate_credentials(key)
    drfs, drf_token = authentication.TokenAuthentication().authenticate_credentials(key)

    assert isinstance(ours, User)
    assert {field.attname: getattr(ours, field.attname) for field in User._meta.concrete_fields} == {
        field.attname: getattr(drfs, field.attname) for field in User._meta.concrete_fields
    }
    assert ours.last_login == BASE_TIME  # aware, on SQLite too
    assert token.key == key and token.user is ours
    assert token.created == drf_token.created  # deferred: read when asked for


@pytest.mark.parametrize(
    ("active", "known", "expected"),
    [(True, False, "Invalid token."), (False, True, "User inactive or deleted.")],
)
def test_an_unknown_key_or_an_inactive_user_fail_as_drfs_do(active, known, expected):
    key = token_for(make_user(is_active=active)) if known else Token.generate_key()

    with pytest.raises(exceptions.AuthenticationFailed) as ours:
        TokenAuthentication().authenticate_credentials(key)
    with pytest.raises(exceptions.AuthenticationFailed) as drfs:
        authentication.TokenAuthentication().authenticate_credentials(key)
    assert str(ours.value.detail) == str(drfs.value.detail) == expected


def test_the_reader_state_of_one_coordi():
    user = make_user()
    coordi = make_coordi(items=2)
    item = coordi.items.order_by("id").first()
    assert item is not None
    UserCoordiInteraction.objects.create(user=user, coordi=coordi, action="like")
    UserClosetItem.objects.create(user=user, item=item)

    assert page_sql.reader_state(user.pk, [coordi.pk]) == (
        {coordi.pk: (Coordi.objects.get(pk=coordi.pk).catalogue_version, True)},
        frozenset([item.pk]),
    )
