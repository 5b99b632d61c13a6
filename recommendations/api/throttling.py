"""Throttles that a cache outage does not turn into errors."""

import logging

from rest_framework.request import Request
from rest_framework.throttling import ScopedRateThrottle, UserRateThrottle
from rest_framework.views import APIView

from llm.store import log_cache_error

logger = logging.getLogger(__name__)


class _CacheTolerant:
    """Lets a request through when the cache cannot count it: while Redis is out, the throttled
    routes are unthrottled rather than broken for everyone."""

    def allow_request(self, request: Request, view: APIView) -> bool:
        try:
            return super().allow_request(request, view)  # type: ignore[misc]
        except Exception as error:  # noqa: BLE001 - the cache is an aid here, not a dependency
            log_cache_error(logger, "throttle cache unavailable (%s): request let through", error)
            return True


class CacheTolerantScopedRateThrottle(_CacheTolerant, ScopedRateThrottle):
    """DRF's scoped throttle (sign-in and sign-up, per client address)."""


class WriteRateThrottle(_CacheTolerant, UserRateThrottle):
    """The web client's writes (likes, skips, views, the closet, preferences, the profile photo), per
    signed-in user, at API_WRITE_THROTTLE_RATE; 429 in the envelope past it."""

    scope = "write"
