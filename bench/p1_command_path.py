"""P1: HTTP command -> event stored, 32 concurrent clients, against a bare FastAPI + SQLite baseline.

Both servers run in their own uvicorn subprocess with the same settings (1 worker, ``loop=auto`` and
``http=auto``, i.e. uvloop and httptools when installed, access log off):

- crm: ``crm up --data-dir <tmp>`` (the whole embedded CRM: command handling, event store, relay,
  projector), driven with ``POST /api/v1/counterparties``;
- baseline: :func:`baseline_app`, a bare FastAPI app whose one POST endpoint validates the same body
  and does one SQLite INSERT with the same durability (WAL, ``synchronous=FULL``, one commit per
  request) on a dedicated writer thread, so the event loop never blocks.

The load comes from this process: asyncio (uvloop when installed) with keep-alive connections, one
per client. The default client writes pre-built HTTP/1.1 requests on raw asyncio streams because
client and servers share two cores and httpx costs several times more CPU per request
(``--client httpx`` to compare). Every request registers a distinct counterparty. After the run the
stored rows are counted: each side must have stored exactly as many events as it answered 201.

The last line is machine-readable, e.g.
``P1 ratio=0.93 crm_rps=1432 baseline_rps=1540 crm_p99_ms=21.0 baseline_p99_ms=18.2 target_ratio=0.7 PASS``.

    uv run python -m bench.p1_command_path [--quick] [--duration S] [--warmup S] [--clients N]
        [--rounds N] [--client raw|httpx] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

import orjson
from fastapi import FastAPI, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from bench.loop import loop_name
from bench.loop import run as run_on_loop
from bench.proc import tree_cpu_seconds
from bench.result import Result, emit, fields_of

TARGET_RPS = 1500.0
TARGET_P99_MS = 25.0
TARGET_RATIO = 0.7
BASELINE_DB_ENV = "CRM_BENCH_BASELINE_DB"
PATH = "/api/v1/counterparties"
ROOT = Path(__file__).resolve().parent.parent


# -- the baseline server -----------------------------------------------------------------------

_BASELINE_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    position    INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id    TEXT    NOT NULL UNIQUE,
    stream      TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    type        TEXT    NOT NULL,
    data        BLOB    NOT NULL,
    metadata    BLOB    NOT NULL,
    recorded_at TEXT    NOT NULL,
    UNIQUE (stream, version)
);
"""


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    relations: Annotated[list[Literal["buyer", "supplier", "other"]], Field(min_length=1, max_length=3)]
    tax_id: (
        Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9 -]{1,31}$")] | None
    ) = None
    main_manager: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class _Out(BaseModel):
    id: str
    name: str
    relations: list[str]
    tax_id: str | None
    main_manager: str
    registered_at: datetime
    position: int


def baseline_app() -> FastAPI:
    """A bare, competent FastAPI + SQLite endpoint: validate, one INSERT, one durable commit.

    The path of the database comes from ``CRM_BENCH_BASELINE_DB`` (uvicorn ``--factory``). One
    writer thread owns the connection: SQLite serialises writers anyway, and a single thread avoids
    lock contention; the event loop only awaits it.
    """
    path = os.environ[BASELINE_DB_ENV]
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="baseline-writer")
    connection: list[sqlite3.Connection] = []

    def open_db() -> None:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.executescript(_BASELINE_SCHEMA)
        connection.append(conn)

    def insert(row: tuple[str, str, int, str, bytes, bytes, str]) -> int:
        # Autocommit mode: the INSERT is its own transaction, committed (and fsynced) before it returns.
        cursor = connection[0].execute(
            "INSERT INTO events (event_id, stream, version, type, data, metadata, recorded_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            row,
        )
        return int(cursor.lastrowid or 0)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.get_running_loop().run_in_executor(writer, open_db)
        yield
        await asyncio.get_running_loop().run_in_executor(writer, lambda: connection[0].close())
        writer.shutdown(wait=True)

    app = FastAPI(title="P1 baseline", lifespan=lifespan)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post(PATH, status_code=201, response_model=_Out)
    async def register(body: _Body, response: Response) -> _Out:
        cid = str(uuid.uuid4())
        now = datetime.now(UTC)
        data = orjson.dumps({"counterparty_id": cid, **body.model_dump(), "registered_at": now})
        row = (
            str(uuid.uuid4()),
            f"counterparty-{cid}",
            0,
            "contacts.CounterpartyRegistered",
            data,
            b"{}",
            now.isoformat(),
        )
        position = await asyncio.get_running_loop().run_in_executor(writer, insert, row)
        response.headers["Location"] = f"{PATH}/{cid}"
        return _Out(id=cid, registered_at=now, position=position, **body.model_dump())

    return app


