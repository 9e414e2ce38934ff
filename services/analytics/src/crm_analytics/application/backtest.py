"""Back-testing an ABC rule: the rule run over consecutive past periods, each as the CRM knew it at the
end of that period, and compared from one period to the next.

For ``periods`` consecutive periods of a periodicity (month, quarter, half-year, year) ending with
the one that holds ``to``, each period is classified with the same measure and shares
(:class:`~crm_analytics.application.abc.AbcReport`, so in the caller's scope):

- ``as_known="now"`` (default): with everything known today (late facts and corrections included);
- ``as_known="then"``: with what the CRM knew at the end of the period's last day in the
  organisation's time zone — the facts received by then (a history imported later was not known
  then) and the counterparties' codes then: what a run made at that moment would have said.

Compared with the period before, each period gives the **movement** (how many customers went from
each previous class, or none — ``new`` — to each class) and the **kept share** (customers of both
periods keeping their class, in percent). Compared with the period after, it gives the **next
share**: which part of the next period's total value came from this period's A, B and C customers
and from customers this period did not know (``new``) — how well the classes foretold the money.
Percentages are rounded half-up to 2 decimals; None where the base is not positive or absent.
"""

from __future__ import annotations

import zoneinfo
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from crm_analytics.application.abc import AbcQuery, AbcReport
from crm_analytics.domain.abc import CLASSES, AbcClass, Measure, Period, Shares
from crm_analytics.domain.xyz import bounds, ordinal
from crm_shared.errors import DomainError
from crm_shared.identity import Caller

Periodicity = Literal["month", "quarter", "half-year", "year"]
Known = Literal["then", "now"]
MAX_PERIODS = 36
Previous = Literal["A", "B", "C", "new"]
PREVIOUS: tuple[Previous, ...] = ("A", "B", "C", "new")
_PERCENT = Decimal("0.01")


def _percent(part: Decimal, whole: Decimal) -> Decimal | None:
    return None if whole <= 0 else (part * 100 / whole).quantize(_PERCENT, ROUND_HALF_UP)


def end_of_day(day: date, time_zone: str) -> datetime:
    """The last microsecond of ``day`` in the organisation's time zone, in UTC."""
    midnight = datetime.combine(day + timedelta(days=1), time(), tzinfo=zoneinfo.ZoneInfo(time_zone))
    return (midnight - timedelta(microseconds=1)).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class BacktestQuery:
    """The rule and the periods it is run over."""

    to: date
    periodicity: Periodicity = "month"
    periods: int = 12
    measure: Measure = "revenue"
    shares: Shares = field(default_factory=Shares)
    currency: str = "EUR"
    as_known: Known = "now"

    def __post_init__(self) -> None:
        if not 2 <= self.periods <= MAX_PERIODS:
            raise DomainError(f"must be between 2 and {MAX_PERIODS}", field="periods")

    def windows(self) -> list[Period]:
        """The periods, oldest first; the last one holds ``to``."""
        last = ordinal(self.to, self.periodicity)
        return [Period(*bounds(number, self.periodicity)) for number in range(last - self.periods + 1, last + 1)]


@dataclass(frozen=True, slots=True)
class BacktestPeriod:
    """One period's classification and its comparison with its neighbours."""

    period: Period
    as_of: datetime | None
    """The moment whose knowledge classified it (None: now)."""
    customers: dict[AbcClass, int]
    values: dict[AbcClass, Decimal]
    movement: dict[tuple[Previous, AbcClass], int] | None
    """Customers from each previous class (or new) to each class; None for the first period."""
    kept_share: Decimal | None
    """Customers of both periods keeping their class, in percent of them."""
    next_share: dict[Previous, Decimal | None] | None
    """The next period's total value by this period's class of its customers; None for the last."""


async def backtest(report: AbcReport, caller: Caller, asked: BacktestQuery, time_zone: str) -> list[BacktestPeriod]:
    """Run the rule over the periods and compare them (see the module docstring)."""
    now = datetime.now(UTC)
    classified: list[tuple[Period, datetime | None, dict[str, tuple[AbcClass, Decimal]]]] = []
    for period in asked.windows():
        as_of = min(end_of_day(period.end, time_zone), now) if asked.as_known == "then" else None
        query = AbcQuery(period, asked.measure, asked.shares, asked.currency, as_of=as_of)
        rows = {row.customer: (row.abc_class, row.value) async for row in report.every_row(caller, query)}
        classified.append((period, as_of, rows))
    result: list[BacktestPeriod] = []
    for i, (period, as_of, rows) in enumerate(classified):
        customers = Counter(abc_class for abc_class, _ in rows.values())
        values = {c: sum((v for k, v in rows.values() if k == c), Decimal("0.00")) for c in CLASSES}
        movement: dict[tuple[Previous, AbcClass], int] | None = None
        kept_share = None
        if i > 0:
            before = classified[i - 1][2]
            moves = Counter(
                (before[code][0] if code in before else "new", abc_class) for code, (abc_class, _) in rows.items()
            )
            movement = {(p, c): moves[(p, c)] for p in PREVIOUS for c in CLASSES}
            both = [code for code in rows if code in before]
            kept = sum(1 for code in both if before[code][0] == rows[code][0])
            kept_share = _percent(Decimal(kept), Decimal(len(both)))
        next_share: dict[Previous, Decimal | None] | None = None
        if i + 1 < len(classified):
            after = classified[i + 1][2]
            total = sum((v for _, v in after.values()), Decimal("0.00"))
            by: dict[Previous, Decimal] = {p: Decimal("0.00") for p in PREVIOUS}
            for code, (_, value) in after.items():
                by[rows[code][0] if code in rows else "new"] += value
            next_share = {p: _percent(v, total) for p, v in by.items()}
        result.append(
            BacktestPeriod(
                period=period,
                as_of=as_of,
                customers={c: customers[c] for c in CLASSES},
                values=values,
                movement=movement,
                kept_share=kept_share,
                next_share=next_share,
            )
        )
    return result
