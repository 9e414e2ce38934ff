"""The kernel's job runner on the embedded stores: records, the owner's list, files, the report of
rejected rows, cancel, and the recovery of jobs whose process died."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crm_shared.blobstore.files import FileBlobStore
from crm_shared.collector import YOUNG_OBJECTS
from crm_shared.errors import NotFound
from crm_shared.identity import caller_of
from crm_shared.jobs import (
    ACTIVE,
    INPUT,
    REPORT,
    RESULT,
    Control,
    JobConflict,
    Jobs,
    Rejection,
    blob_key,
)
from crm_shared.readstore.cursor import BadCursor
from crm_shared.statestore import StateStore
from crm_shared.statestore.sqlite import SqliteStateStore

ANNA = caller_of("anna", ["head_of_sales"])
BORIS = caller_of("boris", ["marketer"])
ADMIN = caller_of("root", ["administrator"])


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


@pytest.fixture
async def state(tmp_path: Path) -> AsyncIterator[StateStore]:
    store = await SqliteStateStore.open(tmp_path / "state.db")
    yield store
    await store.close()


@pytest.fixture
async def jobs(state: StateStore, tmp_path: Path) -> AsyncIterator[Jobs]:
    runner = Jobs(state, FileBlobStore(tmp_path / "blobs"), tmp_path / "scratch", clock=Clock())
    yield runner
    await runner.close()


async def test_an_upload_is_read_from_a_local_copy_and_the_result_and_report_are_kept(
    jobs: Jobs, tmp_path: Path
) -> None:
    job = await jobs.create("import", ANNA, {"filename": "a.csv"})
    await jobs.attach(job, INPUT, b"name\nA\n\nC\n")

    async def work(control: Control) -> None:
        lines = (await control.input_file()).read_text().splitlines()
        control.progress.total = len(lines) - 1
        for number, line in enumerate(lines[1:], start=2):
            if line:
                control.progress.accepted += 1
            else:
                control.reject(Rejection(number, "name", "a name is required"))
            control.progress.done += 1
            await control.tick()
        result = control.scratch / "out.txt"
        result.write_text("done")
        await control.keep_result(result)

    done = await jobs.run(job, work)
    assert (done.state, done.progress.accepted, done.progress.rejected) == ("succeeded", 2, 1)
    assert done.report and done.rejected == [Rejection(3, "name", "a name is required")]
    report = b"".join([c async for c in jobs.open_file(done, REPORT)]).decode("utf-8-sig")
    assert report.splitlines() == ["line,column,reason,name", "3,name,a name is required,"]
    assert await jobs.blobs.get(blob_key(job.id, RESULT)) == b"done"
    assert await jobs.file_info(done, INPUT) is None  # the upload goes once the job ends
    assert not jobs.scratch_of(job.id).exists()
    stored = await jobs.get(job.id, ANNA)
    assert stored is not None and stored.state == "succeeded" and stored.finished_at is not None


async def test_a_failing_job_keeps_its_reason_and_an_empty_one_has_no_report(jobs: Jobs) -> None:
    async def broken(control: Control) -> None:
        raise NotFound("no such column")

    failed = await jobs.run(await jobs.create("import", ANNA, {}), broken)
    assert (failed.state, failed.error, failed.report) == ("failed", "no such column", False)


async def test_jobs_collect_garbage_less_often_while_they_run_and_the_setting_comes_back(
    state: StateStore, jobs: Jobs, tmp_path: Path
) -> None:
    before = gc.get_threshold()
    seen: list[int] = []
    started, release = asyncio.Event(), asyncio.Event()

    async def slow(control: Control) -> None:
        seen.append(gc.get_threshold()[0])
        started.set()
        await release.wait()

    async def quick(control: Control) -> None:
        seen.append(gc.get_threshold()[0])
        raise NotFound("no such column")

    other = Jobs(state, FileBlobStore(tmp_path / "other"), tmp_path / "other-scratch", clock=Clock())
    try:
        first = asyncio.create_task(jobs.run(await jobs.create("import", ANNA, {}), slow))
        await started.wait()
        await other.run(await other.create("import", ANNA, {}), quick)  # another service's job, meanwhile
        assert gc.get_threshold()[0] >= YOUNG_OBJECTS  # the first still runs
        release.set()
        await first
    finally:
        await other.close()
    assert seen == [max(before[0], YOUNG_OBJECTS)] * 2
    assert gc.get_threshold() == before


async def test_owners_see_their_jobs_newest_first_a_page_at_a_time_and_others_see_none(jobs: Jobs) -> None:
    made = [await jobs.create("export", ANNA, {"n": n}) for n in range(5)]
    await jobs.create("export", BORIS, {})
    first, cursor = await jobs.mine(ANNA, limit=2)
    assert [j.params["n"] for j in first] == [4, 3] and cursor is not None
    second, cursor = await jobs.mine(ANNA, limit=2, cursor=cursor)
    third, last = await jobs.mine(ANNA, limit=2, cursor=cursor)
    assert [j.params["n"] for j in second + third] == [2, 1, 0] and last is None
    assert await jobs.get(made[0].id, BORIS) is None
    assert await jobs.get(made[0].id, ADMIN) is not None
    with pytest.raises(NotFound):
        await jobs.cancel(made[0].id, BORIS)
    with pytest.raises(BadCursor):
        await jobs.mine(ANNA, cursor="not-a-cursor")


async def test_a_queued_job_is_cancelled_before_it_runs_and_a_running_one_at_its_next_tick(jobs: Jobs) -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def slow(control: Control) -> None:
        started.set()
        await release.wait()
        await control.tick(force=True)

    running = await jobs.create("import", ANNA, {})
    queued = await jobs.create("import", ANNA, {})
    jobs.start(running, slow)
    jobs.start(queued, slow)
    await started.wait()
    assert (await jobs.cancel(queued.id, ANNA)).state == "cancelled"
    assert (await jobs.cancel(running.id, ADMIN)).state == "running"
    release.set()
    for _ in range(500):  # the job ends in the background
        if (await jobs.get(running.id, ANNA)).finished:  # type: ignore[union-attr]
            break
        await asyncio.sleep(0.01)
    assert (await jobs.get(running.id, ANNA)).state == "cancelled"  # type: ignore[union-attr]
    with pytest.raises(JobConflict):
        await jobs.cancel(running.id, ANNA)


async def test_jobs_whose_process_died_are_failed_at_start_and_when_read(
    state: StateStore, jobs: Jobs, tmp_path: Path
) -> None:
    dead = await jobs.create("import", ANNA, {})
    await jobs.save(replace(dead, state="running", heartbeat=datetime.now(UTC) - timedelta(minutes=5)))
    alive = await jobs.create("import", ANNA, {})
    await jobs.save(replace(alive, state="running", heartbeat=datetime.now(UTC)))
    restarted = Jobs(state, FileBlobStore(tmp_path / "blobs"), tmp_path / "scratch")
    assert await restarted.prepare() == 1
    assert (await restarted.get(dead.id, ANNA)).state == "failed"  # type: ignore[union-attr]
    assert (await restarted.get(alive.id, ANNA)).state == "running"  # type: ignore[union-attr]
    assert [r.key for r in (await state.list(ACTIVE)).items] == [alive.id]
    with pytest.raises(JobConflict, match="another process"):
        await restarted.cancel(alive.id, ANNA)


async def test_a_discarded_job_leaves_nothing(state: StateStore, jobs: Jobs) -> None:
    job = await jobs.create("import", ANNA, {})
    await jobs.attach(job, INPUT, b"half an upload")
    await jobs.discard(job)
    assert await jobs.get(job.id, ADMIN) is None
    assert await jobs.blobs.list() == []
    assert (await jobs.mine(ANNA))[0] == []
    for collection in ("jobs", "jobs_by_owner", ACTIVE):
        assert (await state.list(collection)).items == []


async def test_a_job_seen_finished_has_its_report_stored(jobs: Jobs, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whoever polls a running job never sees it succeeded before its report of rejected rows is
    stored (a client reads ``report`` as soon as the state says the job ended), even when the
    heartbeat saves the job at that very moment (here it beats continuously)."""
    monkeypatch.setattr("crm_shared.jobs.HEARTBEAT", timedelta(0))
    job = await jobs.create("import", ANNA, {"filename": "a.csv"})

    async def work(control: Control) -> None:
        control.reject(Rejection(2, "name", "a name is required"))
        control.progress.done = control.progress.rejected = 1

    jobs.start(job, work)
    seen = []
    for _ in range(10_000):
        polled = await jobs.get(job.id, ANNA)
        assert polled is not None
        seen.append(polled.state)
        if polled.finished:
            break
        await asyncio.sleep(0)
    assert polled.state == "succeeded" and polled.report, (polled.state, polled.report, seen[-3:])
