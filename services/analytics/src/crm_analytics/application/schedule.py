"""Scheduled ABC runs: the service classifies the last completed period by itself, once per period.

On start and then every ``schedule_check_seconds`` the scheduler works out the period that is due —
with ``monthly`` the previous calendar month, with ``quarterly`` the previous calendar quarter,
once the current period's ``schedule_day``-th day has begun in the organisation's time zone
(``CRM_ANALYTICS_TIME_ZONE``: just after midnight on the 1st in Sofia it is still the last day of the
month in UTC, and the month is already complete) — and, unless its run is confirmed
already, creates and confirms it. The run's id is derived from the schedule, the period and the
scheme (:func:`~crm_analytics.application.runs.scheduled_run_id`), and creating or confirming a run
that exists or is confirmed records nothing, so a period gets exactly one run however many times
the service starts or checks in it; two processes checking at once meet on the stream's expected
version (one append wins, the other finds the run). Only the last completed period is run: periods
missed while the service was down are not made up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from crm_analytics.application.runs import AbcRuns, scheduled_run_id
from crm_analytics.domain import abc_run as run
from crm_analytics.domain import days
from crm_analytics.domain.abc import Measure, Period, Shares
from crm_shared.eventstore import WrongExpectedVersion
from crm_shared.identity import Caller, caller_of

log = logging.getLogger(__name__)

SCHEDULER: Caller = caller_of("system", ["administrator"], name="ABC schedule")
"""Who the scheduled runs are created and confirmed by."""


def due_period(today: date, schedule: str, day: int = 1) -> Period | None:
    """The period whose run is due on ``today``: the previous month or quarter once the current one's
    ``day``-th day has come (None before that, or when the schedule is ``off``)."""
    if schedule == "off":
        return None
    if schedule == "monthly":
        start = today.replace(day=1)
    elif schedule == "quarterly":
        start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    else:
        raise ValueError(f"unknown schedule {schedule!r}")
    if today < start + timedelta(days=day - 1):
        return None
    end = start - timedelta(days=1)
    first = end.replace(day=1) if schedule == "monthly" else date(end.year, end.month - 2, 1)
    return Period(first, end)


class Scheduler:
    """Creates and confirms the due period's run (see the module docstring)."""

    def __init__(
        self,
        runs: AbcRuns,
        *,
        schedule: str,
        measure: Measure,
        shares: Shares,
        currency: str,
        day: int = 1,
        every_seconds: float = 3600.0,
        first_after_seconds: float = 300.0,
        time_zone: str = "UTC",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._runs = runs
        self.schedule = schedule
        self._measure = measure
        self._shares = shares
        self._currency = currency
        self._day = day
        self._every = every_seconds
        self._first_after = first_after_seconds
        self._clock = clock
        self._zone = days.check_time_zone(time_zone)
        self._task: asyncio.Task[None] | None = None

    async def run_due(self) -> str | None:
        """Create and confirm the due period's run unless it is confirmed; its id (None: none due)."""
        period = due_period(days.today(self._zone, self._clock()), self.schedule, self._day)
        if period is None:
            return None
        scheme = run.scheme_of(self._measure, self._shares, self._currency)
        run_id = scheduled_run_id(self.schedule, period, scheme)
        try:
            await self._runs.create(
                SCHEDULER,
                period,
                self._measure,
                self._shares,
                self._currency,
                run_id=run_id,
                schedule=self.schedule,
            )
            await self._runs.confirm(SCHEDULER, run_id)
        except WrongExpectedVersion:
            log.info("scheduled ABC run %s: another process made it at the same moment", run_id)
        return run_id

    def start(self) -> None:
        """Check ``first_after_seconds`` after the start (not at once: a start stays quick and a short
        run of the CRM, such as a test's or a CLI's, never opens the analytics store for it), then on
        the timer, in the background, until :meth:`stop`."""
        if self.schedule != "off" and self._task is None:
            self._task = asyncio.create_task(self._loop(), name="analytics-abc-schedule")

    async def _loop(self) -> None:
        await asyncio.sleep(self._first_after)
        while True:
            try:
                await self.run_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scheduled ABC run failed; tried again in %s s", self._every)
            await asyncio.sleep(self._every)

    async def stop(self) -> None:
        """Stop the timer."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
