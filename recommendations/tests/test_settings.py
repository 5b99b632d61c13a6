"""Settings refuse to run production on the development secret key."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_settings(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    return subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "secret", [None, "django-insecure-development-key-do-not-use-in-production", "short"]
)
def test_debug_off_refuses_a_development_or_missing_key(secret):
    env = {"DEBUG": "false"} | ({"SECRET_KEY": secret} if secret else {})

    result = load_settings(**env)

    assert result.returncode != 0
    assert "SECRET_KEY must be set to a real secret" in result.stderr


def test_debug_off_starts_with_a_real_key():
    result = load_settings(DEBUG="false", SECRET_KEY="x" * 64, ALLOWED_HOSTS="api.example.com")

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [("LLM_RATE_LIMIT", "lots"), ("LLM_MESSAGE_SCOPE", "everyone"), ("GEMINI_MEDIA_RESOLUTION", "huge"),
     ("GEMINI_PRICE_INPUT_PER_MTOK", "-1"), ("GEMINI_PRICE_OUTPUT_PER_MTOK", "nan"),
     ("GEMINI_PRICE_CACHED_PER_MTOK", "cheap"), ("LLM_IMAGE_MAX_SIDE", "8"),
     ("LLM_IMAGE_MAX_SIDE", "5000"), ("LLM_IMAGE_MAX_SIDE", "big"), ("LLM_IMAGE_MAX_PIXELS", "0"),
     ("LLM_IMAGE_DECODE_TIMEOUT_SECONDS", "0"), ("LLM_IMAGE_DECODE_TIMEOUT_SECONDS", "nan")],
)  # fmt: skip
def test_a_malformed_llm_setting_stops_the_start_with_one_line(name, value):
    result = load_settings(**{name: value})

    assert result.returncode != 0
    assert f"{name} must" in result.stderr.strip().splitlines()[-1]
