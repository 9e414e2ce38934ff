"""The state store contract: every adapter passes these tests (SQLite always, MongoDB via its server)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from crm_shared.statestore import StateStore, VersionConflict
from crm_shared.statestore.sqlite import SqliteStateStore


@pytest.fixture(params=["sqlite", pytest.param("mongo", marks=pytest.mark.mongo)])
async def state(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StateStore]:
    if request.param == "sqlite":
        opened: StateStore = await SqliteStateStore.open(tmp_path / "state.db")
    else:
        from crm_shared.statestore.mongo import MongoStateStore

        uri = request.getfixturevalue("mongo_uri")
        opened = await MongoStateStore.open(uri, database=f"state_contract_{uuid.uuid4().hex[:12]}")
    try:
        yield opened
    finally:
        await opened.close()


async def test_put_then_get_round_trips_the_value_with_version_1(state: StateStore) -> None:
    value = {"name": "Иван", "tags": ["x"], "n": 3, "nested": {"k": None}, "ok": True}
    assert await state.put("people", "p/1", value) == 1
    record = await state.get("people", "p/1")
    assert record is not None and (record.key, record.version, record.value) == ("p/1", 1, value)
    assert await state.get("people", "missing") is None
    assert await state.get("never_written", "p/1") is None


async def test_every_write_raises_the_version_and_an_unconditional_put_replaces(state: StateStore) -> None:
    await state.put("people", "a", {"v": 1})
    assert await state.put("people", "a", {"v": 2}) == 2
    record = await state.get("people", "a")
    assert record is not None and (record.version, record.value) == (2, {"v": 2})


async def test_compare_and_set(state: StateStore) -> None:
    assert await state.put("jobs", "j", {"state": "queued"}, expected_version=0) == 1
    with pytest.raises(VersionConflict) as exists:
        await state.put("jobs", "j", {"state": "other"}, expected_version=0)
    assert (exists.value.expected, exists.value.actual) == (0, 1)
    assert await state.put("jobs", "j", {"state": "running"}, expected_version=1) == 2
    with pytest.raises(VersionConflict) as stale:
        await state.put("jobs", "j", {"state": "lost update"}, expected_version=1)
    assert (stale.value.expected, stale.value.actual) == (1, 2)
    with pytest.raises(VersionConflict) as absent:
        await state.put("jobs", "nope", {}, expected_version=3)
    assert absent.value.actual == 0
    record = await state.get("jobs", "j")
    assert record is not None and record.value == {"state": "running"}
    assert await state.get("jobs", "nope") is None


async def test_concurrent_creates_of_one_key_make_exactly_one(state: StateStore) -> None:
    async def create(n: int) -> bool:
        try:
            await state.put("keys", "person-1", {"by": n}, expected_version=0)
            return True
        except VersionConflict:
            return False

    wins = await asyncio.gather(*(create(n) for n in range(10)))
    assert wins.count(True) == 1
    record = await state.get("keys", "person-1")
    assert record is not None and record.value == {"by": wins.index(True)} and record.version == 1


async def test_delete_unconditional_and_compare_and_set(state: StateStore) -> None:
    await state.put("c", "a", {})
    await state.put("c", "b", {})
    assert await state.delete("c", "a") is True
    assert await state.delete("c", "a") is False
    assert await state.get("c", "a") is None
    with pytest.raises(VersionConflict):
        await state.delete("c", "b", expected_version=2)
    assert await state.delete("c", "b", expected_version=1) is True
    assert await state.delete("c", "b", expected_version=0) is False
    assert await state.put("c", "a", {"again": True}, expected_version=0) == 1  # a deleted key starts over


async def test_get_many(state: StateStore) -> None:
    for n in range(3):
        await state.put("things", f"t{n}", {"n": n})
    found = await state.get_many("things", ["t0", "t2", "missing", "t0"])
    assert {k: r.value["n"] for k, r in found.items()} == {"t0": 0, "t2": 2}
    assert await state.get_many("things", []) == {}
    assert await state.get_many("never_written", ["a"]) == {}


async def test_list_by_prefix_in_key_order_a_page_at_a_time(state: StateStore) -> None:
    keys = ["u1/003", "u1/001", "u2/001", "u1/002", "u10/001", "v"]
    for key in keys:
        await state.put("by_owner", key, {"k": key})
    await state.put("other", "u1/000", {})
    first = await state.list("by_owner", prefix="u1/", limit=2)
    assert [r.key for r in first.items] == ["u1/001", "u1/002"] and first.next_after == "u1/002"
    rest = await state.list("by_owner", prefix="u1/", after=first.next_after, limit=2)
    assert [r.key for r in rest.items] == ["u1/003"] and rest.next_after is None
    assert rest.items[0].value == {"k": "u1/003"} and rest.items[0].version == 1
    everything = await state.list("by_owner", limit=100)
    assert [r.key for r in everything.items] == sorted(keys) and everything.next_after is None
    assert [r.key for r in (await state.list("by_owner", after="u2/001")).items] == ["v"]
    assert [r.key for r in (await state.list("by_owner", prefix="u1/", after="a")).items] == [
        "u1/001",
        "u1/002",
        "u1/003",
    ]
    assert (await state.list("never_written")).items == []


async def test_values_survive_a_reopen(tmp_path: Path) -> None:
    store = await SqliteStateStore.open(tmp_path / "state.db")
    await store.put("keys", "k", {"key": "c2VjcmV0"})
    await store.close()
    again = await SqliteStateStore.open(tmp_path / "state.db")
    try:
        record = await again.get("keys", "k")
        assert record is not None and record.value == {"key": "c2VjcmV0"}
    finally:
        await again.close()


@pytest.mark.parametrize(("collection", "key"), [("bad name", "k"), ("x.y", "k"), ("ok", ""), ("ok", "a\x00b")])
async def test_names_are_checked(state: StateStore, collection: str, key: str) -> None:
    with pytest.raises(ValueError, match="invalid"):
        await state.put(collection, key, {})
    with pytest.raises(ValueError, match="invalid"):
        await state.get(collection, key)
