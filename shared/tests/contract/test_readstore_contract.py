"""The read store contract: every adapter passes these tests (SQLite always, MongoDB via its server)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from crm_shared.readstore import Delete, Index, Put, Query, ReadStore
from crm_shared.readstore.sqlite import SqliteReadStore


@pytest.fixture(params=["sqlite", "mongo"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ReadStore]:
    if request.param == "sqlite":
        opened: ReadStore = await SqliteReadStore.open(tmp_path / "views.db")
    else:
        uri = request.getfixturevalue("mongo_uri")
        from crm_shared.readstore.mongo import MongoReadStore

        opened = await MongoReadStore.open(uri, database=f"contract_{uuid.uuid4().hex[:12]}")
    try:
        yield opened
    finally:
        await opened.close()


def doc(id: str, version: int, **fields: object) -> dict[str, object]:
    return {"_id": id, "_version": version, **fields}


async def test_put_then_get_round_trips_the_document(store: ReadStore) -> None:
    applied = await store.apply([Put("people", doc("a", 1, name="Иван", tags=["x"], n=3, nested={"k": "v"}))])
    assert applied == 1
    assert await store.get("people", "a") == doc("a", 1, name="Иван", tags=["x"], n=3, nested={"k": "v"})
    assert await store.get("people", "missing") is None
    assert await store.get("never_created", "a") is None


async def test_get_many_returns_the_live_documents_by_id(store: ReadStore) -> None:
    await store.apply([Put("things", {"_id": f"t{i}", "_version": 1, "n": i}) for i in range(3)])
    await store.apply([Delete("things", "t1", 2)])
    found = await store.get_many("things", ["t0", "t1", "t2", "missing", "t0"])
    assert {k: v["n"] for k, v in found.items()} == {"t0": 0, "t2": 2}
    assert await store.get_many("never_written", ["a"]) == {}
    assert await store.get_many("things", []) == {}


async def test_a_bulk_apply_writes_every_change_of_a_batch_once(store: ReadStore) -> None:
    """A projection's batch: one ``apply`` of many puts and deletes over several collections
    (more ids than one ``IN``/``$in`` chunk), new and stored documents mixed, the same document
    changed twice; applying it again (a redelivery) changes nothing."""
    await store.apply([Put("cards", doc(f"c{i}", 1, n=i)) for i in range(0, 300, 2)])  # every other one stored
    await store.apply([Put("cards", doc("c1", 9, n=-1))])  # stored newer than the batch's change
    batch = [
        *[Put("keys", doc(f"k{i}", 2, card=f"c{i}")) for i in range(250)],
        *[Delete("keys", f"gone{i}", 2) for i in range(5)],
        *[Put("cards", doc(f"c{i}", 2, n=i * 10)) for i in range(300)],
        Put("cards", doc("c3", 3, n=33)),
        Put("cards", doc("c5", 1, n=-5)),  # older than its own put above: guarded within the batch
    ]
    assert await store.apply(batch, checkpoint=("bulk", 7)) == 250 + 5 + 299 + 1
    assert await store.checkpoint("bulk") == 7
    found = await store.get_many("cards", [f"c{i}" for i in range(300)])
    assert len(found) == 300
    assert {found[c]["n"] for c in ("c1", "c3", "c5", "c250")} == {-1, 33, 50, 2500}
    assert found["c3"]["_version"] == 3
    assert len(await store.get_many("keys", [f"k{i}" for i in range(250)])) == 250
    assert await store.count("keys") == 250
    # Tombstones of documents never stored keep an older put out.
    assert await store.apply([Put("keys", doc("gone1", 1))]) == 0
    assert await store.apply(batch, checkpoint=("bulk", 7)) == 0
    assert await store.get("cards", "c3") == doc("c3", 3, n=33)
    # A small batch (a live one) with stale changes among fresh ones.
    small = [Put("cards", doc("c3", 2, n=0)), Put("cards", doc("c4", 4, n=44)), Delete("cards", "c6", 1)]
    small += [Put("cards", doc("new", 1)), Delete("cards", "c8", 5), Put("cards", doc("c8", 4))]
    assert await store.apply(small) == 3
    assert (await store.get("cards", "c4"), await store.get("cards", "c8")) == (doc("c4", 4, n=44), None)
    assert await store.get("cards", "new") == doc("new", 1)


async def test_guard_ignores_same_or_older_versions(store: ReadStore) -> None:
    await store.apply([Put("people", doc("a", 2, name="new"))])
    assert await store.apply([Put("people", doc("a", 1, name="old"))]) == 0
    assert await store.apply([Put("people", doc("a", 2, name="again"))]) == 0
    assert (await store.get("people", "a")) == doc("a", 2, name="new")
    assert await store.apply([Put("people", doc("a", 3, name="newer"))]) == 1
    assert (await store.get("people", "a")) == doc("a", 3, name="newer")


async def test_delete_is_guarded_and_leaves_no_document(store: ReadStore) -> None:
    await store.apply([Put("people", doc("a", 1, name="x"))])
    assert await store.apply([Delete("people", "a", 2)]) == 1
    assert await store.get("people", "a") is None
    # A late redelivery of an older change does not resurrect it.
    assert await store.apply([Put("people", doc("a", 1, name="x"))]) == 0
    assert await store.get("people", "a") is None
    assert await store.count("people") == 0


async def test_checkpoint_is_set_with_the_changes(store: ReadStore) -> None:
    assert await store.checkpoint("proj") is None
    await store.apply([Put("people", doc("a", 1))], checkpoint=("proj", 42))
    assert await store.checkpoint("proj") == 42
    await store.apply([], checkpoint=("proj", 43))
    assert await store.checkpoint("proj") == 43


async def test_find_filters_prefix_sorts_and_pages(store: ReadStore) -> None:
    await store.ensure_indexes("people", [Index(("kind", "name_key")), Index(("name_key",))])
    await store.ensure_indexes("people", [Index(("name_key",))])  # idempotent
    names = ["ана", "анна", "антон", "борис", "ann", "anna", "bob", "андрей"]
    await store.apply(
        [
            Put("people", doc(f"id{i}", 1, name_key=n, kind="buyer" if i % 2 else "supplier"))
            for i, n in enumerate(names)
        ]
    )
    page = await store.find("people", Query(prefix=("name_key", "ан"), sort="name_key", limit=2))
    assert [d["name_key"] for d in page.items] == ["ана", "андрей"]
    assert page.next_after is not None
    page2 = await store.find(
        "people", Query(prefix=("name_key", "ан"), sort="name_key", limit=2, after=page.next_after)
    )
    assert [d["name_key"] for d in page2.items] == ["анна", "антон"]
    assert page2.next_after is None
    buyers = await store.find("people", Query(equals={"kind": "buyer"}, sort="name_key", limit=10))
    assert [d["name_key"] for d in buyers.items] == sorted(n for i, n in enumerate(names) if i % 2)
    assert await store.count("people", {"kind": "buyer"}) == 4
    assert await store.count("people") == 8
    assert await store.count("people", {"never_set": None}) == 8
    by_id = await store.find("people", Query(limit=3))
    assert [d["_id"] for d in by_id.items] == ["id0", "id1", "id2"]
    rest = await store.find("people", Query(limit=10, after=by_id.next_after))
    assert [d["_id"] for d in rest.items] == [f"id{i}" for i in range(3, 8)]
    some = await store.find("people", Query(within=("kind", ("buyer", "nobody")), sort="name_key", limit=3))
    assert [d["name_key"] for d in some.items] == sorted(n for i, n in enumerate(names) if i % 2)[:3]
    rest = await store.find(
        "people", Query(within=("kind", ("buyer",)), sort="name_key", limit=3, after=some.next_after)
    )
    assert [d["name_key"] for d in rest.items] == sorted(n for i, n in enumerate(names) if i % 2)[3:]
    assert (await store.find("people", Query(within=("kind", ())))).items == []
    empty = await store.find("people", Query(prefix=("name_key", "zzz"), sort="name_key"))
    assert empty.items == [] and empty.next_after is None


async def test_pages_with_equal_sort_values_break_ties_by_id(store: ReadStore) -> None:
    await store.apply([Put("people", doc(f"p{i:02}", 1, name_key="same")) for i in range(7)])
    seen: list[str] = []
    after = None
    while True:
        page = await store.find("people", Query(sort="name_key", limit=3, after=after))
        seen.extend(d["_id"] for d in page.items)
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == [f"p{i:02}" for i in range(7)]


async def test_unique_index_rejects_a_second_document_with_the_same_value(store: ReadStore) -> None:
    await store.ensure_indexes("taxids", [Index(("tax_id",), unique=True)])
    await store.apply([Put("taxids", doc("a", 1, tax_id="BG1"))])
    with pytest.raises(Exception):  # noqa: B017 - each driver raises its own integrity error
        await store.apply([Put("taxids", doc("b", 1, tax_id="BG1"))])
    assert await store.get("taxids", "b") is None


async def test_drop_removes_the_collection(store: ReadStore) -> None:
    await store.apply([Put("temp", doc("a", 1))])
    await store.drop("temp")
    assert await store.get("temp", "a") is None
    assert await store.count("temp") == 0
    await store.apply([Put("temp", doc("a", 1))])
    assert await store.get("temp", "a") is not None


async def test_concurrent_redeliveries_apply_each_version_once(store: ReadStore) -> None:
    changes = [Put("people", doc("a", v, name=f"v{v}")) for v in range(1, 21)]
    results = await asyncio.gather(*(store.apply([c]) for c in changes + changes))
    assert sum(results) <= 20
    assert (await store.get("people", "a")) == doc("a", 20, name="v20")


async def test_sqlite_checkpoint_read_on_the_loop_sees_another_connections_writes(tmp_path: Path) -> None:
    """A checkpoint is read on the loop's thread (projectors poll it): it must see what another
    process (here: another store on the same file) has written since, never an older answer."""
    reader, writer = (
        await SqliteReadStore.open(tmp_path / "views.db"),
        await SqliteReadStore.open(tmp_path / "views.db"),
    )
    try:
        assert await reader.checkpoint("proj") is None
        await writer.apply([], checkpoint=("proj", 5))
        assert await reader.checkpoint("proj") == 5
        await writer.apply([Put("people", doc("a", 1))], checkpoint=("proj", 6))
        assert await reader.checkpoint("proj") == 6
    finally:
        await writer.close()
        await reader.close()


async def test_sqlite_reads_by_id_here_and_on_a_thread_agree(tmp_path: Path) -> None:
    """A few ids are read on the loop's thread, many on a thread: the same documents either way,
    and what another connection wrote just before is seen."""
    reader, writer = (
        await SqliteReadStore.open(tmp_path / "views.db"),
        await SqliteReadStore.open(tmp_path / "views.db"),
    )
    try:
        await writer.apply([Put("people", doc(f"p{i:03d}", 1, n=i)) for i in range(150)])
        many = await reader.get_many("people", [f"p{i:03d}" for i in range(150)] + ["nobody"])
        few = await reader.get_many("people", ["p007", "nobody", "p149"])
        assert len(many) == 150 and few == {"p007": many["p007"], "p149": many["p149"]}
        await writer.apply([Put("people", doc("p007", 2, n=-7)), Delete("people", "p149", 2)])
        assert await reader.get_many("people", ["p007", "p149"]) == {"p007": doc("p007", 2, n=-7)}
        assert await reader.get("people", "p007") == doc("p007", 2, n=-7)
        assert await reader.get("people", "p149") is None
    finally:
        await writer.close()
        await reader.close()


async def test_sqlite_a_run_longer_than_one_statement_is_written_whole_and_guarded(tmp_path: Path) -> None:
    """SQLite writes a run of puts or deletes in multi-row statements of a bounded size: a run
    several statements long is written whole, in order (a document changed on both sides of a
    statement boundary keeps its newest version, an older change after it is guarded out), and a
    document with quotes, control and non-Latin characters comes back as it was."""
    from crm_shared.readstore import sqlite as adapter

    store = await SqliteReadStore.open(tmp_path / "views.db")
    try:
        rows = adapter._ROWS_PER_STATEMENT * 2 + 7
        odd = {"text": 'Фирма "Ω" \x1f\n\\ 🙂', "nested": {"list": [1, None, True]}}
        puts = [Put("lots", doc(f"d{i:05d}", 1, n=i, **odd)) for i in range(rows)]
        puts += [Put("lots", doc("d00000", 3, n=-1)), Put("lots", doc("d00000", 2, n=-2))]
        deletes = [Delete("lots", f"d{i:05d}", 2) for i in range(1, rows, 2)]
        assert await store.apply([*puts, *deletes], checkpoint=("lots", 1)) == rows + 1 + len(deletes)
        assert await store.count("lots") == rows - len(deletes)
        assert await store.get("lots", "d00000") == doc("d00000", 3, n=-1)
        last = f"d{rows - 1:05d}"
        assert await store.get("lots", last) == doc(last, 1, n=rows - 1, **odd)
        assert await store.apply(puts) == 0  # redelivered: nothing changes, tombstones keep theirs out
        assert await store.count("lots") == rows - len(deletes)
    finally:
        await store.close()
