"""Long-running jobs (imports and exports): their state, progress and results, and running them.

A job runs as an asyncio task in the API process (one at a time; the others wait as ``queued``). Its
state lives in the read store's ``jobs`` collection, owned by no projection, so any request can poll
it; its files (the uploaded input, the report of rejected rows, the export) live in a directory of
its own. While a job is queued or running, this process stamps its ``heartbeat`` every few seconds;
a job whose heartbeat stopped (the process died) is marked failed when the service starts and when it
is read, and can simply be run again: imports are idempotent. Only the owner and administrators see
a job.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import logging
import shutil
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from crm_shared.errors import DomainError, NotFound
from crm_shared.identity import Caller
from crm_shared.readstore import Delete, Index, Put, Query, ReadStore
from crm_shared.readstore.cursor import decode_cursor, encode_cursor

log = logging.getLogger(__name__)

COLLECTION = "jobs"
JobKind = Literal["import", "export"]
JobState = Literal["queued", "running", "succeeded", "failed", "cancelled"]
FINISHED: tuple[JobState, ...] = ("succeeded", "failed", "cancelled")
SAMPLE = 100
"""Rejected rows kept in the job itself for a first look; the report file has all of them."""
HEARTBEAT = timedelta(seconds=5)
STALE_AFTER = timedelta(seconds=60)
"""A queued or running job whose heartbeat is older than this lost its process."""
SAVE_EVERY = 0.5
"""Seconds between progress writes while a job runs."""
INTERRUPTED = "interrupted: the service stopped while the job ran; run it again (importing is idempotent)"


class JobConflict(DomainError):
    """The job cannot do that in its state (HTTP 409)."""

    status = 409


class JobCancelled(Exception):
    """Raised inside a job's work when its owner cancelled it."""


@dataclass
class Progress:
    """Rows done out of ``total``, and what became of them."""

    total: int = 0
    done: int = 0
    accepted: int = 0
    rejected: int = 0
    unchanged: int = 0


@dataclass(frozen=True, slots=True)
class Rejection:
    """A row that was not imported: its line in the file, the column at fault and why."""

    line: int
    column: str
    reason: str
    name: str = ""


@dataclass
class Job:
    """A job as stored and shown."""

    id: str
    kind: JobKind
    owner: str
    created_at: datetime
    state: JobState = "queued"
    started_at: datetime | None = None
    finished_at: datetime | None = None
    heartbeat: datetime | None = None
    progress: Progress = field(default_factory=Progress)
    params: dict[str, Any] = field(default_factory=dict)
    """What was asked: the file name of an import, the format and filters of an export."""
    rejected: list[Rejection] = field(default_factory=list)
    """The first :data:`SAMPLE` rejected rows."""
    report: bool = False
    """Whether a report of rejected rows exists."""
    file: str | None = None
    """The file name of the result (an export)."""
    error: str | None = None
    version: int = 0

    @property
    def finished(self) -> bool:
        """Whether the job ended (well or not)."""
        return self.state in FINISHED

    def to_document(self) -> dict[str, Any]:
        """The read-store document."""
        doc = asdict(self)
        doc.pop("version")
        for name in ("created_at", "started_at", "finished_at", "heartbeat"):
            value = getattr(self, name)
            doc[name] = None if value is None else value.isoformat()
        order = int(self.created_at.timestamp() * 1000)
        return {**doc, "_id": self.id, "_version": self.version, "order": 10**14 - order}

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Job:
        """A job from its read-store document."""

        def when(name: str) -> datetime | None:
            value = doc.get(name)
            return None if value is None else datetime.fromisoformat(str(value))

        created = when("created_at")
        assert created is not None
        return cls(
            id=str(doc["_id"]),
            kind=doc["kind"],
            owner=str(doc["owner"]),
            created_at=created,
            state=doc["state"],
            started_at=when("started_at"),
            finished_at=when("finished_at"),
            heartbeat=when("heartbeat"),
            progress=Progress(**doc.get("progress", {})),
            params=dict(doc.get("params") or {}),
            rejected=[Rejection(**r) for r in doc.get("rejected") or ()],
            report=bool(doc.get("report")),
            file=doc.get("file"),
            error=doc.get("error"),
            version=int(doc["_version"]),
        )


