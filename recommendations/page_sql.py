"""The reads every page makes, in SQL: the recommender's ids, the coordis' versions with the reader's
likes, and the reader's saved items among them (the fourth, the API token's user, is
recommendations.api.authentication's).

Why not the ORM: these run on every page, and building their querysets (filters, a subquery, a
window, joins) and compiling them to SQL cost ~3 ms a page on a two-core server, three times what
the database takes to answer them: most of a warm page. Here the statements are plain, portable
SQL (SQLite and PostgreSQL both run them), named from the models' metadata (a renamed table or
column follows), with every value a parameter. The querysets they replace are kept as the reference
in recommendations/tests/test_page_sql.py, which checks the two agree on random catalogues, likes,
skips and closets. Everything else (the outfits themselves, the admin, writes) stays in the ORM.
"""

from collections.abc import Sequence

from django.db import connection
from django.db.models import Field, Model

from .models import Coordi, CoordiItem, UserClosetItem, UserCoordiInteraction


def quoted(model: type[Model], field: str | None = None) -> str:
    """A table's name, or one of its columns', quoted for the database."""
    if field is None:
        return connection.ops.quote_name(model._meta.db_table)
    column = model._meta.get_field(field)
    if not isinstance(column, Field) or column.column is None:  # a relation's other end
        raise TypeError(f"{model.__name__}.{field} is not a column of {model._meta.db_table}")
    return connection.ops.quote_name(column.column)


def _placeholders(values: Sequence[object]) -> str:
    return ", ".join(["%s"] * len(values))


def newest_for_gender(user_id: int, gender: str, *, offset: int, limit: int) -> tuple[list[int], int]:
    """Coordis of `gender` (every one when empty) the user neither liked nor skipped, newest first:
    the ids of rows offset to offset + limit, and how many there are in all (one query, with the
    window's count; a page past the end counts them in a second)."""
    coordi, interaction = quoted(Coordi), quoted(UserCoordiInteraction)
    c_id, c_gender = quoted(Coordi, "id"), quoted(Coordi, "gender")
    not_seen = (
        f"NOT EXISTS (SELECT 1 FROM {interaction} i WHERE i.{quoted(UserCoordiInteraction, 'user')} = %s "
        f"AND i.{quoted(UserCoordiInteraction, 'coordi')} = c.{c_id})"
    )
    where: list[str] = [not_seen]
    params: list[int | str] = [user_id]
    if gender:
        where.append(f"c.{c_gender} = %s")
        params.append(gender)
    condition = " AND ".join(where)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT c.{c_id}, COUNT(*) OVER () FROM {coordi} c WHERE {condition} "
            f"ORDER BY c.{quoted(Coordi, 'created_at')} DESC, c.{c_id} DESC LIMIT %s OFFSET %s",
            [*params, limit, offset],
        )
        rows = cursor.fetchall()
        if rows:
            return [coordi_id for coordi_id, _ in rows], rows[0][1]
        cursor.execute(f"SELECT COUNT(*) FROM {coordi} c WHERE {condition}", params)
        (total,) = cursor.fetchone()
    return [], total


def versions_and_likes(user_id: int, coordi_ids: Sequence[int]) -> dict[int, tuple[int, bool]]:
    """The catalogue version of each of these coordis that exists, and whether the user liked it."""
    if not coordi_ids:
        return {}
    c_id, interaction = quoted(Coordi, "id"), quoted(UserCoordiInteraction)
    liked = (
        f"EXISTS (SELECT 1 FROM {interaction} i WHERE i.{quoted(UserCoordiInteraction, 'user')} = %s "
        f"AND i.{quoted(UserCoordiInteraction, 'coordi')} = c.{c_id} "
        f"AND i.{quoted(UserCoordiInteraction, 'action')} = %s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT c.{c_id}, c.{quoted(Coordi, 'catalogue_version')}, {liked} FROM {quoted(Coordi)} c "
            f"WHERE c.{c_id} IN ({_placeholders(coordi_ids)})",
            [user_id, UserCoordiInteraction.Action.LIKE.value, *coordi_ids],
        )
        # bool(): SQLite answers EXISTS with 0 or 1.
        return {coordi_id: (version, bool(like)) for coordi_id, version, like in cursor.fetchall()}


def saved_items(user_id: int, coordi_ids: Sequence[int]) -> frozenset[int]:
    """The items of these coordis that the user saved to their closet."""
    if not coordi_ids:
        return frozenset()
    closet_item = quoted(UserClosetItem, "item")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.{closet_item} FROM {quoted(UserClosetItem)} s "
            f"JOIN {quoted(CoordiItem)} ci ON ci.{quoted(CoordiItem, 'item')} = s.{closet_item} "
            f"WHERE s.{quoted(UserClosetItem, 'user')} = %s "
            f"AND ci.{quoted(CoordiItem, 'coordi')} IN ({_placeholders(coordi_ids)})",
            [user_id, *coordi_ids],
        )
        return frozenset(item_id for (item_id,) in cursor.fetchall())
