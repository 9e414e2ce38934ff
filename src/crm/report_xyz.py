"""``crm report xyz``: relationship stages and the XYZ classification of customers on stdout, on the
data directory ``crm up`` uses (chDB locks it for one process: while ``crm up`` runs, use the API)."""

from __future__ import annotations

import argparse
import asyncio
import csv
import getpass
import json
import re
import sys
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from crm_analytics import bootstrap as analytics
from crm_analytics.application.xyz import XyzReport
from crm_analytics.domain.xyz import (
    BAND_PATTERN,
    DEFAULT_REGULAR_PERIODS,
    PERIODICITIES,
    XYZ_MEASURES,
    XyzParameters,
)
from crm_analytics.settings import AnalyticsSettings
from crm_shared.errors import DomainError
from crm_shared.identity import caller_of
from crm_shared.settings import KernelSettings

COLUMNS = (
    "customer",
    "counterparty_id",
    "stage",
    "class",
    "coefficient",
    "mean",
    "total",
    "values",
    "active_periods",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``crm report xyz``."""
    parser.add_argument("--to", dest="end", type=date.fromisoformat, required=True, help="last day counted, YYYY-MM-DD")
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
    parser.add_argument(
        "--currency",
        default=None,
        help="the reporting currency, the only one (CRM_ANALYTICS_REPORTING_CURRENCY)",
    )
    parser.add_argument("--format", choices=["csv", "json"], default="csv")
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="where data is kept (default ./var or CRM_DATA_DIR)"
    )


def _band(text: str, name: str) -> Decimal:
    if not re.fullmatch(BAND_PATTERN, text):
        raise DomainError("must be a percentage with up to 2 decimals, e.g. 10 or 12.5", field=name)
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise DomainError("must be a percentage", field=name) from None


def report_xyz(settings: KernelSettings, args: argparse.Namespace) -> int:
    """Write every customer's stage and class (CSV or JSON) to stdout; 2 for bad arguments."""
    try:
        asked = XyzParameters(
            to=args.end,
            periodicity=args.periodicity,
            periods=args.periods,
            measure=args.by,
            x=_band(args.x, "x"),
            y=_band(args.y, "y"),
            regular_periods=args.regular_periods,
            currency=args.currency or AnalyticsSettings().reporting_currency,
        )
    except DomainError as exc:
        print(f"crm report xyz: --{(exc.field or 'to').replace('_', '-')}: {exc}", file=sys.stderr)
        return 2
    reporting = AnalyticsSettings().reporting_currency
    if asked.currency != reporting:
        # Values are in the reporting currency (facts in others converted at their date's rate).
        print(f"crm report xyz: --currency: must be the reporting currency {reporting}", file=sys.stderr)
        return 2

    async def run() -> int:
        service = await analytics.build(settings)
        caller = caller_of(f"cli:{getpass.getuser()}", ["administrator"], name="command line")
        report = XyzReport(service.analytics)
        count = 0
        try:
            writer = csv.writer(sys.stdout, lineterminator="\n") if args.format == "csv" else None
            if writer is not None:
                writer.writerow(COLUMNS)
            else:
                sys.stdout.write("[")
            async for row in report.every_row(caller, asked):
                values = (
                    row.customer,
                    row.counterparty_id,
                    row.stage,
                    row.xyz_class,
                    None if row.coefficient is None else format(row.coefficient, "f"),
                    None if row.mean is None else format(row.mean, "f"),
                    format(row.total, "f"),
                    row.values,
                    row.active_periods,
                )
                if writer is not None:
                    writer.writerow(["" if v is None else v for v in values])
                else:
                    item = json.dumps(dict(zip(COLUMNS, values, strict=True)), ensure_ascii=False)
                    sys.stdout.write(("," if count else "") + "\n  " + item)
                count += 1
            if writer is None:
                sys.stdout.write("\n]\n" if count else "]\n")
            sys.stdout.flush()
        finally:
            await service.close()
        return count

    count = asyncio.run(run())
    print(
        f"crm report xyz: {count:,} customers, {asked.periods} {asked.periodicity} periods from {asked.first_day}"
        f" to {asked.to}, by {asked.measure}, X ≤ {asked.x} %, Y ≤ {asked.y} %, regular from"
        f" {asked.regular_periods} active periods, {asked.currency}",
        file=sys.stderr,
    )
    return 0
