"""``crm report sources``: the report "Analysis of interactions and information sources" on stdout, one
line per source, counterparty (and detail), as in ``GET /api/v1/analytics/sources.csv``."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from crm import reports
from crm_analytics.application.sources import CSV_COLUMNS, MEASURES, SourcesQuery, SourcesReport, lines_of, text_of
from crm_analytics.bootstrap import AnalyticsService
from crm_shared.identity import Caller
from crm_shared.settings import KernelSettings

NAME = "sources"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``crm report sources``."""
    reports.add_period(parser)
    parser.add_argument("--by", choices=["item", "division"], default=None, help="a third level under counterparties")
    reports.add_as_of(parser)
    parser.add_argument("--source", default=None, help="only this source's rows (its code; '' for no source)")
    parser.add_argument("--sort", choices=MEASURES, default="revenue", help="the order of rows, greatest first")
    reports.add_output(parser)


def run(settings: KernelSettings, args: argparse.Namespace) -> int:
    """Write every source, counterparty (and detail) line to stdout; 2 for bad options."""
    asked = reports.checked(
        NAME,
        "to",
        lambda: SourcesQuery(
            args.start,
            args.end,
            by=args.by,
            source=args.source,
            as_of=args.as_of or datetime.now(UTC),
            sort=args.sort,
        ),
    )
    if asked is None:
        return reports.BAD_INPUT

    async def rows(service: AnalyticsService, caller: Caller) -> AsyncIterator[reports.Row]:
        report = SourcesReport(service.analytics, tz=service.settings.time_zone)
        async for row, child in report.every_row(caller, asked):
            for line in lines_of(row, child):
                yield tuple(cell or None for cell in text_of(line))  # as text; an empty cell is null in JSON

    count = reports.write(settings, args, CSV_COLUMNS, rows)
    reports.tell(NAME, f"{count:,} lines, {asked.start} to {asked.end}, as of {asked.as_of.isoformat()}")
    return 0


COMMAND = reports.Command(NAME, "analysis of interactions and information sources", add_arguments, run)
