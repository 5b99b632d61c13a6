"""The OpenAPI schema: descriptions drf-spectacular cannot infer (loaded by the app config), and the
views serving the schema and its docs."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .errors import envelope
from .examples import ERROR_EXAMPLES
from .renderers import ORJSONRenderer


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """The Bearer form of the token; the `Token` form keeps drf-spectacular's own `tokenAuth`."""

    target_class = "recommendations.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer", "description": "A token from POST /api/auth/token."}


class EnvelopeErrors(APIView):
    """An APIView mixin: its errors in the API's JSON envelope, whatever it renders when it succeeds
    (the schema's YAML, the docs' HTML) and whatever the client asked for (`?format=xml` too)."""

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        if response.exception:
            request.accepted_renderer = ORJSONRenderer()
            request.accepted_media_type = ORJSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


class SchemaView(EnvelopeErrors, SpectacularAPIView):
    """GET /api/schema/: the OpenAPI 3 document (YAML, or JSON with ?format=json)."""

    http_method_names = ["get", "head"]


class DocsView(EnvelopeErrors, SpectacularSwaggerView):
    """GET /api/docs/: Swagger UI over the schema (an OPTIONS would render its metadata as HTML)."""

    http_method_names = ["get", "head"]


_REASONS = {
    400: "A bad parameter or body (the message names it).",
    401: "No valid credentials.",
    403: "Signed in, but not allowed.",
    404: "No such resource (the message names it).",
    406: "The Accept header asks for something other than JSON.",
    413: "The body is over the server's limit (DATA_UPLOAD_MAX_MEMORY_SIZE).",
    409: "In conflict with what is stored (already there; the code says what).",
    415: "The body is not JSON.",
    429: "Too many attempts; Retry-After says when to try again.",
    500: "A bug on our side (logged); never a traceback.",
    501: "Not implemented by this server (here, or under WSGI: the message says which).",
}


def _error_statuses(view: type[APIView], method: str, operation: dict[str, Any]) -> set[int]:
    """Every error status this operation can answer, whatever its own annotations declare."""
    statuses = {500}
    if any(
        isinstance(permission, type) and issubclass(permission, IsAuthenticated)
        for permission in view.permission_classes
    ):
        statuses.add(401)
    if operation.get("parameters") or "requestBody" in operation:
        statuses.add(400)
    if "requestBody" in operation:
        statuses |= {413, 415}
    if view.throttle_classes:
        statuses.add(429)
    if issubclass(view.content_negotiation_class, DefaultContentNegotiation):
        statuses.add(406)  # (the stream's negotiation answers errors in JSON whatever is asked)
    return statuses


def document_errors(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    """A POSTPROCESSING_HOOK: each operation lists every error it can answer, each in the envelope
    (components/schemas/Error) with an example."""
    for path, _, method, callback in generator.endpoints:
        operation = result["paths"].get(path, {}).get(method.lower())
        if operation is None:
            continue  # a view kept out of the schema (the docs)
        responses = operation["responses"]
        declared = {int(status) for status in responses if status.isdigit()}
        for status in sorted(declared | _error_statuses(callback.cls, method, operation)):
            if status < 400:
                continue
            code, message = ERROR_EXAMPLES[status]
            response = responses.setdefault(str(status), {})
            response["description"] = _REASONS[status]
            response["content"] = {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"},
                    "examples": {code: {"value": envelope(code, message)}},
                }
            }
        operation["responses"] = dict(sorted(responses.items()))
    return result
