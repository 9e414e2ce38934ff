"""What the routes of every analytics report share: the moment it is read as of (``?as_of=``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query
from pydantic import AfterValidator

from crm_analytics.domain.trade_fact import EARLIEST, LATEST
from crm_shared import inputs

_EARLIEST = datetime(EARLIEST.year, EARLIEST.month, EARLIEST.day, tzinfo=UTC)
_LATEST = datetime(LATEST.year, LATEST.month, LATEST.day, tzinfo=UTC)
AS_OF_PATTERN = r"^(19[7-9][0-9]|20[0-9]{2}|21[0-4][0-9])-"
"""The years a moment may have (those of the facts' dates)."""


def _in_range(value: datetime) -> datetime:
    if not _EARLIEST <= value <= _LATEST:
        raise ValueError(f"must be between {_EARLIEST:%Y-%m-%d} and {_LATEST:%Y-%m-%d}")
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
