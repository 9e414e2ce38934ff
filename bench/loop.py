"""The event loop the benchmarks run on: uvloop when installed, as ``crm up`` (uvicorn, loop=auto)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


def loop_name() -> str:
    """``uvloop`` when it is installed, else ``asyncio``."""
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def run(main: Coroutine[Any, Any, int]) -> int:
    """Run ``main`` on that loop and return its exit code."""
    if loop_name() == "uvloop":
        import uvloop

        return uvloop.run(main)
    return asyncio.run(main)
