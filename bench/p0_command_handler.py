"""P0: one-event commands through the kernel command handler on the SQLite event store, in-process,
beside the ``eventsourcing`` library doing the same on the same machine in the same run.

- kernel: ``crm_shared.commands.CommandHandler`` with a tiny counter ``Decider`` (as in
  ``shared/tests/test_command_handler.py``) on ``SqliteEventStore`` (WAL, ``synchronous=FULL``, group
  commit): every command loads its stream, folds it, decides one event, encodes it and appends it
  with the expected version;
- eventsourcing: an ``Aggregate`` with one event per command method, ``Application.save`` on its
  SQLite persistence module (``eventsourcing.sqlite``: WAL, the connection's default
  ``synchronous``, which is FULL here; printed), and ``repository.get`` to load an existing one.

Two kinds of command: ``new`` (open a counter: a new stream, one event) and ``existing`` (add to a
counter opened before: load its events, one event more). Each runs serially (one command after the
other) and with 32 concurrent workers: 32 asyncio tasks for the kernel (its API is async), 32 threads
for eventsourcing (its API is blocking). Each phase gets a fresh database, a warm-up, then a measured
window; commands/s counts the commands that completed inside it, and the process CPU per command is
printed beside (steadier than commands/s on a shared machine). After each phase the stored events are
counted: every completed command must have stored exactly one event, else INVALID.

Target: "well ahead" of eventsourcing, taken as ≥ 1.5× its commands/s with 32 concurrent workers and
not behind it (≥ 1.0×) serially, for both kinds. The last line is machine-readable, e.g.
``P0 ratio=3.10 kernel_new_c32_cps=2900 es_new_c32_cps=935 ... PASS``.

    uv run --group bench python -m bench.p0_command_handler [--quick] [--seconds S] [--warmup S]
        [--concurrency N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import inspect
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.loop import loop_name
from bench.loop import run as run_on_loop
from bench.result import Result, Verdict, emit
from crm_shared.commands import CommandHandler, Decider
from crm_shared.events import DomainEvent, EventCatalog
from crm_shared.eventstore.sqlite import SqliteEventStore
from crm_shared.identity import Caller

TARGET_CONCURRENT = 1.5
TARGET_SERIAL = 1.0
KINDS = ("new", "existing")
COUNTERS_PER_WORKER = 8

# -- the kernel side: a tiny aggregate -------------------------------------------------------------

catalog = EventCatalog()


@catalog.register("bench.CounterOpened")
class Opened(DomainEvent):
    counter_id: str


@catalog.register("bench.CounterAdded")
class Added(DomainEvent):
    counter_id: str
    amount: int


@dataclass(frozen=True, slots=True)
class Counter:
    id: str
    total: int = 0


@dataclass(frozen=True, slots=True)
class Open:
    counter_id: str


@dataclass(frozen=True, slots=True)
class Add:
    counter_id: str
    amount: int


def decide(command: Open | Add, state: Counter | None) -> list[DomainEvent]:
    if isinstance(command, Open):
        assert state is None
        return [Opened(counter_id=command.counter_id)]
    assert state is not None
    return [Added(counter_id=command.counter_id, amount=command.amount)]


def evolve(state: Counter | None, event: DomainEvent) -> Counter | None:
    if isinstance(event, Opened):
        return Counter(event.counter_id)
    assert state is not None and isinstance(event, Added)
    return Counter(state.id, state.total + event.amount)


DECIDER: Decider[Open | Add, Counter] = Decider(
    name="counter", catalog=catalog, stream=lambda c: f"counter-{c.counter_id}", decide=decide, evolve=evolve
)
# Whether the kernel's handler can be told a command's stream is brand new (not read before the append).
NEW_STREAM: dict[str, Any] = (
    {"new_stream": True} if "new_stream" in inspect.signature(CommandHandler.handle).parameters else {}
)
CALLER = Caller(user_id="bench", roles=frozenset({"administrator"}), groups=frozenset())


# -- measurement -------------------------------------------------------------------------------------


@dataclass
class Phase:
    """One side, one kind, one concurrency."""

    side: str
    kind: str
    workers: int
    commands: int
    seconds: float
    cpu_s_per_command: float
    """Process CPU (every thread) over the whole phase, warm-up included, per completed command."""
    stored: int
    expected: int

    @property
    def cps(self) -> float:
        return self.commands / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_command(self) -> float:
        return self.cpu_s_per_command * 1000

    @property
    def valid(self) -> bool:
        return self.stored == self.expected


class Window:
    """Warm-up, then a measured window; counts what completes inside it."""

    def __init__(self, warmup: float, seconds: float) -> None:
        now = time.perf_counter()
        self.begin, self.end = now + warmup, now + warmup + seconds
        self.counted = 0
        self._lock = threading.Lock()

    def open(self) -> bool:
        """Whether to start another command."""
        return time.perf_counter() < self.end

    def done(self) -> None:
        """A command completed now."""
        now = time.perf_counter()
        if self.begin <= now <= self.end:
            with self._lock:
                self.counted += 1


async def kernel_phase(path: Path, kind: str, workers: int, warmup: float, seconds: float) -> Phase:
    store = await SqliteEventStore.open(path)
    handler: CommandHandler[Open | Add, Counter] = CommandHandler(store, DECIDER)
    completed = 0
    try:
        pools = [[uuid.uuid4().hex for _ in range(COUNTERS_PER_WORKER)] for _ in range(workers)]
        if kind == "existing":
            for ids in pools:
                for cid in ids:
                    await handler.handle(Open(cid), CALLER)
        window, cpu0 = Window(warmup, seconds), time.process_time()

        async def worker(ids: list[str]) -> None:
            nonlocal completed
            i = 0
            while window.open():
                if kind == "new":
                    # A new record's id made here at random, as a registration does: the handler may
                    # skip reading its stream where it supports it (the append still expects none).
                    await handler.handle(Open(uuid.uuid4().hex), CALLER, **NEW_STREAM)
                else:
                    await handler.handle(Add(ids[i % len(ids)], 1), CALLER)
                completed += 1
                window.done()
                i += 1

        await asyncio.gather(*(worker(ids) for ids in pools))
        cpu = (time.process_time() - cpu0) / max(completed, 1)
    finally:
        await store.close()
    seeded = workers * COUNTERS_PER_WORKER if kind == "existing" else 0
    return Phase("kernel", kind, workers, window.counted, seconds, cpu, count(path, "events"), completed + seeded)


@functools.cache
def es_application() -> type[Any]:
    """The eventsourcing side's application class (defined once: the library registers its topics)."""
    from eventsourcing.application import Application
    from eventsourcing.domain import Aggregate, event

    class EsCounter(Aggregate):
        @event("Opened")
        def __init__(self) -> None:
            self.total = 0

        @event("Added")
        def add(self, amount: int) -> None:
            self.total += amount

    class Counters(Application[uuid.UUID]):
        def open(self) -> uuid.UUID:
            counter = EsCounter()
            self.save(counter)
            return counter.id

        def add(self, counter_id: uuid.UUID, amount: int) -> None:
            counter: EsCounter = self.repository.get(counter_id)
            counter.add(amount)
            self.save(counter)

    return Counters


