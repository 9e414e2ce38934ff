"""One JSON codec for the whole kernel (orjson: fast, and it handles UUID, datetime and dataclasses)."""

from __future__ import annotations

from typing import Any

import orjson


def dumps(value: Any) -> bytes:
    """Serialise to compact UTF-8 JSON bytes; keys keep their insertion order."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def loads(raw: bytes | bytearray | memoryview | str) -> Any:
    """Parse JSON bytes or text."""
    return orjson.loads(raw)