def may_see(job: Job, caller: Caller) -> bool:
    """Only the owner and administrators see a job."""
    return job.owner == caller.user_id or "administrator" in caller.roles


class Control:
    """What a job's work uses: its progress, its report of rejected rows, its directory, cancellation."""

    def __init__(self, job: Job, jobs: Jobs) -> None:
        self.job = job
        self._jobs = jobs
        self._cancel = False
        self._saved_at = 0.0
        self._report: Any = None
        self._report_file: Any = None

    @property
    def directory(self) -> Path:
        """Where the job keeps its files."""
        return self._jobs.directory_of(self.job.id)

    @property
    def progress(self) -> Progress:
        """The job's counters (change them, then call :meth:`tick`)."""
        return self.job.progress

    def request_cancel(self) -> None:
        """Ask the work to stop at its next :meth:`tick`."""
        self._cancel = True

    def reject(self, rejection: Rejection) -> None:
        """Count a rejected row and add it to the report."""
        self.job.progress.rejected += 1
        if len(self.job.rejected) < SAMPLE:
            self.job.rejected.append(rejection)
        if self._report is None:
            self._report_file = (self.directory / "report.csv").open("w", encoding="utf-8-sig", newline="")
            self._report = csv.writer(self._report_file)
            self._report.writerow(["line", "column", "reason", "name"])
            self.job.report = True
        self._report.writerow([rejection.line, rejection.column, rejection.reason, rejection.name])

    def close_report(self) -> None:
        """Flush the report file."""
        if self._report_file is not None:
            self._report_file.close()
            self._report_file = self._report = None

    async def tick(self, *, force: bool = False) -> None:
        """Save the progress now and then (always with ``force``); raise :class:`JobCancelled` if asked to stop."""
        now = asyncio.get_running_loop().time()
        if force or now - self._saved_at >= SAVE_EVERY:
            self._saved_at = now
            await self._jobs.save(self.job)
        if self._cancel:
            raise JobCancelled()


Work = Callable[[Control], Awaitable[None]]
"""A job's work: it reads its parameters from ``control.job`` and reports through ``control``."""


