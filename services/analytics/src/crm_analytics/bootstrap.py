"""The one place where the analytics service's adapters are chosen and wired."""

from __future__ import annotations

from dataclasses import dataclass

from crm_analytics.application.abc import AbcReport
from crm_analytics.application.facts import TradeFacts
from crm_analytics.application.facts_import import TradeFactImport
from crm_analytics.application.publishing import translate
from crm_analytics.projections.tables import prepare
from crm_analytics.settings import AnalyticsSettings
from crm_shared.adapters import (
    open_analytics_store,
    open_blob_store,
    open_event_store,
    open_read_store,
    open_state_store,
)
from crm_shared.analytics.lazy import LazyAnalyticsStore
from crm_shared.blobstore import BlobStore
from crm_shared.bus import Bus
from crm_shared.eventstore import EventStore
from crm_shared.jobs import Jobs
from crm_shared.readstore import ReadStore
from crm_shared.relay import Relay
from crm_shared.settings import KernelSettings
from crm_shared.statestore import StateStore

SERVICE = "analytics"


@dataclass
class AnalyticsService:
    """The wired service: trade facts in, the ABC classification out, its jobs."""

    store: EventStore
    """Its own event log (empty until analytics publishes events; the relay reads it)."""
    views: ReadStore
    """The relay's checkpoints."""
    analytics: LazyAnalyticsStore
    """The analytics tables (chDB or ClickHouse), opened on first use; trade facts are primary data here."""
    state: StateStore
    """The job records."""
    blobs: BlobStore
    """The jobs' files."""
    jobs: Jobs
    facts: TradeFacts
    importer: TradeFactImport
    abc: AbcReport
    settings: AnalyticsSettings

    def relay(self, bus: Bus) -> Relay:
        """The relay of this service's public events (none yet)."""
        return Relay(SERVICE, self.store, bus, self.views, translate)

    async def seed(self) -> None:
        """Nothing: a fresh installation needs no data of this service."""

    async def start_relay(self, bus: Bus) -> Relay:
        """Nothing to run: analytics publishes no events yet (``crm republish analytics`` sends none)."""
        return self.relay(bus)

    async def start_projector(self, bus: Bus) -> None:
        """Nothing to follow yet: the projections of other services' events come with the reports that
        need them; trade facts are written when they arrive."""

    async def close(self) -> None:
        """Stop the jobs of this process and release the stores."""
        await self.jobs.close()
        await self.analytics.close()
        await self.views.close()
        await self.state.close()
        await self.blobs.close()
        await self.store.close()


async def build(settings: KernelSettings, analytics_settings: AnalyticsSettings | None = None) -> AnalyticsService:
    """Open the service's stores per ``settings`` and wire it (the analytics tables open on first use)."""
    analytics_settings = analytics_settings or AnalyticsSettings()
    store = await open_event_store(settings, SERVICE)
    views = await open_read_store(settings, SERVICE)
    state = await open_state_store(settings, SERVICE)
    blobs = await open_blob_store(settings, SERVICE)
    analytics = open_analytics_store(settings, SERVICE, prepare)
    jobs = Jobs(state, blobs, settings.data_dir / SERVICE / "scratch")
    await jobs.prepare()
    return AnalyticsService(
        store=store,
        views=views,
        analytics=analytics,
        state=state,
        blobs=blobs,
        jobs=jobs,
        facts=TradeFacts(analytics),
        importer=TradeFactImport(analytics, analytics_settings.reporting_currency),
        abc=AbcReport(analytics),
        settings=analytics_settings,
    )
