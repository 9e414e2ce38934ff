"""Waiting for a local copy: the one rule every service keeps before refusing a reference to another
service's record that its local copy does not have (ADR 0011).

A local copy lags its owner by the bus latency, so a record created a moment ago may not be in it
yet. Before answering "no such record", a check reads the copy again, with a short backoff, for a
bounded time (:data:`WAIT_SECONDS`); only then does it refuse. A reference the copy has (and accepts)
answers at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

WAIT_SECONDS = 2.0
"""How long a check waits for its local copy before refusing a reference."""


async def wait_for_copy(
    find: Callable[[], Awaitable[T | None]],
    accept: Callable[[T], bool] = lambda _: True,
    *,
    timeout: float = WAIT_SECONDS,
) -> T | None:
    """What ``find`` reads from a local copy once ``accept`` takes it (e.g. it exists and is active),
    reading again with a growing pause (5 ms to 100 ms) for at most ``timeout`` seconds; then the last
    thing read (None: the copy has no such record), for the caller to refuse."""
    found = await find()
    if found is not None and accept(found):
        return found
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    delay = 0.005
    while loop.time() < deadline:
        await asyncio.sleep(min(delay, max(0.0, deadline - loop.time())))
        found = await find()
        if found is not None and accept(found):
            return found
        delay = min(delay * 2, 0.1)
    return found
