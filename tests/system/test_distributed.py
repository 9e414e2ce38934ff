"""Distributed mode: the contacts API, relay and projector as separate processes over real Kafka and
the MongoDB-protocol server, with the fault tests of QUALITY.md (R1, R3, R5).

Every command carries an id and its outcome is recorded as ok, failed or unknown; after each fault
the checker asserts that every ok command is stored exactly once, every unknown one at most once,
and that the read model equals a fresh replay of the log.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from crm_contacts.application.publishing import translate
from crm_contacts.projections.counterparties import COLLECTION, CounterpartiesView
from crm_shared.adapters import open_bus
from crm_shared.directory import directory_messages
from crm_shared.eventstore.sqlite import SqliteEventStore
from crm_shared.identity import CALLER_HEADER, CallerTokens, caller_of
from crm_shared.projections import ProjectionRunner
from crm_shared.readstore import Query
from crm_shared.readstore.mongo import MongoReadStore
from crm_shared.readstore.sqlite import SqliteReadStore
from crm_shared.settings import KernelSettings

pytestmark = [pytest.mark.system, pytest.mark.kafka, pytest.mark.mongo]
SECRET = secrets.token_hex(32)
TOKENS = CallerTokens(SECRET.encode())


def signed_client(base_url: str, timeout: float = 30) -> httpx.AsyncClient:
    """A client acting as an administrator, as the gateway would forward it."""

    async def sign(request: httpx.Request) -> None:
        request.headers[CALLER_HEADER] = TOKENS.issue(caller_of("admin", ["administrator"]))

    return httpx.AsyncClient(base_url=base_url, timeout=timeout, event_hooks={"request": [sign]})


ROOT = Path(__file__).resolve().parents[2]
API = "/api/v1/counterparties"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Role:
    """One service role running as its own OS process."""

    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "crm.cli", "serve", *self.args], env=self.env, stdout=out, stderr=out
            )

    def kill(self) -> None:
        """kill -9: no shutdown code runs."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Outcomes:
    """What each command's client saw."""

    ok: dict[str, str] = field(default_factory=dict)  # idempotency key -> counterparty id
    failed: set[str] = field(default_factory=set)
    unknown: set[str] = field(default_factory=set)
    last_position: int = 0


