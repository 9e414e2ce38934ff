"""Back-testing a segmentation rule: the rule run at consecutive past evaluation dates, each as the CRM
knew it then or as it is known now, and each run compared with its neighbours. This module holds what
every back-test shares — the evaluation windows, the moment of each run, and the comparison — and the
ABC back-test; the XYZ/stage back-test (``application.xyz_backtest``) uses the same machinery.

**Windows** (:func:`windows`): ``count`` consecutive steps of a periodicity (month, quarter,
half-year, year) ending with the one that holds ``to``, oldest first. The ABC rule classifies each
step's period; the XYZ rule is evaluated at each step's last day.

**As known** (:func:`moment_of`):

- ``"now"`` (default): every run with everything known today (late facts and corrections included);
- ``"then"``: each run with what the CRM knew at the end of its last day in the organisation's time
  zone (:func:`end_of_day`, or now if that is later) — the facts received by then (a history imported
  later was not known then) and the counterparties' codes then: what a run made at that moment
  would have said.

**Comparison** (:func:`compare`), each run holding every customer's category (an ABC class; a stage or
XYZ class) and value (the rule's measure):

- with the run before, the **movement** (how many customers went from each previous category, or
  none — ``new`` — to each category, every pair, zeros included) and the **kept share** (customers of
  both runs keeping their category, in percent of them);
- with the run after, the **next share**: which part of the next run's total value came from this
  run's customers of each category and from customers this run did not know (``new``) — how well the
  categories foretold the money.

Percentages are rounded half-up to 2 decimals (:func:`percent`); None where the base is not positive
or absent.
"""

from __future__ import annotations

import zoneinfo
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Generic, Literal, TypeVar

from crm_analytics.application.abc import AbcQuery, AbcReport
from crm_analytics.domain.abc import CLASSES, AbcClass, Measure, Period, Shares
from crm_analytics.domain.xyz import bounds, ordinal
from crm_shared.errors import DomainError
from crm_shared.identity import Caller

Periodicity = Literal["month", "quarter", "half-year", "year"]
"""The step between two runs of a back-test."""
Known = Literal["then", "now"]
MAX_PERIODS = 36
"""The most runs a back-test makes (at least 2)."""
New = Literal["new"]
K = TypeVar("K", bound=str)
Previous = Literal["A", "B", "C", "new"]
PREVIOUS: tuple[Previous, ...] = ("A", "B", "C", "new")
_PERCENT = Decimal("0.01")
_ZERO = Decimal("0.00")


def percent(part: Decimal, whole: Decimal) -> Decimal | None:
    """``part`` in percent of ``whole``, rounded half-up to 2 decimals; None when ``whole`` ≤ 0."""
    return None if whole <= 0 else (part * 100 / whole).quantize(_PERCENT, ROUND_HALF_UP)


def end_of_day(day: date, time_zone: str) -> datetime:
    """The last microsecond of ``day`` in the organisation's time zone, in UTC."""
    midnight = datetime.combine(day + timedelta(days=1), time(), tzinfo=zoneinfo.ZoneInfo(time_zone))
    return (midnight - timedelta(microseconds=1)).astimezone(UTC)


def check_count(count: int, name: str) -> None:
    """:class:`DomainError` naming ``name`` unless a back-test of ``count`` runs may be made."""
    if not 2 <= count <= MAX_PERIODS:
        raise DomainError(f"must be between 2 and {MAX_PERIODS}", field=name)


def windows(to: date, step: Periodicity, count: int) -> list[Period]:
    """The ``count`` consecutive periods of ``step`` ending with the one holding ``to``, oldest first."""
    last = ordinal(to, step)
    return [Period(*bounds(number, step)) for number in range(last - count + 1, last + 1)]


def moment_of(day: date, as_known: Known, time_zone: str, now: datetime) -> datetime | None:
    """The moment whose knowledge a run evaluated on ``day`` reads: None (now) for ``"now"``, else the
    end of ``day`` in the organisation's time zone, or ``now`` if that is earlier."""
    return min(end_of_day(day, time_zone), now) if as_known == "then" else None


@dataclass(frozen=True, slots=True)
class Comparison(Generic[K]):
    """A run compared with the runs before and after it (see the module docstring)."""

    movement: dict[tuple[K | New, K], int] | None
    """Customers from each previous category (or new) to each category; None for the first run."""
    kept_share: Decimal | None
    """Customers of both runs keeping their category, in percent of them; None for the first run."""
    next_share: dict[K | New, Decimal | None] | None
    """The next run's total value by this run's category of its customers; None for the last run."""


def compare(runs: Sequence[Mapping[str, tuple[K, Decimal]]], categories: Sequence[K]) -> list[Comparison[K]]:
    """Each run (customer → (category, value)) compared with its neighbours, in the runs' order."""
    previous: tuple[K | New, ...] = (*categories, "new")
    found: list[Comparison[K]] = []
    for i, rows in enumerate(runs):
        movement: dict[tuple[K | New, K], int] | None = None
        kept_share = None
        if i > 0:
            before = runs[i - 1]
            moves: Counter[tuple[K | New, K]] = Counter(
                (before[code][0] if code in before else "new", category) for code, (category, _) in rows.items()
            )
            movement = {(p, c): moves[(p, c)] for p in previous for c in categories}
            both = [code for code in rows if code in before]
            kept = sum(1 for code in both if before[code][0] == rows[code][0])
            kept_share = percent(Decimal(kept), Decimal(len(both)))
        next_share: dict[K | New, Decimal | None] | None = None
        if i + 1 < len(runs):
            after = runs[i + 1]
            total = sum((value for _, value in after.values()), _ZERO)
            by: dict[K | New, Decimal] = dict.fromkeys(previous, _ZERO)
            for code, (_, value) in after.items():
                by[rows[code][0] if code in rows else "new"] += value
            next_share = {p: percent(v, total) for p, v in by.items()}
        found.append(Comparison(movement, kept_share, next_share))
    return found


# -- the ABC back-test ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BacktestQuery:
    """The ABC rule and the periods it is run over."""

    to: date
    periodicity: Periodicity = "month"
    periods: int = 12
    measure: Measure = "revenue"
    shares: Shares = field(default_factory=Shares)
    currency: str = "EUR"
    as_known: Known = "now"

    def __post_init__(self) -> None:
        check_count(self.periods, "periods")

    def windows(self) -> list[Period]:
        """The periods, oldest first; the last one holds ``to``."""
        return windows(self.to, self.periodicity, self.periods)


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
        as_of = moment_of(period.end, asked.as_known, time_zone, now)
        query = AbcQuery(period, asked.measure, asked.shares, asked.currency, as_of=as_of)
        rows = {row.customer: (row.abc_class, row.value) async for row in report.every_row(caller, query)}
        classified.append((period, as_of, rows))
    compared = compare([rows for _, _, rows in classified], CLASSES)
    result: list[BacktestPeriod] = []
    for (period, as_of, rows), comparison in zip(classified, compared, strict=True):
        customers = Counter(abc_class for abc_class, _ in rows.values())
        result.append(
            BacktestPeriod(
                period=period,
                as_of=as_of,
                customers={c: customers[c] for c in CLASSES},
                values={c: sum((v for k, v in rows.values() if k == c), _ZERO) for c in CLASSES},
                movement=comparison.movement,
                kept_share=comparison.kept_share,
                next_share=comparison.next_share,
            )
        )
    return result
