"""P4: projection rebuild from the event log, against a raw read of the same log.

Seeds an SQLite event store with counterparty registrations and later renames (through the domain
catalog, as the service writes them), then measures in one run:

- baseline: reading the whole log through ``store.read_all(after, limit=batch)`` and nothing else;
- measured: ``ProjectionRunner(CounterpartiesView()).catch_up(store, translate, after=0)`` into a
  fresh ``SqliteReadStore`` (exactly what ``rebuild_if_needed`` does on a first start).

Target: at least 20,000 events/s per projection. The last line is machine-readable, e.g.
``P4 ratio=0.41 projection_eps=31000 baseline_eps=76000 events=200000 target_eps=20000 PASS``.

    uv run python -m bench.p4_projection_rebuild [--events N] [--quick] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.loop import loop_name
from bench.loop import run as run_on_loop
from crm_contacts.application.publishing import translate
from crm_contacts.domain import counterparty as cp
from crm_contacts.projections.counterparties import COLLECTION, CounterpartiesView
from crm_shared.eventstore import NO_STREAM, AppendResult, NewEvent
from crm_shared.eventstore.sqlite import SqliteEventStore
from crm_shared.projections import ProjectionRunner
from crm_shared.readstore.sqlite import SqliteReadStore

TARGET_EPS = 20_000
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


async def read_log(store: SqliteEventStore) -> tuple[int, float]:
    """Baseline: the whole log through ``read_all`` in ``BATCH``-sized pages, nothing else."""
    position, count = 0, 0
    started = time.perf_counter()
    while True:
        events = await store.read_all(after=position, limit=BATCH)
        if not events:
            break
        count += len(events)
        position = events[-1].position
    return count, time.perf_counter() - started


async def rebuild(store: SqliteEventStore, views_path: Path) -> tuple[int, float]:
    """Measured: a fresh read store and runner, then a rebuild from the start of the log."""
    views = await SqliteReadStore.open(views_path)
    try:
        runner = ProjectionRunner(CounterpartiesView(), views, service="contacts")
        await runner.prepare()
        started = time.perf_counter()
        count = await runner.rebuild_if_needed(store, translate)  # indexes built after loading, included
        elapsed = time.perf_counter() - started
    finally:
        await views.close()
    return count, elapsed


def verify(views_path: Path, final: dict[str, str]) -> tuple[bool, str]:
    """One document per counterparty, each with its final name."""
    table = f"rs_{COLLECTION}_v{CounterpartiesView.version}"
    conn = sqlite3.connect(views_path)
    try:
        rows = conn.execute(f"SELECT id, json_extract(doc, '$.name') FROM {table} WHERE doc IS NOT NULL").fetchall()
    finally:
        conn.close()
    seen = dict(rows)
    wrong = sum(1 for cid, name in final.items() if seen.get(cid) != name)
    extra = len(set(seen) - set(final))
    ok = len(rows) == len(final) and wrong == 0 and extra == 0
    detail = f"documents={len(rows)} counterparties={len(final)} wrong_or_missing_names={wrong} unexpected={extra}"
    return ok, detail


async def main_async(total: int, workdir: Path) -> int:
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

    store = await SqliteEventStore.open(events_path)
    try:
        # The baseline runs before and after the rebuild; the faster of the two is kept (conservative ratio).
        read1, base1 = await read_log(store)
        built, spent = await rebuild(store, workdir / "views.db")
        read2, base2 = await read_log(store)
    finally:
        await store.close()
    if not read1 == read2 == total or built != total:
        print(f"P4 ERROR read {read1}/{read2} events and projected {built}, expected {total}", flush=True)
        return 2
    baseline_eps = max(read1 / base1, read2 / base2)
    projection_eps = built / spent
    ok, detail = verify(workdir / "views.db", final)
    print(
        f"  baseline  raw read_all of the log: {read1 / base1:>9,.0f} events/s ({base1:.2f} s), again after:"
        f" {read2 / base2:,.0f} events/s ({base2:.2f} s)"
    )
    print(f"  measured  counterparties rebuild:  {projection_eps:>9,.0f} events/s ({spent:.2f} s for {built:,})")
    print(f"  check     view: {detail} -> {'OK' if ok else 'WRONG'}", flush=True)
    if not ok:
        print(f"P4 INVALID projection_eps={projection_eps:.0f} baseline_eps={baseline_eps:.0f} view_ok=0")
        return 2
    verdict = "PASS" if projection_eps >= TARGET_EPS else "MISS"
    print(
        f"P4 ratio={projection_eps / baseline_eps:.2f} projection_eps={projection_eps:.0f}"
        f" baseline_eps={baseline_eps:.0f} events={total} target_eps={TARGET_EPS} {verdict}",
        flush=True,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.p4_projection_rebuild", description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=None, help="events to seed (default 200,000; --quick 20,000)")
    parser.add_argument("--quick", action="store_true", help="smaller log, for a smoke test")
    parser.add_argument("--keep", type=Path, default=None, help="work in this directory and keep it")
    args = parser.parse_args(argv)
    total = args.events or (20_000 if args.quick else 200_000)
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        for stale in [*args.keep.glob("events.db*"), *args.keep.glob("views.db*")]:
            stale.unlink()
        return run_on_loop(main_async(total, args.keep))
    workdir = Path(tempfile.mkdtemp(prefix="crm-bench-p4-"))
    try:
        return run_on_loop(main_async(total, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