class Jobs:
    """Stores jobs in the read store and runs them one at a time in this process."""

    def __init__(
        self, views: ReadStore, directory: Path, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._views = views
        self._directory = directory
        self._clock = clock
        self._active: dict[str, tuple[Control, asyncio.Task[None] | None]] = {}
        self._one_at_a_time = asyncio.Semaphore(1)
        self._heartbeat: asyncio.Task[None] | None = None

    def directory_of(self, job_id: str) -> Path:
        """The directory of a job's files."""
        return self._directory / job_id

    async def prepare(self) -> int:
        """Create the collection's indexes and fail the jobs a stopped process left behind; returns how many."""
        await self._views.ensure_indexes(COLLECTION, (Index(("owner", "order")), Index(("state", "order"))))
        failed = 0
        for state in ("queued", "running"):
            after: tuple[Any, str] | None = None
            while True:
                page = await self._views.find(COLLECTION, Query({"state": state}, None, "order", after, 500))
                for doc in page.items:
                    failed += await self._fail_if_stale(Job.from_document(doc)) is not None
                if page.next_after is None:
                    break
                after = page.next_after
        return failed

    async def _fail_if_stale(self, job: Job) -> Job | None:
        if job.finished or job.id in self._active:
            return None
        beat = job.heartbeat or job.created_at
        if self._clock() - beat < STALE_AFTER:
            return None
        failed = replace(job, state="failed", finished_at=self._clock(), error=INTERRUPTED)
        await self.save(failed)
        return failed

    async def save(self, job: Job) -> None:
        """Store the job's current state."""
        job.version += 1
        await self._views.apply([Put(COLLECTION, job.to_document())])

    async def create(self, kind: JobKind, caller: Caller, params: Mapping[str, Any]) -> Job:
        """A new, queued job of ``caller`` with its (empty) directory."""
        job = Job(id=uuid.uuid4().hex, kind=kind, owner=caller.user_id, created_at=self._clock(), params=dict(params))
        job.heartbeat = job.created_at
        self.directory_of(job.id).mkdir(parents=True, exist_ok=True)
        await self.save(job)
        return job

    def start(self, job: Job, work: Work) -> None:
        """Run the job in the background (after the jobs before it)."""
        control = Control(job, self)
        task = asyncio.create_task(self._run(control, work), name=f"job-{job.id}")
        self._active[job.id] = (control, task)
        self._start_heartbeat()

    async def run(self, job: Job, work: Work) -> Job:
        """Run the job here and now (the command line), returning it finished."""
        control = Control(job, self)
        self._active[job.id] = (control, None)
        self._start_heartbeat()
        await self._run(control, work)
        return control.job

    def _start_heartbeat(self) -> None:
        if self._heartbeat is None:
            self._heartbeat = asyncio.create_task(self._beat(), name="jobs-heartbeat")

    async def _run(self, control: Control, work: Work) -> None:
        job = control.job
        try:
            async with self._one_at_a_time:
                if job.state == "cancelled":
                    return
                job.state, job.started_at = "running", self._clock()
                await self.save(job)
                try:
                    await work(control)
                    job.state = "succeeded"
                except JobCancelled:
                    job.state = "cancelled"
                except asyncio.CancelledError:
                    job.state, job.error = "failed", INTERRUPTED
                    raise
                except DomainError as exc:
                    job.state, job.error = "failed", str(exc)
                except Exception as exc:
                    log.exception("job %s failed", job.id)
                    job.state, job.error = "failed", f"unexpected error: {exc!r}"
        finally:
            control.close_report()
            self._active.pop(job.id, None)
            if job.finished:
                job.finished_at = self._clock()
                with contextlib.suppress(Exception):
                    await asyncio.shield(self.save(job))
            with contextlib.suppress(OSError):
                (self.directory_of(job.id) / "input.csv").unlink(missing_ok=True)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT.total_seconds())
            for control, _ in list(self._active.values()):
                control.job.heartbeat = self._clock()
                await self.save(control.job)

    async def get(self, job_id: str, caller: Caller) -> Job | None:
        """The job if the caller may see it (a job whose process died shows as failed)."""
        doc = await self._views.get(COLLECTION, job_id)
        if doc is None:
            return None
        job = Job.from_document(doc)
        if not may_see(job, caller):
            return None
        active = self._active.get(job_id)
        if active is not None:
            return active[0].job
        return await self._fail_if_stale(job) or job

    async def mine(self, caller: Caller, *, limit: int = 20, cursor: str | None = None) -> tuple[list[Job], str | None]:
        """The caller's jobs, newest first, a page at a time."""
        after = None if cursor is None else decode_cursor(cursor)
        page = await self._views.find(COLLECTION, Query({"owner": caller.user_id}, None, "order", after, limit))
        jobs = [Job.from_document(d) for d in page.items]
        return jobs, None if page.next_after is None else encode_cursor(page.next_after)

    async def cancel(self, job_id: str, caller: Caller) -> Job:
        """Stop a queued or running job of this process; the rows already imported stay."""
        job = await self.get(job_id, caller)
        if job is None:
            raise NotFound(f"no job {job_id}")
        if job.finished:
            raise JobConflict(f"the job has already {job.state}", field="state")
        active = self._active.get(job_id)
        if active is None:
            raise JobConflict("the job runs in another process; stop it there", field="state")
        control, _ = active
        if job.state == "queued":
            job.state = "cancelled"
            job.finished_at = self._clock()
            await self.save(job)
        control.request_cancel()
        return job

    async def close(self) -> None:
        """Stop the jobs of this process; they are stored as failed (interrupted) and can be run again."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        for _, task in list(self._active.values()):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def discard(self, job: Job) -> None:
        """Forget a job that never started (its upload failed), with its files."""
        await self._views.apply([Delete(COLLECTION, job.id, job.version + 1)])
        shutil.rmtree(self.directory_of(job.id), ignore_errors=True)