def es_phase(path: Path, kind: str, workers: int, warmup: float, seconds: float) -> Phase:
    Counters = es_application()
    app = Counters(
        env={
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(path),
        }
    )
    completed = 0
    lock = threading.Lock()
    try:
        pools = [[app.open() for _ in range(COUNTERS_PER_WORKER)] if kind == "existing" else [] for _ in range(workers)]
        window, cpu0 = Window(warmup, seconds), time.process_time()

        def worker(ids: list[uuid.UUID]) -> None:
            nonlocal completed
            i = 0
            while window.open():
                if kind == "new":
                    app.open()
                else:
                    app.add(ids[i % len(ids)], 1)
                with lock:
                    completed += 1
                window.done()
                i += 1

        if workers == 1:
            worker(pools[0])
        else:
            with ThreadPoolExecutor(max_workers=workers) as threads:
                for future in [threads.submit(worker, ids) for ids in pools]:
                    future.result()
        cpu = (time.process_time() - cpu0) / max(completed, 1)
    finally:
        app.close()
    seeded = workers * COUNTERS_PER_WORKER if kind == "existing" else 0
    return Phase("eventsourcing", kind, workers, window.counted, seconds, cpu, count(path), completed + seeded)


def count(path: Path, table: str | None = None) -> int:
    """Stored events (eventsourcing: its one ``*_events`` table)."""
    conn = sqlite3.connect(path)
    try:
        if table is None:
            names = [
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name LIKE '%events'")
            ]
            assert len(names) == 1, names
            table = names[0]
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


