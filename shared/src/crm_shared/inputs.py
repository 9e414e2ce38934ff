"""Input types every service's request models and query parameters use, so each rule is enforced once
and stated in the OpenAPI document (a ``pattern``, a ``format``) instead of a copy per service.

- :data:`Text` (one line or a few: tab and line feed allowed) and :data:`MultilineText` (also carriage
  return, for texts typed in a text area) refuse every other control character: C0 (NUL included), DEL
  and C1. Lone surrogates are refused by pydantic itself. Narrow them with ``StringConstraints``
  (``Annotated[Text, StringConstraints(max_length=200)]``) — the constraints merge.
- :data:`IsoDate` and :data:`IsoDateTime` accept only ISO 8601 text (``2026-01-31``,
  ``2026-01-31T12:00:00+02:00``): pydantic alone would take an epoch number (``0`` is 1970-01-01).
- :data:`PastDate`: an :data:`IsoDate` not after today anywhere on Earth (the latest time zone is
  UTC+14), for dates of facts already known, like an information source.
- :data:`NOT_NULL`: an optional field that may be left out but not sent as ``null`` (the schema does
  not say ``null`` either).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

TEXT_PATTERN = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$"
"""No control character but tab (``\\t``) and line feed (``\\n``)."""
MULTILINE_TEXT_PATTERN = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$"
"""No control character but tab, line feed and carriage return."""
CONTROL_CHARACTERS_MESSAGE = "must not contain control characters (only tab and line breaks)"
"""What a 422 says of text that does not match either pattern."""
TEXT_PATTERNS = frozenset({TEXT_PATTERN, MULTILINE_TEXT_PATTERN})

Text = Annotated[str, StringConstraints(pattern=TEXT_PATTERN)]
"""Free text without control characters (tab and line feed allowed)."""
MultilineText = Annotated[str, StringConstraints(pattern=MULTILINE_TEXT_PATTERN)]
"""Free text of a text area: tab, line feed and carriage return allowed, no other control character."""

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_date(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise PydanticCustomError("iso_date", "must be an ISO 8601 date, e.g. 2026-01-31")
    return value


def _iso_date_time(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE_TIME.match(value):
        raise PydanticCustomError("iso_date_time", "must be an ISO 8601 date-time, e.g. 2026-01-31T12:00:00Z")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
"""A calendar date, given only as ISO 8601 text (``format: date``)."""
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_date_time)]
"""A moment, given only as ISO 8601 text with a time (``format: date-time``)."""
AwareIsoDateTime = Annotated[AwareDatetime, BeforeValidator(_iso_date_time)]
"""A moment with a time zone, given only as ISO 8601 text (``format: date-time``, as RFC 3339 wants)."""

LATEST_OFFSET = timedelta(hours=14)
"""The time zone furthest ahead of UTC (Kiribati): its today is the latest today anywhere."""


def latest_today() -> date:
    """Today's date where it is latest on Earth, so "today" of any caller is not in the future."""
    return (datetime.now(UTC) + LATEST_OFFSET).date()


def _not_future(value: date) -> date:
    if value > latest_today():
        raise PydanticCustomError("date_in_future", "must not be in the future")
    return value


PastDate = Annotated[IsoDate, AfterValidator(_not_future)]
"""An ISO 8601 date not after today (today in any time zone)."""


@dataclass(frozen=True)
class Stated:
    """JSON-schema keywords for a rule a validator enforces (``Stated(pattern=...)`` on a date-time)."""

    pattern: str

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {**handler(schema), "pattern": self.pattern}


class _NotNull:
    """Marks ``X | None`` as "may be omitted, never ``null``": ``null`` is refused (422) and the schema
    lists only ``X``. Defaults are not validated, so an omitted field is still ``None`` in Python."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(_refuse_null, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return drop_null(handler(schema))


def _refuse_null(value: Any) -> Any:
    if value is None:
        raise PydanticCustomError("not_null", "may be left out but not null")
    return value


def drop_null(schema: JsonSchemaValue) -> JsonSchemaValue:
    """``schema`` without its ``null`` alternative (``anyOf: [X, null]`` becomes ``X``)."""
    options = schema.get("anyOf")
    if not isinstance(options, list):
        return schema
    kept = [o for o in options if o != {"type": "null"}]
    rest = {k: v for k, v in schema.items() if k != "anyOf"}
    if len(kept) == 1:
        return {**kept[0], **rest}
    return {**rest, "anyOf": kept}


NOT_NULL = _NotNull()
"""``field: Annotated[X | None, NOT_NULL] = None``: optional, but ``null`` is refused."""

__all__ = [
    "CONTROL_CHARACTERS_MESSAGE",
    "MULTILINE_TEXT_PATTERN",
    "NOT_NULL",
    "TEXT_PATTERN",
    "TEXT_PATTERNS",
    "AwareIsoDateTime",
    "IsoDate",
    "IsoDateTime",
    "MultilineText",
    "PastDate",
    "Stated",
    "Text",
    "drop_null",
    "latest_today",
]
