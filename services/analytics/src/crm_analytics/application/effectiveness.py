"""Contact effectiveness: what followed the interactions of each kind, manager or source.

For the period, every **touch** (a completed interaction with a counterparty, dated by its end in the
organisation's time zone; ``touches.sql``) and the revenue and profit of its counterparty's trade
facts (linked by ERP code, converted to the reporting currency; ``sales.sql``) dated from the touch's
day to ``window_days`` after it, **the touch's own day included** (``effectiveness.sql``). Grouped by
the touch's kind, its responsible manager or the counterparty's information source valid on its day.

Revenue in the windows of two touches counts after each of them: the report answers "what came
within N days of a call", not "what did the call earn" (that is attribution, which splits each sale
among its touches). So the rows' revenues may sum to more than the counterparties' revenue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from crm_analytics.application.abc import WithoutRate
from crm_analytics.application.reading import at
from crm_analytics.application.scope import scope_of
from crm_analytics.application.touches import Knowledge, with_touches_and_sales, without_rate
from crm_analytics.domain.attribution import EffectivenessQuery
from crm_analytics.domain.trade_fact import LATEST
from crm_analytics.projections.tables import query
from crm_shared.analytics import AnalyticsStore
from crm_shared.identity import Caller

_GROUPS = with_touches_and_sales(query("effectiveness"))
_FIRST = f"SELECT * FROM ({_GROUPS}) ORDER BY key LIMIT {{limit:UInt32}}"
_PAGE = f"SELECT * FROM ({_GROUPS}) WHERE key > {{after:String}} ORDER BY key LIMIT {{limit:UInt32}}"
_TOTAL = (
    f"SELECT toUInt64(sum(interactions)) AS interactions, toUInt64(sum(followed)) AS followed,"
    f" sum(revenue) AS revenue, sum(profit) AS profit, count() AS groups FROM ({_GROUPS})"
)
_WITHOUT_RATE = with_touches_and_sales(
    "SELECT s.currency AS currency, uniqExact(s.id) AS facts, min(s.date) AS earliest"
    " FROM touches AS t INNER JOIN sales AS s ON s.counterparty_id = t.counterparty_id"
    " WHERE NOT s.converted AND s.date BETWEEN t.day AND toDate32(t.day) + {window_days:UInt32}"
    " GROUP BY currency ORDER BY currency"
)
PERCENT = Decimal("0.01")


def conversion(followed: int, interactions: int) -> Decimal | None:
    """Touches followed by a sale in percent of the touches (2 decimals, half-even); None for none."""
    if interactions == 0:
        return None
    return (Decimal(followed) * 100 / interactions).quantize(PERCENT)


@dataclass(frozen=True, slots=True)
class EffectivenessRow:
    """The touches of one kind, manager or source and what followed them."""

    key: str
    """The kind, the responsible manager's id or the source's code ('' for touches without a source)."""
    interactions: int
    followed: int
    """Touches with at least one sale (a fact of kind ``sale``) in their window."""
    revenue: Decimal
    profit: Decimal

    @property
    def conversion(self) -> Decimal | None:
        """``followed`` in percent of ``interactions``."""
        return conversion(self.followed, self.interactions)


@dataclass(frozen=True, slots=True)
class EffectivenessResult:
    """A page of groups and the totals of all of them (the caller's scope only)."""

    rows: list[EffectivenessRow]
    last_key: str | None
    """The key of the page's last row when more follow."""
    total: EffectivenessRow
    groups: int
    as_of: datetime
    without_rate: list[WithoutRate]
    """Facts in the touches' windows without a rate, by currency: left out of revenue and profit."""


def _row(found: dict[str, object]) -> EffectivenessRow:
    return EffectivenessRow(
        key=str(found["key"]),
        interactions=int(str(found["interactions"])),
        followed=int(str(found["followed"])),
        revenue=Decimal(str(found["revenue"] or 0)),
        profit=Decimal(str(found["profit"] or 0)),
    )


class EffectivenessReport:
    """The report, for any caller with a scope (:func:`~crm_analytics.application.scope.scope_of`)."""

    def __init__(self, store: AnalyticsStore, tz: str = "UTC") -> None:
        self._store = store
        self._tz = tz

    def _parameters(self, caller: Caller, asked: EffectivenessQuery, as_of: datetime) -> dict[str, object]:
        period = asked.period
        knowledge = Knowledge(as_of, self._tz, scope_of(caller))
        last_fact = min(period.end + timedelta(days=asked.window_days), LATEST)
        return {
            **knowledge.parameters((period.start, period.end), (period.start, last_fact)),
            "window_days": asked.window_days,
            "by": asked.by,
        }

    async def report(
        self,
        caller: Caller,
        asked: EffectivenessQuery,
        *,
        as_of: datetime | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> EffectivenessResult:
        """The groups with a key after ``after`` (all: None), at most ``limit``, in key order, and the totals."""
        known = at(as_of)
        parameters = self._parameters(caller, asked, known)
        found = await self._store.query(
            _FIRST if after is None else _PAGE, {**parameters, "after": after or "", "limit": limit + 1}
        )
        rows = [_row(r) for r in found[:limit]]
        more = len(found) > limit
        [total] = await self._store.query(_TOTAL, parameters)
        return EffectivenessResult(
            rows=rows,
            last_key=rows[-1].key if more else None,
            total=_row({**total, "key": ""}),
            groups=int(str(total["groups"])),
            as_of=known,
            without_rate=without_rate(await self._store.query(_WITHOUT_RATE, parameters)),
        )
