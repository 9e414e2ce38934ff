"""The event store contract: every adapter passes these tests.

Runs on SQLite always, and on KurrentDB when ``KURRENTDB_URI`` is set.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from crm_shared import jsoncodec
from crm_shared.eventstore import (
    ANY,
    NO_STREAM,
    STREAM_EXISTS,
    EventStore,
    NewEvent,
    WrongExpectedVersion,
)
from crm_shared.eventstore.sqlite import SqliteEventStore
from crm_shared.jsoncodec import Encoded


@pytest.fixture(params=["sqlite", "kurrentdb"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EventStore]:
    if request.param == "sqlite":
        opened: EventStore = await SqliteEventStore.open(tmp_path / "events.db")
    else:
        uri = request.getfixturevalue("kurrentdb_uri")
        from crm_shared.eventstore.kurrentdb import KurrentDbEventStore

        opened = await KurrentDbEventStore.open(uri)
    try:
        yield opened
    finally:
        await opened.close()


def stream_name() -> str:
    # Unique per test so the suite can run against a shared, long-lived KurrentDB.
    return f"contract_test-{uuid.uuid4().hex}"


def event(n: int = 0, kind: str = "contract.Happened") -> NewEvent:
    return NewEvent(id=uuid.uuid4(), type=kind, data={"n": n, "name": "Иван"}, metadata={"schema_version": 1})


async def test_append_to_new_stream_returns_version_zero_and_a_position(store: EventStore) -> None:
    s = stream_name()
    result = await store.append(s, [event(1)], NO_STREAM)
    assert result.stream_version == 0
    assert result.position > 0


async def test_read_stream_returns_events_in_order_with_data_and_metadata(store: EventStore) -> None:
    s = stream_name()
    first = await store.append(s, [event(1), event(2)], NO_STREAM)
    second = await store.append(s, [event(3)], first.stream_version)
    assert second.stream_version == 2
    assert second.position > first.position
    events = await store.read_stream(s)
    assert [e.data["n"] for e in events] == [1, 2, 3]
    assert [e.stream_version for e in events] == [0, 1, 2]
    assert events[0].data["name"] == "Иван"
    assert events[0].metadata["schema_version"] == 1
    assert events[0].type == "contract.Happened"
    assert all(e.stream == s for e in events)
    assert events[-1].position == second.position
    assert [e.data["n"] for e in await store.read_stream(s, from_version=1, limit=1)] == [2]


async def test_reading_a_missing_stream_is_empty(store: EventStore) -> None:
    assert await store.read_stream(stream_name()) == []


async def test_no_stream_expectation_fails_when_the_stream_exists(store: EventStore) -> None:
    s = stream_name()
    await store.append(s, [event()], NO_STREAM)
    with pytest.raises(WrongExpectedVersion):
        await store.append(s, [event()], NO_STREAM)


async def test_exact_expectation_fails_when_stale(store: EventStore) -> None:
    s = stream_name()
    await store.append(s, [event(), event()], NO_STREAM)
    with pytest.raises(WrongExpectedVersion) as raised:
        await store.append(s, [event()], 0)
    assert raised.value.actual == 1
    with pytest.raises(WrongExpectedVersion):
        await store.append(stream_name(), [event()], 0)


async def test_any_and_stream_exists_expectations(store: EventStore) -> None:
    s = stream_name()
    with pytest.raises(WrongExpectedVersion):
        await store.append(s, [event()], STREAM_EXISTS)
    assert (await store.append(s, [event()], ANY)).stream_version == 0
    assert (await store.append(s, [event()], ANY)).stream_version == 1
    assert (await store.append(s, [event()], STREAM_EXISTS)).stream_version == 2


async def test_reappending_the_same_event_ids_is_a_no_op(store: EventStore) -> None:
    s = stream_name()
    batch = [event(1), event(2)]
    first = await store.append(s, batch, NO_STREAM)
    again = await store.append(s, batch, NO_STREAM)
    assert again == first
    assert len(await store.read_stream(s)) == 2
    follow = [event(3)]
    second = await store.append(s, follow, 1)
    assert await store.append(s, follow, 1) == second
    assert await store.append(s, follow, ANY) == second
    assert len(await store.read_stream(s)) == 3


async def test_read_all_returns_the_global_log_after_a_position(store: EventStore) -> None:
    start = await store.head_position()
    a, b = stream_name(), stream_name()
    ra = await store.append(a, [event(1)], NO_STREAM)
    rb = await store.append(b, [event(2)], NO_STREAM)
    assert await store.head_position() >= rb.position
    mine = [e for e in await store.read_all(after=start, limit=10_000) if e.stream in (a, b)]
    assert [(e.stream, e.data["n"]) for e in mine] == [(a, 1), (b, 2)]
    assert [e.position for e in mine] == [ra.position, rb.position]
    later = [e for e in await store.read_all(after=ra.position, limit=10_000) if e.stream in (a, b)]
    assert [e.stream for e in later] == [b]


async def test_subscription_catches_up_then_goes_live(store: EventStore) -> None:
    start = await store.head_position()
    s = stream_name()
    await store.append(s, [event(1), event(2)], NO_STREAM)
    seen: list[int] = []

    async def consume() -> None:
        async for e in store.subscribe_all(after=start):
            if e.stream == s:
                seen.append(int(e.data["n"]))
                if len(seen) == 4:
                    return

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.2)
    await store.append(s, [event(3)], 1)
    await store.append(s, [event(4)], 2)
    await asyncio.wait_for(task, timeout=10)
    assert seen == [1, 2, 3, 4]


async def test_concurrent_conflicting_appends_one_wins_per_version(store: EventStore) -> None:
    s = stream_name()
    await store.append(s, [event(0)], NO_STREAM)

    async def attempt(n: int) -> bool:
        try:
            await store.append(s, [event(n)], 0)
            return True
        except WrongExpectedVersion:
            return False

    outcomes = await asyncio.gather(*(attempt(n) for n in range(1, 33)))
    assert outcomes.count(True) == 1
    events = await store.read_stream(s)
    assert len(events) == 2
    assert [e.stream_version for e in events] == [0, 1]


# -- append_many: the bulk path --------------------------------------------------------------------


async def test_append_many_appends_each_stream_in_order(store: EventStore) -> None:
    a, b, c = stream_name(), stream_name(), stream_name()
    await store.append(c, [event(0)], NO_STREAM)
    results = await store.append_many(
        [(a, [event(1), event(2)], NO_STREAM), (b, [event(3)], NO_STREAM), (c, [event(4)], 0)]
    )
    assert [r.stream_version for r in results] == [1, 0, 1]
    assert results[0].position < results[1].position < results[2].position
    assert [e.data["n"] for e in await store.read_stream(a)] == [1, 2]
    assert [e.data["n"] for e in await store.read_stream(c)] == [0, 4]
    assert (await store.read_stream(b))[0].position == results[1].position
    assert await store.append_many([]) == []


async def test_append_many_again_with_the_same_ids_changes_nothing(store: EventStore) -> None:
    batch = [(stream_name(), [event(n)], NO_STREAM) for n in range(5)]
    first = await store.append_many(batch)
    head = await store.head_position()
    assert await store.append_many(batch) == first
    assert await store.head_position() == head
    assert [len(await store.read_stream(s)) for s, _, _ in batch] == [1] * 5


async def test_append_many_names_the_conflicting_stream_and_can_be_sent_again(store: EventStore) -> None:
    taken = stream_name()
    await store.append(taken, [event(0)], NO_STREAM)
    before, after = stream_name(), stream_name()
    good = [(before, [event(1)], NO_STREAM), (after, [event(2)], NO_STREAM)]
    with pytest.raises(WrongExpectedVersion) as raised:
        await store.append_many([good[0], (taken, [event(9)], NO_STREAM), good[1]])
    assert raised.value.stream == taken
    assert await store.read_stream(after) == []
    # Whatever a failed batch left behind (KurrentDB: the items before the conflict), the rest can
    # follow with the same event ids, and nothing is stored twice.
    await store.append_many(good)
    assert [len(await store.read_stream(s)) for s in (before, after, taken)] == [1, 1, 1]


async def test_events_whose_json_is_encoded_already_read_back_as_their_mapping(store: EventStore) -> None:
    s = stream_name()
    data, metadata = jsoncodec.dumps({"n": 7, "name": "Иван"}), jsoncodec.dumps({"schema_version": 1})
    encoded = NewEvent(id=uuid.uuid4(), type="contract.Happened", data=Encoded(data), metadata=Encoded(metadata))
    assert dict(encoded.data) == {"n": 7, "name": "Иван"}
    await store.append_many([(s, [encoded, event(8)], NO_STREAM)])
    [first, second] = await store.read_stream(s)
    assert (dict(first.data), dict(first.metadata), first.id) == (
        {"n": 7, "name": "Иван"},
        {"schema_version": 1},
        encoded.id,
    )
    assert second.data["n"] == 8


async def test_append_many_refuses_an_item_without_events(store: EventStore) -> None:
    with pytest.raises(ValueError):
        await store.append_many([(stream_name(), [event()], NO_STREAM), (stream_name(), [], NO_STREAM)])


async def test_sqlite_append_many_is_all_or_nothing(tmp_path: Path) -> None:
    store = await SqliteEventStore.open(tmp_path / "events.db")
    try:
        taken = stream_name()
        await store.append(taken, [event(0)], NO_STREAM)
        head = await store.head_position()
        fresh = [(stream_name(), [event(n)], NO_STREAM) for n in range(3)]
        with pytest.raises(WrongExpectedVersion):
            await store.append_many([*fresh, (taken, [event(9)], NO_STREAM)])
        assert await store.head_position() == head
        assert [await store.read_stream(s) for s, _, _ in fresh] == [[], [], []]
        # Ordinary appends committed in the same group commit are not dragged down with it.
        ok, failed = await asyncio.gather(
            store.append(stream_name(), [event(5)], NO_STREAM),
            store.append_many([(taken, [event(8)], NO_STREAM)]),
            return_exceptions=True,
        )
        assert not isinstance(ok, BaseException) and isinstance(failed, WrongExpectedVersion)
    finally:
        await store.close()


async def test_sqlite_lone_append_refused_midway_leaves_nothing(tmp_path: Path) -> None:
    """An append alone in its transaction (no savepoint) that fails after its first event is written
    takes that event back, and the store goes on."""
    store = await SqliteEventStore.open(tmp_path / "events.db")
    try:
        elsewhere = event(0)
        await store.append(stream_name(), [elsewhere], NO_STREAM)
        head = await store.head_position()
        s = stream_name()
        with pytest.raises(ValueError):
            await store.append(s, [event(1), elsewhere], NO_STREAM)  # the second id is stored elsewhere
        assert await store.read_stream(s) == []
        assert await store.head_position() == head
        assert (await store.append(s, [event(2)], NO_STREAM)).stream_version == 0
    finally:
        await store.close()


async def test_sqlite_polls_see_another_connections_appends(tmp_path: Path) -> None:
    """The head and an empty poll are answered on the loop's thread: they must still see what
    another process (here: another store on the same file) appended since."""
    path = tmp_path / "events.db"
    follower, writer = await SqliteEventStore.open(path), await SqliteEventStore.open(path)
    try:
        head = await follower.head_position()
        assert await follower.read_all(after=head) == []
        written = await writer.append(stream_name(), [event(7)], NO_STREAM)
        assert await follower.head_position() == written.position
        assert [e.data["n"] for e in await follower.read_all(after=head)] == [7]
    finally:
        await writer.close()
        await follower.close()


async def test_sqlite_close_answers_every_append_accepted_before(tmp_path: Path) -> None:
    store = await SqliteEventStore.open(tmp_path / "events.db")
    appends = [asyncio.ensure_future(store.append(stream_name(), [event(n)], NO_STREAM)) for n in range(50)]
    await asyncio.sleep(0)
    await store.close()
    results = await asyncio.gather(*appends)
    assert len({r.position for r in results}) == 50
    reopened = await SqliteEventStore.open(tmp_path / "events.db")
    try:
        assert len(await reopened.read_all(after=0)) == 50
    finally:
        await reopened.close()


async def test_sqlite_followers_share_decoded_events(tmp_path: Path) -> None:
    """Followers reading the same stretch of the log get the same events, decoded once; a ring smaller
    than the stretch (positions that share a slot) still answers every position with its own event."""
    store = await SqliteEventStore.open(tmp_path / "events.db", decoded=3)
    try:
        for n in range(7):
            await store.append(stream_name(), [event(n)], NO_STREAM)
        first, second = await store.read_all(after=0), await store.read_all(after=0)
        assert [e.data["n"] for e in first] == [e.data["n"] for e in second] == list(range(7))
        assert [e.position for e in first] == [e.position for e in second]
        last = await store.read_all(after=first[3].position)
        assert [e.data["n"] for e in last] == [4, 5, 6]
        assert all(a is b for a, b in zip(last, second[4:], strict=True))  # in their slots: not decoded again
        assert [e.data["n"] for e in await store.read_all(after=first[2].position, limit=2)] == [3, 4]
        assert [e.data["n"] for e in await store.read_all(after=0, limit=3)] == [0, 1, 2]
    finally:
        await store.close()


async def test_sqlite_follower_takes_what_the_ring_holds_and_reads_the_rest(tmp_path: Path) -> None:
    """A follower whose next events another has just read takes them from the ring (the same
    objects), and the rest of its batch from the file, in order, with nothing skipped or repeated;
    a stretch the ring no longer holds is read again."""
    store = await SqliteEventStore.open(tmp_path / "events.db", decoded=8)
    try:
        for n in range(12):
            await store.append(stream_name(), [event(n)], NO_STREAM)
        ahead = await store.read_all(after=0, limit=5)  # positions 1-5, now in the ring
        behind = await store.read_all(after=0, limit=9)
        assert [e.data["n"] for e in behind] == list(range(9))
        assert all(a is b for a, b in zip(ahead, behind, strict=False))
        assert [e.position for e in behind] == sorted({e.position for e in behind})
        rest = await store.read_all(after=behind[-1].position)  # the ring holds 9; the head is 12
        assert [e.data["n"] for e in rest] == [9, 10, 11]
        # Positions 1-4 share their slots with 9-12 now: the walk from 0 stops at once.
        assert [e.data["n"] for e in await store.read_all(after=0, limit=12)] == list(range(12))
        assert await store.read_all(after=rest[-1].position) == []
        await store.append(stream_name(), [event(12)], NO_STREAM)
        assert [e.data["n"] for e in await store.read_all(after=rest[-1].position)] == [12]
    finally:
        await store.close()


async def test_sqlite_append_that_finds_the_file_busy_waits_off_the_loop(tmp_path: Path) -> None:
    """A lone append is written on the loop's thread when it can be at once; one that finds another
    process writing waits for it on the writer thread, and the loop goes on meanwhile."""
    path = tmp_path / "events.db"
    store = await SqliteEventStore.open(path)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        await store.append(stream_name(), [event(0)], NO_STREAM)  # an idle store: written at once
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        s = stream_name()
        append = asyncio.ensure_future(store.append(s, [event(1)], NO_STREAM))
        loop = asyncio.get_running_loop()
        started = loop.time()
        for _ in range(5):
            await asyncio.sleep(0.02)
        assert loop.time() - started < 1.0  # the loop was not held by the busy file
        assert not append.done()
        other.execute("COMMIT")
        assert (await append).stream_version == 0
        assert [e.data["n"] for e in await store.read_stream(s)] == [1]
    finally:
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()
        await store.close()


async def test_sqlite_wal_stays_bounded_under_appends_one_after_another(tmp_path: Path) -> None:
    """Appends written on the loop's thread leave the WAL's checkpoints to the writer thread: the WAL
    is copied back and started over, not grown with every commit."""
    path = tmp_path / "events.db"
    store = await SqliteEventStore.open(path)
    try:
        for n in range(1500):
            await store.append(stream_name(), [event(n)], NO_STREAM)
        wal = path.with_name("events.db-wal").stat().st_size
        assert len(await store.read_all(after=0, limit=2000)) == 1500
    finally:
        await store.close()
    assert wal < 8 * 1024 * 1024, wal
