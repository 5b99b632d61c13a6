"""Single-flight across processes: a Redis of the test's own, real processes, and redis-py's lock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import redis.lock

from llm import store
from recommendations.tests.servers import RedisServer, needs_redis_server, poll

ROOT = Path(__file__).resolve().parents[2]

pytestmark = needs_redis_server

_PROCESS_SCRIPT = """
import asyncio, json
import django
django.setup()
from llm.facts import CoordiFacts, UserFacts
from llm.service import generate_message_results
coordis = [CoordiFacts(id=i, style="casual", season="spring", gender="female",
                       description=f"two processes {i}", image_url=None, version="v1")
           for i in (501, 502, 503)]
user = UserFacts(id=77, name="민지", gender="female")
results = asyncio.run(generate_message_results(coordis, user))
print(json.dumps([[r.text, r.cached] for r in results]))
"""


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


def _mgets(server: RedisServer) -> int:
    """MGETs Redis has answered: each is one read of the message cache (django-redis get_many)."""
    return int(server.client.info("commandstats").get("cmdstat_mget", {}).get("calls", 0))


def test_a_process_waits_for_the_message_another_process_is_making(standin, redis_server):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "CACHE_URL": redis_server.url,
        "GOOGLE_API_KEY": standin.api_key,
        "GEMINI_BASE_URL": standin.base_url,
        "LOG_LEVEL": "WARNING",
    }

    def page() -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-c", _PROCESS_SCRIPT], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip

    standin.hold()
    first = page()
    # The first process has taken the three locks: its calls are at Gemini, held there.
    assert standin.wait_until(lambda s: s.held == 3, timeout=60), first.stderr
    reads = _mgets(redis_server)
    second = page()
    # The second one found the locks taken and is polling the cache for the values (its first
    # read of the page, then at least one poll).
    assert poll(lambda: _mgets(redis_server) >= reads + 2, timeout=60)
    standin.release()
    outputs = [process.communicate(timeout=60) for process in (first, second)]

    assert [process.returncode for process in (first, second)] == [0, 0], outputs
    made, waited = (json.loads(stdout) for stdout, _ in outputs)
    assert len(standin.requests) == 3
    assert all(text for text, _ in made)
    assert [cached for _, cached in made] == [False] * 3
    # The same messages, none of them asked for again.
    assert waited == [[text, True] for text, _ in made]


@pytest.fixture
def shared_cache(settings, redis_server: RedisServer) -> Iterator[RedisServer]:
    """This process's cache on the test's own Redis (the locks live there)."""
    from django.core.cache import caches

    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": redis_server.url,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
    }
    caches["default"].clear()
    yield redis_server
    caches["default"].close()


def test_a_taken_lock_is_not_taken_again_until_released(shared_cache, run):
    held = run(store.lock(["k1", "k2"], seconds=30))
    again = run(store.lock(["k1", "k2", "k3"], seconds=30))

    assert set(held) == {"k1", "k2"}
    assert set(again) == {"k3"}  # another process's would wait for k1 and k2

    run(store.write(kept={}, kept_seconds=0, failed={}, failed_seconds=0, unlock=held.values()))

    assert set(run(store.lock(["k1", "k2"], seconds=30))) == {"k1", "k2"}


def test_a_late_release_leaves_another_holder_s_lock_alone(shared_cache, run):
    [ours] = run(store.lock(["k"], seconds=30)).values()
    # Ours expired (as if the page outlived it) and another process took the lock since.
    assert ours is not None
    shared_cache.client.delete(ours.name)
    [theirs] = run(store.lock(["k"], seconds=30)).values()

    run(store.write(kept={}, kept_seconds=0, failed={}, failed_seconds=0, unlock=[ours]))

    assert theirs is not None
    assert shared_cache.client.get(theirs.name) == theirs.local.token


def test_without_redis_every_key_is_made_here(shared_cache, run):
    shared_cache.stop()
    try:
        taken = run(store.lock(["k1", "k2"], seconds=30))
    finally:
        shared_cache.resume()

    # A duplicate call beats no message: the locks fail open.
    assert taken == {"k1": None, "k2": None}


def test_a_cache_of_this_process_needs_no_lock(settings, run):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

    assert run(store.lock(["k1"], seconds=30)) == {"k1": None}
    assert run(store.lock(["k1"], seconds=30)) == {"k1": None}  # flights keep one maker per process


def test_a_lock_store_failing_midway_keeps_the_locks_it_took(shared_cache, run, monkeypatch):
    real_acquire = redis.lock.Lock.acquire
    calls = []

    def acquire(self, *args, **kwargs):
        calls.append(self.name)
        if len(calls) == 2:
            raise redis.ConnectionError("Redis went away")
        return real_acquire(self, *args, **kwargs)

    monkeypatch.setattr(redis.lock.Lock, "acquire", acquire)
    taken = run(store.lock(["k1", "k2", "k3"], seconds=30))

    # k1's lock is held (and released later as usual); k2 and k3 are made here without one.
    assert set(taken) == {"k1", "k2", "k3"}
    held = taken["k1"]
    assert held is not None and taken["k2"] is None and taken["k3"] is None
    assert shared_cache.client.exists(held.name) == 1
    run(store.write(kept={}, kept_seconds=0, failed={}, failed_seconds=0, unlock=taken.values()))
    assert shared_cache.client.exists(held.name) == 0
