"""Single-flight within the process: while a message is being made, others asking for it wait for it.

A flight is a concurrent.futures.Future, so a request on any event loop (uvicorn's, or one that
async_to_sync made) can wait for one made on another.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from concurrent.futures import Future
from typing import Generic, TypeVar

T = TypeVar("T")


class Flights(Generic[T]):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flights: dict[str, Future[T]] = {}

    def claim(self, keys: Iterable[str]) -> tuple[list[str], dict[str, Future[T]]]:
        """Splits `keys` into those this caller now makes (it must land each one, in the order given)
        and flights to join."""
        owned: list[str] = []
        joined: dict[str, Future[T]] = {}
        with self._lock:
            for key in keys:
                flight = self._flights.get(key)
                if flight is None:
                    self._flights[key] = Future()
                    owned.append(key)
                else:
                    joined[key] = flight
        return owned, joined

    def flying(self, key: str) -> bool:
        """Whether someone in this process is making `key` now."""
        with self._lock:
            return key in self._flights

    def land(self, key: str, value: T) -> None:
        """Hands `value` to everyone waiting for `key` and ends the flight."""
        with self._lock:
            flight = self._flights.pop(key, None)
        if flight is not None and not flight.done():
            flight.set_result(value)


async def wait(flight: Future[T], *, timeout: float) -> T:
    """The flight's value; TimeoutError after `timeout` s. Giving up never cancels the flight itself."""
    return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(flight)), timeout=max(0, timeout))