# -- caller identity ---------------------------------------------------------------------------


class Auth:
    """How the CRM's clients prove who they are, the way a real integration would.

    With the gateway (``crm up`` serves it in front of the services), the bench signs in as the
    initial ``admin`` (password set for the run through ``CRM_ADMIN_PASSWORD``), issues an API key
    for itself and sends ``Authorization: Bearer <key>`` with every command: resolving the key and
    signing the caller for the services is part of the CRM's cost. A CRM without the gateway but
    with caller tokens gets a signed caller header instead (secret ``CRM_CALLER_TOKEN_SECRET``); one
    without either gets nothing. The bare baseline has no authentication.
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.secret = secrets.token_hex(32)
        self.admin_password = secrets.token_urlsafe(24)
        self.header = b""
        self.note = "no credentials"
        self._issue: Callable[[], str] | None = None
        self._name = ""
        self._issued_at = 0.0
        self.manager: str | None = None
        """The main manager of the counterparties sent: a user of the CRM's directory (the admin) when
        there is a gateway, which refuses unknown users; else one made up per client."""

    def env(self) -> dict[str, str]:
        """Variables for the CRM's process."""
        return {"CRM_CALLER_TOKEN_SECRET": self.secret, "CRM_ADMIN_PASSWORD": self.admin_password}

    def prepare(self, port: int) -> None:
        """Get credentials from the running CRM (once per data directory)."""
        if not self.enabled or self.header or self._issue is not None:
            return
        import httpx

        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            signed_in = http.post("/api/v1/session", json={"username": "admin", "password": self.admin_password})
            if signed_in.status_code == 200:
                csrf = {"X-CSRF-Token": signed_in.json()["csrf_token"]}
                roles = [r["name"] if isinstance(r, dict) else str(r) for r in signed_in.json()["user"]["roles"]]
                issued = http.post("/api/v1/api-keys", json={"name": "p1-bench", "roles": roles}, headers=csrf)
                if issued.status_code != 201:
                    raise RuntimeError(f"could not issue an API key: {issued.status_code} {issued.text}")
                self.header = f"Authorization: Bearer {issued.json()['key']}\r\n".encode()
                self.manager = str(signed_in.json()["user"]["id"])
                self.note = f"gateway API key (roles {', '.join(roles)}) in Authorization: Bearer"
                return
        try:
            from crm_shared.identity import CALLER_HEADER, Caller, CallerTokens
        except ImportError:
            self.note = "no credentials (this CRM has neither a gateway nor caller tokens)"
            return
        tokens = CallerTokens(self.secret.encode())
        caller = Caller(user_id="p1-bench", roles=frozenset({"head_of_sales"}), groups=frozenset(), name="P1 bench")
        self._name = CALLER_HEADER
        self._issue = lambda: tokens.issue(caller)
        self.note = f"signed caller token in {CALLER_HEADER} (head_of_sales), no gateway"

    def line(self) -> bytes:
        """The header line(s) to send now."""
        if self._issue is not None and time.monotonic() - self._issued_at > 20:
            self.header = f"{self._name}: {self._issue()}\r\n".encode()
            self._issued_at = time.monotonic()
        return self.header


# -- servers -----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _uvicorn_stack() -> str:
    names = []
    for module, fallback in (("uvloop", "asyncio"), ("httptools", "h11")):
        try:
            __import__(module)
            names.append(module)
        except ImportError:
            names.append(fallback)
    return f"loop={names[0]} http={names[1]}"


