"""The API fuzzed against its own OpenAPI schema: Schemathesis (every check, a fixed seed, a bounded
number of examples) against the ASGI app under uvicorn, signed in and anonymous. Any finding fails:
a 5xx, a response that is not what the schema says, a request the schema forbids that is accepted,
one it allows that is refused."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from .factories import make_coordi, make_user, token_for
from .servers import AppServer

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
# Enough for every operation's coverage phase and some fuzzing, in well under a minute per run.
MAX_EXAMPLES = 60
SEED = 20261206
# The virtual-fitting routes this service does not make answer 501 NOT_IMPLEMENTED, as documented: a
# 5xx that is no server error there (only there).
CONFIG = """
[[operations]]
include-operation-id = ["virtual_fitting_create", "virtual_fitting_job_retrieve"]
checks.not_a_server_error.expected-statuses = ["2xx", "3xx", "4xx", "501"]
"""


def fuzz(server: AppServer, workdir: Path, *headers: str) -> subprocess.CompletedProcess[str]:
    # Run in `workdir`: Schemathesis keeps a cache (.schemathesis/) where it runs.
    config = workdir / "schemathesis.toml"
    config.write_text(CONFIG)
    return subprocess.run(
        [str(SCHEMATHESIS), "--config-file", str(config),
         "run", f"{server.url}/api/schema/?format=json", "--checks", "all",
         "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), "--request-timeout", "30",
         # One worker: CPython 3.11's ast is not thread-safe, and hypothesis parses with it.
         "--workers", "1", *(arg for header in headers for arg in ("--header", header))],
        capture_output=True, text=True, timeout=300, check=False, cwd=workdir,
    )  # fmt: skip


@pytest.mark.django_db(transaction=True)  # the server reads the test database
@pytest.mark.timeout(600)
def test_schemathesis_finds_nothing_signed_in_or_anonymous(tmp_path):
    user = make_user(is_staff=True)  # staff: `refresh=true` is allowed too (else a 403, documented)
    for _ in range(3):
        make_coordi()
    token = token_for(user)
    # No Gemini key: every message is unavailable at once; the sign-in throttle out of the way.
    with AppServer(env={"GOOGLE_API_KEY": "", "AUTH_THROTTLE_RATE": "100000/minute"}) as server:
        signed_in = fuzz(server, tmp_path, f"Authorization: Bearer {token}")
        anonymous = fuzz(server, tmp_path)
        log = server.log()

    assert signed_in.returncode == 0, signed_in.stdout[-6000:]
    assert anonymous.returncode == 0, anonymous.stdout[-6000:]
    for run in (signed_in, anonymous):
        # Every case generated passed (and there were some).
        tally = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
        assert tally and tally[1] == tally[2] and int(tally[1]) > 100, run.stdout[-3000:]
    # Django logs every 5xx as an error: the documented 501s of virtual fitting are the only ones.
    errors = [line for line in log.splitlines() if " ERROR " in line]
    assert "Traceback" not in log
    assert all(" Not Implemented: /api/virtual-fitting" in line for line in errors), errors[:5]
