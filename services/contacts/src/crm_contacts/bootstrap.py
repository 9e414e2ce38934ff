"""The one place where the contacts service's adapters are chosen and wired."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from crm_contacts.application.counterparties.commands import CounterpartyCommands
from crm_contacts.application.counterparties.consumers import SourcesFromInteractions
from crm_contacts.application.counterparties.duplicates import Duplicates
from crm_contacts.application.counterparties.history import CounterpartyHistory, counterparty_history
from crm_contacts.application.counterparties.queries import CounterpartyQueries
from crm_contacts.application.counterparties.reviews import DuplicateReviews
from crm_contacts.application.counterparties.validation import CounterpartyRules
from crm_contacts.application.imports import BATCH as IMPORT_BATCH
from crm_contacts.application.imports import CounterpartyImport
from crm_contacts.application.keys import PersonKeys
from crm_contacts.application.persons.commands import PersonCommands
from crm_contacts.application.persons.queries import PersonQueries
from crm_contacts.application.publishing import Translation
from crm_contacts.application.reference.commands import ReferenceCommands
from crm_contacts.application.reference.data import ReferenceData
from crm_contacts.application.reference.defaults import seed_reference
from crm_contacts.application.reference.queries import ReferenceQueries
from crm_contacts.projections.abc_classes import ABC_CLASSES, AbcClassesView
from crm_contacts.projections.counterparties import CounterpartiesView
from crm_contacts.projections.persons import PersonsView
from crm_contacts.projections.reference import ReferenceView
from crm_contacts.projections.stages import STAGES_COLLECTION, StagesView
from crm_contacts.settings import ContactsSettings
from crm_shared.adapters import open_blob_store, open_event_store, open_read_store, open_state_store
from crm_shared.blobstore import BlobStore
from crm_shared.bus import Bus, Subscription
from crm_shared.directory import DirectoryView, LocalDirectory
from crm_shared.eventstore import EventStore
from crm_shared.jobs import Jobs
from crm_shared.projections import ProjectionRunner
from crm_shared.readstore import ReadStore
from crm_shared.relay import Relay
from crm_shared.settings import KernelSettings
from crm_shared.statestore import StateStore

SERVICE = "contacts"
RELAY_BATCH = 2000
"""Events the relay reads at a time (the kernel's default: 500). Behind a CSV import each batch waits
~1.5 s for its writes, so the relay's pace follows its batch: of the 90,000 log positions of a
30,000-row import (bench P2, load 4-5) 14,000-15,500 were relayed by the import's end with 500, 52,000
with 2,000, 80,000 with 5,000; but one batch's messages are signed on the event loop (~0.1 s for 2,000
events, ~0.3 s for 5,000). When the relay keeps up, a batch holds what arrived since its last poll."""


@dataclass
class ContactsService:
    """The wired service: command handlers, queries, and its background roles."""

    store: EventStore
    views: ReadStore
    state: StateStore
    """Primary records that are not views: the persons' keys, the jobs."""
    blobs: BlobStore
    """Files: uploads, exports, reports of rejected rows."""
    commands: CounterpartyCommands
    queries: CounterpartyQueries
    history: CounterpartyHistory
    runner: ProjectionRunner
    """The counterparty list and card."""
    runners: list[ProjectionRunner]
    """Every view of the service (``runner`` among them), built and fed alike."""
    reference: ReferenceData
    """The administrators' catalogs (kinds, roles, properties, categories, sources, groups...)."""
    reference_commands: ReferenceCommands
    reference_queries: ReferenceQueries
    rules: CounterpartyRules
    """Checks of counterparty commands against the reference data and other counterparties."""
    duplicates: Duplicates
    """Duplicate detection and merge."""
    reviews: DuplicateReviews
    """Pairs of duplicates whose writer could not see one of them, for those who see every group."""
    persons: PersonCommands
    """Contact-person commands (the GDPR erasure among them), with the key store."""
    person_queries: PersonQueries
    """Reads of contact persons: cards, lists, as-of, history, the GDPR export, the vCard."""
    jobs: Jobs
    """Imports and exports, run in the background: records in the state store, files in the blob store."""
    directory: LocalDirectory
    """The local copy of the gateway's directory: users (managers) and access groups."""
    abc_runner: ProjectionRunner
    """The local copy of analytics' ABC classes, by counterparty (fed from the bus only)."""
    stage_runner: ProjectionRunner
    """The local copy of analytics' relationship stages and XYZ classes, by counterparty (bus only)."""
    translate: Translation = field(default_factory=Translation)
    """The translation of stored events into public ones, shared by the relay and the views."""
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _subscriptions: list[Subscription] = field(default_factory=list)

    def relay(self, bus: Bus) -> Relay:
        """The relay publishing this service's integration events."""
        return Relay(SERVICE, self.store, bus, self.views, self.translate, batch_size=RELAY_BATCH)

    def importer(
        self, *, views_follow_the_bus: bool = True, batch_size: int = IMPORT_BATCH, workers: int | None = None
    ) -> CounterpartyImport:
        """The CSV importer of this service. Where no projector runs (the ``crm import`` command), the
        counterparty view is caught up from the log before persons are linked to new counterparties.
        ``workers``: processes that plan the rows (None: as the file's size and the machine suit)."""

        async def view_ready(position: int) -> None:
            if views_follow_the_bus:
                await self.runner.wait_for(self.store, position, translate=self.translate, timeout=60.0)
            else:
                after = await self.views.checkpoint(self.runner.checkpoint_name) or 0
                await self.runner.catch_up(self.store, self.translate, after=after)

        return CounterpartyImport(
            self.store,
            self.commands,
            self.rules,
            self.reference,
            batch_size=batch_size,
            persons=self.persons,
            view_ready=view_ready,
            workers=workers,
        )

    async def seed(self) -> None:
        """Define the default reference entries a fresh installation needs (idempotent)."""
        await seed_reference(self.reference_commands)

    async def start_relay(self, bus: Bus) -> Relay:
        """Run the relay in the background."""
        relay = self.relay(bus)
        self._tasks.append(asyncio.create_task(relay.run(), name="contacts-relay"))
        return relay

    async def start_projector(self, bus: Bus) -> None:
        """Build the views if they never were (or their version changed), then follow the log; and
        take what other services tell this one (:mod:`crm_contacts.application.counterparties.consumers`)
        and follow the gateway's directory into its local copy."""
        await self.directory.follow(bus)
        await self.abc_runner.follow(bus)
        await self.stage_runner.follow(bus)
        for runner in self.runners:  # its own views follow its own log, never its public topics (ADR 14)
            await runner.follow_log(self.store, self.translate)
        self._subscriptions.append(await SourcesFromInteractions(self.commands).subscribe(bus))

    async def catch_up_views(self) -> None:
        """Bring every view up to the event log here and now (for commands that run without the
        projector, such as ``crm export``); safe beside a running projector: writes are guarded."""
        for runner in self.runners:
            if not await runner.rebuild_if_needed(self.store, self.translate):
                after = await self.views.checkpoint(runner.checkpoint_name) or 0
                await runner.catch_up(self.store, self.translate, after=after)

    async def close(self) -> None:
        """Stop background roles and release the stores."""
        for runner in self.runners:
            await runner.stop()
        await self.directory.stop()
        await self.abc_runner.stop()
        await self.stage_runner.stop()
        for subscription in self._subscriptions:
            await subscription.stop()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.jobs.close()
        await self.views.close()
        await self.state.close()
        await self.blobs.close()
        await self.store.close()