@dataclass
class Server:
    """One server subprocess."""

    label: str
    command: list[str]
    env: dict[str, str]
    log: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.label} server exited with {self.process.returncode}; see {self.log}")
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=1) as answer,
            ):
                if answer.status == 200:
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.label} server not ready after {timeout:.0f} s; see {self.log}")

    def cpu_seconds(self) -> float:
        """User + system CPU of the server process (all its threads) and its children so far."""
        assert self.process is not None
        return tree_cpu_seconds(self.process.pid)

    def settle(self, idle: float = 0.1, window: float = 0.5, timeout: float = 15.0) -> float:
        """Wait until the server uses less than ``idle`` of a core over ``window`` seconds (its start-up
        work done: e.g. ``crm up`` opens the analytics store in a thread after ``/health`` answers, ~2 s
        of CPU, which a short warm-up would count against the commands); returns the seconds waited."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            before = self.cpu_seconds()
            time.sleep(window)
            if self.cpu_seconds() - before < idle * window:
                break
        return time.monotonic() - started

    def stop(self, timeout: float = 60.0) -> None:
        """Graceful stop (SIGINT: uvicorn runs the lifespan shutdown, which closes the stores)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise RuntimeError(f"{self.label} server did not stop in {timeout:.0f} s; killed") from None


def crm_server(data_dir: Path, log: Path, auth: Auth, *, one_process: bool = False) -> Server:
    port = _free_port()
    # Embedded defaults: no CRM_* variable may point the adapters elsewhere.
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env.update(auth.env())
    command = [sys.executable, "-m", "crm.cli", "up", "--data-dir", str(data_dir), "--port", str(port)]
    return Server("crm", [*command, "--one-process"] if one_process else command, env, log, port)


def baseline_server(db: Path, log: Path) -> Server:
    port = _free_port()
    env = {**os.environ, BASELINE_DB_ENV: str(db)}
    # The same uvicorn settings as `crm up` (crm.cli._serve): 1 worker, loop/http auto, no access log.
    command = [sys.executable, "-m", "uvicorn", "bench.p1_command_path:baseline_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "info", "--no-access-log"]
    return Server("baseline", command, env, log, port)


# -- load --------------------------------------------------------------------------------------


@dataclass
class Load:
    """Every request of one load phase: (start, end, status); status 0 = no answer (connection lost)."""

    samples: list[tuple[float, float, int]] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    window: tuple[float, float] = (0.0, 0.0)
    client_cpu: float = 0.0
    server_cpu: float = 0.0

    def created(self) -> int:
        return sum(1 for s in self.samples if s[2] == 201)

    def lost(self) -> int:
        return sum(1 for s in self.samples if s[2] == 0)


def _body(side: str, client: int, serial: int, manager: str | None = None) -> bytes:
    return orjson.dumps(
        {
            "name": f"P1 {side} counterparty {client:02d}-{serial:07d}",
            "relations": ["buyer"],
            "main_manager": manager or f"manager-{client:02d}",
        }
    )


def _request(port: int, body: bytes, extra: bytes) -> bytes:
    return (
        (
            f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
        ).encode()
        + extra
        + b"\r\n"
        + body
    )


async def _raw_client(
    port: int, side: str, client: int, stop_at: float, out: list[tuple[float, float, int]], auth: Auth, load: Load
) -> None:
    """Keep-alive HTTP/1.1 over raw asyncio streams: the least client CPU per request."""
    clock = time.perf_counter
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    serial = 0
    try:
        while clock() < stop_at:
            serial += 1
            request = _request(port, _body(side, client, serial, auth.manager), auth.line())
            started = clock()
            try:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                length, close = 0, False
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value)
                    elif name == b"connection" and value.strip().lower() == b"close":
                        close = True
                answer = await reader.readexactly(length) if length else b""
            except (OSError, asyncio.IncompleteReadError):
                out.append((started, clock(), 0))
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            out.append((started, clock(), status))
            if status != 201 and len(load.refusals) < 3:
                load.refusals.append(f"{status} {answer[:300].decode(errors='replace')}")
            if close:
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
    finally:
        writer.close()


def _httpx_clients(
    port: int, clients: int, auth: Auth
) -> tuple[Callable[[str, int, float, list[tuple[float, float, int]]], Awaitable[None]], Callable[[], Awaitable[None]]]:
    import httpx

    http = httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}",
        limits=httpx.Limits(max_connections=clients, max_keepalive_connections=clients),
        timeout=30.0,
    )

    async def one(side: str, client: int, stop_at: float, out: list[tuple[float, float, int]]) -> None:
        clock = time.perf_counter
        serial = 0
        while clock() < stop_at:
            serial += 1
            headers = {"Content-Type": "application/json"}
            name, _, value = auth.line().decode().partition(":")
            if value:
                headers[name] = value.strip()
            content = _body(side, client, serial, auth.manager)
            started = clock()
            try:
                answer = await http.post(PATH, content=content, headers=headers)
                status = answer.status_code
            except httpx.TransportError:
                status = 0
            out.append((started, clock(), status))

    return one, http.aclose


