"""OpenAPI descriptions drf-spectacular cannot infer (loaded by the app config)."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """The Bearer form of the token; the `Token` form keeps drf-spectacular's own `tokenAuth`."""

    target_class = "recommendations.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer", "description": "A token from POST /api/auth/token."}
