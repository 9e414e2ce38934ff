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
from collections.abc import AsyncIterator

from crm import report_abc, report_xyz, reports
from crm_analytics.application.backtest import ABC_COLUMNS, MAX_PERIODS, BacktestQuery, abc_cells, backtest
from crm_analytics.application.xyz import XyzReport
from crm_analytics.application.xyz_backtest import XYZ_COLUMNS, XyzBacktestQuery, xyz_backtest, xyz_cells
from crm_analytics.bootstrap import AnalyticsService
from crm_analytics.domain.abc import Shares
from crm_shared.identity import Caller
from crm_shared.settings import KernelSettings

STEPS = ("month", "quarter", "half-year", "year")


def _add_runs(parser: argparse.ArgumentParser, count: str, between: str) -> None:
    parser.add_argument("--as-known", choices=["now", "then"], default="now", help="now (default) or then")
    parser.add_argument(f"--{between}", choices=STEPS, default="month")
    parser.add_argument(f"--{count}", type=int, default=12, help=f"how many runs, 2 to {MAX_PERIODS} (default 12)")
    reports.add_output(parser)


# -- crm report abc-backtest ------------------------------------------------------------------------------

ABC = "abc-backtest"


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
            yield abc_cells(p)

    count = reports.write(settings, args, ABC_COLUMNS, rows)
    reports.tell(
        ABC,
        f"{count} {asked.periodicity} periods to {asked.windows()[-1].end}, by {asked.measure}, shares"
        f" {asked.shares}, {asked.currency}, as known {asked.as_known}",
    )
    return 0


# -- crm report xyz-backtest ------------------------------------------------------------------------------

XYZ = "xyz-backtest"


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
            yield xyz_cells(run)

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
