"""P3: projection lag from contacts into the interactions service's local counterparty view, 200 events/s.

The real path, in this process: contacts' SQLite event store → the contacts relay (as the service runs
it) → the bus → the interactions service's ``ContactsView`` runner → its read store. Counterparties are
registered first (not measured); then ``CounterpartyRenamed`` events are appended at a steady rate
(default 200/s for 20 s), each to its counterparty's stream with its expected version, and for each
the time from the start of its append to its effect being committed in the view is taken (the runner's
bus handler returns only after the change is stored). Measured in one run, side by side:

- embedded: the embedded bus (SQLite log) and the SQLite read store, as ``crm up`` runs them;
- kafka: Apache Kafka with the view on SQLite (the broker's own share), and kafka_mongo: Kafka with
  the view on the MongoDB-protocol server, as the distributed mode runs them; SKIP when no server answers;
- baseline, in each mode: the same messages' raw bus delivery (append → a consumer group of its own
  receives the message), so the difference is the projection's own cost.

Targets (QUALITY.md P3): p99 ≤ 200 ms embedded, ≤ 500 ms through Kafka. The last line is
machine-readable, e.g. ``P3 embedded_p99_ms=41.0 kafka_p99_ms=120.3 ... PASS``.

    uv run python -m bench.p3_projection_lag [--rate 200] [--seconds 20] [--quick] [--no-kafka]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.loop import loop_name
from bench.loop import run as run_on_loop
from bench.result import Result as BenchResult
from bench.result import emit, fields_of
from crm_contacts.application.publishing import translate
from crm_contacts.domain import counterparty as cp
from crm_interactions.projections.contacts import COUNTERPARTIES, ContactsView
from crm_shared.bus import Bus, Message
from crm_shared.bus.embedded import EmbeddedBus
from crm_shared.bus.namespace import NamespacedBus
from crm_shared.eventstore import NO_STREAM
from crm_shared.eventstore.sqlite import SqliteEventStore
from crm_shared.projections import ProjectionRunner
from crm_shared.readstore import Query, ReadStore
from crm_shared.readstore.sqlite import SqliteReadStore
from crm_shared.relay import Relay

TARGET_MS = {"embedded": 200.0, "kafka": 500.0, "kafka_mongo": 500.0}
KAFKA = os.environ.get("CRM_BENCH_KAFKA_BOOTSTRAP", os.environ.get("CRM_TEST_KAFKA_BOOTSTRAP", "127.0.0.1:19092"))
MONGO = os.environ.get("CRM_BENCH_MONGO_URI", "mongodb://127.0.0.1:27117/?directConnection=true&retryWrites=false")
MONGO_ADDRESS = os.environ.get("CRM_BENCH_MONGO_ADDRESS", "127.0.0.1:27117")
COUNTERPARTIES_SEEDED = 500


def reachable(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=1.0):
            return True
    except OSError:
        return False


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


async def until(done: Callable[[], bool], timeout: float) -> None:
    """Wait until ``done()`` holds, polling; TimeoutError after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while True:
            if done():
                return
            await asyncio.sleep(0.05)


@dataclass
class Timings:
    """When each event's append started, and when each consumer saw it (by counterparty and version)."""

    appended: dict[tuple[str, int], float] = field(default_factory=dict)
    projected: dict[tuple[str, int], float] = field(default_factory=dict)
    delivered: dict[tuple[str, int], float] = field(default_factory=dict)
    handling: list[float] = field(default_factory=list)
    """How long the view's handler took per batch (ms)."""
    batches: list[int] = field(default_factory=list)
    """How many messages each batch held."""

    @staticmethod
    def key(message: Message) -> tuple[str, int]:
        return message.headers["ce_subject"], int(message.headers["crm_stream_version"])


@dataclass
class Result:
    mode: str
    detail: str
    projection: list[float]
    baseline: list[float]
    rate: float
    handling: list[float]
    batches: list[int]
    lost: int
    view_ok: bool


