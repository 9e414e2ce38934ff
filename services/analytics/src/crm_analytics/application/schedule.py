"""Scheduled runs: the service records the run of the last completed period by itself, once per
period — one scheduler, several jobs (:class:`Job`): the ABC run (:func:`abc_job`) and the stage run
(:func:`stage_job`), each with its own schedule and parameters.

On start and then every ``every_seconds`` the scheduler works out, for each job, the period that is
due — with ``monthly`` the previous calendar month, with ``quarterly`` the previous calendar quarter,
once the current period's ``day``-th day has begun in the organisation's time zone
(``CRM_ANALYTICS_TIME_ZONE``: just after midnight on the 1st in Sofia it is still the last day of the
month in UTC, and the month is already complete) — and records its run unless it is recorded
already. A run's id is derived from the period and the parameters (the ABC run's from the schedule,
the period and the scheme, :func:`~crm_analytics.application.runs.scheduled_run_id`; the stage run's
from its parameters, :func:`~crm_analytics.domain.stage_run.run_id_of`), and recording a run that
exists records nothing, so a period gets exactly one run of each job however many times the service
starts or checks in it; two processes checking at once meet on the stream's expected version (one
append wins, the other finds the run). Only the last completed period is run: periods missed while
the service was down are not made up. A job that fails is logged and tried again at the next check;
it does not keep the other jobs from running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from crm_analytics.application.runs import AbcRuns, scheduled_run_id
from crm_analytics.application.stage_runs import StageRuns
from crm_analytics.domain import abc_run, days, stage_run
from crm_analytics.domain.abc import Measure, Period, Shares
from crm_analytics.domain.xyz import XyzParameters
from crm_shared.eventstore import WrongExpectedVersion
from crm_shared.identity import Caller, caller_of

log = logging.getLogger(__name__)

Schedule = Literal["off", "monthly", "quarterly"]
SCHEDULER: Caller = caller_of("system", ["administrator"], name="analytics schedule")
"""Who the scheduled runs are recorded by."""


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


@dataclass(frozen=True, slots=True)
class Job:
    """What the scheduler runs for a due period: a kind of run and its schedule."""

    name: str
    """What it records, for the log (``ABC run``, ``stage run``)."""
    schedule: Schedule
    run_id: Callable[[Period], str]
    """The one id of the period's run."""
    record: Callable[[Period], Awaitable[object]]
    """Record the period's run (nothing when it is recorded already)."""
    day: int = 1
    """From which day of the current month or quarter the previous one is due."""


def abc_job(runs: AbcRuns, *, schedule: Schedule, measure: Measure, shares: Shares, currency: str, day: int = 1) -> Job:
    """The ABC run of the due period, created and confirmed with these parameters."""
    scheme = abc_run.scheme_of(measure, shares, currency)

    def run_id(period: Period) -> str:
        return scheduled_run_id(schedule, period, scheme)

    async def record(period: Period) -> None:
        made = run_id(period)
        await runs.create(SCHEDULER, period, measure, shares, currency, run_id=made, schedule=schedule)
        await runs.confirm(SCHEDULER, made)

    return Job("ABC run", schedule, run_id, record, day)


def stage_job(runs: StageRuns, *, schedule: Schedule, rule: Callable[[date], XyzParameters], day: int = 1) -> Job:
    """The stage run of ``rule`` (its parameters counting up to a day) counting up to the due period's
    last day."""

    def asked(period: Period) -> XyzParameters:
        return rule(period.end)

    def run_id(period: Period) -> str:
        return stage_run.run_id_of(asked(period))

    async def record(period: Period) -> None:
        await runs.record(SCHEDULER, asked(period))

    return Job("stage run", schedule, run_id, record, day)


class Scheduler:
    """Records each job's due run (see the module docstring)."""

    def __init__(
        self,
        jobs: Sequence[Job],
        *,
        every_seconds: float = 3600.0,
        first_after_seconds: float = 300.0,
        time_zone: str = "UTC",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.jobs = tuple(jobs)
        self._every = every_seconds
        self._first_after = first_after_seconds
        self._clock = clock
        self._zone = days.check_time_zone(time_zone)
        self._task: asyncio.Task[None] | None = None

    async def run_due(self) -> list[str | None]:
        """Record each job's due run unless it is recorded; per job, its run's id (None: none due).
        A job that fails is logged and answers None; the others still run."""
        today = days.today(self._zone, self._clock())
        found: list[str | None] = []
        for job in self.jobs:
            try:
                found.append(await self._run(job, today))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scheduled %s failed; tried again in %s s", job.name, self._every)
                found.append(None)
        return found

    @staticmethod
    async def _run(job: Job, today: date) -> str | None:
        period = due_period(today, job.schedule, job.day)
        if period is None:
            return None
        run_id = job.run_id(period)
        try:
            await job.record(period)
        except WrongExpectedVersion:
            log.info("scheduled %s %s: another process made it at the same moment", job.name, run_id)
        return run_id

    def start(self) -> None:
        """Check ``first_after_seconds`` after the start (not at once: a start stays quick and a short
        run of the CRM, such as a test's or a CLI's, never opens the analytics store for it), then on
        the timer, in the background, until :meth:`stop`; not at all when every job is ``off``."""
        if any(job.schedule != "off" for job in self.jobs) and self._task is None:
            self._task = asyncio.create_task(self._loop(), name="analytics-schedule")

    async def _loop(self) -> None:
        await asyncio.sleep(self._first_after)
        while True:
            await self.run_due()
            await asyncio.sleep(self._every)

    async def stop(self) -> None:
        """Stop the timer."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
