"""``crm report effectiveness`` and ``crm report attribution``: contact effectiveness and multi-touch
attribution on stdout, one row per group (the no-touch row of attribution last), the columns of
``GET /api/v1/analytics/effectiveness.csv`` and ``/attribution.csv`` — see
``application.effectiveness`` and ``application.attribution`` for the rules."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from crm import reports
from crm_analytics.application.attribution import AttributionReport
from crm_analytics.application.effectiveness import EffectivenessReport, EffectivenessResult
from crm_analytics.bootstrap import AnalyticsService
from crm_analytics.domain.attribution import (
    DEFAULT_HALF_LIFE_DAYS,
    DEFAULT_LOOKBACK_DAYS,
    DEFAULT_WINDOW_DAYS,
    GROUPINGS,
    MODELS,
    AttributionQuery,
    EffectivenessQuery,
    checked_period,
)
from crm_analytics.entrypoints.attribution import ATTRIBUTION_COLUMNS, EFFECTIVENESS_COLUMNS, _attribution_rows
from crm_shared.identity import Caller
from crm_shared.settings import KernelSettings

PAGE = 1000
"""Groups of the effectiveness report read at a time."""


def _add_by(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--by",
        choices=GROUPINGS,
        default="kind",
        help="group by the interaction's kind, its responsible manager or the counterparty's source (default kind)",
    )


def add_effectiveness_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``crm report effectiveness``."""
    reports.add_period(parser)
    parser.add_argument(
        "--window-days",
        type=int,
        default=DEFAULT_WINDOW_DAYS,
        help=f"days after an interaction's day whose facts count, its day too (default {DEFAULT_WINDOW_DAYS})",
    )
    _add_by(parser)
    reports.add_as_of(parser)
    reports.add_output(parser)


def add_attribution_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``crm report attribution``."""
    reports.add_period(parser)
    parser.add_argument(
        "--model",
        choices=MODELS,
        default="linear",
        help="first | last: all to the earliest | latest touch; linear: equal parts (default); position: 40/20/40;"
        " time_decay: weights 2^(-age / half-life)",
    )
    parser.add_argument(
        "--lookback-days",
        type=int,
        default=DEFAULT_LOOKBACK_DAYS,
        help=f"days before a fact's date whose touches count, its day too (default {DEFAULT_LOOKBACK_DAYS})",
    )
    parser.add_argument(
        "--half-life-days",
        type=int,
        default=DEFAULT_HALF_LIFE_DAYS,
        help=f"time_decay: the age at which a touch weighs half (default {DEFAULT_HALF_LIFE_DAYS})",
    )
    _add_by(parser)
    reports.add_as_of(parser)
    reports.add_output(parser)


def run_effectiveness(settings: KernelSettings, args: argparse.Namespace) -> int:
    """Write every group's touches and what followed them to stdout; 2 for bad options."""
    name = "effectiveness"
    asked = reports.checked(
        name, "to", lambda: EffectivenessQuery(checked_period(args.start, args.end), args.window_days, args.by)
    )
    if asked is None:
        return reports.BAD_INPUT
    as_of: datetime = args.as_of or datetime.now(UTC)  # one moment for every page
    last: list[EffectivenessResult] = []

    async def rows(service: AnalyticsService, caller: Caller) -> AsyncIterator[reports.Row]:
        report = EffectivenessReport(service.analytics, tz=service.settings.time_zone)
        after: str | None = None
        while True:
            result = await report.report(caller, asked, as_of=as_of, after=after, limit=PAGE)
            for r in result.rows:
                yield (r.key, r.interactions, r.followed, r.conversion, r.revenue, r.profit)
            last[:] = [result]
            if result.last_key is None:
                return
            after = result.last_key

    count = reports.write(settings, args, EFFECTIVENESS_COLUMNS, rows)
    [result] = last
    total = result.total
    reports.tell(
        name,
        f"{count:,} groups by {asked.by}, {asked.period.start} to {asked.period.end}, window {asked.window_days}"
        f" days: {total.interactions:,} interactions, {total.followed:,} followed by a sale, revenue"
        f" {total.revenue:f}, as of {as_of.isoformat()}, {reports.reporting_currency(None)}"
        + reports.without_rate_text(result.without_rate),
    )
    return 0


def run_attribution(settings: KernelSettings, args: argparse.Namespace) -> int:
    """Write what every group was credited with (the no-touch row last) to stdout; 2 for bad options."""
    name = "attribution"
    asked = reports.checked(
        name,
        "to",
        lambda: AttributionQuery(
            checked_period(args.start, args.end), args.model, args.lookback_days, args.half_life_days, args.by
        ),
    )
    if asked is None:
        return reports.BAD_INPUT
    as_of: datetime = args.as_of or datetime.now(UTC)
    last = []

    async def rows(service: AnalyticsService, caller: Caller) -> AsyncIterator[reports.Row]:
        result = await AttributionReport(service.analytics, tz=service.settings.time_zone).groups(
            caller, asked, as_of=as_of
        )
        last.append(result)
        for r in _attribution_rows(result):  # the route's rows: the share is its rule
            yield (r.key, r.no_touch, r.revenue, r.profit, r.share, r.sales)

    count = reports.write(settings, args, ATTRIBUTION_COLUMNS, rows)
    [result] = last
    reports.tell(
        name,
        f"{count:,} rows by {asked.by}, {asked.period.start} to {asked.period.end}, model {asked.model}, lookback"
        f" {asked.lookback_days} days: revenue {result.revenue:f} of {result.sales:,} facts, {result.untouched:,}"
        f" with no touch ({result.unlinked:,} unlinked), as of {as_of.isoformat()},"
        f" {reports.reporting_currency(None)}" + reports.without_rate_text(result.without_rate),
    )
    return 0


EFFECTIVENESS = reports.Command(
    "effectiveness",
    "contact effectiveness: interactions and the sales after them",
    add_effectiveness_arguments,
    run_effectiveness,
)
ATTRIBUTION = reports.Command(
    "attribution", "multi-touch attribution of sales to interactions", add_attribution_arguments, run_attribution
)
