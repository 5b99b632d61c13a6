"""Writes: the operations that change data."""

from django.contrib.auth import authenticate
from django.http import HttpRequest
from rest_framework.authtoken.models import Token


def issue_token(*, request: HttpRequest | None, email: str, password: str) -> str | None:
    """The API token of the user these credentials sign in, created on first use; None if they don't."""
    user = authenticate(request, email=email, password=password)
    if user is None:
        return None
    token, _ = Token.objects.get_or_create(user=user)
    return token.key