async def drive(
    server: Server, side: str, clients: int, warmup: float, duration: float, kind: str, auth: Auth | None = None
) -> Load:
    """``clients`` closed-loop clients for ``warmup + duration`` seconds; the window is the last ``duration``."""
    load = Load()
    auth = auth or Auth(enabled=False)
    per_client: list[list[tuple[float, float, int]]] = [[] for _ in range(clients)]
    now = time.perf_counter()
    begin, end = now + warmup, now + warmup + duration
    load.window = (begin, end)

    async def measure_cpu() -> None:
        await asyncio.sleep(max(0.0, begin - time.perf_counter()))
        cpu0, server0 = time.process_time(), server.cpu_seconds()
        await asyncio.sleep(max(0.0, end - time.perf_counter()))
        load.client_cpu = (time.process_time() - cpu0) / duration
        load.server_cpu = (server.cpu_seconds() - server0) / duration

    cpu = asyncio.create_task(measure_cpu())
    if kind == "httpx":
        one, close = _httpx_clients(server.port, clients, auth)
        try:
            await asyncio.gather(*(one(side, c, end, per_client[c]) for c in range(clients)))
        finally:
            await close()
    else:
        await asyncio.gather(
            *(_raw_client(server.port, side, c, end, per_client[c], auth, load) for c in range(clients))
        )
    await cpu
    load.samples = [s for samples in per_client for s in samples]
    return load


# -- figures -----------------------------------------------------------------------------------


@dataclass
class Figures:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    client_cpu: float
    server_cpu: float

    @property
    def cpu_ms_per_command(self) -> float:
        """Server CPU (all its threads) per stored command: steadier than commands/s on a busy machine."""
        return self.server_cpu * 1000 / self.rps if self.rps else float("nan")


def figures(loads: list[Load]) -> Figures:
    """Commands/s and latency over the measured windows (requests that ended inside them)."""
    latencies: list[float] = []
    created, errors, seconds = 0, 0, 0.0
    for load in loads:
        begin, end = load.window
        seconds += end - begin
        for started, ended, status in load.samples:
            if begin <= ended <= end:
                if status == 201:
                    created += 1
                    latencies.append((ended - started) * 1000)
                else:
                    errors += 1
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else float("nan")

    return Figures(
        rps=created / seconds,
        p50_ms=pct(0.50),
        p99_ms=pct(0.99),
        errors=errors,
        client_cpu=sum(x.client_cpu for x in loads) / len(loads),
        server_cpu=sum(x.server_cpu for x in loads) / len(loads),
    )


def stored(db: Path) -> int:
    """Counterparty events in an events table (read after the server stopped)."""
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT count(*) FROM events WHERE stream LIKE 'counterparty-%'").fetchone()[0])
    finally:
        conn.close()


def _line(label: str, f: Figures) -> str:
    return (
        f"  {label:<9} {f.rps:>7,.0f} commands/s   p50 {f.p50_ms:6.1f} ms   p99 {f.p99_ms:6.1f} ms   "
        f"non-201 {f.errors}   cpu: server {f.server_cpu:4.0%} ({f.cpu_ms_per_command:.2f} ms/command)"
        f" client {f.client_cpu:4.0%}"
    )


