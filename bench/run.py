"""`make bench`: the service under uvicorn against the Gemini stand-in, measured from outside.

Starts the stand-in (in this process, answering after --latency seconds), seeds a throw-away SQLite
database with the demo data, serves the ASGI app with uvicorn (one worker) and prints a table:
the cold page against its ideal, the warm (cached) page, the page without a key, queries per request,
and the stand-in's highest number of calls in flight. Figures, not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import respond  # noqa: E402
from llm.testing import GeminiStandIn  # noqa: E402

PAGE = "/api/recommendations?limit={limit}"


@dataclass
class Table:
    rows: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, what: str, value: str, note: str = "") -> None:
        self.rows.append((what, value, note))
        print(f"  {what:<48} {value:>14}  {note}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def server_env(workdir: Path, *, database_url: str, cache_url: str, **extra: str) -> dict[str, str]:
    """The environment of a benchmark's server: production settings on a machine of its own."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "CACHE_URL": cache_url,
        # Production mode: DEBUG would record every query and slow every request down.
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "LLM_IMAGE_ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "STATIC_ROOT": str(workdir / "static"),
        **extra,
    }


def manage(env: dict[str, str], *args: str, root: Path = ROOT, python: str = sys.executable) -> str:
    result = subprocess.run(
        [python, "manage.py", *args], cwd=root, env=env, capture_output=True, text=True
    )
    if result.returncode:
        sys.exit(f"bench: manage.py {' '.join(args)} failed:\n{result.stderr.strip()}")
    return result.stdout


@contextmanager
def server(env: dict[str, str], port: int) -> Iterator[str]:
    """uvicorn, one worker, as the README's server command runs it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--no-access-log",
         *os.environ.get("BENCH_UVICORN_ARGS", "").split()],
        cwd=ROOT, env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                sys.exit("bench: the server did not start")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def idle(base: str, *, timeout: float = 60) -> None:
    """Returns once the server has no message work left (or after `timeout` s)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        metrics = httpx.get(f"{base}/metrics", timeout=10).text
        if "\nrecommendations_background_tasks 0.0" in metrics:
            return
        time.sleep(0.1)


async def timed_get(client: httpx.AsyncClient, url: str, token: str) -> tuple[float, dict]:
    started = time.perf_counter()
    response = await client.get(url, headers={"Authorization": f"Bearer {token}"})
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed, response.json()


async def sequential(base: str, token: str, *, count: int, limit: int) -> list[float]:
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        for _ in range(3):  # warm-up: connections, imports, caches
            await timed_get(client, PAGE.format(limit=limit), token)
        return [(await timed_get(client, PAGE.format(limit=limit), token))[0] for _ in range(count)]


async def concurrent(
    base: str, tokens: list[str], *, clients: int, count: int, limit: int
) -> tuple[list[float], float, list[dict]]:
    """`clients` loops sharing `count` requests; each client uses its own token (its own user)."""
    latencies: list[float] = []
    bodies: list[dict] = []
    remaining = iter(range(count))

    async def client_loop(token: str) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=120) as client:
            for _ in remaining:
                elapsed, body = await timed_get(client, PAGE.format(limit=limit), token)
                latencies.append(elapsed)
                bodies.append(body)

    started = time.perf_counter()
    await asyncio.gather(*(client_loop(tokens[i % len(tokens)]) for i in range(clients)))
    return latencies, time.perf_counter() - started, bodies


def messages_filled(body: dict) -> int:
    return sum(outfit["llmMessage"] is not None for outfit in body["data"]["outfits"])


def make_users(
    env: dict[str, str], count: int, *, staff: bool = False, prefix: str = "", **where: Any
) -> list[str]:
    """Bench users of the demo user's gender, each with a token (their own message cache keys).

    Staff users may ask for fresh messages (`?refresh=true`): every page of theirs calls Gemini.
    Another `prefix`, other users (whose messages are all cold).
    """
    prefix = prefix or ("staff" if staff else "bench")
    script = (
        "from rest_framework.authtoken.models import Token\n"
        "from recommendations.models import User\n"
        f"for n in range({count}):\n"
        f"    user, _ = User.objects.get_or_create(email=f'{prefix}{{n}}@example.com',"
        f" defaults={{'name': f'사용자{{n}}', 'gender': 'female', 'is_staff': {staff}}})\n"
        "    print(Token.objects.get_or_create(user=user)[0].key)\n"
    )
    return re.findall(r"^[0-9a-f]{40}$", manage(env, "shell", "-c", script, **where), flags=re.MULTILINE)


