"""The reads every page makes, in SQL: the recommender's ids, then in one statement the coordis'
versions with the reader's likes and the reader's saved items among them (the third, the API
token's user, is recommendations.api.authentication's).

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


def _versions_and_likes_sql(user_id: int, coordi_ids: Sequence[int]) -> tuple[str, list[int | str]]:
    c_id, interaction = quoted(Coordi, "id"), quoted(UserCoordiInteraction)
    liked = (
        f"EXISTS (SELECT 1 FROM {interaction} i WHERE i.{quoted(UserCoordiInteraction, 'user')} = %s "
        f"AND i.{quoted(UserCoordiInteraction, 'coordi')} = c.{c_id} "
        f"AND i.{quoted(UserCoordiInteraction, 'action')} = %s)"
    )
    return (
        f"SELECT c.{c_id}, c.{quoted(Coordi, 'catalogue_version')}, {liked}, NULL FROM {quoted(Coordi)} c "
        f"WHERE c.{c_id} IN ({_placeholders(coordi_ids)})",
        [user_id, UserCoordiInteraction.Action.LIKE.value, *coordi_ids],
    )


def _saved_items_sql(user_id: int, coordi_ids: Sequence[int]) -> tuple[str, list[int | str]]:
    closet_item = quoted(UserClosetItem, "item")
    return (
        f"SELECT NULL, NULL, NULL, s.{closet_item} FROM {quoted(UserClosetItem)} s "
        f"JOIN {quoted(CoordiItem)} ci ON ci.{quoted(CoordiItem, 'item')} = s.{closet_item} "
        f"WHERE s.{quoted(UserClosetItem, 'user')} = %s "
        f"AND ci.{quoted(CoordiItem, 'coordi')} IN ({_placeholders(coordi_ids)})",
        [user_id, *coordi_ids],
    )


def reader_state(
    user_id: int, coordi_ids: Sequence[int]
) -> tuple[dict[int, tuple[int, bool]], frozenset[int]]:
    """For these coordis, in one statement: the catalogue version of each that exists with whether
    the user liked it, and the items of them the user saved to their closet."""
    if not coordi_ids:
        return {}, frozenset()
    versions_sql, versions_params = _versions_and_likes_sql(user_id, coordi_ids)
    saved_sql, saved_params = _saved_items_sql(user_id, coordi_ids)
    with connection.cursor() as cursor:
        cursor.execute(f"{versions_sql} UNION ALL {saved_sql}", [*versions_params, *saved_params])
        rows = cursor.fetchall()
    # A row of the first part has its coordi's id, one of the second only an item's. bool(): SQLite
    # answers EXISTS with 0 or 1.
    found = {
        coordi_id: (version, bool(like)) for coordi_id, version, like, _ in rows if coordi_id is not None
    }
    return found, frozenset(item_id for coordi_id, _, _, item_id in rows if coordi_id is None)


def saved_items(user_id: int, coordi_ids: Sequence[int]) -> frozenset[int]:
    """The items of these coordis that the user saved to their closet."""
    if not coordi_ids:
        return frozenset()
    sql, params = _saved_items_sql(user_id, coordi_ids)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return frozenset(item_id for *_, item_id in cursor.fetchall())