@dataclass
class Cluster:
    env: dict[str, str]
    data_dir: Path
    mongo_uri: str
    database: str
    api_url: str
    roles: dict[str, Role]

    def log_tails(self, lines: int = 40) -> str:
        return "\n".join(
            f"--- {name} ---\n" + "\n".join(role.log.read_text(errors="replace").splitlines()[-lines:])
            for name, role in self.roles.items()
            if role.log.exists()
        )

    async def wait_projecting(self, timeout: float = 90) -> None:
        """Until a probe write shows up in the view: relay, Kafka groups and projector are all live."""
        async with signed_client(self.api_url) as client:
            deadline = time.monotonic() + timeout
            # The directory's local copy is fed by the projector's consumer group, which takes a
            # while to join on a fresh cluster: until then the probe's manager is not known yet.
            body = {"name": "Проба", "relations": ["other"], "main_manager": "probe"}
            for _ in range(int(timeout * 2)):
                probe = await client.post(API, json=body)
                if probe.status_code != 422:
                    break
                await asyncio.sleep(0.5)
            assert probe.status_code == 201, probe.text
            # The list reads only the view (a read by id would answer from the stream before it).
            probe_id = probe.json()["id"]

            async def in_view() -> bool:
                listed = await client.get(API, params={"q": "Проба", "limit": 500})
                return listed.status_code == 200 and any(i["id"] == probe_id for i in listed.json()["items"])

            while not await in_view():
                if time.monotonic() > deadline:
                    raise AssertionError("the projector did not start:\n" + self.log_tails())
                await asyncio.sleep(0.2)

    async def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.api_url) as client:
            while True:
                try:
                    if (await client.get("/health")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError("contacts API did not become healthy:\n" + self.roles["api"].log.read_text())
                await asyncio.sleep(0.2)


async def send_commands(cluster: Cluster, outcomes: Outcomes, stop: asyncio.Event, pause: float = 0.01) -> None:
    """Register counterparties one after another until told to stop, recording each outcome."""
    async with signed_client(cluster.api_url, timeout=10) as client:
        n = 0
        while not stop.is_set():
            key = f"cmd-{uuid.uuid4()}"
            n += 1
            try:
                response = await client.post(
                    API,
                    json={"name": f"Фирма {n:05d}", "relations": ["buyer"], "main_manager": "ivan"},
                    headers={"Idempotency-Key": key},
                )
            except httpx.TransportError:
                outcomes.unknown.add(key)
            else:
                if response.status_code == 201:
                    outcomes.ok[key] = response.json()["id"]
                    outcomes.last_position = max(outcomes.last_position, int(response.headers["X-Commit-Position"]))
                elif response.status_code >= 500:
                    outcomes.unknown.add(key)
                else:
                    outcomes.failed.add(key)
            await asyncio.sleep(pause)


async def check(cluster: Cluster, outcomes: Outcomes, timeout: float = 90) -> None:
    """The fault checker: exactly-once storage of ok commands, and view == fresh replay of the log."""
    store = await SqliteEventStore.open(cluster.data_dir / "contacts" / "events.db")
    views = await MongoReadStore.open(cluster.mongo_uri, database=cluster.database)
    replay_views = await SqliteReadStore.open(cluster.data_dir / "replay.db")
    try:
        events = await store.read_all(after=0, limit=1_000_000)
        keys = [e.metadata.get("idempotency_key") for e in events]
        for key in outcomes.ok:
            assert keys.count(key) == 1, f"ok command {key} stored {keys.count(key)} times"
        for key in outcomes.unknown:
            assert keys.count(key) <= 1, f"unknown command {key} stored more than once"
        for key in outcomes.failed:
            assert keys.count(key) == 0

        replay = ProjectionRunner(CounterpartiesView(), replay_views, service="contacts")
        await replay.prepare()
        await replay.catch_up(store, translate, after=0)
        expected = await all_documents(replay_views, replay.collection(COLLECTION))
        assert {d["_id"] for d in expected} >= set(outcomes.ok.values())

        collection = replay.collection(COLLECTION)
        deadline = time.monotonic() + timeout
        while True:
            actual = await all_documents(views, collection)
            if actual == expected:
                return
            if time.monotonic() > deadline:
                missing = len({d["_id"] for d in expected} - {d["_id"] for d in actual})
                raise AssertionError(
                    f"view differs from replay: {len(actual)} vs {len(expected)}, {missing} missing\n"
                    + cluster.log_tails()
                )
            await asyncio.sleep(0.5)
    finally:
        await replay_views.close()
        await views.close()
        await store.close()


async def all_documents(store: SqliteReadStore | MongoReadStore, collection: str) -> list[dict[str, object]]:
    docs: list[dict[str, object]] = []
    after = None
    while True:
        page = await store.find(collection, Query(limit=500, after=after))
        docs.extend(page.items)
        if page.next_after is None:
            return docs
        after = page.next_after


def kafka_script(env: dict[str, str], action: str) -> None:
    subprocess.run([str(ROOT / "scripts/servers/kafka.sh"), action], env=env, check=True, timeout=240)


@pytest.fixture
def own_kafka(tmp_path: Path, kafka_bootstrap: str) -> Iterator[dict[str, str]]:
    """A broker of this test's own (the shared one stays up for other tests), on free ports."""
    env = {
        **os.environ,
        "CRM_KAFKA_PORT": str(free_port()),
        "CRM_KAFKA_CONTROLLER_PORT": str(free_port()),
        "CRM_SERVERS_DIR": str(tmp_path / "servers"),
        "CRM_KAFKA_HEAP": "384m",
    }
    kafka_script(env, "start")
    try:
        yield env
    finally:
        kafka_script(env, "stop")


async def make_cluster(tmp_path: Path, bootstrap: str, mongo_uri: str) -> Cluster:
    prefix = f"dist{uuid.uuid4().hex[:10]}"
    data_dir = tmp_path / "var"
    port = free_port()
    env = {
        **os.environ,
        "CRM_DATA_DIR": str(data_dir),
        "CRM_BUS": "kafka",
        "CRM_KAFKA_BOOTSTRAP": bootstrap,
        "CRM_READ_STORE": "mongo",
        "CRM_STATE_STORE": "mongo",
        "CRM_MONGO_URI": mongo_uri,
        "CRM_MONGO_DATABASE_PREFIX": prefix,
        "CRM_BUS_NAMESPACE": prefix,
        "CRM_CALLER_TOKEN_SECRET": SECRET,
    }
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    roles = {
        "api": Role("api", ["contacts-api", "--port", str(port)], env, logs / "api.log"),
        "relay": Role("relay", ["contacts-relay"], env, logs / "relay.log"),
        "projector": Role("projector", ["contacts-projector"], env, logs / "projector.log"),
    }
    cluster = Cluster(env, data_dir, mongo_uri, f"{prefix}_contacts", f"http://127.0.0.1:{port}", roles)
    # No gateway runs here: its directory (the users the tests name, the default group) is published
    # as the gateway would, for the services' local copies.
    bus = await open_bus(
        KernelSettings(data_dir=data_dir, bus="kafka", kafka_bootstrap=bootstrap, bus_namespace=prefix),
        "directory",
        retry_for=60,
    )
    try:
        await bus.publish(directory_messages({"ivan": "Иван", "maria": "Мария", "probe": "Проба"}))
    finally:
        await bus.stop()
    roles["api"].start()
    await cluster.wait_healthy()
    roles["relay"].start()
    roles["projector"].start()
    await cluster.wait_projecting()
    return cluster


@pytest.fixture
async def cluster(tmp_path: Path, kafka_bootstrap: str, mongo_uri: str) -> AsyncIterator[Cluster]:
    started = await make_cluster(tmp_path, kafka_bootstrap, mongo_uri)
    yield started
    for role in started.roles.values():
        role.stop()


async def test_commands_flow_through_kafka_and_mongo_to_queries(cluster: Cluster) -> None:
    async with httpx.AsyncClient(base_url=cluster.api_url) as outsider:
        # The service verifies the caller itself: no token, or a token it did not sign, is refused.
        assert (await outsider.get(API)).status_code == 401
        forged = CallerTokens(secrets.token_bytes(32)).issue(caller_of("admin", ["administrator"]))
        assert (await outsider.get(API, headers={CALLER_HEADER: forged})).status_code == 401
    async with signed_client(cluster.api_url) as client:
        created = []
        for n in range(20):
            response = await client.post(
                API, json={"name": f"Дистрибутор {n:02d}", "relations": ["supplier"], "main_manager": "maria"}
            )
            assert response.status_code == 201, response.text
            created.append(response)
        last = created[-1]
        fetched = await client.get(last.headers["Location"], params={"min_position": last.headers["X-Commit-Position"]})
        assert fetched.status_code == 200, fetched.text
        assert fetched.json()["name"] == "Дистрибутор 19"

        renamed = await client.patch(
            last.headers["Location"], json={"name": "Преименуван"}, headers={"If-Match": '"0"'}
        )
        assert renamed.status_code == 200
        seen = await client.get(API, params={"q": "преим", "min_position": renamed.headers["X-Commit-Position"]})
        assert [c["name"] for c in seen.json()["items"]] == ["Преименуван"]
        listed = await client.get(API, params={"q": "дистрибутор", "limit": 100})
        assert len(listed.json()["items"]) == 19


async def test_projector_killed_mid_stream_resumes_without_doubled_effects(cluster: Cluster) -> None:
    """R3 and R4: kill -9 the projector while events flow; on restart it resumes from its committed
    offsets, redelivered events are absorbed by the per-document guards."""
    outcomes, stop = Outcomes(), asyncio.Event()
    load = asyncio.create_task(send_commands(cluster, outcomes, stop))
    await asyncio.sleep(3)
    cluster.roles["projector"].kill()
    await asyncio.sleep(2)
    cluster.roles["projector"].start()
    await asyncio.sleep(3)
    stop.set()
    await load
    assert len(outcomes.ok) > 20
    await check(cluster, outcomes)


async def test_api_killed_under_load_loses_no_acknowledged_command(cluster: Cluster) -> None:
    """R5: kill -9 of the API under load; every acknowledged command is stored exactly once."""
    outcomes, stop = Outcomes(), asyncio.Event()
    load = asyncio.create_task(send_commands(cluster, outcomes, stop, pause=0))
    await asyncio.sleep(2)
    cluster.roles["api"].kill()
    await asyncio.sleep(0.5)
    cluster.roles["api"].start()
    await cluster.wait_healthy()
    await asyncio.sleep(2)
    stop.set()
    await load
    assert outcomes.ok and outcomes.unknown, "the kill should have interrupted some commands"
    await check(cluster, outcomes)


async def test_kafka_down_then_restarted_loses_and_doubles_nothing(
    tmp_path: Path, own_kafka: dict[str, str], mongo_uri: str
) -> None:
    """R1: Kafka stopped while commands keep arriving, then restarted: commands keep succeeding (the
    event store is the outbox) and every event reaches the read model exactly once."""
    bootstrap = f"127.0.0.1:{own_kafka['CRM_KAFKA_PORT']}"
    cluster = await make_cluster(tmp_path, bootstrap, mongo_uri)
    try:
        outcomes, stop = Outcomes(), asyncio.Event()
        load = asyncio.create_task(send_commands(cluster, outcomes, stop))
        await asyncio.sleep(3)
        before = len(outcomes.ok)
        await asyncio.to_thread(kafka_script, own_kafka, "stop")
        await asyncio.sleep(4)
        during = len(outcomes.ok) - before
        await asyncio.to_thread(kafka_script, own_kafka, "start")
        await asyncio.sleep(3)
        stop.set()
        await load
        assert during > 10, "commands must keep succeeding while Kafka is down"
        assert not outcomes.failed and not outcomes.unknown
        await check(cluster, outcomes, timeout=120)
    finally:
        for role in cluster.roles.values():
            role.stop()
