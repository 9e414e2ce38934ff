"""``crm report managers``: the sales-manager comparison on stdout, one row per manager (``''`` = no
manager), the columns of ``GET /api/v1/analytics/managers.csv`` — see ``application.managers``."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from dataclasses import astuple

from crm import reports
from crm_analytics.application.managers import CREDITS, INDICATORS, ManagersQuery, ManagersReport
from crm_analytics.bootstrap import AnalyticsService
from crm_analytics.domain.attribution import checked_period
from crm_shared.identity import Caller
from crm_shared.settings import KernelSettings

NAME = "managers"
COLUMNS = ("manager", *INDICATORS)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``crm report managers``."""
    reports.add_period(parser)
    parser.add_argument(
        "--credit",
        choices=CREDITS,
        default="at_the_time",
        help="at_the_time: to the customer's main manager on each fact's date (default); current: today's",
    )
    reports.add_as_of(parser)
    parser.add_argument("--sort", choices=COLUMNS, default="revenue", help="the indicator the rows are ordered by")
    parser.add_argument("--order", choices=["asc", "desc"], default="desc", help="nulls lowest (default desc)")
    reports.add_output(parser)


def run(settings: KernelSettings, args: argparse.Namespace) -> int:
    """Write every manager's indicators to stdout; 2 for bad options."""
    asked = reports.checked(
        NAME, "to", lambda: ManagersQuery(checked_period(args.start, args.end), args.credit, args.as_of)
    )
    if asked is None:
        return reports.BAD_INPUT
    moment = asked.moment()  # one moment for the report and its summary
    asked = ManagersQuery(asked.period, asked.credit, moment)

    async def rows(service: AnalyticsService, caller: Caller) -> AsyncIterator[reports.Row]:
        report = ManagersReport(service.analytics, tz=service.settings.time_zone)
        result = await report.compare(caller, asked, sort=args.sort, descending=args.order == "desc")
        for row in result.rows:
            yield astuple(row)

    count = reports.write(settings, args, COLUMNS, rows)
    reports.tell(
        NAME,
        f"{count:,} managers, {asked.period.start} to {asked.period.end}, credit {asked.credit},"
        f" as of {moment.isoformat()}, {reports.reporting_currency(None)}",
    )
    return 0


COMMAND = reports.Command(NAME, "the sales-manager comparison", add_arguments, run)
