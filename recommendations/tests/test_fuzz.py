"""The API fuzzed against its own OpenAPI schema: Schemathesis (every check, a fixed seed, a bounded
number of examples) against the ASGI app under uvicorn, signed in and anonymous. Any finding fails:
a 5xx, a response that is not what the schema says, a request the schema forbids that is accepted,
one it allows that is refused."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from .factories import make_coordi, make_user, token_for
from .servers import AppServer

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
# Enough for every operation's coverage phase and some fuzzing, in well under a minute per run.
MAX_EXAMPLES = 60
SEED = 20261206
LOGOUT = "/api/auth/logout"
CONFIG = """
# Schemathesis would sign up through POST /api/auth/signup and sign the anonymous run in with the
# token it gets: the anonymous run stays anonymous (the signed-in one brings its own token).
[auth]
auto-signup = false

# Well-formed requests that the schema cannot tell from refused ones: ids that name no hashtag or
# outfit (400 INVALID_HASHTAG_ID / INVALID_OUTFIT_ID, the replaced service's codes, not 404), and
# bytes that are not a JPG or PNG (400 INVALID_FILE_FORMAT). Their 400 is the right answer there, so
# it is added to Schemathesis' defaults for these two paths (5xx stays a failure: not_a_server_error).
[[operations]]
include-path-regex = "^/api/users/(preferences|profile-photo)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "429",
                                                     "5xx"]

# The virtual-fitting routes this service does not make answer 501 NOT_IMPLEMENTED, as documented: a
# 5xx that is no server error there (only there).
[[operations]]
include-operation-id = ["virtual_fitting_create", "virtual_fitting_job_retrieve"]
checks.not_a_server_error.expected-statuses = ["2xx", "3xx", "4xx", "501"]
"""


def fuzz(
    server: AppServer, workdir: Path, *headers: str, only: Sequence[str] = (), skip: Sequence[str] = ()
) -> subprocess.CompletedProcess[str]:
    # Run in `workdir`: Schemathesis keeps a cache (.schemathesis/) where it runs.
    config = workdir / "schemathesis.toml"
    config.write_text(CONFIG)
    return subprocess.run(
        [str(SCHEMATHESIS), "--config-file", str(config), "run", f"{server.url}/api/schema/?format=json",
         "--checks", "all", "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED),
         "--request-timeout", "30",
         # One worker: CPython 3.11's ast is not thread-safe, and hypothesis parses with it.
         "--workers", "1", *(arg for header in headers for arg in ("--header", header)),
         *(arg for path in only for arg in ("--include-path", path)),
         *(arg for path in skip for arg in ("--exclude-path", path))],
        capture_output=True, text=True, timeout=300, check=False, cwd=workdir,
    )  # fmt: skip


@pytest.mark.django_db(transaction=True)  # the server reads the test database
@pytest.mark.timeout(600)
def test_schemathesis_finds_nothing_signed_in_or_anonymous(tmp_path):
    user = make_user(is_staff=True)  # staff: `refresh=true` is allowed too (else a 403, documented)
    for _ in range(3):
        make_coordi()
    token, leaving = token_for(user), token_for(make_user())
    # No Gemini key: every message is unavailable at once; the sign-in and write throttles out of the
    # way; uploaded photos in the test's own directory.
    env = {"GOOGLE_API_KEY": "", "AUTH_THROTTLE_RATE": "100000/minute",
           "API_WRITE_THROTTLE_RATE": "100000/minute", "MEDIA_ROOT": str(tmp_path / "media")}  # fmt: skip
    with AppServer(env=env) as server:
        # Sign-out deletes the token it is called with: fuzzed with the others, it would sign the
        # rest of the run out (every later case a 401). So it has a run of its own, with a token of
        # its own (the first call signs it out; the later ones are the 401 the schema documents).
        signed_in = fuzz(server, tmp_path, f"Authorization: Bearer {token}", skip=[LOGOUT])
        signing_out = fuzz(server, tmp_path, f"Authorization: Bearer {leaving}", only=[LOGOUT])
        anonymous = fuzz(server, tmp_path)
        log = server.log()

    for run, least in ((signed_in, 100), (signing_out, 1), (anonymous, 100)):
        assert run.returncode == 0, run.stdout[-6000:]
        # Every case generated passed (and there were some).
        tally = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
        assert tally and tally[1] == tally[2] and int(tally[1]) >= least, run.stdout[-3000:]
    assert not Token.objects.filter(key=leaving).exists()  # signed out for real
    assert Token.objects.filter(key=token).exists()
    # Django logs every 5xx as an error: the documented 501s of virtual fitting are the only ones.
    errors = [line for line in log.splitlines() if " ERROR " in line]
    assert "Traceback" not in log
    assert all(" Not Implemented: /api/virtual-fitting" in line for line in errors), errors[:5]
