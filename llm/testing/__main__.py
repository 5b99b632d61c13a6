"""`python -m llm.testing`: the Gemini stand-in on a port, until SIGTERM or Ctrl-C; prints its base URL."""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading

import llm.testing
from llm.testing import GeminiStandIn


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m llm.testing", description=llm.testing.__doc__.split("\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--api-key", default=None, help="the only key accepted (default: any)")
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with GeminiStandIn(host=args.host, port=args.port, api_key=args.api_key,
                       latency=args.latency) as standin:
        print(standin.base_url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()


if __name__ == "__main__":
    main()
