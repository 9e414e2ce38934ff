"""The one place where the interactions service's adapters are chosen and wired."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from crm_interactions.application.contacts import LocalContacts
from crm_interactions.application.interactions.commands import InteractionCommands
from crm_interactions.application.interactions.history import InteractionHistory, interaction_history
from crm_interactions.application.interactions.publishing import stored, translate
from crm_interactions.application.interactions.queries import InteractionQueries
from crm_interactions.application.interactions.texts import ErasuresFromContacts, person_keys
from crm_interactions.projections.contacts import ContactsView
from crm_interactions.projections.interactions import InteractionsView
from crm_interactions.settings import InteractionsSettings
from crm_shared.adapters import open_event_store, open_read_store, open_state_store
from crm_shared.bus import Bus, Subscription
from crm_shared.directory import DirectoryView, LocalDirectory
from crm_shared.eventstore import EventStore
from crm_shared.keys import SubjectKeys
from crm_shared.projections import ProjectionRunner
from crm_shared.readstore import ReadStore
from crm_shared.relay import Relay
from crm_shared.settings import KernelSettings
from crm_shared.statestore import StateStore

SERVICE = "interactions"


@dataclass
class InteractionsService:
    """The wired service: command handlers, queries, and its background roles."""

    store: EventStore
    views: ReadStore
    state: StateStore
    """Primary records that are not views: the contact persons' keys that seal the texts (ADR 15)."""
    keys: SubjectKeys
    commands: InteractionCommands
    queries: InteractionQueries
    history: InteractionHistory
    contacts: LocalContacts
    """The local copy of what contacts publishes, and the rules built on it."""
    runner: ProjectionRunner
    """The interaction lists and calendar, built from this service's own events."""
    contacts_runner: ProjectionRunner
    """The local contacts view, fed from contacts' topics (not in this service's log)."""
    directory: LocalDirectory
    """The local copy of the gateway's directory (users), fed from its topics."""
    settings: InteractionsSettings
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _subscriptions: list[Subscription] = field(default_factory=list)

    @property
    def runners(self) -> list[ProjectionRunner]:
        """Every view of the service."""
        return [self.directory.runner, self.contacts_runner, self.runner]

    def relay(self, bus: Bus) -> Relay:
        """The relay publishing this service's integration events."""
        return Relay(SERVICE, self.store, bus, self.views, translate)

    async def seed(self) -> None:
        """Nothing: a fresh installation needs no data of this service."""

    async def start_relay(self, bus: Bus) -> Relay:
        """Run the relay in the background."""
        relay = self.relay(bus)
        self._tasks.append(asyncio.create_task(relay.run(), name="interactions-relay"))
        return relay

    async def start_projector(self, bus: Bus) -> None:
        """Follow contacts' topics into the local contacts view and the gateway's into the local
        directory; build the interaction view from this service's own log if it never was (or its
        version changed), then keep it following that log (never the public topic: ADR 14); and
        delete a contact person's key when contacts erases the person (ADR 15)."""
        await self.directory.follow(bus)
        await self.contacts_runner.follow(bus)
        await self.runner.follow_log(self.store, stored)
        self._subscriptions.append(await ErasuresFromContacts(self.keys).subscribe(bus))

    async def close(self) -> None:
        """Stop background roles and release the stores."""
        for runner in self.runners:
            await runner.stop()
        for subscription in self._subscriptions:
            await subscription.stop()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.views.close()
        await self.state.close()
        await self.store.close()


async def build(
    settings: KernelSettings, interactions_settings: InteractionsSettings | None = None
) -> InteractionsService:
    """Open the service's stores per ``settings`` and wire it."""
    store = await open_event_store(settings, SERVICE)
    views = await open_read_store(settings, SERVICE)
    state = await open_state_store(settings, SERVICE)
    keys = person_keys(state)
    runner = ProjectionRunner(InteractionsView(), views, service=SERVICE)
    await runner.prepare()
    contacts_runner = ProjectionRunner(ContactsView(), views, service=SERVICE)
    # Fed only from the bus (nothing of it is in this log), so there is no rebuild to wait for.
    for base, indexes in contacts_runner.projection.collections.items():
        await views.ensure_indexes(contacts_runner.collection(base), indexes)
    contacts = LocalContacts(views, contacts_runner)
    directory = LocalDirectory(views, ProjectionRunner(DirectoryView(), views, service=SERVICE))
    await directory.prepare()
    commands = InteractionCommands(store, contacts, directory=directory, keys=keys)
    return InteractionsService(
        store=store,
        views=views,
        state=state,
        keys=keys,
        commands=commands,
        queries=InteractionQueries(views, runner, store, contacts, directory, keys),
        history=interaction_history(commands),
        contacts=contacts,
        runner=runner,
        contacts_runner=contacts_runner,
        directory=directory,
        settings=interactions_settings or InteractionsSettings(),
    )
