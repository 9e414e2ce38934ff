"""Back-testing the relationship-stage and XYZ rule: the rule (``domain.xyz``, the XYZ report's
parameters) evaluated at ``runs`` consecutive evaluation dates — the last days of the last ``runs``
steps (month, quarter, half-year, year) ending with the one that holds ``to`` — and each evaluation
compared with its neighbours, with the machinery of the ABC back-test (``application.backtest``).

Each evaluation is the XYZ report (:class:`~crm_analytics.application.xyz.XyzReport`) with ``to`` the
evaluation date and every other parameter the caller's, in the caller's scope (the whole for
``analytics:read``, their access groups' customers for a sales manager), as known now or as the CRM
knew it at the end of the evaluation date (``as_known``, :func:`~crm_analytics.application.backtest.moment_of`).

A customer's **standing** in a run is its stage, with a regular customer's XYZ class in place of
``regular`` (a regular customer always has one): potential, one-time, X, Y, Z, lost. The comparison
counts the movement between standings (or from ``new``), the share of customers keeping their
standing, and the **next share**: which part of the next run's window value — each customer's
``total`` of the rule's measure over the window (for ``intervals``, the days between its first and
last sale day in the window) — came from this run's customers of each standing and from new ones.

As rows (:data:`XYZ_COLUMNS`, :func:`xyz_cells`): one per run, what ``crm report xyz-backtest`` writes
and ``/xyz/backtest.csv`` and ``.xlsx`` hold. :func:`without_rate`: the facts of the windows left out
of a money measure for lack of a rate.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Literal, get_args

from crm_analytics.application.abc import WithoutRate
from crm_analytics.application.backtest import (
    Comparison,
    Known,
    Periodicity,
    check_count,
    compare,
    comparison_cells,
    comparison_columns,
    moment_of,
    moment_text,
    windows,
)
from crm_analytics.application.xyz import XyzReport, XyzRow, window_without_rate
from crm_analytics.domain.xyz import SCALES, STAGES, XYZ_CLASSES, Stage, XyzClass, XyzParameters
from crm_shared.analytics import AnalyticsStore
from crm_shared.errors import DomainError
from crm_shared.identity import Caller

Standing = Literal["potential", "one-time", "X", "Y", "Z", "lost"]
"""A customer's stage, a regular customer's XYZ class in place of ``regular``."""
STANDINGS: tuple[Standing, ...] = get_args(Standing)


def standing_of(row: XyzRow) -> Standing:
    """The customer's stage, or its XYZ class when it is regular."""
    if row.stage == "regular":
        assert row.xyz_class is not None  # the rule classes every regular customer
        return row.xyz_class
    return row.stage


@dataclass(frozen=True, slots=True)
class XyzBacktestQuery:
    """The rule (its ``to`` holds the last step) and the evaluation dates it is run at."""

    rule: XyzParameters
    step: Periodicity = "month"
    runs: int = 12
    as_known: Known = "now"

    def __post_init__(self) -> None:
        check_count(self.runs, "runs")
        self.evaluations()

    def dates(self) -> list[date]:
        """The evaluation dates, oldest first: the last day of each step; the last step holds ``to``."""
        return [period.end for period in windows(self.rule.to, self.step, self.runs)]

    def evaluations(self) -> list[XyzParameters]:
        """The rule at each evaluation date (:class:`DomainError` naming ``runs`` when the first run's
        window would start before the facts' first day)."""
        try:
            return [replace(self.rule, to=day) for day in self.dates()]
        except DomainError as exc:
            raise DomainError(f"too many runs: {exc}", field="runs") from exc


async def without_rate(store: AnalyticsStore, asked: XyzBacktestQuery) -> list[WithoutRate]:
    """The facts of the windows (the first run's first day to the last evaluation date) without a rate,
    by currency, for a money measure (else none): left out of every run, as the XYZ report leaves them."""
    first, last = asked.evaluations()[0], asked.evaluations()[-1]
    return await window_without_rate(store, last.measure, first.first_day, last.to)


@dataclass(frozen=True, slots=True)
class XyzBacktestRun:
    """One evaluation's stages and classes and its comparison with its neighbours."""

    to: date
    """The evaluation date: the last day counted."""
    first_day: date
    """The first day of its window."""
    as_of: datetime | None
    """The moment whose knowledge evaluated it (None: now)."""
    stages: dict[Stage, int]
    classes: dict[XyzClass, int]
    values: dict[Standing, Decimal]
    """The window value of the customers of each standing."""
    comparison: Comparison[Standing]

    @property
    def customers(self) -> int:
        """Every customer evaluated."""
        return sum(self.stages.values())


async def xyz_backtest(
    report: XyzReport, caller: Caller, asked: XyzBacktestQuery, time_zone: str
) -> list[XyzBacktestRun]:
    """Evaluate the rule at every date and compare the runs (see the module docstring)."""
    now = datetime.now(UTC)
    evaluated: list[tuple[XyzParameters, datetime | None, list[XyzRow]]] = []
    for rule in asked.evaluations():
        as_of = moment_of(rule.to, asked.as_known, time_zone, now)
        evaluated.append((rule, as_of, [row async for row in report.every_row(caller, rule, as_of=as_of)]))
    standings = [{row.customer: (standing_of(row), row.total) for row in rows} for _, _, rows in evaluated]
    compared = compare(standings, STANDINGS)
    result: list[XyzBacktestRun] = []
    for (rule, as_of, rows), mine, comparison in zip(evaluated, standings, compared, strict=True):
        stages = Counter(row.stage for row in rows)
        classes = Counter(row.xyz_class for row in rows if row.xyz_class is not None)
        zero = Decimal(0).quantize(SCALES[rule.measure])
        values = {s: sum((v for k, v in mine.values() if k == s), zero) for s in STANDINGS}
        result.append(
            XyzBacktestRun(
                to=rule.to,
                first_day=rule.first_day,
                as_of=as_of,
                stages={s: stages[s] for s in STAGES},
                classes={c: classes[c] for c in XYZ_CLASSES},
                values=values,
                comparison=comparison,
            )
        )
    return result


XYZ_COLUMNS = (
    "to",
    "from",
    "as_of",
    "customers",
    *STAGES,
    *XYZ_CLASSES,
    *(f"value_{s}" for s in STANDINGS),
    *comparison_columns(STANDINGS),
)
"""The columns of a stage/XYZ back-test as rows, one per run (:func:`xyz_cells`)."""


def xyz_cells(run: XyzBacktestRun) -> tuple[object, ...]:
    """A run's row of :data:`XYZ_COLUMNS`: days and moment as text, counts as int, values and shares as
    Decimal, None where there is nothing (the first run's movement, the last one's next share)."""
    return (
        run.to.isoformat(),
        run.first_day.isoformat(),
        moment_text(run.as_of),
        run.customers,
        *(run.stages[s] for s in STAGES),
        *(run.classes[c] for c in XYZ_CLASSES),
        *(run.values[s] for s in STANDINGS),
        *comparison_cells(run.comparison, STANDINGS),
    )
