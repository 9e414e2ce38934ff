"""``crm report abc``: the ABC classification of customers on stdout, one row per customer in place order."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator

from crm import reports
from crm_analytics.application.abc import AbcQuery
from crm_analytics.bootstrap import AnalyticsService
from crm_analytics.domain.abc import Period, Shares
from crm_shared.identity import Caller
from crm_shared.settings import KernelSettings

NAME = "abc"
COLUMNS = ("place", "customer", "counterparty_id", "value", "cumulative_share", "class")


def add_rule_arguments(parser: argparse.ArgumentParser) -> None:
    """The rule's options but its period (``crm report abc`` and ``crm report abc-backtest``)."""
    parser.add_argument("--by", choices=["revenue", "revenue_without_vat", "profit"], default="revenue")
    parser.add_argument("--shares", default="70/20/10", help="A/B/C in percent, summing to 100")
    reports.add_currency(parser)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``crm report abc``."""
    reports.add_period(parser)
    add_rule_arguments(parser)
    reports.add_output(parser)


def run(settings: KernelSettings, args: argparse.Namespace) -> int:
    """Write every customer's place, value and class to stdout; 2 for bad options."""
    asked = reports.checked(
        NAME,
        "shares",
        lambda: AbcQuery(
            period=Period(args.start, args.end),
            measure=args.by,
            shares=Shares.parse(args.shares),
            currency=reports.reporting_currency(args.currency),
        ),
    )
    if asked is None:
        return reports.BAD_INPUT

    async def rows(service: AnalyticsService, caller: Caller) -> AsyncIterator[reports.Row]:
        async for row in service.abc.every_row(caller, asked):
            yield (row.place, row.customer, row.counterparty_id, row.value, row.cumulative_share, row.abc_class)

    count = reports.write(settings, args, COLUMNS, rows)
    reports.tell(
        NAME,
        f"{count:,} customers, {asked.period.start} to {asked.period.end}, by {asked.measure},"
        f" shares {asked.shares}, {asked.currency}",
    )
    return 0


COMMAND = reports.Command(NAME, "the ABC classification of customers", add_arguments, run)
