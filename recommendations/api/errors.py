"""The API's one error envelope: `{"success": false, "error": {"code": ..., "message": ...}}`.

Every error under /api/ goes through here: DRF's exceptions, unexpected ones, and Django's 404/500
handlers for paths DRF never sees.
"""

import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)

# DRF exception -> the codes the replaced service's client knows.
_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.ValidationError: "VALIDATION_ERROR",
    exceptions.ParseError: "VALIDATION_ERROR",
    exceptions.NotAuthenticated: "UNAUTHORIZED",
    exceptions.AuthenticationFailed: "UNAUTHORIZED",
    exceptions.PermissionDenied: "FORBIDDEN",
    exceptions.NotFound: "NOT_FOUND",
    exceptions.MethodNotAllowed: "METHOD_NOT_ALLOWED",
    exceptions.NotAcceptable: "NOT_ACCEPTABLE",
    exceptions.UnsupportedMediaType: "UNSUPPORTED_MEDIA_TYPE",
    exceptions.Throttled: "RATE_LIMITED",
}


class ApiError(exceptions.APIException):
    """An error in the API's own vocabulary: a status and a code the replaced service's client knows
    (`ApiError(409, "ALREADY_FAVORITED", "Outfit 42 is already a favorite.")`)."""

    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.default_code = code


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"
    default_detail = "The request body is too large."


def _as_api_exception(exc: Exception) -> Exception:
    """Django's own exceptions as the API's: DRF would map Http404 and PermissionDenied itself, but
    with an empty message and no code of ours; a body over DATA_UPLOAD_MAX_MEMORY_SIZE is a 413."""
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge()
    return exc


def envelope(code: str, message: str) -> dict:
    return {"success": False, "error": {"code": code, "message": message}}


def _flatten(detail: object, prefix: str = "") -> list[str]:
    """ValidationError details as `field: message` lines, so the message names the parameter."""
    if isinstance(detail, dict):
        lines = []
        for field, value in detail.items():
            name = "" if field == "non_field_errors" else str(field)
            lines += _flatten(value, f"{prefix}.{name}" if prefix and name else name or prefix)
        return lines
    if isinstance(detail, list):
        return [line for value in detail for line in _flatten(value, prefix)]
    return [f"{prefix}: {detail}" if prefix else str(detail)]


def exception_handler(exc: Exception, context: dict) -> Response:
    exc = _as_api_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        # Not an API exception: a bug. Log it with its traceback, answer without one.
        logger.exception("Unhandled error in %s", context.get("view").__class__.__name__)
        return Response(
            envelope("INTERNAL_ERROR", "An unexpected error occurred."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    code = next(
        (code for cls, code in _CODES.items() if isinstance(exc, cls)),
        str(getattr(exc, "default_code", "error")).upper(),
    )
    if isinstance(exc, exceptions.ValidationError):
        message = "; ".join(_flatten(exc.detail))
    else:
        message = str(getattr(exc, "detail", exc))
    response.data = envelope(code, message)
    return response


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


@csrf_exempt  # whatever the method: an unknown path is a 404, not a CSRF failure
def api_not_found(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
    """Any other path under /api/: the envelope, also with DEBUG on (Django's 404 page is HTML)."""
    return JsonResponse(envelope("NOT_FOUND", "Not found."), status=404)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return api_not_found(request)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(envelope("INTERNAL_ERROR", "An unexpected error occurred."), status=500)
    return defaults.server_error(request)
