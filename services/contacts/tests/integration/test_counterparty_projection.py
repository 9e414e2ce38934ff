"""The counterparty view: duplicates and replays are harmless, rebuilds by version bump, read-your-writes."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from crm_contacts.application.counterparties.commands import CounterpartyCommands
from crm_contacts.application.publishing import translate
from crm_contacts.domain import counterparty as cp
from crm_contacts.domain.contact_info import ContactEntry
from crm_contacts.projections.counterparties import COLLECTION, KEYS, CounterpartiesView
from crm_shared.eventstore.sqlite import SqliteEventStore
from crm_shared.identity import caller_of
from crm_shared.projections import ProjectionRunner, ViewNotReady
from crm_shared.readstore import Query
from crm_shared.readstore.sqlite import SqliteReadStore

ADMIN = caller_of("admin", ["administrator"])


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteEventStore]:
    opened = await SqliteEventStore.open(tmp_path / "events.db")
    yield opened
    await opened.close()


@pytest.fixture
async def views(tmp_path: Path) -> AsyncIterator[SqliteReadStore]:
    opened = await SqliteReadStore.open(tmp_path / "views.db")
    yield opened
    await opened.close()


async def seed(store: SqliteEventStore, n: int = 10) -> None:
    commands = CounterpartyCommands(store, clock=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    for i in range(n):
        cid = f"c{i}"
        now = commands.now()
        await commands.handle(cp.RegisterCounterparty(cid, f"Фирма {i}", ("buyer",), None, "ivan", now), ADMIN)
        await commands.handle(cp.UpdateCounterparty(cid, {"name": f"Фирма {i} АД", "main_manager": "maria"}), ADMIN)


async def documents(views: SqliteReadStore, collection: str) -> list[dict[str, object]]:
    return (await views.find(collection, Query(limit=10_000))).items


async def test_rebuild_from_the_log_builds_the_view(store: SqliteEventStore, views: SqliteReadStore) -> None:
    await seed(store)
    runner = ProjectionRunner(CounterpartiesView(), views, service="contacts")
    await runner.prepare()
    assert await runner.rebuild_if_needed(store, translate) == 30
    docs = await documents(views, runner.collection(COLLECTION))
    assert len(docs) == 10
    assert {d["name"] for d in docs} == {f"Фирма {i} АД" for i in range(10)}
    assert all(d["main_manager"] == "maria" and d["_version"] == 2 for d in docs)
    # Built once: a restart does not rebuild.
    assert await runner.rebuild_if_needed(store, translate) == 0


async def test_redelivered_and_reordered_messages_give_the_same_view(
    store: SqliteEventStore, views: SqliteReadStore, tmp_path: Path
) -> None:
    await seed(store)
    messages = [env.to_message() for e in await store.read_all(after=0) for env in translate(e)]
    live = ProjectionRunner(CounterpartiesView(), views, service="contacts")
    await live.prepare()
    # Every message twice, and streams interleaved differently (order within a stream is kept,
    # as Kafka keeps it per key).
    rng = random.Random(7)
    by_stream: dict[str, list[object]] = {}
    for m in messages + messages:
        by_stream.setdefault(m.headers["crm_stream"], []).append(m)
    queue = [list(v) for v in by_stream.values()]
    while queue:
        lane = rng.choice(queue)
        await live.handle(lane.pop(0))  # type: ignore[arg-type]
        if not lane:
            queue.remove(lane)
    replay_views = await SqliteReadStore.open(tmp_path / "replay.db")
    replay = ProjectionRunner(CounterpartiesView(), replay_views, service="contacts")
    await replay.catch_up(store, translate, after=0)
    assert await documents(views, live.collection(COLLECTION)) == await documents(
        replay_views, replay.collection(COLLECTION)
    )
    await replay_views.close()


async def test_bumping_the_version_rebuilds_into_new_collections_and_drops_the_old(
    store: SqliteEventStore, views: SqliteReadStore
) -> None:
    await seed(store, 3)
    v1 = ProjectionRunner(CounterpartiesView(), views, service="contacts")
    await v1.rebuild_if_needed(store, translate)

    class CounterpartiesViewV2(CounterpartiesView):
        version = CounterpartiesView.version + 1

    v2 = ProjectionRunner(CounterpartiesViewV2(), views, service="contacts")
    await v2.prepare()
    assert v2.group != v1.group and v2.checkpoint_name != v1.checkpoint_name
    assert await v2.rebuild_if_needed(store, translate) == 9
    assert len(await documents(views, v2.collection(COLLECTION))) == 3
    assert await views.count(v1.collection(COLLECTION)) == 0


async def test_wait_for_returns_once_the_write_is_visible_and_times_out_otherwise(
    store: SqliteEventStore, views: SqliteReadStore
) -> None:
    runner = ProjectionRunner(CounterpartiesView(), views, service="contacts")
    await runner.rebuild_if_needed(store, translate)
    commands = CounterpartyCommands(store)
    result = await commands.handle(cp.RegisterCounterparty("x", "Х", ("other",), None, "ivan", commands.now()), ADMIN)
    with pytest.raises(ViewNotReady):
        await runner.wait_for(store, result.position, timeout=0.2)
    [recorded] = await store.read_all(after=result.position - 1, limit=1)
    await runner.handle(translate(recorded)[0].to_message())
    await runner.wait_for(store, result.position, timeout=0.2)


async def test_an_interrupted_rebuild_resumes_where_it_stopped(store: SqliteEventStore, views: SqliteReadStore) -> None:
    await seed(store, 10)
    runner = ProjectionRunner(CounterpartiesView(), views, service="contacts")
    await runner.prepare()
    # A crash after the first batches: their checkpoint is stored, the rebuild never finished.
    first = await store.read_all(after=0, limit=8)
    await runner.catch_up(_Truncated(store, first[-1].position), translate, after=0, batch_size=4)
    assert await views.count(runner.collection(COLLECTION)) < 10
    assert await runner.rebuild_if_needed(store, translate) == 30 - 8
    docs = await documents(views, runner.collection(COLLECTION))
    assert len(docs) == 10 and all(d["_version"] == 2 for d in docs)
    assert await runner.rebuild_if_needed(store, translate) == 0


class _Truncated:
    """The store as it was at ``head``: what a crashed rebuild had seen."""

    def __init__(self, store: SqliteEventStore, head: int) -> None:
        self._store, self._head = store, head

    async def head_position(self) -> int:
        return self._head

    async def read_all(self, after: int = 0, limit: int = 1000) -> list[object]:
        return [e for e in await self._store.read_all(after=after, limit=limit) if e.position <= self._head]


async def test_lookups_follow_changes_and_redelivery_never_brings_a_removed_key_back(
    store: SqliteEventStore, views: SqliteReadStore
) -> None:
    runner = ProjectionRunner(CounterpartiesView(), views, service="contacts")
    await runner.prepare()
    commands = CounterpartyCommands(store)
    email = ContactEntry("email", "email", "a@x.bg", "a@x.bg", True)
    await commands.handle(
        cp.RegisterCounterparty("k", "Ключ ООД", ("buyer",), "BG1", "ivan", commands.now(), contact_info=(email,)),
        ADMIN,
    )
    await commands.handle(cp.UpdateCounterparty("k", {"contact_info": (), "name": "Нов Ключ", "tax_id": None}), ADMIN)
    messages = [m.to_message() for r in await store.read_all() for m in translate(r)]
    for message in messages:
        await runner.handle(message)
    keys_collection = runner.collection(KEYS)

    async def keys() -> set[tuple[str, str]]:
        page = await views.find(keys_collection, Query(sort="_id", limit=100))
        return {(d["field"], d["key"]) for d in page.items}

    after_all = await keys()
    assert after_all == {("word", "нов"), ("word", "ключ"), ("manager", "ivan")}
    for message in random.sample(messages, len(messages)):  # redelivered, in any order
        await runner.handle(message)
    assert await keys() == after_all
    rebuilt = ProjectionRunner(type("Next", (CounterpartiesView,), {"version": 99})(), views, service="contacts")
    await rebuilt.prepare()
    await rebuilt.rebuild_if_needed(store, translate)
    page = await views.find(rebuilt.collection(KEYS), Query(sort="_id", limit=100))
    assert {(d["field"], d["key"]) for d in page.items} == after_all


async def test_a_search_key_that_goes_and_comes_back_is_found_again_live_and_in_batches(
    store: SqliteEventStore, views: SqliteReadStore
) -> None:
    commands = CounterpartyCommands(store)
    await commands.handle(cp.RegisterCounterparty("r", "Алфа Бета", ("buyer",), None, "ivan", commands.now()), ADMIN)
    await commands.handle(cp.UpdateCounterparty("r", {"name": "Алфа Гама"}), ADMIN)
    await commands.handle(cp.UpdateCounterparty("r", {"name": "Алфа Бета"}), ADMIN)
    messages = [m.to_message() for r in await store.read_all() for m in translate(r)]
    live = ProjectionRunner(CounterpartiesView(), views, service="contacts")
    for message in messages:  # one at a time: the key is deleted, then put again
        await live.handle(message)
    batched = ProjectionRunner(type("Batched", (CounterpartiesView,), {"version": 98})(), views, service="contacts")
    await batched.handle_batch(messages)
    for runner in (live, batched):
        page = await views.find(runner.collection(KEYS), Query(equals={"field": "word", "key": "бета"}))
        assert [d["counterparty_id"] for d in page.items] == ["r"]
        assert await views.count(runner.collection(KEYS), {"field": "word", "key": "гама"}) == 0


async def test_a_rebuild_in_batches_gives_the_cards_and_lookups_the_live_feed_gives_one_message_at_a_time(
    store: SqliteEventStore, views: SqliteReadStore, tmp_path: Path
) -> None:
    """The rebuild takes the contracts its translation validated and writes each batch with one
    statement per collection; the live feed validates every message and writes it alone. Cards and
    lookups (words, tax ids, e-mails, phones, managers, categories, properties) come out the same,
    whatever the batch size, with renames, re-keyings and archiving in between."""
    commands = CounterpartyCommands(store)
    rng = random.Random(11)
    for i in range(40):
        entries = [ContactEntry("email", "email", f"office{i}@x{i}.bg", f"office{i}@x{i}.bg", True)]
        if i % 3 == 0:
            entries.append(ContactEntry("phone", "phone", f"+35928{i:06d}", f"+35928{i:06d}", False))
        await commands.handle(
            cp.RegisterCounterparty(
                f"c{i:02d}",
                f"Фирма {i} Trade-Co ООД",
                ("buyer",) if i % 2 else ("supplier", "other"),
                f"BG{100000 + i}" if i % 4 else None,
                f"manager{i % 5}",
                commands.now(),
                contact_info=tuple(entries),
                categories=("vip",) if i % 5 == 0 else (),
            ),
            ADMIN,
        )
    for step in range(60):
        cid = f"c{rng.randrange(40):02d}"
        change: dict[str, Any] = rng.choice(
            [
                {"name": f"Преименувана {step} Ltd"},
                {"main_manager": f"manager{rng.randrange(5)}"},
                {"tax_id": f"GB{step:06d}"},
                {"contact_info": ()},
                {"categories": ("vip", f"cat{step % 3}")},
            ]
        )
        await commands.handle(cp.UpdateCounterparty(cid, change), ADMIN)
    for cid in ("c03", "c17"):
        await commands.handle(cp.ArchiveCounterparty(cid, "closed"), ADMIN)
    await commands.handle(cp.RestoreCounterparty("c17"), ADMIN)
    messages = [m.to_message() for r in await store.read_all(limit=10_000) for m in translate(r)]
    live = ProjectionRunner(CounterpartiesView(), views, service="contacts")
    await live.prepare()
    for message in messages:
        await live.handle(message)

    async def view_of(store_: SqliteReadStore, runner: ProjectionRunner) -> tuple[object, object]:
        # A lookup carries the version of the change that last wrote it: one message at a time that
        # may be an earlier one than a batch's last, so lookups are compared without it.
        keys = await documents(store_, runner.collection(KEYS))
        return (
            await documents(store_, runner.collection(COLLECTION)),
            [{k: v for k, v in d.items() if k != "_version"} for d in keys],
        )

    expected = await view_of(views, live)
    assert len(expected[0]) == 40 and len(expected[1]) > 200  # type: ignore[arg-type]
    for batch_size in (7, 5000):
        rebuilt_views = await SqliteReadStore.open(tmp_path / f"rebuilt-{batch_size}.db")
        try:
            rebuilt = ProjectionRunner(CounterpartiesView(), rebuilt_views, service="contacts")
            await rebuilt.prepare()
            assert await rebuilt.rebuild_if_needed(store, translate, batch_size=batch_size) == len(messages)
            assert await view_of(rebuilt_views, rebuilt) == expected
        finally:
            await rebuilt_views.close()
