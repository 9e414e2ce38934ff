"""Opaque pagination cursors over the read store's keyset pages, the same in every API."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from crm_shared import jsoncodec


class BadCursor(ValueError):
    """A pagination cursor this API did not make."""


def encode_cursor(after: tuple[Any, str] | None) -> str | None:
    """An opaque cursor for the next page (None on the last page)."""
    if after is None:
        return None
    return base64.urlsafe_b64encode(jsoncodec.dumps(list(after))).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[Any, str] | None:
    """The ``after`` key inside a cursor (None for the first page)."""
    if cursor is None:
        return None
    try:
        value = jsoncodec.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise BadCursor("cursor is not one this API returned") from exc
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[1], str)):
        raise BadCursor("cursor is not one this API returned")
    return value[0], value[1]
