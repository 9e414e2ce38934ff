"""What the routes of every analytics report share: the moment it is read as of (``?as_of=``) and
the CSV file (:func:`csv_response`)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Query
from fastapi.responses import StreamingResponse
from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from crm_analytics.domain.trade_fact import EARLIEST, LATEST
from crm_shared import inputs

_EARLIEST = datetime(EARLIEST.year, EARLIEST.month, EARLIEST.day, tzinfo=UTC)
_LATEST = datetime(LATEST.year, LATEST.month, LATEST.day, tzinfo=UTC)
AS_OF_PATTERN = r"^(19[7-9][0-9]|20[0-9]{2}|21[0-4][0-9])-"
"""The years a moment may have (those of the facts' dates)."""


def _in_range(value: datetime) -> datetime:
    if not _EARLIEST <= value <= _LATEST:
        raise PydanticCustomError("as_of_range", f"must be between {_EARLIEST:%Y-%m-%d} and {_LATEST:%Y-%m-%d}")
    return value.astimezone(UTC)


AsOfMoment = Annotated[inputs.AwareIsoDateTime, AfterValidator(_in_range), inputs.Stated(pattern=AS_OF_PATTERN)]

AsOf = Annotated[
    AsOfMoment | None,
    Query(
        description="What the CRM knew at this moment (ISO 8601 with its offset, e.g. 2026-03-31T23:59:59+03:00): "
        "only the facts received and the CRM's events that happened by then count, each fact as it was "
        "then (a later correction unseen). Left out: now."
    ),
]
"""The ``as_of`` query parameter of a report."""

CSV_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {"schema": {"type": "string"}}}}}
"""The ``responses`` of a route answering :func:`csv_response`."""


def csv_line(values: tuple[object, ...]) -> str:
    """One CSV line (RFC 4180 quoting, CRLF; None is empty)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(values)
    return out.getvalue()


def csv_response(
    lines: Iterable[tuple[object, ...]] | AsyncIterable[tuple[object, ...]], columns: tuple[str, ...], filename: str
) -> StreamingResponse:
    """A report as a CSV file, streamed as ``lines`` come: UTF-8 with a byte order mark, the header
    ``columns``, then one line per tuple of ``lines`` (values as :func:`csv_line` writes them)."""

    async def body() -> AsyncIterator[bytes]:
        yield ("\ufeff" + csv_line(columns)).encode()
        if isinstance(lines, AsyncIterable):
            async for values in lines:
                yield csv_line(values).encode()
        else:
            for values in lines:
                yield csv_line(values).encode()

    disposition = f'attachment; filename="{filename}"'
    return StreamingResponse(body(), media_type="text/csv; charset=utf-8", headers={"Content-Disposition": disposition})
