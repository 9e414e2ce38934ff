"""One JSON codec for the whole kernel (orjson: fast, and it handles UUID, datetime and dataclasses)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import orjson


def dumps(value: Any) -> bytes:
    """Serialise to compact UTF-8 JSON bytes; keys keep their insertion order."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def dumps_text(value: Any) -> str:
    """:func:`dumps` as text (for a store that binds JSON as a string)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def loads(raw: bytes | bytearray | memoryview | str) -> Any:
    """Parse JSON bytes or text."""
    return orjson.loads(raw)


class Encoded(Mapping[str, Any]):
    """A JSON object serialised already (e.g. by a worker process): a store that writes JSON writes
    ``raw`` as it is; anything else reads it as the mapping it encodes (decoded on first use)."""

    __slots__ = ("_value", "raw")

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self._value: dict[str, Any] | None = None

    def _decoded(self) -> dict[str, Any]:
        if self._value is None:
            value = orjson.loads(self.raw)
            if not isinstance(value, dict):
                raise TypeError("an encoded mapping must hold a JSON object")
            self._value = value
        return self._value

    def __getitem__(self, key: str) -> Any:
        return self._decoded()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._decoded())

    def __len__(self) -> int:
        return len(self._decoded())


def dumps_mapping(value: Mapping[str, Any]) -> bytes:
    """A mapping as JSON bytes; an :class:`Encoded` one as it was encoded."""
    if isinstance(value, Encoded):
        return value.raw
    return dumps(dict(value))