def es_synchronous(path: Path) -> str:
    """The ``synchronous`` setting eventsourcing's connections get (it sets none: SQLite's default)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        value = int(conn.execute("PRAGMA synchronous").fetchone()[0])
    finally:
        conn.close()
    return {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(value, str(value))


def line(p: Phase) -> str:
    return (
        f"  {p.side:<13} {p.kind:<8} x{p.workers:<3} {p.cps:>8,.0f} commands/s"
        f"   cpu {p.cpu_ms_per_command:5.2f} ms/command   stored {p.stored:,} of {p.expected:,}"
        f" -> {'OK' if p.valid else 'INVALID'}"
    )


async def main_async(args: argparse.Namespace, workdir: Path) -> int:
    try:
        import eventsourcing  # noqa: F401
    except ImportError:
        print("P0 ERROR the eventsourcing library is missing: run it as `uv run --group bench python -m bench`")
        return 1
    from importlib.metadata import version

    sync = es_synchronous(workdir / "probe.db")
    print(
        f"P0 one-event commands in-process: kernel CommandHandler + SqliteEventStore (synchronous=FULL, group"
        f" commit) vs eventsourcing {version('eventsourcing')} Application.save on eventsourcing.sqlite"
        f" (synchronous={sync}); new streams {'not read (new_stream=True)' if NEW_STREAM else 'read first'};"
        f" warm-up {args.warmup:g} s + {args.seconds:g} s per phase; loop={loop_name()};"
        f" SQLite {sqlite3.sqlite_version}",
        flush=True,
    )
    phases: list[Phase] = []
    loop = asyncio.get_running_loop()
    n = 0
    for kind in KINDS:
        for workers in (1, args.concurrency):
            # eventsourcing first, then the kernel, each on a fresh database: alternating keeps them close.
            n += 1
            es_path = workdir / f"es-{n}.db"
            es = await loop.run_in_executor(None, es_phase, es_path, kind, workers, args.warmup, args.seconds)
            print(line(es), flush=True)
            kernel = await kernel_phase(workdir / f"kernel-{n}.db", kind, workers, args.warmup, args.seconds)
            print(line(kernel), flush=True)
            phases += [es, kernel]
    return report(phases, args.concurrency, sync)


def report(phases: Sequence[Phase], concurrency: int, sync: str) -> int:
    by = {(p.side, p.kind, p.workers): p for p in phases}
    fields: dict[str, float | int | str] = {}
    ratios: dict[tuple[str, int], float] = {}
    for kind in KINDS:
        for workers in (1, concurrency):
            kernel, es = by[("kernel", kind, workers)], by[("eventsourcing", kind, workers)]
            ratios[(kind, workers)] = kernel.cps / es.cps if es.cps else float("inf")
    headline = ratios[("new", concurrency)]
    fields["ratio"] = round(headline, 2)
    for kind in KINDS:
        for workers in (1, concurrency):
            tag = f"{kind}_{'serial' if workers == 1 else f'c{workers}'}"
            kernel, es = by[("kernel", kind, workers)], by[("eventsourcing", kind, workers)]
            fields[f"{tag}_ratio"] = round(ratios[(kind, workers)], 2)
            fields[f"kernel_{tag}_cps"] = round(kernel.cps)
            fields[f"es_{tag}_cps"] = round(es.cps)
            fields[f"kernel_{tag}_cpu_ms"] = round(kernel.cpu_ms_per_command, 3)
            fields[f"es_{tag}_cpu_ms"] = round(es.cpu_ms_per_command, 3)
    fields["es_synchronous"] = sync
    fields["target_concurrent_ratio"] = TARGET_CONCURRENT
    fields["target_serial_ratio"] = TARGET_SERIAL
    missed = [
        f"{kind} {'serial' if workers == 1 else f'x{workers}'} {ratio:.2f}×"
        for (kind, workers), ratio in ratios.items()
        if ratio < (TARGET_SERIAL if workers == 1 else TARGET_CONCURRENT)
    ]
    if missed:
        print(f"  missed: {', '.join(missed)}")
    c_new, c_old = by[("kernel", "new", concurrency)], by[("kernel", "existing", concurrency)]
    measured = f"{c_new.cps:,.0f} new / {c_old.cps:,.0f} existing cmd/s at x{concurrency}"
    target = f"≥ {TARGET_CONCURRENT}× eventsourcing at x{concurrency}, ≥ {TARGET_SERIAL}× serial"
    valid = all(p.valid for p in phases)
    verdict: Verdict = "INVALID" if not valid else "MISS" if missed else "PASS"
    emit(Result("P0", measured, target, headline, verdict, fields, missed))
    return 0 if valid else 2


def main(argv: list[str] | None = None) -> int:
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(prog="python -m bench.p0_command_handler", description=doc.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 s measured per phase after 0.3 s of warm-up")
    parser.add_argument("--seconds", type=float, default=None, help="measured seconds per phase (default 5)")
    parser.add_argument("--warmup", type=float, default=None, help="warm-up seconds per phase (default 1)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--keep", type=Path, default=None, help="work in this new directory and keep it")
    args = parser.parse_args(argv)
    args.seconds = args.seconds or (1.0 if args.quick else 5.0)
    args.warmup = args.warmup if args.warmup is not None else (0.3 if args.quick else 1.0)
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=False)
        return run_on_loop(main_async(args, args.keep))
    workdir = Path(tempfile.mkdtemp(prefix="crm-bench-p0-"))
    try:
        return run_on_loop(main_async(args, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
