"""The local directory fed in this process: its checks keep what they read in memory, and still see a
change to a user or group on the very next check once the feed has applied it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from crm_shared.adapters import open_bus, open_read_store
from crm_shared.bus import Bus
from crm_shared.contracts.identity import user as users
from crm_shared.directory import KEPT_SECONDS, USERS, DirectoryView, LocalDirectory, directory_messages
from crm_shared.integration import Envelope
from crm_shared.projections import ProjectionRunner
from crm_shared.readstore import ReadStore
from crm_shared.settings import KernelSettings


class CountedGets:
    """The real read store, counting its ``get`` calls."""

    def __init__(self, store: ReadStore) -> None:
        self._store = store
        self.gets = 0

    async def get(self, collection: str, id: str) -> Any:
        self.gets += 1
        return await self._store.get(collection, id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


@pytest.fixture
async def fed(tmp_path: Path) -> AsyncIterator[tuple[LocalDirectory, CountedGets, Bus]]:
    settings = KernelSettings(data_dir=tmp_path)
    store = await open_read_store(settings, "test")
    counted = CountedGets(store)
    views: Any = counted
    directory = LocalDirectory(views, ProjectionRunner(DirectoryView(), views, service="test"), wait=0.5)
    await directory.prepare()
    bus = await open_bus(settings, "test")
    await bus.publish(directory_messages({"ana": "Ana", "boris": "Boris"}))
    await directory.follow(bus)
    try:
        yield directory, counted, bus
    finally:
        await directory.stop()
        await bus.stop()
        await store.close()


def _retired(user_id: str) -> Any:
    return Envelope(
        id=str(uuid.uuid4()),
        type="crm.identity.UserRetired",
        source=users.SOURCE,
        subject=user_id,
        time=datetime.now(UTC),
        topic=users.TOPIC,
        data=users.UserRetired(user_id=user_id).model_dump(mode="json"),
        stream=f"user-{user_id}",
        stream_version=1,
        position=0,
    ).to_message()


async def test_repeated_checks_read_the_store_once(fed: tuple[LocalDirectory, CountedGets, Bus]) -> None:
    directory, counted, _ = fed
    await directory.require_user("ana", field="main_manager")  # waits for the feed if needed
    before = counted.gets
    for _ in range(20):
        await directory.require_user("ana", field="main_manager")
    assert counted.gets == before
    assert await directory.refusal_of_user("nobody", wait=False) == "no user nobody"


async def test_a_retired_user_is_refused_by_the_next_check_after_the_feed_applied_it(
    fed: tuple[LocalDirectory, CountedGets, Bus],
) -> None:
    directory, counted, bus = fed
    await directory.require_user("boris", field="main_manager")
    await directory.require_user("boris", field="main_manager")  # kept in memory now
    applied = directory.runner.applied
    await bus.publish([_retired("boris")])
    # Until the feed has applied the retirement: stored, and counted as applied (a batch of the
    # fixture's users still in flight may be counted first, so the count alone does not tell).
    for _ in range(2000):
        doc = await counted._store.get(directory.runner.collection(USERS), "boris")
        if doc is not None and not doc["active"] and directory.runner.applied > applied:
            break
        await asyncio.sleep(0.01)
    assert doc is not None and not doc["active"]
    assert await directory.refusal_of_user("boris", wait=False) == "the user boris is retired"
    assert await directory.refusal_of_user("ana", wait=False) is None


async def test_a_process_that_only_reads_the_copy_keeps_what_it_found_a_moment(tmp_path: Path) -> None:
    """crm up's API beside its background process: the copy is fed elsewhere. A user found is kept
    for KEPT_SECONDS (a retirement reaches the checks that much later); one not found is read again
    at once, so a user the copy has just taken in is accepted."""
    settings = KernelSettings(data_dir=tmp_path)
    store = await open_read_store(settings, "test")
    counted = CountedGets(store)
    views: Any = counted
    feeder = ProjectionRunner(DirectoryView(), store, service="test")  # the other process's feed
    directory = LocalDirectory(views, ProjectionRunner(DirectoryView(), views, service="test"), wait=0.0)
    try:
        await directory.prepare()
        assert await directory.refusal_of_user("ana") == "no user ana"
        await feeder.handle_batch(directory_messages({"ana": "Ana"}, group_codes=()))
        assert await directory.refusal_of_user("ana") is None  # not kept while missing: found at once
        reads = counted.gets
        for _ in range(10):
            assert await directory.refusal_of_user("ana") is None
        assert counted.gets == reads, "kept: no read of the store"
        await feeder.handle_batch([_retired("ana")])
        await asyncio.sleep(KEPT_SECONDS)
        assert await directory.refusal_of_user("ana") == "the user ana is retired"
        assert counted.gets == reads + 1
    finally:
        await store.close()
