"""The one place where the analytics service's adapters are chosen and wired."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from dataclasses import dataclass, field

from crm_analytics.application.abc import AbcReport
from crm_analytics.application.facts import TradeFacts
from crm_analytics.application.facts_feed import FactFeed
from crm_analytics.application.facts_import import RecordImport
from crm_analytics.application.links import CounterpartyLinks
from crm_analytics.application.publishing import stored, translate
from crm_analytics.application.runs import AbcRuns
from crm_analytics.application.schedule import Scheduler, abc_job, stage_job
from crm_analytics.application.stage_runs import StageRuns
from crm_analytics.application.xyz import XyzReport
from crm_analytics.domain.abc import Shares
from crm_analytics.domain.records import KINDS, TRADE_FACTS
from crm_analytics.projections.crm_events import CrmEventsFeed
from crm_analytics.projections.runs import RunsView
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
from crm_shared.projections import ProjectionRunner
from crm_shared.readstore import ReadStore
from crm_shared.relay import Relay
from crm_shared.settings import KernelSettings
from crm_shared.statestore import StateStore

SERVICE = "analytics"


@dataclass
class AnalyticsService:
    """The wired service: trade facts in, the ABC classification and its runs out, its jobs."""

    store: EventStore
    """Its own event log: ABC classification runs (the relay publishes from it)."""
    views: ReadStore
    """The runs view, the relay's checkpoints."""
    analytics: LazyAnalyticsStore
    """The analytics tables (chDB or ClickHouse), opened on first use; trade facts are primary data here."""
    state: StateStore
    """The job records."""
    blobs: BlobStore
    """The jobs' files."""
    jobs: Jobs
    facts: TradeFacts
    """Batches of the ERP's records (trade facts, orders, payments) from the API."""
    importer: RecordImport
    """CSV files of the ERP's records, as jobs."""
    feeds: list[FactFeed]
    """The consumers of the ERP's topics, one per kind of record (``erp.trade-facts.v1``,
    ``erp.orders.v1``, ``erp.payments.v1``)."""
    events: CrmEventsFeed
    """The consumer of contacts' and interactions' topics into the analytics store (``crm_events``)."""
    abc: AbcReport
    runs: AbcRuns
    stage_runs: StageRuns
    """Stage runs: relationship stages and XYZ classes recorded and published."""
    runner: ProjectionRunner
    """The runs view (ABC and stage runs), built from this service's own log."""
    scheduler: Scheduler
    settings: AnalyticsSettings
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def feed(self) -> FactFeed:
        """The consumer of the ERP's topic of trade facts."""
        return next(feed for feed in self.feeds if feed.kind is TRADE_FACTS)

    def relay(self, bus: Bus) -> Relay:
        """The relay of this service's public events (``crm.analytics.*``)."""
        return Relay(SERVICE, self.store, bus, self.views, translate)

    async def seed(self) -> None:
        """Nothing: a fresh installation needs no data of this service."""

    async def start_relay(self, bus: Bus) -> Relay:
        """Run the relay in the background."""
        relay = self.relay(bus)
        self._tasks.append(asyncio.create_task(relay.run(), name="analytics-relay"))
        return relay

    async def start_projector(self, bus: Bus) -> None:
        """Consume the ERP's topics of trade facts, orders and payments and contacts' and interactions'
        topics (``crm_events``) into the analytics tables, build the runs view from
        this service's own log and keep it following, and start the schedule of ABC and stage runs
        (its first check comes a few minutes after the start)."""
        for feed in self.feeds:
            await feed.follow(bus)
        await self.events.follow(bus)
        await self.runner.follow_log(self.store, stored)
        self.scheduler.start()

    async def close(self) -> None:
        """Stop the background roles and jobs of this process and release the stores."""
        await self.scheduler.stop()
        for feed in self.feeds:
            await feed.stop()
        await self.events.stop()
        await self.runner.stop()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
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
    analytics = open_analytics_store(
        settings, SERVICE, functools.partial(prepare, reporting_currency=analytics_settings.reporting_currency)
    )
    jobs = Jobs(state, blobs, settings.data_dir / SERVICE / "scratch")
    await jobs.prepare()
    runner = ProjectionRunner(RunsView(), views, service=SERVICE)
    await runner.prepare()
    links = CounterpartyLinks(analytics)
    abc = AbcReport(analytics, links)
    runs = AbcRuns(store, views, runner, abc, links)
    stage_runs = StageRuns(store, views, runner, XyzReport(analytics), links)
    abc_runs = abc_job(
        runs,
        schedule=analytics_settings.abc_schedule,
        measure=analytics_settings.abc_schedule_by,
        shares=Shares.parse(analytics_settings.abc_schedule_shares),
        currency=analytics_settings.reporting_currency,
        day=analytics_settings.abc_schedule_day,
    )
    stages = stage_job(
        stage_runs,
        schedule=analytics_settings.stage_schedule,
        rule=analytics_settings.stage_rule,
        day=analytics_settings.stage_schedule_day,
    )
    scheduler = Scheduler(
        [abc_runs, stages],
        every_seconds=analytics_settings.abc_schedule_check_seconds,
        first_after_seconds=analytics_settings.abc_schedule_first_check_seconds,
        time_zone=analytics_settings.time_zone,
    )
    return AnalyticsService(
        store=store,
        views=views,
        analytics=analytics,
        state=state,
        blobs=blobs,
        jobs=jobs,
        facts=TradeFacts(analytics),
        importer=RecordImport(analytics, analytics_settings.reporting_currency),
        events=CrmEventsFeed(analytics),
        feeds=[FactFeed(analytics, analytics_settings.reporting_currency, kind=kind) for kind in KINDS if kind.topic],
        abc=abc,
        runs=runs,
        stage_runs=stage_runs,
        runner=runner,
        scheduler=scheduler,
        settings=analytics_settings,
    )
