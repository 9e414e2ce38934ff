"""The one place where settings turn into adapters. Services call these from their bootstrap."""

from __future__ import annotations

from crm_shared.bus.namespace import NamespacedBus
from crm_shared.bus.port import Bus
from crm_shared.eventstore.port import EventStore
from crm_shared.readstore.port import ReadStore
from crm_shared.settings import KernelSettings


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


async def open_bus(settings: KernelSettings, client_id: str) -> Bus:
    """The bus, started. In embedded mode every service of the machine shares one log file."""
    bus: Bus
    if settings.bus == "kafka":
        from crm_shared.bus.kafka import KafkaBus

        bus = KafkaBus(settings.kafka_bootstrap, client_id=client_id)
    else:
        from crm_shared.bus.embedded import EmbeddedBus

        bus = EmbeddedBus(settings.data_dir / "bus.db")
    if settings.bus_namespace:
        bus = NamespacedBus(bus, settings.bus_namespace)
    await bus.start()
    return bus