def queries_per_request(env: dict[str, str], token: str, limit: int) -> int:
    script = (
        "from django.db import connection\n"
        "from django.test import Client\n"
        "from django.test.utils import CaptureQueriesContext\n"
        "client = Client(HTTP_HOST='127.0.0.1')\n"
        f"headers = {{'Authorization': 'Bearer {token}'}}\n"
        f"client.get('/api/recommendations?limit={limit}', headers=headers)\n"
        "with CaptureQueriesContext(connection) as queries:\n"
        f"    client.get('/api/recommendations?limit={limit}', headers=headers)\n"
        "print(len(queries))\n"
    )
    return int(manage(env, "shell", "-c", script).split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency", type=float, default=2.0, help="the stand-in's answer time (s)")
    parser.add_argument("--limit", type=int, default=20, help="outfits per page")
    parser.add_argument("--clients", type=int, default=10, help="concurrent clients")
    parser.add_argument("--requests", type=int, default=300, help="requests per warm measurement")
    parser.add_argument("--warm-only", action="store_true", help="skip the cold pages (quicker)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    port = free_port()
    env = server_env(
        workdir,
        database_url=os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}"),
        cache_url=os.environ.get("BENCH_CACHE_URL", "locmemcache://bench?max_entries=20000"),
        GOOGLE_API_KEY="",
    )
    print(f"bench: {platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"stand-in latency {args.latency} s, {args.limit} outfits a page", flush=True)  # fmt: skip
    manage(env, "migrate", "--noinput")
    token = next(
        line.split("=", 1)[1]
        for line in manage(env, "seed_demo", "--base-url", f"http://127.0.0.1:{port}").splitlines()
        if line.startswith("DEMO_TOKEN=")
    )
    tokens = make_users(env, args.clients)
    fresh = make_users(env, 15, prefix="fresh")
    manage(env, "collectstatic", "--noinput")  # as production serves them, demo images included
    table = Table()
    ideal = math.ceil(args.limit / int(env.get("LLM_MAX_CONCURRENCY", "10"))) * args.latency

    with GeminiStandIn(api_key=None, latency=args.latency) as standin:
        keyed = {**env, "GOOGLE_API_KEY": "bench-key", "GEMINI_BASE_URL": standin.base_url}
        with server(keyed, port) as base:
            if args.warm_only:
                everyone = [token, *tokens]
                asyncio.run(concurrent(base, everyone, clients=len(everyone), count=len(everyone),
                                       limit=args.limit))  # fmt: skip
            else:
                cold(base, token, tokens, args, table, standin, ideal)
                respond.measure(base, fresh, standin, table, limit=args.limit, latency=args.latency,
                                wait_idle=lambda: idle(base))  # fmt: skip
            calls = len(standin.requests)

            single = asyncio.run(sequential(base, token, count=args.requests, limit=args.limit))
            table.add("warm page, one client: p50", ms(statistics.median(single)))
            table.add("  p99", ms(percentile(single, 99)))
            latencies, wall, _ = asyncio.run(
                concurrent(base, tokens, clients=args.clients, count=args.requests, limit=args.limit)
            )
            table.add(f"warm page, {args.clients} clients: p50", ms(statistics.median(latencies)))
            table.add("  p95", ms(percentile(latencies, 95)))
            table.add("  requests per second", f"{len(latencies) / wall:.1f}")
            table.add("  stand-in calls while warm", str(len(standin.requests) - calls))

        with server(env, port) as base:
            single = asyncio.run(sequential(base, token, count=args.requests, limit=args.limit))
            table.add("no-key page, one client: p50", ms(statistics.median(single)))
            table.add("  p99", ms(percentile(single, 99)))
            latencies, wall, _ = asyncio.run(
                concurrent(base, tokens, clients=args.clients, count=args.requests, limit=args.limit)
            )
            table.add(f"no-key page, {args.clients} clients: req/s", f"{len(latencies) / wall:.1f}")

    for limit in (1, 20, 50):
        table.add(f"queries per request, limit {limit}", str(queries_per_request(env, token, limit)))


def cold(
    base: str,
    token: str,
    tokens: list[str],
    args: argparse.Namespace,
    table: Table,
    standin: GeminiStandIn,
    ideal: float,
) -> None:
    """The first page of one user, then of ten users at once: every message made by Gemini."""
    elapsed, body = asyncio.run(_one(base, token, args.limit))
    table.add("cold page, one client (wall)", ms(elapsed), f"ideal {ms(ideal)}")
    table.add("  messages filled", f"{messages_filled(body)}/{len(body['data']['outfits'])}")
    table.add("  stand-in: highest in flight", str(standin.peak_in_flight))
    standin.reset()
    latencies, wall, bodies = asyncio.run(
        concurrent(base, tokens, clients=args.clients, count=args.clients, limit=args.limit)
    )
    filled = sum(messages_filled(b) for b in bodies)
    table.add(f"cold page, {args.clients} clients: p50", ms(statistics.median(latencies)))
    table.add(f"  max (wall {ms(wall)})", ms(max(latencies)))
    table.add("  messages filled", f"{filled}/{sum(len(b['data']['outfits']) for b in bodies)}")
    table.add("  stand-in: highest in flight", str(standin.peak_in_flight))


async def _one(base: str, token: str, limit: int) -> tuple[float, dict]:
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        return await timed_get(client, PAGE.format(limit=limit), token)


if __name__ == "__main__":
    main()
