"""Project-wide fixtures."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache

from llm import cooldown, limits, prepared, quota
from llm.testing import GeminiStandIn


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """SQLite tests use a database file, not memory: the servers some tests start read it too."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("db") / "test.sqlite3")


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache (throttles, messages), whichever backend CACHE_URL names,
    and no image kept from another test's stand-in (llm.prepared), nor outfit fragment kept in this
    process's memory (recommendations.api.fragments)."""
    from recommendations.api import fragments

    cache.clear()
    fragments.in_memory.clear()
    prepared.reset()


@pytest.fixture(autouse=True)
def _test_settings(settings):
    # PBKDF2 at production strength costs ~0.3 s a password on this machine; tests sign in a lot.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # A developer's real key in the environment must never send a test's prompts to Gemini.
    settings.GOOGLE_API_KEY = ""
    settings.GEMINI_BASE_URL = ""


# Distinctive, so that a leak into a log line or an exception is easy to find.
FAKE_KEY = "AIzaFAKE-standin-key-0123456789"


@pytest.fixture(scope="session")
def standin_server() -> Iterator[GeminiStandIn]:
    with GeminiStandIn(api_key=FAKE_KEY) as server:
        yield server


@pytest.fixture
def standin(standin_server: GeminiStandIn, settings: Any) -> Iterator[GeminiStandIn]:
    """The stand-in, freshly reset, with the settings pointing at it."""
    standin_server.reset()
    settings.GOOGLE_API_KEY = FAKE_KEY
    settings.GEMINI_BASE_URL = standin_server.base_url
    settings.GEMINI_MODEL = "gemini-2.5-flash"
    settings.GEMINI_THINKING_BUDGET = 0
    settings.GEMINI_MAX_OUTPUT_TOKENS = 100
    settings.LLM_TIMEOUT_SECONDS = 10.0
    settings.LLM_IMAGE_TIMEOUT_SECONDS = 3.0
    settings.LLM_IMAGE_MAX_BYTES = 5 * 1024 * 1024
    settings.LLM_IMAGE_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.LLM_MAX_CONCURRENCY = 10
    settings.LLM_MAX_IN_FLIGHT = 100
    settings.LLM_MESSAGE_LANGUAGE = "ko"
    settings.LLM_MESSAGE_SCOPE = "user"
    settings.LLM_RATE_LIMIT = ""
    quota.reset()
    cooldown.reset()
    yield standin_server
    # Every slot taken by the test was given back, whatever happened to its calls.
    assert limits.in_flight_limiter().active == 0
    assert limits.in_flight_limiter().waiting == 0
