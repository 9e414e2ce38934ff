"""P4: projection rebuild from the event log, against a raw read of the same log.

Seeds an SQLite event store with counterparty registrations and later renames (through the domain
catalog, as the service writes them), then measures in one run:

- baseline: reading the whole log through ``store.read_all(after, limit=batch)`` and nothing else;
- measured: ``ProjectionRunner(CounterpartiesView()).rebuild_if_needed(store, translate)`` into a
  fresh ``SqliteReadStore`` (exactly what a first start does), and the same into a fresh database of
  the MongoDB-protocol server (``MongoReadStore``, as the distributed mode keeps views) when one
  answers at ``CRM_BENCH_MONGO_URI`` (SKIP otherwise; ``--store sqlite`` leaves it out).

Target: at least 20,000 events/s per projection on each store, and 0.3 of the raw read. The last
line is machine-readable, e.g. ``P4 ratio=0.41 projection_eps=31000 baseline_eps=76000
mongo_ratio=0.33 mongo_eps=25000 events=200000 target_eps=20000 PASS``.

    uv run python -m bench.p4_projection_rebuild [--events N] [--quick] [--store sqlite|mongo|both] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import os
import random
import shutil
import socket
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.loop import loop_name
from bench.loop import run as run_on_loop
from bench.result import Result, emit, fields_of
from crm_contacts.application.publishing import translate
from crm_contacts.domain import counterparty as cp
from crm_contacts.projections.counterparties import COLLECTION, CounterpartiesView
from crm_shared.eventstore import NO_STREAM, AppendResult, NewEvent
from crm_shared.eventstore.sqlite import SqliteEventStore
from crm_shared.projections import ProjectionRunner
from crm_shared.readstore import Query, ReadStore
from crm_shared.readstore.sqlite import SqliteReadStore

TARGET_EPS = 20_000
TARGET_RATIO = 0.3
MONGO = os.environ.get("CRM_BENCH_MONGO_URI", "mongodb://127.0.0.1:27117/?directConnection=true&retryWrites=false")
MONGO_ADDRESS = os.environ.get("CRM_BENCH_MONGO_ADDRESS", "127.0.0.1:27117")
# The baseline reads in the batches catch_up reads in by default (2000 today).
BATCH = int(inspect.signature(ProjectionRunner.catch_up).parameters["batch_size"].default)
RENAME_SHARE = 0.25
SEED_BATCH = 2000  # appends gathered at once (group-committed by the store)


async def seed(path: Path, total: int, rng: random.Random) -> tuple[dict[str, str], int]:
    """Append ``total`` events; returns the final name of each counterparty and the renames count."""
    registrations = total - int(total * RENAME_SHARE)
    renames = total - registrations
    store = await SqliteEventStore.open(path)
    final: dict[str, str] = {}
    versions: dict[str, int] = {}
    now = datetime.now(UTC)
    kinds: tuple[cp.Kind, ...] = ("buyer", "supplier", "other")
    try:
        ids = [f"{i:08d}-bench-{rng.getrandbits(32):08x}" for i in range(registrations)]
        for start in range(0, registrations, SEED_BATCH):
            calls: list[Coroutine[Any, Any, AppendResult]] = []
            for i in range(start, min(start + SEED_BATCH, registrations)):
                cid = ids[i]
                name = f"Counterparty {i:07d} LLC"
                fields: dict[str, Any] = {
                    "counterparty_id": cid,
                    "name": name,
                    "relations": [kinds[i % 3]],
                    "tax_id": f"TX{i:09d}" if i % 2 else None,
                    "main_manager": f"user-{i % 50}",
                    "registered_at": now,
                }
                fields["access_group"] = cp.DEFAULT_ACCESS_GROUP
                event = cp.CounterpartyRegistered(**fields)
                calls.append(store.append(cp.stream_of(cid), [cp.catalog.encode(event)], NO_STREAM))
                final[cid] = name
                versions[cid] = 0
            await asyncio.gather(*calls)
        done = 0
        serial = 0
        while done < renames:
            # Each round renames distinct counterparties, so the expected versions are exact.
            picked = rng.sample(ids, min(SEED_BATCH, renames - done))
            calls = []
            for cid in picked:
                serial += 1
                name = f"Renamed {serial:07d} {cid[:8]} Ltd"
                event_r = cp.CounterpartyRenamed(counterparty_id=cid, name=name)
                new: NewEvent = cp.catalog.encode(event_r)
                calls.append(store.append(cp.stream_of(cid), [new], versions[cid]))
                versions[cid] += 1
                final[cid] = name
            await asyncio.gather(*calls)
            done += len(picked)
    finally:
        await store.close()
    return final, renames


async def read_log(path: Path) -> tuple[int, float]:
    """Baseline: the whole log through ``read_all`` in ``BATCH``-sized pages, nothing else, from a
    store opened for it (so none of the events is in its ring of decoded events yet)."""
    store = await SqliteEventStore.open(path)
    try:
        position, count = 0, 0
        started = time.perf_counter()
        while True:
            events = await store.read_all(after=position, limit=BATCH)
            if not events:
                break
            count += len(events)
            position = events[-1].position
        return count, time.perf_counter() - started
    finally:
        await store.close()


async def rebuild(path: Path, views: ReadStore) -> tuple[int, float]:
    """Measured: a fresh read store and runner, then a rebuild from the start of the log, from an
    event store opened for it as on a first start (nothing read before it in its ring)."""
    store = await SqliteEventStore.open(path)
    try:
        runner = ProjectionRunner(CounterpartiesView(), views, service="contacts")
        await runner.prepare()
        started = time.perf_counter()
        count = await runner.rebuild_if_needed(store, translate)  # indexes built after loading, included
        return count, time.perf_counter() - started
    finally:
        await store.close()


def verify_sqlite(views_path: Path, final: dict[str, str]) -> tuple[bool, str]:
    """One document per counterparty, each with its final name."""
    table = f"rs_{COLLECTION}_v{CounterpartiesView.version}"
    conn = sqlite3.connect(views_path)
    try:
        rows = conn.execute(f"SELECT id, json_extract(doc, '$.name') FROM {table} WHERE doc IS NOT NULL").fetchall()
    finally:
        conn.close()
    return compare(dict(rows), len(rows), final)


async def verify_store(views: ReadStore, final: dict[str, str]) -> tuple[bool, str]:
    """The same check through the port (for the MongoDB-protocol server)."""
    collection = f"{COLLECTION}_v{CounterpartiesView.version}"
    seen: dict[str, str] = {}
    rows, after = 0, None
    while True:
        page = await views.find(collection, Query(limit=5000, after=after))
        rows += len(page.items)
        seen.update((str(d["_id"]), str(d["name"])) for d in page.items)
        if page.next_after is None:
            break
        after = page.next_after
    return compare(seen, rows, final)


def compare(seen: dict[str, str], rows: int, final: dict[str, str]) -> tuple[bool, str]:
    wrong = sum(1 for cid, name in final.items() if seen.get(cid) != name)
    extra = len(set(seen) - set(final))
    ok = rows == len(final) and wrong == 0 and extra == 0
    detail = f"documents={rows} counterparties={len(final)} wrong_or_missing_names={wrong} unexpected={extra}"
    return ok, detail


def reachable(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=1.0):
            return True
    except OSError:
        return False


async def main_async(total: int, workdir: Path, stores: str) -> int:
    rng = random.Random(4)
    events_path = workdir / "events.db"
    print(f"P4 projection rebuild: seeding {total:,} events into {events_path} (not measured) ...", flush=True)
    started = time.perf_counter()
    final, renames = await seed(events_path, total, rng)
    print(
        f"  seeded {len(final):,} registrations + {renames:,} renames in {time.perf_counter() - started:.1f} s;"
        f" loop={loop_name()} batch={BATCH}",
        flush=True,
    )
    mongo = stores in ("mongo", "both") and reachable(MONGO_ADDRESS)
    results: dict[str, tuple[int, float, bool, str]] = {}
    # The baseline runs before and after the rebuilds; the faster is kept (the conservative ratio).
    read1, base1 = await read_log(events_path)
    if stores in ("sqlite", "both"):
        sqlite_views = await SqliteReadStore.open(workdir / "views.db")
        try:
            built, spent = await rebuild(events_path, sqlite_views)
        finally:
            await sqlite_views.close()
        results["sqlite"] = (built, spent, *verify_sqlite(workdir / "views.db", final))
    if mongo:
        from crm_shared.readstore.mongo import MongoReadStore

        database = f"bench_p4_{uuid.uuid4().hex[:8]}"
        mongo_views = await MongoReadStore.open(MONGO, database=database)
        try:
            built, spent = await rebuild(events_path, mongo_views)
            results["mongo"] = (built, spent, *(await verify_store(mongo_views, final)))
        finally:
            await mongo_views._client.drop_database(database)
            await mongo_views.close()
    read2, base2 = await read_log(events_path)
    baseline_eps = max(read1 / base1, read2 / base2)
    print(
        f"  baseline  raw read_all of the log: {read1 / base1:>9,.0f} events/s ({base1:.2f} s), again after:"
        f" {read2 / base2:,.0f} events/s ({base2:.2f} s)"
    )
    if stores in ("mongo", "both") and not mongo:
        print(f"  mongo     SKIP: no MongoDB-protocol server at {MONGO_ADDRESS}")
    fields, verdict = [], "PASS"
    for name, (built, spent, ok, detail) in results.items():
        eps = built / spent
        print(f"  measured  counterparties rebuild on {name:<6} {eps:>9,.0f} events/s ({spent:.2f} s for {built:,})")
        print(f"  check     {name} view: {detail} -> {'OK' if ok else 'WRONG'}", flush=True)
        if not ok or not read1 == read2 == total or built != total:
            print(
                f"P4 INVALID store={name} projection_eps={eps:.0f} read={read1}/{read2} built={built} view_ok={int(ok)}"
            )
            return 2
        prefix = "" if name == "sqlite" else f"{name}_"
        fields += [
            f"{prefix}ratio={eps / baseline_eps:.2f}",
            f"{prefix}{'projection_' if name == 'sqlite' else ''}eps={eps:.0f}",
        ]
        if eps < TARGET_EPS or eps / baseline_eps < TARGET_RATIO:
            verdict = "MISS"
            print(
                f"  missed: {name} {eps:,.0f} events/s (target {TARGET_EPS:,}),"
                f" ratio {eps / baseline_eps:.2f} (target {TARGET_RATIO})"
            )
    skipped = ["mongo=SKIP"] if stores in ("mongo", "both") and not mongo else []
    summary = (
        f"{' '.join(fields)} baseline_eps={baseline_eps:.0f} events={total} target_eps={TARGET_EPS}"
        f" target_ratio={TARGET_RATIO} {' '.join(skipped)}"
    )
    rates = {name: built / spent for name, (built, spent, _ok, _detail) in results.items()}
    measured = ", ".join(f"{name} {eps:,.0f} events/s" for name, eps in rates.items())
    first = next(iter(rates.values()), 0.0)
    emit(
        Result(
            "P4",
            f"{measured} (raw read {baseline_eps:,.0f})",
            f"≥ {TARGET_EPS:,} events/s and ≥ {TARGET_RATIO}× the raw read",
            first / baseline_eps if baseline_eps else None,
            "MISS" if verdict == "MISS" else "PASS",
            fields_of(summary),
            [n for n, eps in rates.items() if eps < TARGET_EPS or eps / baseline_eps < TARGET_RATIO],
        )
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.p4_projection_rebuild", description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=None, help="events to seed (default 200,000; --quick 20,000)")
    parser.add_argument("--quick", action="store_true", help="smaller log, for a smoke test")
    parser.add_argument("--keep", type=Path, default=None, help="work in this directory and keep it")
    parser.add_argument(
        "--store", choices=("sqlite", "mongo", "both"), default="both", help="which read stores to rebuild into"
    )
    args = parser.parse_args(argv)
    total = args.events or (20_000 if args.quick else 200_000)
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        for stale in [*args.keep.glob("events.db*"), *args.keep.glob("views.db*")]:
            stale.unlink()
        return run_on_loop(main_async(total, args.keep, args.store))
    workdir = Path(tempfile.mkdtemp(prefix="crm-bench-p4-"))
    try:
        return run_on_loop(main_async(total, workdir, args.store))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
