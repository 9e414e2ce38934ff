"""Long-running jobs (imports, exports, any service's bulk work): their records, files and running.

A job runs as an asyncio task in the process that accepted it (one at a time; the others wait as
``queued``), or in the foreground (the command line). Its record is in the service's state store
(collection ``jobs``, plus ``jobs_by_owner`` to list an owner's jobs newest first and ``jobs_active``
to find the unfinished ones), so any request of any replica can poll it. Its files are blobs
``jobs/<id>/<name>`` in the service's blob store: the upload (:data:`INPUT`, deleted once the job
ends), the report of rejected rows (:data:`REPORT`, CSV: line, column, reason, name) and the result
(:data:`RESULT`). While it runs, its work has a local scratch folder, removed afterwards.

While a job is queued or running, its process stamps its ``heartbeat`` every few seconds; a job whose
heartbeat stopped (the process died) is marked failed when the service starts and when it is read,
and can be run again (make the work idempotent). Only the owner and administrators see a job.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import logging
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, Literal
from urllib.parse import quote

from crm_shared.blobstore import BlobInfo, BlobStore, Chunks
from crm_shared.collector import fewer_collections
from crm_shared.errors import DomainError, NotFound
from crm_shared.identity import Caller
from crm_shared.readstore.cursor import BadCursor, decode_cursor, encode_cursor
from crm_shared.statestore import Record, StateStore, VersionConflict

log = logging.getLogger(__name__)

JOBS, BY_OWNER, ACTIVE = "jobs", "jobs_by_owner", "jobs_active"
"""State-store collections: the records, the owners' lists, the unfinished jobs."""
INPUT, REPORT, RESULT = "input", "report.csv", "result"
"""Names of a job's files: the upload it reads, its rejected rows, what it made."""
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
_ORDER_DIGITS = 15


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
    """A row that was not taken: its line in the file, the column at fault and why."""

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
    """Whether the report of rejected rows (:data:`REPORT`) is stored."""
    file: str | None = None
    """The download name of the result (:data:`RESULT`), for jobs that make one."""
    error: str | None = None
    version: int = 0
    """The record's version in the state store (0: not stored yet)."""

    @property
    def finished(self) -> bool:
        """Whether the job ended (well or not)."""
        return self.state in FINISHED

    @property
    def order(self) -> int:
        """Sorts newest first: fewer milliseconds before the year 5138 for later jobs."""
        return 10**14 - int(self.created_at.timestamp() * 1000)

    def to_value(self) -> dict[str, Any]:
        """The state-store value."""
        value = asdict(self)
        del value["version"], value["id"]
        for name in ("created_at", "started_at", "finished_at", "heartbeat"):
            moment = getattr(self, name)
            value[name] = None if moment is None else moment.isoformat()
        return value

    @classmethod
    def from_record(cls, record: Record) -> Job:
        """A job from its state-store record."""
        value = record.value

        def when(name: str) -> datetime | None:
            moment = value.get(name)
            return None if moment is None else datetime.fromisoformat(str(moment))

        created = when("created_at")
        assert created is not None
        return cls(
            id=record.key,
            kind=value["kind"],
            owner=str(value["owner"]),
            created_at=created,
            state=value["state"],
            started_at=when("started_at"),
            finished_at=when("finished_at"),
            heartbeat=when("heartbeat"),
            progress=Progress(**value.get("progress", {})),
            params=dict(value.get("params") or {}),
            rejected=[Rejection(**r) for r in value.get("rejected") or ()],
            report=bool(value.get("report")),
            file=value.get("file"),
            error=value.get("error"),
            version=record.version,
        )


def may_see(job: Job, caller: Caller) -> bool:
    """Only the owner and administrators see a job."""
    return job.owner == caller.user_id or "administrator" in caller.roles


def blob_key(job_id: str, name: str) -> str:
    """The blob-store key of a job's file."""
    return f"jobs/{job_id}/{name}"


def _owner_prefix(owner: str) -> str:
    return quote(owner, safe="") + "/"  # quoted: no "/" inside, so one owner's keys never mix with another's


def _owner_key(job: Job) -> str:
    return f"{_owner_prefix(job.owner)}{job.order:0{_ORDER_DIGITS}d}/{job.id}"


