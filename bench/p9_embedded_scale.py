"""P9: the whole embedded CRM holding 1,000,000 counterparties: memory, start time, search latency.

1. **build** (timed, not a target): a fresh data folder; the contacts service on embedded defaults
   (``contacts.build``, reference data seeded as on a first start) gets N counterparties through the
   kernel's bulk ``append_many`` in batches: per counterparty the events its registration decides
   (``cp.decide`` of a ``RegisterCounterparty`` with a name, a tax id, a phone and an e-mail, the
   contact entries normalised by the service's own rules: ``CounterpartyRegistered`` and
   ``ContactInformationChanged``) and its tax-id reservation; then every contacts view is built from
   the event log as a first start does (``catch_up_views``: the projection rebuild), and the relay's
   checkpoint is put at the head of the log, as on a system that has published them long ago (the
   bus holds none of these events, and the interactions service's local copy of the counterparties
   stays empty: it is fed from the bus).
2. **start**: ``crm up --data-dir <folder>`` (``python -m crm.cli up``, the whole CRM: gateway,
   contacts, interactions, relays, projectors) in a subprocess, timed from the spawn until
   ``GET /health`` answers 200; twice (the first start on this folder, then a restart).
3. **search**: through the HTTP API (``GET /api/v1/counterparties?q=…``, behind the gateway, with an
   API key of the initial administrator: every request pays key resolution, the signed caller, the
   route and the query layer), one client, keep-alive, requests one after the other: name prefixes
   (3-5 letters of a word of the names), tax ids, phones as typed (``0…``) and e-mails of stored
   counterparties; p50/p99 each after a short warm-up; every exact search must find its counterparty.
4. **memory**: the resident set of the ``crm up`` process (and any children) when ready and after the
   searches, and its peak (``VmHWM``).

Targets (QUALITY.md P9 and issue 11): RSS ≤ 2 GB, ready ≤ 10 s, search p99 ≤ 10 ms for each kind. No
baseline: the ratio column is empty. The OS page cache is warm after the build (it just wrote the
files): a cold start from disk would be slower. The last line is machine-readable, e.g.
``P9 counterparties=1000000 rss_mb=412 ready_s=4.1 restart_s=3.9 name_p99_ms=6.2 ... PASS``.

    uv run python -m bench.p9_embedded_scale [--counterparties N] [--quick] [--searches N] [--keep DIR [--reuse]]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.loop import loop_name
from bench.loop import run as run_on_loop
from bench.p1_command_path import ROOT, Auth, _free_port
from bench.proc import tree_cpu_seconds, tree_rss_kb
from bench.result import Result, Verdict, emit
from crm_contacts import bootstrap as contacts
from crm_contacts.application.counterparties.validation import RawContact
from crm_contacts.domain import counterparty as cp
from crm_shared.adapters import open_bus
from crm_shared.eventstore import NO_STREAM, NewEvent
from crm_shared.settings import KernelSettings

TARGET_RSS_MB = 2048.0
TARGET_READY_S = 10.0
TARGET_P99_MS = 10.0
BATCH = 2000
KINDS = ("name", "tax_id", "phone", "email")
LATIN = ("al", "ba", "ce", "do", "er", "fi", "ga", "ho", "in", "ju", "ka", "lo", "ma", "no", "or", "pe", "ra", "si")
CYRILLIC = ("ал", "бо", "ве", "гр", "да", "ек", "жи", "за", "ин", "ко", "ла", "ми", "но", "оп", "ра", "св", "те")
LEGAL = ("ООД", "ЕООД", "АД", "Ltd", "GmbH", "SA")


def vocabulary(rng: random.Random, size: int = 1500) -> list[str]:
    """Words the names are made of (Latin and Cyrillic, capitalised, distinct)."""
    words: set[str] = set()
    while len(words) < size:
        syllables = CYRILLIC if rng.random() < 0.5 else LATIN
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))).capitalize())
    return sorted(words)


@dataclass(frozen=True)
class Row:
    """One generated counterparty."""

    name: str
    tax_id: str
    phone: str
    """As a person types it in Bulgaria: ``088…``."""
    email: str


def row(i: int, n: int, words: list[str]) -> Row:
    """The i-th counterparty of n; tax ids, phones and e-mails are distinct and in no order."""
    spread = (i * 2_654_435_761) % max(n, 1)
    w1, w2 = words[(i * 7) % len(words)], words[(i * 13 + i // len(words)) % len(words)]
    return Row(
        name=f"{w1} {w2} {LEGAL[i % len(LEGAL)]}",
        tax_id=f"{100_000_000 + spread:09d}",
        phone=f"088{spread:07d}",
        email=f"office{spread}@{LATIN[i % len(LATIN)]}{i % 997}.example.com"
        if i % 2
        else f"sales.{spread}@firm{i % 997}.bg",
    )


# -- build -------------------------------------------------------------------------------------------


@dataclass
class Built:
    counterparties: int
    events: int
    append_s: float
    views_s: float
    size_mb: float


async def build(data_dir: Path, n: int, words: list[str]) -> Built:
    """The data set: events through append_many, then the views rebuilt from the log."""
    settings = KernelSettings(data_dir=data_dir)
    service = await contacts.build(settings)
    bus = await open_bus(settings, "crm")
    try:
        await service.seed()
        metadata = {"actor": "bench-p9"}
        now = datetime.now(UTC)
        started = time.perf_counter()
        last_report = started
        for start in range(0, n, BATCH):
            items: list[tuple[str, list[NewEvent], Any]] = []
            for i in range(start, min(start + BATCH, n)):
                r = row(i, n, words)
                entries = await service.rules.contact_entries(
                    [RawContact("phone", r.phone, main=True), RawContact("email", r.email, main=True)]
                )
                cid = f"p9-{i:08d}"
                command = cp.RegisterCounterparty(
                    counterparty_id=cid,
                    name=r.name,
                    relations=("buyer",) if i % 3 else ("supplier",),
                    tax_id=r.tax_id,
                    main_manager=f"user-{i % 40}",
                    now=now,
                    contact_info=entries,
                )
                events = [cp.catalog.encode(e, metadata=metadata) for e in cp.decide(command, None)]
                items.append((cp.stream_of(cid), events, NO_STREAM))
                reserved = cp.TaxIdReserved(tax_id=cp.normalise_tax_id(r.tax_id), counterparty_id=cid)
                items.append((cp.tax_id_stream(r.tax_id), [cp.catalog.encode(reserved, metadata=metadata)], NO_STREAM))
            await service.store.append_many(items)
            if time.perf_counter() - last_report > 15:
                last_report = time.perf_counter()
                done = min(start + BATCH, n)
                print(f"  ... {done:,}/{n:,} counterparties appended ({done / (last_report - started):,.0f}/s)")
        append_s = time.perf_counter() - started
        head = await service.store.head_position()
        print(f"  build     {n:,} counterparties = {head:,} events appended in {append_s:.1f} s", flush=True)
        started = time.perf_counter()
        await service.catch_up_views()
        views_s = time.perf_counter() - started
        relay = service.relay(bus)
        await service.views.apply([], checkpoint=(relay.checkpoint_name, head))
        print(f"  build     views rebuilt from the log in {views_s:.1f} s; relay checkpoint at {head:,}", flush=True)
    finally:
        await service.close()
        await bus.stop()
    return Built(n, head, append_s, views_s, await asyncio.to_thread(folder_mb, data_dir))


def folder_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


# -- the running CRM ---------------------------------------------------------------------------------


class Crm:
    """``crm up`` in a subprocess."""

    def __init__(self, data_dir: Path, log: Path, auth: Auth) -> None:
        self.data_dir, self.log, self.auth = data_dir, log, auth
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.start_cpu_s = 0.0
        """CPU the process used until it was ready."""

    def start(self, timeout: float = 120.0) -> float:
        """Seconds from the spawn until /health answers 200."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
        env.update(self.auth.env())
        command = [sys.executable, "-m", "crm.cli", "up", "--data-dir", str(self.data_dir), "--port", str(self.port)]
        started = time.perf_counter()
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        while time.perf_counter() - started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"crm up exited with {self.process.returncode}; see {self.log}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                try:
                    conn.request("GET", "/health")
                    if conn.getresponse().status == 200:
                        elapsed = time.perf_counter() - started
                        self.start_cpu_s = self.cpu_seconds()
                        return elapsed
                finally:
                    conn.close()
            time.sleep(0.02)
        raise RuntimeError(f"crm up not ready after {timeout:.0f} s; see {self.log}")

    def cpu_seconds(self) -> float:
        """User + system CPU of the crm up process tree so far (steadier than wall time on a busy machine)."""
        assert self.process is not None
        return tree_cpu_seconds(self.process.pid)

    def rss_mb(self) -> tuple[float, float]:
        assert self.process is not None
        rss, peak = tree_rss_kb(self.process.pid)
        return rss / 1024, peak / 1024

    def stop(self, timeout: float = 60.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def searches(crm: Crm, n: int, words: list[str], count: int, warmup: int, rng: random.Random) -> dict[str, Any]:
    """p50/p99 per kind through the HTTP API, one client, one request after the other."""
    header = crm.auth.line().decode().strip()
    name, _, value = header.partition(": ")
    headers = {name: value, "Accept": "application/json"}
    conn = http.client.HTTPConnection("127.0.0.1", crm.port, timeout=30)
    plan: list[tuple[str, str, str | None]] = []
    for kind in KINDS:  # one kind after the other, so the server's CPU per search of each kind is known
        for _ in range(warmup + count):
            i = rng.randrange(n)
            r = row(i, n, words)
            if kind == "name":
                word = rng.choice(words)
                plan.append((kind, word[: rng.randint(3, min(5, len(word)))], None))
            else:
                plan.append((kind, getattr(r, kind), f"p9-{i:08d}"))
    timings: dict[str, list[float]] = {k: [] for k in KINDS}
    hits: dict[str, int] = dict.fromkeys(KINDS, 0)
    cpu: dict[str, float] = dict.fromkeys(KINDS, 0.0)
    wrong: list[str] = []
    try:
        for number, (kind, q, expected) in enumerate(plan):
            measured = number % (warmup + count) >= warmup
            if number % (warmup + count) == warmup:
                cpu[kind] = -crm.cpu_seconds()
            path = "/api/v1/counterparties?" + urllib.parse.urlencode({"q": q, "limit": 20})
            started = time.perf_counter()
            conn.request("GET", path, headers=headers)
            answer = conn.getresponse()
            body = answer.read()
            elapsed = time.perf_counter() - started
            if answer.status != 200:
                wrong.append(f"{kind} {q!r}: HTTP {answer.status} {body[:200]!r}")
                continue
            items = json.loads(body)["items"]
            found = bool(items) if expected is None else any(item.get("id") == expected for item in items)
            if not found:
                wrong.append(f"{kind} {q!r}: {len(items)} items, not {expected}")
            if measured:
                timings[kind].append(elapsed * 1000)
                hits[kind] += int(found)
            if number % (warmup + count) == warmup + count - 1:
                cpu[kind] = (cpu[kind] + crm.cpu_seconds()) * 1000 / max(count, 1)
    finally:
        conn.close()
    return {"timings": timings, "hits": hits, "wrong": wrong, "cpu_ms": cpu}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def main_async(args: argparse.Namespace, workdir: Path) -> int:
    n = args.counterparties
    rng = random.Random(9)
    words = vocabulary(random.Random(90))
    data_dir = workdir / "var"
    print(
        f"P9 the embedded CRM holding {n:,} counterparties: build (append_many + view rebuild), crm up ready"
        f" time, RSS, search latency through the HTTP API; loop={loop_name()}",
        flush=True,
    )
    if args.reuse and (data_dir / "contacts" / "events.db").exists():
        print(f"  build     reusing the data folder {data_dir} of an earlier --keep run (not rebuilt)", flush=True)
        built = Built(n, 0, float("nan"), float("nan"), await asyncio.to_thread(folder_mb, data_dir))
    else:
        built = await build(data_dir, n, words)
    print(f"  build     data folder {built.size_mb:,.0f} MB", flush=True)
    auth = Auth()
    # The initial administrator is created on the first start with this password; a --reuse run signs
    # in with the one kept beside the data.
    saved = workdir / "admin-password"
    if args.reuse and saved.exists():
        auth.admin_password = saved.read_text().strip()
    else:
        saved.write_text(auth.admin_password)
    crm = Crm(data_dir, workdir / "crm.log", auth)
    ready: list[float] = []
    ready_cpu: list[float] = []
    try:
        ready.append(await asyncio.to_thread(crm.start))
        ready_cpu.append(crm.start_cpu_s)
        auth.prepare(crm.port)
        crm.stop()
        crm = Crm(data_dir, workdir / "crm.log", auth)
        ready.append(await asyncio.to_thread(crm.start))
        ready_cpu.append(crm.start_cpu_s)
        rss_ready, _ = crm.rss_mb()
        print(
            f"  start     crm up ready in {ready[0]:.2f} s"
            f" ({'a start' if args.reuse else 'first start on this folder'}),"
            f" {ready[1]:.2f} s (restart);"
            f" using {ready_cpu[0]:.1f} s and {ready_cpu[1]:.1f} s of CPU; RSS {rss_ready:,.0f} MB when ready",
            flush=True,
        )
        found = await asyncio.to_thread(searches, crm, n, words, args.searches, args.warmup, rng)
        rss_after, peak = crm.rss_mb()
    except RuntimeError as exc:
        tail = (workdir / "crm.log").read_text(errors="replace").splitlines()[-20:]
        print(f"P9 ERROR {exc}", *tail, sep="\n  ", flush=True)
        return 1
    finally:
        crm.stop()
    timings: dict[str, list[float]] = found["timings"]
    for kind in KINDS:
        values = timings[kind]
        print(
            f"  search    {kind:<7} p50 {pct(values, 0.5):6.2f} ms  p99 {pct(values, 0.99):6.2f} ms"
            f"  max {max(values, default=float('nan')):6.2f} ms  ({found['hits'][kind]}/{len(values)} found;"
            f" server CPU {found['cpu_ms'][kind]:.2f} ms per search)"
        )
    print(f"  memory    RSS {rss_after:,.0f} MB after the searches, peak {peak:,.0f} MB (VmHWM)", flush=True)
    wrong: list[str] = found["wrong"]
    for text in wrong[:5]:
        print(f"  check     {text}")
    fields: dict[str, float | int | str] = {
        "counterparties": n,
        "rss_mb": round(max(rss_ready, rss_after)),
        "peak_rss_mb": round(peak),
        "ready_s": round(ready[0], 2),
        "restart_s": round(ready[1], 2),
        "ready_cpu_s": round(ready_cpu[0], 2),
        "restart_cpu_s": round(ready_cpu[1], 2),
    }
    for kind in KINDS:
        fields[f"{kind}_p50_ms"] = round(pct(timings[kind], 0.5), 2)
        fields[f"{kind}_p99_ms"] = round(pct(timings[kind], 0.99), 2)
        fields[f"{kind}_cpu_ms"] = round(found["cpu_ms"][kind], 2)
    fields |= {
        "build_append_s": round(built.append_s, 1),
        "build_views_s": round(built.views_s, 1),
        "events": built.events,
        "data_mb": round(built.size_mb),
        "not_found": len(wrong),
        "target_rss_mb": TARGET_RSS_MB,
        "target_ready_s": TARGET_READY_S,
        "target_p99_ms": TARGET_P99_MS,
        "load_avg": round(os.getloadavg()[0], 1),
    }
    missed = []
    if max(rss_ready, rss_after, peak) > TARGET_RSS_MB:
        missed.append(f"RSS {max(rss_ready, rss_after, peak):,.0f} MB")
    if max(ready) > TARGET_READY_S:
        missed.append(f"ready {max(ready):.1f} s")
    missed += [f"{k} p99 {pct(timings[k], 0.99):.1f} ms" for k in KINDS if pct(timings[k], 0.99) > TARGET_P99_MS]
    if missed:
        print(f"  missed: {', '.join(missed)}")
    worst = max(KINDS, key=lambda k: pct(timings[k], 0.99))
    measured = (
        f"{n:,} cps: RSS {max(rss_ready, rss_after):,.0f} MB, ready {max(ready):.1f} s,"
        f" worst p99 {pct(timings[worst], 0.99):.1f} ms ({worst})"
    )
    target = f"RSS ≤ {TARGET_RSS_MB:,.0f} MB, ready ≤ {TARGET_READY_S:.0f} s, search p99 ≤ {TARGET_P99_MS:.0f} ms"
    verdict: Verdict = "INVALID" if wrong else "MISS" if missed else "PASS"
    emit(Result("P9", measured, target, None, verdict, fields, missed))
    return 2 if wrong else 0


def main(argv: list[str] | None = None) -> int:
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(prog="python -m bench.p9_embedded_scale", description=doc.split("\n")[0])
    parser.add_argument("--counterparties", type=int, default=None, help="default 1,000,000; --quick 10,000")
    parser.add_argument("--quick", action="store_true", help="10,000 counterparties, 50 searches of each kind")
    parser.add_argument("--searches", type=int, default=None, help="measured searches of each kind (default 300)")
    parser.add_argument("--warmup", type=int, default=10, help="searches of each kind before measuring")
    parser.add_argument("--keep", type=Path, default=None, help="work in this new directory and keep it")
    parser.add_argument(
        "--reuse", action="store_true", help="with --keep DIR of an earlier run of the same size: use its data as it is"
    )
    args = parser.parse_args(argv)
    args.counterparties = args.counterparties or (10_000 if args.quick else 1_000_000)
    args.searches = args.searches or (50 if args.quick else 300)
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=args.reuse)
        return run_on_loop(main_async(args, args.keep))
    workdir = Path(tempfile.mkdtemp(prefix="crm-bench-p9-"))
    try:
        return run_on_loop(main_async(args, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