async def build(settings: KernelSettings, contacts_settings: ContactsSettings | None = None) -> ContactsService:
    """Open the service's stores per ``settings`` and wire it."""
    contacts_settings = contacts_settings or ContactsSettings()
    store = await open_event_store(settings, SERVICE)
    views = await open_read_store(settings, SERVICE)
    state = await open_state_store(settings, SERVICE)
    blobs = await open_blob_store(settings, SERVICE)
    runner = ProjectionRunner(CounterpartiesView(), views, service=SERVICE)
    reference_runner = ProjectionRunner(ReferenceView(), views, service=SERVICE)
    runners = [runner, reference_runner]
    keys = PersonKeys(state)
    await keys.adopt_from(views)
    persons_runner = ProjectionRunner(PersonsView(store, keys.key_of), views, service=SERVICE)
    runners.append(persons_runner)
    for each in runners:
        await each.prepare()
    jobs = Jobs(state, blobs, settings.data_dir / SERVICE / "scratch")
    await jobs.prepare()
    reference = ReferenceData(store, views, reference_runner)
    country = contacts_settings.default_country
    commands = CounterpartyCommands(store, unique_tax_id=contacts_settings.unique_tax_id)
    directory = LocalDirectory(views, ProjectionRunner(DirectoryView(), views, service=SERVICE))
    await directory.prepare()
    abc_runner = ProjectionRunner(AbcClassesView(), views, service=SERVICE)
    stage_runner = ProjectionRunner(StagesView(), views, service=SERVICE)
    for copy in (abc_runner, stage_runner):
        for base, indexes in copy.projection.collections.items():  # fed from the bus: no rebuild to wait for
            await views.ensure_indexes(copy.collection(base), indexes)
    rules = CounterpartyRules(reference, commands.load_state, country, directory)
    commands.validate = rules
    reviews = DuplicateReviews(state, views, runner.collection("counterparties"))
    commands.on_hidden_duplicate = reviews.add
    persons = PersonCommands(
        store,
        views,
        persons_runner,
        keys,
        counterparties=runner.collection("counterparties"),
        contact_entries=lambda raws: rules.contact_entries(raws, applies_to="person"),
        reference=reference,
    )
    return ContactsService(
        store=store,
        views=views,
        state=state,
        blobs=blobs,
        commands=commands,
        queries=CounterpartyQueries(
            views,
            runner,
            store,
            country,
            abc_runner.collection(ABC_CLASSES),
            stage_runner.collection(STAGES_COLLECTION),
        ),
        history=counterparty_history(commands),
        runner=runner,
        runners=runners,
        persons=persons,
        person_queries=PersonQueries(
            store, views, persons_runner, keys, counterparties=runner.collection("counterparties")
        ),
        reference=reference,
        reference_commands=ReferenceCommands(store, reference),
        reference_queries=ReferenceQueries(views, reference_runner, store, reference),
        rules=rules,
        jobs=jobs,
        directory=directory,
        abc_runner=abc_runner,
        stage_runner=stage_runner,
        duplicates=Duplicates(views, runner, commands, commands.tax_ids.release, persons.move_links, reviews),
        reviews=reviews,
    )
