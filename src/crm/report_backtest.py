"""``crm report abc-backtest`` and ``crm report xyz-backtest``: a rule back-tested over past periods
(``application.backtest``, ``application.xyz_backtest``: what ``GET /api/v1/analytics/abc/backtest``
and ``/xyz/backtest`` answer) on stdout, one row per run, oldest first.

Each row: the run's period (ABC) or evaluation date and window (XYZ), the moment whose knowledge it
read (empty: now), its customers and values per class (ABC) or per stage, class and standing (XYZ),
then the comparison: ``kept_share``, ``next_share_<category>`` (``new`` last) and
``moved_<previous>_to_<category>`` for every pair (empty in the first run; ``next_share_*`` empty in the
last). The options are the reports' (``crm report abc``, ``crm report xyz``) with ``--to``, plus the
periods and ``--as-known now|then``.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from crm import report_abc, report_xyz, reports
from crm_analytics.application.backtest import MAX_PERIODS, BacktestQuery, backtest
from crm_analytics.application.xyz import XyzReport
from crm_analytics.application.xyz_backtest import STANDINGS, XyzBacktestQuery, xyz_backtest
from crm_analytics.bootstrap import AnalyticsService
from crm_analytics.domain.abc import CLASSES, Shares
from crm_analytics.domain.xyz import STAGES, XYZ_CLASSES
from crm_shared.identity import Caller
from crm_shared.settings import KernelSettings

STEPS = ("month", "quarter", "half-year", "year")


def comparison_columns(categories: Sequence[str]) -> tuple[str, ...]:
    """The columns of a run's comparison with its neighbours."""
    previous = (*categories, "new")
    return (
        "kept_share",
        *(f"next_share_{p}" for p in previous),
        *(f"moved_{p}_to_{c}" for p in previous for c in categories),
    )


def comparison_cells(
    moved: Mapping[Any, int] | None,
    kept_share: Decimal | None,
    following: Mapping[Any, Decimal | None] | None,
    categories: Sequence[str],
) -> list[object]:
    """The values of :func:`comparison_columns` from a run's movement, kept share and next share
    (:class:`~crm_analytics.application.backtest.Comparison`; None: no run before, or after)."""
    previous = (*categories, "new")
    return [
        kept_share,
        *(None if following is None else following[p] for p in previous),
        *(None if moved is None else moved[(p, c)] for p in previous for c in categories),
    ]


def _add_runs(parser: argparse.ArgumentParser, count: str, between: str) -> None:
    parser.add_argument("--as-known", choices=["now", "then"], default="now", help="now (default) or then")
    parser.add_argument(f"--{between}", choices=STEPS, default="month")
    parser.add_argument(f"--{count}", type=int, default=12, help=f"how many runs, 2 to {MAX_PERIODS} (default 12)")
    reports.add_output(parser)


def _moment(found: datetime | None) -> str | None:
    return None if found is None else found.isoformat()


# -- crm report abc-backtest ------------------------------------------------------------------------------

ABC = "abc-backtest"
ABC_COLUMNS = (
    "from",
    "to",
    "as_of",
    *(f"customers_{c}" for c in CLASSES),
    *(f"value_{c}" for c in CLASSES),
    *comparison_columns(CLASSES),
)


def add_abc_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``crm report abc-backtest``."""
    reports.add_to(parser, help="a day of the last period, YYYY-MM-DD")
    report_abc.add_rule_arguments(parser)
    _add_runs(parser, "periods", "periodicity")


def run_abc(settings: KernelSettings, args: argparse.Namespace) -> int:
    """Write each period's classes and comparisons to stdout; 2 for bad options."""
    asked = reports.checked(
        ABC,
        "shares",
        lambda: BacktestQuery(
            to=args.end,
            periodicity=args.periodicity,
            periods=args.periods,
            measure=args.by,
            shares=Shares.parse(args.shares),
            currency=reports.reporting_currency(args.currency),
            as_known=args.as_known,
        ),
    )
    if asked is None:
        return reports.BAD_INPUT

    async def rows(service: AnalyticsService, caller: Caller) -> AsyncIterator[reports.Row]:
        for p in await backtest(service.abc, caller, asked, service.settings.time_zone):
            yield (
                p.period.start.isoformat(),
                p.period.end.isoformat(),
                _moment(p.as_of),
                *(p.customers[c] for c in CLASSES),
                *(p.values[c] for c in CLASSES),
                *comparison_cells(p.movement, p.kept_share, p.next_share, CLASSES),
            )

    count = reports.write(settings, args, ABC_COLUMNS, rows)
    reports.tell(
        ABC,
        f"{count} {asked.periodicity} periods to {asked.windows()[-1].end}, by {asked.measure}, shares"
        f" {asked.shares}, {asked.currency}, as known {asked.as_known}",
    )
    return 0


# -- crm report xyz-backtest ------------------------------------------------------------------------------

XYZ = "xyz-backtest"
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


def add_xyz_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``crm report xyz-backtest``."""
    report_xyz.add_rule_arguments(parser)
    _add_runs(parser, "runs", "step")


def run_xyz(settings: KernelSettings, args: argparse.Namespace) -> int:
    """Write each evaluation's stages, classes and comparisons to stdout; 2 for bad options."""
    asked = reports.checked(
        XYZ, "to", lambda: XyzBacktestQuery(report_xyz.rule_of(args), args.step, args.runs, args.as_known)
    )
    if asked is None:
        return reports.BAD_INPUT

    async def rows(service: AnalyticsService, caller: Caller) -> AsyncIterator[reports.Row]:
        found = await xyz_backtest(XyzReport(service.analytics), caller, asked, service.settings.time_zone)
        for run in found:
            compared = run.comparison
            yield (
                run.to.isoformat(),
                run.first_day.isoformat(),
                _moment(run.as_of),
                run.customers,
                *(run.stages[s] for s in STAGES),
                *(run.classes[c] for c in XYZ_CLASSES),
                *(run.values[s] for s in STANDINGS),
                *comparison_cells(compared.movement, compared.kept_share, compared.next_share, STANDINGS),
            )

    count = reports.write(settings, args, XYZ_COLUMNS, rows)
    rule = asked.rule
    reports.tell(
        XYZ,
        f"{count} runs at {asked.step} ends to {asked.dates()[-1]}, {rule.periods} {rule.periodicity} periods each,"
        f" by {rule.measure}, X ≤ {rule.x} %, Y ≤ {rule.y} %, regular from {rule.regular_periods} active periods,"
        f" {rule.currency}, as known {asked.as_known}",
    )
    return 0


ABC_COMMAND = reports.Command(ABC, "the ABC rule back-tested over past periods", add_abc_arguments, run_abc)
XYZ_COMMAND = reports.Command(XYZ, "the stage and XYZ rule back-tested at past dates", add_xyz_arguments, run_xyz)
