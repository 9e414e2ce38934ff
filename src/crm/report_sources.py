"""``crm report sources``: the report "Analysis of interactions and information sources" on stdout, on
the data directory ``crm up`` uses (chDB locks it for one process: while ``crm up`` runs, use the API)."""

from __future__ import annotations

import argparse
import asyncio
import csv
import getpass
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from crm_analytics import bootstrap as analytics
from crm_analytics.application.sources import CSV_COLUMNS, MEASURES, SourcesQuery, SourcesReport, lines_of, text_of
from crm_shared.errors import DomainError
from crm_shared.identity import caller_of
from crm_shared.settings import KernelSettings


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``crm report sources``."""
    parser.add_argument("--from", dest="start", type=date.fromisoformat, required=True, help="first day, YYYY-MM-DD")
    parser.add_argument("--to", dest="end", type=date.fromisoformat, required=True, help="last day (included)")
    parser.add_argument("--by", choices=["item", "division"], default=None, help="a third level under counterparties")
    parser.add_argument("--as-of", type=_moment, default=None, help="what the CRM knew then (ISO 8601; default now)")
    parser.add_argument("--source", default=None, help="only this source's rows (its code; '' for no source)")
    parser.add_argument("--sort", choices=MEASURES, default="revenue", help="the order of rows, greatest first")
    parser.add_argument("--format", choices=["csv", "json"], default="csv")
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="where data is kept (default ./var or CRM_DATA_DIR)"
    )


def report_sources(settings: KernelSettings, args: argparse.Namespace) -> int:
    """Write every source, counterparty (and detail) line (CSV or JSON) to stdout; 2 for bad arguments."""
    try:
        asked = SourcesQuery(
            args.start,
            args.end,
            by=args.by,
            source=args.source,
            as_of=args.as_of or datetime.now(UTC),
            sort=args.sort,
        )
    except DomainError as exc:
        print(f"crm report sources: --{(exc.field or 'to').replace('_', '-')}: {exc}", file=sys.stderr)
        return 2

    async def run() -> int:
        service = await analytics.build(settings)
        caller = caller_of(f"cli:{getpass.getuser()}", ["administrator"], name="command line")
        report = SourcesReport(service.analytics, tz=service.settings.time_zone)
        count = 0
        try:
            writer = csv.writer(sys.stdout, lineterminator="\n") if args.format == "csv" else None
            if writer is not None:
                writer.writerow(CSV_COLUMNS)
            else:
                sys.stdout.write("[")
            async for row, child in report.every_row(caller, asked):
                for line in lines_of(row, child):
                    cells = text_of(line)
                    if writer is not None:
                        writer.writerow(cells)
                    else:
                        item = {k: v or None for k, v in zip(CSV_COLUMNS, cells, strict=True)}
                        sys.stdout.write(("," if count else "") + "\n  " + json.dumps(item, ensure_ascii=False))
                    count += 1
            if writer is None:
                sys.stdout.write("\n]\n" if count else "]\n")
            sys.stdout.flush()
        finally:
            await service.close()
        return count

    count = asyncio.run(run())
    print(
        f"crm report sources: {count:,} lines, {asked.start} to {asked.end}, as of {asked.as_of.isoformat()}",
        file=sys.stderr,
    )
    return 0
