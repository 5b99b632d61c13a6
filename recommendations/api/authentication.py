"""API tokens, on DRF's token table: `Authorization: Bearer <token>` (what the existing mobile client
sends) and DRF's own `Token <token>`.

Every signed-in request starts here, so the token's user is read in one small SQL statement
(`Manager.raw()`: the model's own columns and converters) instead of DRF's select_related queryset,
whose building costs twice the query on a warm page.
"""

from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from ..models import User
from ..page_sql import quoted


def _token_user_sql() -> str:
    # Only quoted names from the models' metadata; the key is a parameter.
    return (
        f"SELECT u.* FROM {quoted(User)} u JOIN {quoted(Token)} t "  # noqa: S608
        f"ON t.{quoted(Token, 'user')} = u.{quoted(User, 'id')} WHERE t.{quoted(Token, 'key')} = %s"
    )


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's TokenAuthentication, its lookup in one raw query; the same answers and errors."""

    def authenticate_credentials(self, key: str) -> tuple[User, Token]:
        user = next(iter(User.objects.raw(_token_user_sql(), [key])), None)
        if user is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        # The token as loaded from its row, its other fields deferred (read only if asked for).
        token = Token.from_db(connection.alias, ["key", "user_id"], [key, user.pk])
        token.user = user
        return user, token


class BearerTokenAuthentication(TokenAuthentication):
    keyword = "Bearer"
