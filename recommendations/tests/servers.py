"""Real servers for the production tests: the app under uvicorn in a subprocess, and a Redis of the
test's own that it may stop (SIGSTOP) and resume. Both wait for readiness by polling with a bound."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

import httpx
import pytest
import redis
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
# Marks the server's database sessions, so that tests can find them in pg_stat_activity.
APPLICATION_NAME = "server-under-test"

needs_redis_server = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="needs the redis-server program (CI installs it)"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def poll(predicate: Callable[[], object], *, timeout: float, every: float = 0.05) -> bool:
    """True as soon as `predicate()` is; False after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return bool(predicate())


def database_url() -> str:
    """The test database, as the server's DATABASE_URL (data must be committed: transaction=True)."""
    settings = connection.settings_dict
    if settings["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{settings['NAME']}"
    password = f":{quote(settings['PASSWORD'])}" if settings["PASSWORD"] else ""
    return (
        f"postgres://{quote(settings['USER'])}{password}@{settings['HOST']}:{settings['PORT']}/"
        f"{settings['NAME']}?application_name={APPLICATION_NAME}"
    )


def on_postgresql() -> bool:
    return connection.vendor == "postgresql"


class RedisServer:
    """redis-server on a free port, nothing kept on disk."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None
        self._client: redis.Redis | None = None

    def __enter__(self) -> RedisServer:
        self._process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self._client = redis.Redis(port=self.port, socket_timeout=5)
        if not poll(self._answers, timeout=10):
            raise RuntimeError("redis-server did not start")
        return self

    def _answers(self) -> bool:
        try:
            return bool(self.client.ping())
        except redis.ConnectionError:
            return False

    @property
    def client(self) -> redis.Redis:
        assert self._client is not None
        return self._client

    def connections_received(self) -> int:
        """Connections Redis accepted since it started (this client's one included)."""
        return int(self.client.info("stats")["total_connections_received"])

    def stop(self) -> None:
        """Stalled, not dead: connections open, nothing answered (SIGSTOP)."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGCONT)

    def __exit__(self, *exc_info: object) -> None:
        if self._process is not None:
            self.resume()
            self._process.terminate()
            self._process.wait(timeout=10)
        if self._client is not None:
            self._client.close()


class AppServer:
    """uvicorn serving config.asgi:application, production settings, as the README runs it; `env`
    adds to (or overrides) its environment, e.g. {"CACHE_URL": ...}."""

    def __init__(
        self,
        *,
        workers: int = 1,
        env: Mapping[str, str] | None = None,
        root: Path = ROOT,
        python: str = sys.executable,
    ) -> None:
        env = env or {}
        self.root, self.python = root, python
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        # The database and cache are the test's (or what it names), never the developer's own.
        inherited = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CACHE_URL")}
        self.env = {
            **inherited,
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(64),
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
            "LLM_IMAGE_ALLOWED_HOSTS": "127.0.0.1",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        if "DATABASE_URL" not in env:
            self.env["DATABASE_URL"] = database_url()
        # Open for the server's lifetime (its output goes there): closed in __exit__.
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115
            prefix="server-", suffix=".log", delete=False
        )
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> AppServer:
        self.process = subprocess.Popen(
            [self.python, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
             "--port", str(self.port), "--workers", str(self.workers), "--no-access-log"],
            cwd=self.root, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its workers in its process group, stopped with it
        )  # fmt: skip
        if not poll(self._healthy, timeout=60, every=0.1):
            self.__exit__(None, None, None)
            raise RuntimeError(f"the server did not start:\n{self.log()}")
        return self

    def _healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"the server exited:\n{self.log()}")
        try:
            # Every worker up: each logs its start-up.
            return (
                httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
                and self.log().count("Application startup complete") >= self.workers
            )
        except httpx.HTTPError:
            return False

    def log(self) -> str:
        return Path(self._log.name).read_text(errors="replace")

    def wait_for_log(self, text: str, *, timeout: float = 30) -> bool:
        return poll(lambda: text in self.log(), timeout=timeout)

    def terminate(self) -> None:
        """SIGTERM, as an orchestrator stops a pod: uvicorn drains, then runs the lifespan shutdown."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = 60) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def metric(self, name: str) -> float:
        """One sample of /metrics, e.g. 'db_pool_connections{state="in_use"}'."""
        for line in httpx.get(f"{self.url}/metrics", timeout=10).text.splitlines():
            if line.startswith(name + " "):
                return float(line.rsplit(" ", 1)[1])
        raise KeyError(name)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(timeout=30)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)  # any worker left behind
            self.process.wait(timeout=10)
        self._log.close()
        if exc_type is None:
            os.unlink(self._log.name)
        else:
            print(f"server log kept at {self._log.name}:\n{self.log()[-5000:]}", file=sys.stderr)