class Control:
    """What a job's work uses: its progress, the report of rejected rows, its files, cancellation."""

    def __init__(self, job: Job, jobs: Jobs) -> None:
        self.job = job
        self._jobs = jobs
        self._cancel = False
        self._saved_at = 0.0
        self._report: Any = None
        self._report_file: IO[str] | None = None

    @property
    def scratch(self) -> Path:
        """A local folder for the work's files while it runs (removed when the job ends)."""
        folder = self._jobs.scratch_of(self.job.id)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    @property
    def progress(self) -> Progress:
        """The job's counters (change them, then call :meth:`tick`)."""
        return self.job.progress

    async def input_file(self) -> Path:
        """A local copy of the job's upload (:data:`INPUT`), in the scratch folder."""
        path = self.scratch / INPUT
        await self._jobs.blobs.get_file(blob_key(self.job.id, INPUT), path)
        return path

    async def keep_result(self, path: Path) -> None:
        """Store the local file ``path`` as the job's result (:data:`RESULT`)."""
        await self._jobs.blobs.put_file(blob_key(self.job.id, RESULT), path)

    def request_cancel(self) -> None:
        """Ask the work to stop at its next :meth:`tick`."""
        self._cancel = True

    def reject(self, rejection: Rejection) -> None:
        """Count a rejected row and add it to the report."""
        self.job.progress.rejected += 1
        if len(self.job.rejected) < SAMPLE:
            self.job.rejected.append(rejection)
        if self._report is None:
            self._report_file = (self.scratch / REPORT).open("w", encoding="utf-8-sig", newline="")
            self._report = csv.writer(self._report_file)
            self._report.writerow(["line", "column", "reason", "name"])
        self._report.writerow([rejection.line, rejection.column, rejection.reason, rejection.name])

    async def store_report(self) -> None:
        """Close the report of rejected rows, if any, and store it (:data:`REPORT`)."""
        if self._report_file is None:
            return
        self._report_file.close()
        self._report_file = self._report = None
        await self._jobs.blobs.put_file(blob_key(self.job.id, REPORT), self.scratch / REPORT)
        self.job.report = True

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
    """Stores jobs in the state store and their files in the blob store; runs them one at a time here."""

    def __init__(
        self,
        state: StateStore,
        blobs: BlobStore,
        scratch: Path,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.blobs = blobs
        self._state = state
        self._scratch = scratch
        self._clock = clock
        self._active: dict[str, tuple[Control, asyncio.Task[None] | None]] = {}
        self._one_at_a_time = asyncio.Semaphore(1)
        self._saving = asyncio.Lock()
        self._heartbeat: asyncio.Task[None] | None = None

    def scratch_of(self, job_id: str) -> Path:
        """The local scratch folder of a job's work."""
        return self._scratch / job_id

    async def prepare(self) -> int:
        """Fail the jobs a stopped process left behind; returns how many."""
        failed, after = 0, None
        while True:
            page = await self._state.list(ACTIVE, after=after, limit=500)
            records = await self._state.get_many(JOBS, [r.key for r in page.items])
            for entry in page.items:
                record = records.get(entry.key)
                if record is None:
                    listed = datetime.fromisoformat(str(entry.value.get("at") or "1970-01-01T00:00:00+00:00"))
                    if self._clock() - listed >= STALE_AFTER:  # its creation was cut off long ago
                        await self._state.delete(ACTIVE, entry.key)
                    continue
                failed += await self._fail_if_stale(Job.from_record(record)) is not None
            if page.next_after is None:
                return failed
            after = page.next_after

    async def _fail_if_stale(self, job: Job) -> Job | None:
        if job.finished or job.id in self._active:
            return None
        beat = job.heartbeat or job.created_at
        if self._clock() - beat < STALE_AFTER:
            return None
        failed = replace(job, state="failed", finished_at=self._clock(), error=INTERRUPTED)
        try:
            await self.save(failed, expected=True)  # unless its process stamped it meanwhile
        except VersionConflict:
            return None
        return failed

    async def save(self, job: Job, *, expected: bool = False) -> None:
        """Store the job's current state (with ``expected``: only over the version it was read at)."""
        async with self._saving:
            job.version = await self._state.put(
                JOBS, job.id, job.to_value(), expected_version=job.version if expected else None
            )
        if job.finished:
            await self._state.delete(ACTIVE, job.id)

    async def create(self, kind: JobKind, caller: Caller, params: Mapping[str, Any]) -> Job:
        """A new, queued job of ``caller``."""
        job = Job(id=uuid.uuid4().hex, kind=kind, owner=caller.user_id, created_at=self._clock(), params=dict(params))
        job.heartbeat = job.created_at
        # The lists first: an entry whose job was never stored is skipped (and cleaned) by readers.
        await self._state.put(BY_OWNER, _owner_key(job), {"job": job.id})
        await self._state.put(ACTIVE, job.id, {"at": job.created_at.isoformat()})
        job.version = await self._state.put(JOBS, job.id, job.to_value(), expected_version=0)
        return job

    async def attach(self, job: Job, name: str, data: bytes | Chunks) -> BlobInfo:
        """Store a file of the job (e.g. its upload, :data:`INPUT`), streamed."""
        return await self.blobs.put(blob_key(job.id, name), data)

    async def file_info(self, job: Job, name: str) -> BlobInfo | None:
        """Size and time of a file of the job, or None."""
        return await self.blobs.stat(blob_key(job.id, name))

    def open_file(self, job: Job, name: str) -> AsyncIterator[bytes]:
        """A file of the job, in chunks."""
        return self.blobs.open(blob_key(job.id, name))

    async def download(self, job: Job, name: str, path: Path) -> None:
        """Copy a file of the job to the local ``path`` (its folder made if missing)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        await self.blobs.get_file(blob_key(job.id, name), path)

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
        ended: tuple[JobState, str | None] | None = None
        try:
            async with self._one_at_a_time:
                if job.state == "cancelled":
                    return
                job.state, job.started_at = "running", self._clock()
                await self.save(job)
                try:
                    with fewer_collections():
                        await work(control)
                    ended = ("succeeded", None)
                except JobCancelled:
                    ended = ("cancelled", None)
                except asyncio.CancelledError:
                    ended = ("failed", INTERRUPTED)
                    raise
                except DomainError as exc:
                    ended = ("failed", str(exc))
                except Exception as exc:
                    log.exception("job %s failed", job.id)
                    ended = ("failed", f"unexpected error: {exc!r}")
        finally:
            await asyncio.shield(self._finish(control, ended))

    async def _finish(self, control: Control, ended: tuple[JobState, str | None] | None) -> None:
        """Store the report, then the final state (``ended``); drop the upload and the scratch folder.

        The job shows its final state only once its report is stored: a caller who sees it
        ``succeeded`` finds its report link (the state is set after the report, then saved)."""
        job = control.job
        try:
            await control.store_report()
        except Exception:
            log.exception("job %s: the report of rejected rows could not be stored", job.id)
        if ended is not None:
            job.state, job.error = ended
        if job.finished:
            job.finished_at = self._clock()
            with contextlib.suppress(Exception):
                await self.save(job)
        self._active.pop(job.id, None)
        with contextlib.suppress(Exception):
            await self.blobs.delete(blob_key(job.id, INPUT))
        await asyncio.to_thread(shutil.rmtree, self.scratch_of(job.id), True)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT.total_seconds())
            for control, _ in list(self._active.values()):
                control.job.heartbeat = self._clock()
                try:
                    await self.save(control.job)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the store busy or away: the next beat stamps it
                    log.warning("job %s: its heartbeat was not stored: %s", control.job.id, type(exc).__name__)

    async def get(self, job_id: str, caller: Caller) -> Job | None:
        """The job if the caller may see it (a job whose process died shows as failed)."""
        record = await self._state.get(JOBS, job_id)
        if record is None:
            return None
        job = Job.from_record(record)
        if not may_see(job, caller):
            return None
        active = self._active.get(job_id)
        if active is not None:
            return active[0].job
        return await self._fail_if_stale(job) or job

    async def mine(self, caller: Caller, *, limit: int = 20, cursor: str | None = None) -> tuple[list[Job], str | None]:
        """The caller's jobs, newest first, a page at a time (:class:`BadCursor` for a foreign cursor)."""
        prefix = _owner_prefix(caller.user_id)
        after = decode_cursor(cursor)
        if after is not None and not isinstance(after[0], int):
            raise BadCursor("cursor is not one this API returned")
        start = None if after is None else f"{prefix}{after[0]:0{_ORDER_DIGITS}d}/{after[1]}"
        page = await self._state.list(BY_OWNER, prefix=prefix, after=start, limit=limit)
        ids = [str(entry.value["job"]) for entry in page.items]
        records = await self._state.get_many(JOBS, ids)
        jobs = [Job.from_record(records[i]) for i in ids if i in records]
        if page.next_after is None or not page.items:
            return jobs, None
        last = page.items[-1].key.removeprefix(prefix).split("/")
        return jobs, encode_cursor((int(last[0]), last[1]))

    async def cancel(self, job_id: str, caller: Caller) -> Job:
        """Stop a queued or running job of this process; the rows already done stay."""
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
        for name in (INPUT, REPORT, RESULT):
            await self.blobs.delete(blob_key(job.id, name))
        await self._state.delete(JOBS, job.id)
        await self._state.delete(ACTIVE, job.id)
        await self._state.delete(BY_OWNER, _owner_key(job))
        await asyncio.to_thread(shutil.rmtree, self.scratch_of(job.id), True)
