"""What every ``crm report X`` shares: its options, the analytics service on the data directory ``crm up``
uses (chDB locks it for one process: while ``crm up`` runs, use the HTTP API), the command-line caller,
and the writing of its rows on stdout as CSV or JSON, with errors and a summary on stderr.

A report is a :class:`Command`: its options (``add_arguments``) and what it does with them (``run``,
returning the exit code). ``run`` checks the options (:func:`checked`: a :class:`DomainError` becomes
``crm report X: --field: message`` on stderr and exit code 2), then :func:`write` streams the rows:

- CSV: a header row, then one row per line; decimals as their digits (``format(d, "f")``, never a
  float), None as an empty cell, booleans as ``true``/``false``;
- JSON: an array written row by row (one object per line), decimals as strings, None as null.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import getpass
import json
import sys
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal, TextIO, TypeVar

from crm_analytics import bootstrap as analytics
from crm_analytics.application.abc import WithoutRate
from crm_analytics.domain.trade_fact import EARLIEST, LATEST
from crm_analytics.settings import AnalyticsSettings
from crm_shared.errors import DomainError
from crm_shared.identity import Caller, caller_of
from crm_shared.settings import KernelSettings

Format = Literal["csv", "json"]
Row = Sequence[object]
"""One row's values, in the order of the report's columns."""
Asked = TypeVar("Asked")

BAD_INPUT = 2
"""The exit code of a report asked with bad options."""


@dataclass(frozen=True, slots=True)
class Command:
    """One ``crm report <name>``."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[KernelSettings, argparse.Namespace], int]


# -- options ------------------------------------------------------------------------------------------


def moment(text: str) -> datetime:
    """An ``--as-of`` moment: ISO 8601 (UTC when it names no offset), in the facts' years, as UTC."""
    try:
        found = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 moment: {text!r}") from None
    found = found.replace(tzinfo=UTC) if found.tzinfo is None else found.astimezone(UTC)
    if not EARLIEST <= found.date() <= LATEST:
        raise argparse.ArgumentTypeError(f"must be between {EARLIEST} and {LATEST}")
    return found


def day(text: str) -> date:
    """A day of ``--from``/``--to``: YYYY-MM-DD, in the facts' years."""
    try:
        found = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a day YYYY-MM-DD: {text!r}") from None
    if not EARLIEST <= found <= LATEST:
        raise argparse.ArgumentTypeError(f"must be between {EARLIEST} and {LATEST}")
    return found


def add_to(parser: argparse.ArgumentParser, help: str = "last day (included)") -> None:
    """``--to``: a required day, as ``args.end``."""
    parser.add_argument("--to", dest="end", type=day, required=True, help=help)


def add_period(parser: argparse.ArgumentParser) -> None:
    """``--from`` and ``--to`` (required days, as ``args.start`` and ``args.end``)."""
    parser.add_argument("--from", dest="start", type=day, required=True, help="first day, YYYY-MM-DD")
    add_to(parser)


def add_as_of(parser: argparse.ArgumentParser) -> None:
    """``--as-of``: the moment whose knowledge is reported (``args.as_of``, None for now)."""
    parser.add_argument(
        "--as-of",
        type=moment,
        default=None,
        help="what the CRM knew then (ISO 8601, UTC without offset; default now)",
    )


def add_currency(parser: argparse.ArgumentParser) -> None:
    """``--currency``: only the reporting currency is accepted (see :func:`reporting_currency`)."""
    parser.add_argument(
        "--currency", default=None, help="the reporting currency, the only one (CRM_ANALYTICS_REPORTING_CURRENCY)"
    )


def add_output(parser: argparse.ArgumentParser) -> None:
    """``--format`` and ``--data-dir``, which every report has."""
    parser.add_argument("--format", choices=["csv", "json"], default="csv")
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="where data is kept (default ./var or CRM_DATA_DIR)"
    )


def reporting_currency(asked: str | None) -> str:
    """The reporting currency, or :class:`DomainError` naming ``currency`` when ``asked`` is another:
    values are in the reporting currency (facts in others converted at their date's rate)."""
    reporting = AnalyticsSettings().reporting_currency
    if asked is not None and asked != reporting:
        raise DomainError(f"must be the reporting currency {reporting}", field="currency")
    return reporting


def checked(name: str, default_field: str, asked: Callable[[], Asked]) -> Asked | None:
    """``asked()``, or None after telling on stderr which option its :class:`DomainError` is about."""
    try:
        return asked()
    except DomainError as exc:
        option = (exc.field or default_field).replace("_", "-")
        print(f"crm report {name}: --{option}: {exc}", file=sys.stderr)
        return None


# -- the service, the caller, the rows ------------------------------------------------------------------


def command_line_caller() -> Caller:
    """Who runs a report from the command line: an administrator, so every row is in scope."""
    return caller_of(f"cli:{getpass.getuser()}", ["administrator"], name="command line")


@asynccontextmanager
async def service_on(settings: KernelSettings) -> AsyncIterator[analytics.AnalyticsService]:
    """The analytics service on ``settings.data_dir``, closed on the way out."""
    service = await analytics.build(settings)
    try:
        yield service
    finally:
        await service.close()


def _cell(value: object) -> object:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


def _item(value: object) -> object:
    return format(value, "f") if isinstance(value, Decimal) else value


async def write_rows(columns: Sequence[str], rows: AsyncIterable[Row], how: Format, out: TextIO) -> int:
    """``rows`` on ``out`` as CSV or as a JSON array, one row at a time; how many there were."""
    count = 0
    if how == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        async for row in rows:
            writer.writerow([_cell(v) for v in row])
            count += 1
    else:
        out.write("[")
        async for row in rows:
            item = json.dumps({k: _item(v) for k, v in zip(columns, row, strict=True)}, ensure_ascii=False)
            out.write(("," if count else "") + "\n  " + item)
            count += 1
        out.write("\n]\n" if count else "]\n")
    out.flush()
    return count


Rows = Callable[[analytics.AnalyticsService, Caller], AsyncIterable[Row]]
"""A report's rows, read from the service as the caller."""


def write(settings: KernelSettings, args: argparse.Namespace, columns: Sequence[str], rows: Rows) -> int:
    """Build the service on the data directory, write the ``rows`` (``args.format``) to stdout, close the
    service; how many rows were written."""

    async def run() -> int:
        async with service_on(settings) as service:
            return await write_rows(columns, rows(service, command_line_caller()), args.format, sys.stdout)

    return asyncio.run(run())


async def each(rows: Iterable[Row]) -> AsyncIterator[Row]:
    """Rows already read, as the asynchronous iterable :func:`write_rows` takes."""
    for row in rows:
        yield row


def tell(name: str, summary: str) -> None:
    """A report's summary line on stderr."""
    print(f"crm report {name}: {summary}", file=sys.stderr)


def without_rate_text(found: Iterable[WithoutRate]) -> str:
    """``; left out for lack of a rate: 3 facts in USD from 2026-01-05`` (empty when none)."""
    parts = [f"{w.facts:,} facts in {w.currency} from {w.earliest}" for w in found]
    return "; left out for lack of a rate: " + ", ".join(parts) if parts else ""