async def run_mode(mode: str, bus: Bus, views: ReadStore, workdir: Path, rate: int, seconds: float) -> Result:
    store = await SqliteEventStore.open(workdir / f"{mode}-contacts-events.db")
    checkpoints = await SqliteReadStore.open(workdir / f"{mode}-contacts-views.db")
    runner = ProjectionRunner(ContactsView(), views, service="interactions")
    for base, indexes in runner.projection.collections.items():
        await views.ensure_indexes(runner.collection(base), indexes)
    timings = Timings()
    now = time.perf_counter

    async def project(messages: Sequence[Message]) -> None:
        began = now()
        await runner.handle_batch(messages)  # returns once the changes are stored: visible to every query
        done = now()
        for message in messages:
            timings.projected.setdefault(Timings.key(message), done)
        timings.handling.append((done - began) * 1000)
        timings.batches.append(len(messages))

    async def deliver(message: Message) -> None:
        timings.delivered.setdefault(Timings.key(message), now())

    relay = Relay("contacts", store, bus, checkpoints, translate)
    relay_task = asyncio.create_task(relay.run())
    # Exactly what ``runner.follow(bus)`` subscribes (the fetched batches), with the handler timed.
    projection = await bus.subscribe_batches(runner.projection.topics, runner.group, project)
    baseline = await bus.subscribe(runner.projection.topics, f"bench-p3-baseline-{uuid.uuid4().hex[:8]}", deliver)
    versions: dict[str, int] = {}
    names: dict[str, str] = {}
    try:
        ids = [str(uuid.uuid4()) for _ in range(COUNTERPARTIES_SEEDED)]
        registered_at = datetime.now(UTC)
        for i, cid in enumerate(ids):
            event = cp.CounterpartyRegistered(
                counterparty_id=cid,
                name=f"Counterparty {i}",
                relations=["buyer"],
                tax_id=None,
                main_manager="ivan",
                registered_at=registered_at,
                access_group="general",
            )
            timings.appended[(cid, 0)] = now()
            await store.append(cp.stream_of(cid), [cp.catalog.encode(event)], NO_STREAM)
            versions[cid], names[cid] = 0, f"Counterparty {i}"
        await until(lambda: len(timings.projected) >= len(ids) and len(timings.delivered) >= len(ids), 120)
        seeded = set(timings.appended)

        total = int(rate * seconds)
        started = now()
        for i in range(total):
            due = started + i / rate
            wait = due - now()
            if wait > 0:
                await asyncio.sleep(wait)
            cid = ids[i % len(ids)]
            name = f"Renamed {i:07d}"
            event_r = cp.CounterpartyRenamed(counterparty_id=cid, name=name)
            timings.appended[(cid, versions[cid] + 1)] = now()
            await store.append(cp.stream_of(cid), [cp.catalog.encode(event_r)], versions[cid])
            versions[cid] += 1
            names[cid] = name
        achieved = total / (now() - started)
        expected = set(timings.appended)
        with contextlib.suppress(TimeoutError):
            await until(lambda: expected <= set(timings.projected) and expected <= set(timings.delivered), 60)
    finally:
        await projection.stop()
        await baseline.stop()
        relay_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay_task

    measured = [k for k in timings.appended if k not in seeded]
    warm_up = measured[: int(rate * min(2.0, seconds / 10))]
    counted = [k for k in measured if k not in set(warm_up)]
    lag = [(timings.projected[k] - timings.appended[k]) * 1000 for k in counted if k in timings.projected]
    raw = [(timings.delivered[k] - timings.appended[k]) * 1000 for k in counted if k in timings.delivered]
    lost = sum(1 for k in measured if k not in timings.projected)
    docs = (await views.find(runner.collection(COUNTERPARTIES), Query(limit=COUNTERPARTIES_SEEDED + 10))).items
    view_ok = {str(d["_id"]): d["name"] for d in docs} == names
    await store.close()
    await checkpoints.close()
    return Result(mode, "", lag, raw, achieved, timings.handling, timings.batches, lost, view_ok)


def report(result: Result) -> None:
    def line(label: str, values: list[float]) -> str:
        if not values:
            return f"  {result.mode:<8} {label:<36} no samples"
        return (
            f"  {result.mode:<8} {label:<36} p50 {percentile(values, 50):7.1f} ms"
            f"   p99 {percentile(values, 99):7.1f} ms   max {max(values):7.1f} ms   n={len(values)}"
        )

    print(f"  {result.mode:<8} {result.detail} rate achieved {result.rate:.0f} events/s", flush=True)
    print(line("baseline: raw bus delivery", result.baseline))
    print(line("measured: visible in the local view", result.projection))
    print(line("(the view's handler, per batch)", result.handling))
    sizes = result.batches or [0]
    print(
        f"  {result.mode:<8} batches: {len(result.batches)},"
        f" messages per batch p50 {percentile(sizes, 50):.0f} max {max(sizes)}"
    )
    print(f"  {result.mode:<8} check: lost={result.lost} view_names_final={'OK' if result.view_ok else 'WRONG'}")


