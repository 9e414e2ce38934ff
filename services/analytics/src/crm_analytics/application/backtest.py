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

**As rows** (:func:`comparison_columns`, :func:`comparison_cells`, :data:`ABC_COLUMNS`, :func:`abc_cells`):
one row per run, what ``crm report abc-backtest`` writes and ``/abc/backtest.csv`` and ``.xlsx`` hold.

**Without a rate** (:func:`without_rate`): the facts of the periods left out for lack of a currency
rate, as the ABC report lists them.
"""

from __future__ import annotations

import zoneinfo
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Generic, Literal, TypeVar

from crm_analytics.application.abc import AbcQuery, AbcReport, WithoutRate, facts_without_rate
from crm_analytics.domain.abc import CLASSES, AbcClass, Measure, Period, Shares
from crm_analytics.domain.xyz import bounds, ordinal
from crm_shared.analytics import AnalyticsStore
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


def comparison_columns(categories: Sequence[str]) -> tuple[str, ...]:
    """The columns of a run's comparison with its neighbours: ``kept_share``, ``next_share_<category>``
    (``new`` last) and ``moved_<previous>_to_<category>`` for every pair."""
    previous = (*categories, "new")
    return (
        "kept_share",
        *(f"next_share_{p}" for p in previous),
        *(f"moved_{p}_to_{c}" for p in previous for c in categories),
    )


def comparison_cells(comparison: Comparison[Any], categories: Sequence[str]) -> list[object]:
    """The values of :func:`comparison_columns` (None: no run before, or after)."""
    previous = (*categories, "new")
    moved, following = comparison.movement, comparison.next_share
    return [
        comparison.kept_share,
        *(None if following is None else following[p] for p in previous),
        *(None if moved is None else moved[(p, c)] for p in previous for c in categories),
    ]


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


async def without_rate(store: AnalyticsStore, asked: BacktestQuery) -> list[WithoutRate]:
    """The facts of the periods (the first one's first day to the last one's last) without a rate, by
    currency: left out of every period's values, as the ABC report leaves them out."""
    periods = asked.windows()
    return await facts_without_rate(store, periods[0].start, periods[-1].end, from_sums=True)


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

    @property
    def comparison(self) -> Comparison[AbcClass]:
        """Its movement, kept share and next share."""
        return Comparison(self.movement, self.kept_share, self.next_share)


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


ABC_COLUMNS = (
    "from",
    "to",
    "as_of",
    *(f"customers_{c}" for c in CLASSES),
    *(f"value_{c}" for c in CLASSES),
    *comparison_columns(CLASSES),
)
"""The columns of an ABC back-test as rows, one per period (:func:`abc_cells`)."""


def moment_text(found: datetime | None) -> str | None:
    """A run's moment as ISO 8601; None for now."""
    return None if found is None else found.isoformat()


def abc_cells(period: BacktestPeriod) -> tuple[object, ...]:
    """A period's row of :data:`ABC_COLUMNS`: days and moment as text, counts as int, values and shares
    as Decimal, None where there is nothing (the first period's movement, the last one's next share)."""
    return (
        period.period.start.isoformat(),
        period.period.end.isoformat(),
        moment_text(period.as_of),
        *(period.customers[c] for c in CLASSES),
        *(period.values[c] for c in CLASSES),
        *comparison_cells(period.comparison, CLASSES),
    )
