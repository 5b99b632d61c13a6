"""Throttles that a cache outage does not turn into errors."""

import logging

from rest_framework.request import Request
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from llm.store import log_cache_error

logger = logging.getLogger(__name__)


class CacheTolerantScopedRateThrottle(ScopedRateThrottle):
    """DRF's scoped throttle, letting a request through when the cache cannot count it: while Redis
    is out, sign-in is unthrottled rather than broken for everyone."""

    def allow_request(self, request: Request, view: APIView) -> bool:
        try:
            return super().allow_request(request, view)
        except Exception as error:  # noqa: BLE001 - the cache is an aid here, not a dependency
            log_cache_error(logger, "throttle cache unavailable (%s): request let through", error)
            return True