async def run(args: argparse.Namespace, workdir: Path) -> int:
    print(
        f"P1 HTTP command -> event stored: {args.clients} clients, warm-up {args.warmup:g} s + {args.duration:g} s"
        f" measured per side x {args.rounds} round(s), baseline first; client={args.client} on {loop_name()};"
        f" uvicorn 1 worker {_uvicorn_stack()} on both sides",
        flush=True,
    )
    crm_data, baseline_db = workdir / "crm", workdir / "baseline.db"
    auth = Auth()
    loads: dict[str, list[Load]] = {"baseline": [], "crm": []}
    for round_ in range(args.rounds):
        for side in ("baseline", "crm"):
            log = workdir / f"{side}.log"
            server = (
                crm_server(crm_data, log, auth, one_process=args.one_process)
                if side == "crm"
                else baseline_server(baseline_db, log)
            )
            try:
                server.start()
                if side == "crm":
                    auth.prepare(server.port)
                    if round_ == 0:
                        print(f"  crm requests carry credentials: {auth.note}", flush=True)
                print(f"  {side} server idle after {server.settle():.1f} s", flush=True)
            except RuntimeError as exc:
                server.stop()
                tail = log.read_text(errors="replace").splitlines()[-20:] if log.exists() else []
                print(f"P1 ERROR {exc}", *tail, sep="\n  ", flush=True)
                return 1
            try:
                side_auth = auth if side == "crm" else None
                load = await drive(
                    server, f"{side}{round_}", args.clients, args.warmup, args.duration, args.client, side_auth
                )
            finally:
                server.stop()
            loads[side].append(load)
            print(f"  round {round_ + 1} {side}: {figures([load]).rps:,.0f} commands/s", flush=True)
            for refusal in load.refusals:
                print(f"  {side} answered non-201, e.g.: {refusal}", flush=True)

    base, crm = figures(loads["baseline"]), figures(loads["crm"])
    print(_line("baseline", base) + "   (bare FastAPI, 1 SQLite INSERT + commit per request, WAL, synchronous=FULL)")
    print(_line("crm", crm) + "   (crm up, embedded)")

    checks: list[bool] = []
    for side, db in (("baseline", baseline_db), ("crm", crm_data / "contacts" / "events.db")):
        answered = sum(x.created() for x in loads[side])
        lost = sum(x.lost() for x in loads[side])
        rows = stored(db)
        ok = rows == answered and lost == 0
        checks.append(ok)
        print(
            f"  check     {side}: {answered:,} answered 201, {rows:,} events stored, {lost} without answer"
            f" -> {'OK' if ok else 'LOST OR EXTRA WRITES: INVALID'}",
            flush=True,
        )

    ratio = crm.rps / base.rps if base.rps else 0.0
    summary = (
        f"ratio={ratio:.2f} crm_rps={crm.rps:.0f} baseline_rps={base.rps:.0f} crm_p99_ms={crm.p99_ms:.1f}"
        f" baseline_p99_ms={base.p99_ms:.1f} target_ratio={TARGET_RATIO} crm_p50_ms={crm.p50_ms:.1f}"
        f" baseline_p50_ms={base.p50_ms:.1f} target_rps={TARGET_RPS:.0f} target_p99_ms={TARGET_P99_MS:.0f}"
        f" crm_cpu_ms_per_cmd={crm.cpu_ms_per_command:.2f} baseline_cpu_ms_per_cmd={base.cpu_ms_per_command:.2f}"
        f" load_avg={os.getloadavg()[0]:.1f}"
    )
    fields = fields_of(summary)
    measured = f"{crm.rps:,.0f} cmd/s, p99 {crm.p99_ms:.0f} ms (baseline {base.rps:,.0f} cmd/s)"
    target = f"≥ {TARGET_RPS:,.0f} cmd/s, p99 ≤ {TARGET_P99_MS:.0f} ms, ≥ {TARGET_RATIO}× baseline"
    if not all(checks):
        emit(Result("P1", measured, target, ratio, "INVALID", fields))
        return 2
    missed = [
        name
        for name, ok in (
            ("rps", crm.rps >= TARGET_RPS),
            ("p99", crm.p99_ms <= TARGET_P99_MS),
            ("ratio", ratio >= TARGET_RATIO),
        )
        if not ok
    ]
    if missed:
        print(f"  missed: {', '.join(missed)}")
    emit(Result("P1", measured, target, ratio, "MISS" if missed else "PASS", fields, missed))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.p1_command_path", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 s per side after 1 s of warm-up (smoke test)")
    parser.add_argument("--duration", type=float, default=None, help="measured seconds per side (default 15)")
    parser.add_argument("--warmup", type=float, default=None, help="warm-up seconds per side (default 3)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1, help="alternate baseline and crm this many times")
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw")
    parser.add_argument(
        "--one-process", action="store_true", help="crm up --one-process: relays and projectors beside the API"
    )
    parser.add_argument("--keep", type=Path, default=None, help="work (data, server logs) in this new directory")
    args = parser.parse_args(argv)
    args.duration = args.duration or (3.0 if args.quick else 15.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 3.0)
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=False)
        return run_on_loop(run(args, args.keep))
    workdir = Path(tempfile.mkdtemp(prefix="crm-bench-p1-"))
    try:
        return run_on_loop(run(args, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