async def main_async(workdir: Path, rate: int, seconds: float, kafka: bool) -> int:
    print(
        f"P3 projection lag contacts → interactions' local view: {rate} events/s for {seconds:.0f} s"
        f" per mode, loop={loop_name()}",
        flush=True,
    )
    results: list[Result] = []
    embedded_bus = EmbeddedBus(workdir / "bus.db")
    await embedded_bus.start()
    views = await SqliteReadStore.open(workdir / "embedded-interactions-views.db")
    try:
        results.append(await run_mode("embedded", embedded_bus, views, workdir, rate, seconds))
        results[-1].detail = "embedded bus + SQLite read store;"
        report(results[-1])
    finally:
        await views.close()
        await embedded_bus.stop()

    skipped = []
    if not kafka or not reachable(KAFKA):
        print(f"  kafka    SKIP: no broker at {KAFKA} (scripts/servers/kafka.sh start)" if kafka else "  kafka    SKIP")
        skipped.append("kafka=SKIP")
    else:
        from crm_shared.bus.kafka import KafkaBus
        from crm_shared.readstore.mongo import MongoReadStore

        # Through Kafka twice: with the view on SQLite (the broker's own cost), and on the MongoDB
        # protocol as the distributed mode keeps it.
        for mode in ("kafka", "kafka_mongo"):
            if mode == "kafka_mongo" and not reachable(MONGO_ADDRESS):
                print(f"  {mode} SKIP: no MongoDB-protocol server at {MONGO_ADDRESS} (scripts/servers/mongo.sh start)")
                skipped.append(f"{mode}=SKIP")
                continue
            run = uuid.uuid4().hex[:8]
            bus: Bus = NamespacedBus(KafkaBus(KAFKA, client_id="bench-p3"), f"benchp3{run}")
            await bus.start()
            kafka_views: ReadStore
            if mode == "kafka_mongo":
                kafka_views = await MongoReadStore.open(MONGO, database=f"bench_p3_{run}")
            else:
                kafka_views = await SqliteReadStore.open(workdir / f"{mode}-interactions-views.db")
            try:
                results.append(await run_mode(mode, bus, kafka_views, workdir, rate, seconds))
                results[-1].detail = (
                    "Kafka + MongoDB-protocol read store;" if mode == "kafka_mongo" else "Kafka + SQLite read store;"
                )
                report(results[-1])
            finally:
                for base in ContactsView.collections:
                    await kafka_views.drop(f"{base}_v{ContactsView.version}")
                await kafka_views.close()
                await bus.stop()

    if any(r.lost or not r.view_ok or not r.projection for r in results):
        print("P3 INVALID events were lost or the view is wrong")
        return 2
    fields, verdict = [], "PASS"
    for r in results:
        p99 = percentile(r.projection, 99)
        fields += [
            f"{r.mode}_p50_ms={percentile(r.projection, 50):.1f}",
            f"{r.mode}_p99_ms={p99:.1f}",
            f"{r.mode}_baseline_p99_ms={percentile(r.baseline, 99):.1f}",
        ]
        if p99 > TARGET_MS[r.mode]:
            verdict = "MISS"
            print(f"  missed: {r.mode} p99 {p99:.1f} ms > {TARGET_MS[r.mode]:.0f} ms")
    targets = f"target_embedded_ms={TARGET_MS['embedded']:.0f} target_kafka_ms={TARGET_MS['kafka']:.0f}"
    measured = ", ".join(
        f"{r.mode} p99 {percentile(r.projection, 99):.0f} ms (raw bus {percentile(r.baseline, 99):.0f})"
        for r in results
    )
    missed = [r.mode for r in results if percentile(r.projection, 99) > TARGET_MS[r.mode]]
    summary = f"{' '.join([*fields, *skipped])} rate={rate} {targets}"
    target = f"p99 ≤ {TARGET_MS['embedded']:.0f} ms embedded, ≤ {TARGET_MS['kafka']:.0f} ms Kafka"
    emit(BenchResult("P3", measured, target, None, "MISS" if verdict == "MISS" else "PASS", fields_of(summary), missed))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.p3_projection_lag", description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=int, default=200, help="events per second (default 200)")
    parser.add_argument(
        "--seconds", type=float, default=None, help="length of the steady phase (default 20; --quick 4)"
    )
    parser.add_argument("--quick", action="store_true", help="a short run, for a smoke test")
    parser.add_argument("--no-kafka", action="store_true", help="embedded mode only")
    args = parser.parse_args(argv)
    seconds = args.seconds or (4.0 if args.quick else 20.0)
    workdir = Path(tempfile.mkdtemp(prefix="crm-bench-p3-"))
    try:
        return run_on_loop(main_async(workdir, args.rate, seconds, not args.no_kafka))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
