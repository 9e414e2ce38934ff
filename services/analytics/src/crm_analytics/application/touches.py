"""What the contact effectiveness and attribution reports share: the touches and sales they join, as
the CRM knew them at a moment, in the caller's scope (``touches.sql``, ``sales.sql``), and the
facts they leave out for lack of a rate.

**As of** a moment: interactions, ERP codes, sources and catalog entries from the events that had
happened by then; trade facts by their latest version received by then (a fact's version is the
nanosecond it was received); rates as they are now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from crm_analytics.application.abc import WithoutRate
from crm_analytics.application.reading import known_version
from crm_analytics.application.scope import SCOPE_SQL, Scope
from crm_analytics.projections.tables import query

_SCOPE_MARK = "__SCOPE__"
_TOUCHES = query("touches").replace(_SCOPE_MARK, SCOPE_SQL)
_SALES = query("sales").replace(_SCOPE_MARK, SCOPE_SQL)


def with_touches_and_sales(body: str) -> str:
    """``body`` (a query reading the common tables ``touches`` and ``sales``) with both defined."""
    return f"WITH touches AS ({_TOUCHES}), sales AS ({_SALES}) {body}"


@dataclass(frozen=True, slots=True)
class Knowledge:
    """What a report reads: the moment (as of), the organisation's time zone and the caller's scope."""

    as_of: datetime
    tz: str
    scope: Scope

    def parameters(self, touch_days: tuple[date, date], fact_days: tuple[date, date]) -> dict[str, Any]:
        """The SQL parameters of ``touches.sql`` (touches dated ``touch_days``) and ``sales.sql``
        (facts dated ``fact_days``)."""
        return {
            "as_of": self.as_of,
            "known": known_version(self.as_of),
            "tz": self.tz,
            "first": touch_days[0],
            "last": touch_days[1],
            "facts_first": fact_days[0],
            "facts_last": fact_days[1],
            **self.scope.parameters(),
        }


def without_rate(found: list[dict[str, Any]]) -> list[WithoutRate]:
    """Rows ``currency, facts, earliest`` as :class:`WithoutRate`."""
    return [WithoutRate(str(r["currency"]), int(str(r["facts"])), r["earliest"]) for r in found]
