"""The one place where settings turn into adapters. Services call these from their bootstrap."""

from __future__ import annotations

import asyncio
import logging

from crm_shared.analytics.lazy import LazyAnalyticsStore, Prepare
from crm_shared.analytics.port import AnalyticsStore
from crm_shared.blobstore.port import BlobStore
from crm_shared.bus.namespace import NamespacedBus
from crm_shared.bus.port import Bus, BusUnavailable
from crm_shared.bus.trust import Keys, TrustedBus
from crm_shared.eventstore.port import EventStore
from crm_shared.identity import CallerTokens, load_or_create_secret
from crm_shared.readstore.port import ReadStore
from crm_shared.settings import KernelSettings
from crm_shared.statestore.port import StateStore

log = logging.getLogger(__name__)


async def open_event_store(settings: KernelSettings, service: str) -> EventStore:
    """The service's own event store."""
    if settings.event_store == "kurrentdb":
        from crm_shared.eventstore.kurrentdb import KurrentDbEventStore

        if settings.kurrentdb_uri is None:
            raise ValueError("CRM_KURRENTDB_URI is required when CRM_EVENT_STORE=kurrentdb")
        return await KurrentDbEventStore.open(settings.kurrentdb_uri.get_secret_value())
    from crm_shared.eventstore.sqlite import SqliteEventStore

    return await SqliteEventStore.open(settings.data_dir / service / "events.db")


async def open_read_store(settings: KernelSettings, service: str) -> ReadStore:
    """The service's own read store."""
    if settings.read_store == "mongo":
        from crm_shared.readstore.mongo import MongoReadStore

        return await MongoReadStore.open(
            settings.mongo_uri.get_secret_value(), database=f"{settings.mongo_database_prefix}_{service}"
        )
    from crm_shared.readstore.sqlite import SqliteReadStore

    return await SqliteReadStore.open(settings.data_dir / service / "views.db")


async def open_state_store(settings: KernelSettings, service: str) -> StateStore:
    """The service's own state store (primary records: back it up with the event store)."""
    if settings.state_store == "mongo":
        from crm_shared.statestore.mongo import MongoStateStore

        return await MongoStateStore.open(
            settings.mongo_uri.get_secret_value(), database=f"{settings.mongo_database_prefix}_{service}_state"
        )
    from crm_shared.statestore.sqlite import SqliteStateStore

    return await SqliteStateStore.open(settings.data_dir / service / "state.db")


async def open_blob_store(settings: KernelSettings, service: str) -> BlobStore:
    """The service's own blob store: a folder of the data directory, or its folder of the S3 bucket."""
    if settings.blob_store == "s3":
        from crm_shared.blobstore.s3 import S3BlobStore

        secret = settings.s3_secret_access_key
        return S3BlobStore.connect(
            bucket=settings.s3_bucket,
            endpoint=settings.s3_endpoint,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=None if secret is None else secret.get_secret_value(),
            prefix="/".join(p for p in (settings.s3_prefix.strip("/"), service) if p),
        )
    from crm_shared.blobstore.files import FileBlobStore

    return FileBlobStore(settings.data_dir / service / "blobs")


def open_analytics_store(settings: KernelSettings, service: str, prepare: Prepare | None = None) -> LazyAnalyticsStore:
    """The service's analytics tables, opened on first use (then ``prepare``, e.g. its schema, runs once).

    Embedded: chDB in ``<data dir>/<service>/chdb``. chDB allows one data directory per process and
    one process per directory, so only one role of one service may use it on a data directory.
    Distributed: the ClickHouse server at ``CRM_CLICKHOUSE_URL``, database ``<prefix>_<service>``
    (created when missing).
    """

    async def opener() -> AnalyticsStore:
        if settings.analytics == "clickhouse":
            from crm_shared.analytics.clickhouse import ClickHouseAnalyticsStore

            if settings.clickhouse_url is None:
                raise ValueError("CRM_CLICKHOUSE_URL is required when CRM_ANALYTICS=clickhouse")
            url = settings.clickhouse_url.get_secret_value()
            database = f"{settings.clickhouse_database_prefix}_{service}"
            admin = await ClickHouseAnalyticsStore.open(url)
            try:
                await admin.execute(f"CREATE DATABASE IF NOT EXISTS `{database}`")
            finally:
                await admin.close()
            return await ClickHouseAnalyticsStore.open(url, database=database)
        from crm_shared.analytics.chdb import ChdbAnalyticsStore

        return await ChdbAnalyticsStore.open(settings.data_dir / service / "chdb")

    return LazyAnalyticsStore(opener, prepare)


async def open_bus(
    settings: KernelSettings, client_id: str, *, retry_for: float = 0.0, run_key: bytes | None = None
) -> Bus:
    """The bus, started. In embedded mode every service of the machine shares one log file.

    ``run_key``: the secret the processes of one ``crm up`` share, so each takes the other's messages
    without verifying their signatures (:mod:`crm_shared.bus.trust`).

    With ``retry_for`` > 0 an unreachable broker is retried with backoff for that many seconds
    (``math.inf``: until it comes), so a worker started during a broker outage waits instead of dying.
    """
    bus: Bus
    if settings.bus == "kafka":
        from crm_shared.bus.kafka import KafkaBus

        bus = KafkaBus(settings.kafka_bootstrap, client_id=client_id)
    else:
        from crm_shared.bus.embedded import EmbeddedBus

        bus = EmbeddedBus(settings.data_dir / "bus.db")
    if settings.bus_namespace:
        bus = NamespacedBus(bus, settings.bus_namespace)
    bus = TrustedBus(bus, Keys(settings.signing_keys_dir or settings.data_dir / "keys", run_key=run_key))
    deadline = asyncio.get_running_loop().time() + retry_for
    backoff = 0.5
    while True:
        try:
            await bus.start()
            return bus
        except BusUnavailable as exc:
            if asyncio.get_running_loop().time() + backoff > deadline:
                raise
            log.warning("bus unavailable, retrying in %.1fs: %s", backoff, exc)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10.0)


def caller_tokens(settings: KernelSettings) -> CallerTokens:
    """Signer and verifier of caller tokens: the configured secret, or one kept in the data folder."""
    if settings.caller_token_secret is not None:
        return CallerTokens(settings.caller_token_secret.get_secret_value().encode())
    return CallerTokens(load_or_create_secret(settings.data_dir / "secrets" / "caller-token.key"))
