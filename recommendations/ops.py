"""Operational endpoints: liveness and readiness probes, and Prometheus metrics."""

import logging
import os

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client import multiprocess

from .connections import database_hop

logger = logging.getLogger(__name__)


async def healthz(request: HttpRequest) -> JsonResponse:
    """Alive: the process answers. Touches nothing else, so a slow database never restarts pods."""
    return JsonResponse({"status": "ok"})


def _check_dependencies() -> dict[str, str]:
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception:
        logger.exception("readiness: database unreachable")
        checks["database"] = "unavailable"
    try:
        cache.set("readyz", "1", timeout=5)
        checks["cache"] = "ok" if cache.get("readyz") == "1" else "unavailable"
    except Exception:
        logger.exception("readiness: cache unreachable")
        checks["cache"] = "unavailable"
    return checks


async def readyz(request: HttpRequest) -> JsonResponse:
    """Ready: the database and the cache answer (one thread hop for both)."""
    checks = await database_hop(_check_dependencies)()
    ready = all(state == "ok" for state in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503
    )


async def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text: this process's metrics, or every worker's when PROMETHEUS_MULTIPROC_DIR is set."""
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
