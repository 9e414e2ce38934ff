"""How a report reads the analytics tables: as of a moment, and within the caller's scope.

- **As of**: a report's SQL reads the facts from ``facts_converted`` (the current state); read as of a
  past moment it reads ``facts_converted_as_of(known)`` instead — each fact as received by then, from
  the history of every version (``trade_fact_versions``) — and the CRM's events that happened by then
  (the views of ``crm_events.sql`` take ``as_of``). :func:`known_at` turns the one into the other,
  :func:`moment` gives both parameters.
- **Scope**: :func:`linked_in_scope` wraps a report's rows (with a ``customer`` column) with the
  counterparty carrying each customer code as of the moment and keeps the rows of the caller's scope
  (:mod:`~crm_analytics.application.scope`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crm_analytics.application.scope import SCOPE_SQL

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURRENT = "FROM facts_converted\n"
_KNOWN = "FROM facts_converted_as_of(known = {known:UInt64})\n"


def known_at(sql: str) -> str:
    """``sql`` reading the facts as known at the moment of :func:`moment` instead of as they are now."""
    if _CURRENT not in sql:
        raise ValueError("the report's SQL must read `FROM facts_converted` at the end of a line")
    return sql.replace(_CURRENT, _KNOWN)


def at(as_of: datetime | None) -> datetime:
    """The moment of a read: ``as_of`` in UTC (a naive one taken as UTC), or now."""
    if as_of is None:
        return datetime.now(UTC)
    return as_of.replace(tzinfo=UTC) if as_of.tzinfo is None else as_of.astimezone(UTC)


def known_version(moment: datetime) -> int:
    """The greatest fact version known at ``moment``: the last nanosecond of its microsecond since the
    epoch (a fact's version is the nanosecond it was received; a moment has microseconds)."""
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1000 + 999


def moment(as_of: datetime | None) -> dict[str, object]:
    """The parameters of a read as of ``as_of`` (None: now): ``as_of`` for the events' views and
    ``known`` for the facts."""
    when = at(as_of)
    return {"as_of": when, "known": known_version(when)}


def linked_in_scope(rows: str) -> str:
    """The rows of ``rows`` (SQL with a ``customer`` column) in the caller's scope, each with the
    ``counterparty_id`` carrying its customer code as of ``as_of`` ('' when none)."""
    return f"""
    SELECT r.*, l.counterparty_id AS counterparty_id
    FROM ({rows}) AS r
    LEFT JOIN customer_links(as_of = {{as_of:DateTime64(6, 'UTC')}}) AS l ON r.customer = l.customer
    WHERE {SCOPE_SQL}"""
