"""Operational endpoints: the start page, liveness and readiness probes, and Prometheus metrics."""

import logging
import os

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

from .connections import database_hop, database_problem

logger = logging.getLogger(__name__)


@csrf_exempt  # any other method is a 405, not a CSRF failure
@require_safe
async def home(request: HttpRequest) -> HttpResponse:
    """GET /: where to go from here (the docs, the admin, the health checks); the admin's "View site"."""
    return render(request, "home.html")


@csrf_exempt  # any other method is a 405, not a CSRF failure
@require_safe
async def healthz(request: HttpRequest) -> JsonResponse:
    """Alive: the process answers. Touches nothing else, so a slow database never restarts pods."""
    return JsonResponse({"status": "ok"})


def _check_dependencies() -> dict[str, str]:
    checks = {"database": "ok"}
    problem = database_problem()
    if problem is not None:
        logger.warning("readiness: database unreachable (%s)", problem)
        checks["database"] = "unavailable"
    try:
        cache.set("readyz", "1", timeout=5)
        checks["cache"] = "ok" if cache.get("readyz") == "1" else "unavailable"
    except Exception:  # noqa: BLE001 - an outage is logged once, by the cache's connection pool
        checks["cache"] = "unavailable"
    return checks


@csrf_exempt  # any other method is a 405, not a CSRF failure
@require_safe
async def readyz(request: HttpRequest) -> JsonResponse:
    """Ready: the database answers (503 when not). The cache is reported but does not decide:
    pages are served without it, and a Redis outage must not take every worker out of rotation."""
    checks = await database_hop(_check_dependencies)()
    if checks["database"] != "ok":
        status, code = "unavailable", 503
    else:
        status, code = ("ok", 200) if checks["cache"] == "ok" else ("degraded", 200)
    return JsonResponse({"status": status, "checks": checks}, status=code)


@csrf_exempt  # any other method is a 405, not a CSRF failure
@require_safe
async def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text: this process's metrics, or every worker's when PROMETHEUS_MULTIPROC_DIR is set."""
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
