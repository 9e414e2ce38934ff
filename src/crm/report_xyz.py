"""``crm report xyz``: relationship stages and the XYZ classification of customers on stdout, one row
per customer."""

from __future__ import annotations

import argparse
import re
from collections.abc import AsyncIterator
from decimal import Decimal, InvalidOperation

from crm import reports
from crm_analytics.application.xyz import COLUMNS, XyzReport, cells
from crm_analytics.bootstrap import AnalyticsService
from crm_analytics.domain.xyz import (
    BAND_PATTERN,
    DEFAULT_REGULAR_PERIODS,
    PERIODICITIES,
    XYZ_MEASURES,
    XyzParameters,
)
from crm_shared.errors import DomainError
from crm_shared.identity import Caller
from crm_shared.settings import KernelSettings

NAME = "xyz"


def add_rule_arguments(parser: argparse.ArgumentParser) -> None:
    """The rule's options (``crm report xyz`` and ``crm report xyz-backtest``): see :func:`rule_of`."""
    reports.add_to(parser, help="last day counted, YYYY-MM-DD")
    parser.add_argument("--periodicity", choices=PERIODICITIES, default="month")
    parser.add_argument("--periods", type=int, default=6, help="periods in the window (default 6)")
    parser.add_argument("--by", choices=XYZ_MEASURES, default="revenue")
    parser.add_argument("--x", default="10", help="upper bound of X, coefficient of variation in %% (default 10)")
    parser.add_argument("--y", default="25", help="upper bound of Y in %% (default 25)")
    parser.add_argument(
        "--regular-periods",
        type=int,
        default=DEFAULT_REGULAR_PERIODS,
        help=f"active periods from which a customer is regular (default {DEFAULT_REGULAR_PERIODS})",
    )
    reports.add_currency(parser)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``crm report xyz``."""
    add_rule_arguments(parser)
    reports.add_output(parser)


def _band(text: str, name: str) -> Decimal:
    if not re.fullmatch(BAND_PATTERN, text):
        raise DomainError("must be a percentage with up to 2 decimals, e.g. 10 or 12.5", field=name)
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise DomainError("must be a percentage", field=name) from None


def rule_of(args: argparse.Namespace) -> XyzParameters:
    """The rule the options of :func:`add_rule_arguments` ask for (:class:`DomainError` naming a wrong one)."""
    return XyzParameters(
        to=args.end,
        periodicity=args.periodicity,
        periods=args.periods,
        measure=args.by,
        x=_band(args.x, "x"),
        y=_band(args.y, "y"),
        regular_periods=args.regular_periods,
        currency=reports.reporting_currency(args.currency),
    )


def run(settings: KernelSettings, args: argparse.Namespace) -> int:
    """Write every customer's stage and class to stdout; 2 for bad options."""
    asked = reports.checked(NAME, "to", lambda: rule_of(args))
    if asked is None:
        return reports.BAD_INPUT

    async def rows(service: AnalyticsService, caller: Caller) -> AsyncIterator[reports.Row]:
        async for row in XyzReport(service.analytics).every_row(caller, asked):
            yield cells(row)

    count = reports.write(settings, args, COLUMNS, rows)
    reports.tell(
        NAME,
        f"{count:,} customers, {asked.periods} {asked.periodicity} periods from {asked.first_day}"
        f" to {asked.to}, by {asked.measure}, X ≤ {asked.x} %, Y ≤ {asked.y} %, regular from"
        f" {asked.regular_periods} active periods, {asked.currency}",
    )
    return 0


COMMAND = reports.Command(NAME, "relationship stages and XYZ classes of customers", add_arguments, run)
