"""`Authorization: Bearer <token>`, what the existing mobile client sends, on DRF's token table."""

from rest_framework.authentication import TokenAuthentication


class BearerTokenAuthentication(TokenAuthentication):
    keyword = "Bearer"
