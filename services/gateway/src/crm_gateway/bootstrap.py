"""The one place where the gateway's adapters are chosen and wired."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher

from crm_gateway.application.access_groups import AccessGroupCommands
from crm_gateway.application.passwords import Passwords
from crm_gateway.application.publishing import translate
from crm_gateway.application.queries import GatewayQueries
from crm_gateway.application.security import Authenticator, Sessions
from crm_gateway.application.users import SYSTEM, UserCommands
from crm_gateway.application.views_sync import ViewSync
from crm_gateway.domain import user as u
from crm_gateway.projections.views import GatewayViews
from crm_gateway.settings import GatewaySettings
from crm_shared.adapters import open_event_store, open_read_store
from crm_shared.bus import Bus
from crm_shared.errors import AlreadyExists
from crm_shared.eventstore import EventStore
from crm_shared.projections import ProjectionRunner
from crm_shared.readstore import ReadStore
from crm_shared.relay import Relay
from crm_shared.settings import KernelSettings

SERVICE = "gateway"
INITIAL_ADMIN = "admin"
log = logging.getLogger(__name__)


@dataclass
class GatewayService:
    """The wired gateway: user and access-group commands, authentication, queries and the views' upkeep."""

    store: EventStore
    views: ReadStore
    settings: GatewaySettings
    users: UserCommands
    passwords: Passwords
    auth: Authenticator
    queries: GatewayQueries
    view_sync: ViewSync
    groups: AccessGroupCommands
    """The access-group catalogue."""
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def seed(self) -> None:
        """Create the initial administrator when the CRM has no users yet (see
        :func:`ensure_initial_admin`; a generated password is shown once, on the console only), and
        the access-group catalogue's ``general`` plus every group already granted (idempotent)."""
        admin = self.settings.admin_password
        generated = await ensure_initial_admin(self, admin.get_secret_value() if admin else None)
        if generated is not None:
            # Never logged, never stored in plain text.
            print(f"\nFirst start: sign in as '{INITIAL_ADMIN}' with password {generated}\n", flush=True)
        await self.seed_access_groups()

    async def seed_access_groups(self) -> None:
        """Define ``general`` and every access group already granted to a user or an API key, so an
        installation from before the catalogue keeps working (idempotent)."""
        await self.view_sync.sync()
        await self.groups.seed(await self.queries.granted_groups(), SYSTEM)

    def relay(self, bus: Bus) -> Relay:
        """The relay publishing the directory of users and access groups (``crm.identity.*``)."""
        return Relay(SERVICE, self.store, bus, self.views, translate)

    async def start_relay(self, bus: Bus) -> Relay:
        """Publish the directory in the background."""
        relay = self.relay(bus)
        self._tasks.append(asyncio.create_task(relay.run(), name="gateway-relay"))
        return relay

    async def start_projector(self, bus: Bus | None = None) -> None:
        """Keep the views following the log in the background.

        ``bus`` is accepted for symmetry with the other services and unused: the gateway publishes
        nothing and its views read its own event log.
        """
        await self.view_sync.sync()
        self.view_sync.start()

    async def close(self) -> None:
        """Stop background work and release the stores."""
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.view_sync.stop()
        await self.views.close()
        await self.store.close()


async def build(
    settings: KernelSettings,
    gateway_settings: GatewaySettings | None = None,
    *,
    hasher: PasswordHasher | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> GatewayService:
    """Open the gateway's stores per ``settings`` and wire it.

    ``gateway_settings`` default to the environment (``CRM_*``); ``hasher`` and ``clock`` are for
    tests (a cheaper Argon2 profile, a fixed time).
    """
    config = gateway_settings or GatewaySettings()
    store = await open_event_store(settings, SERVICE)
    views = await open_read_store(settings, SERVICE)
    runner = ProjectionRunner(GatewayViews(), views, service=SERVICE)
    view_sync = ViewSync(runner, store)
    await view_sync.prepare()
    users = UserCommands(store, clock, after_append=view_sync.sync)
    passwords = Passwords(hasher)
    sessions = Sessions(views, timedelta(hours=config.session_idle_hours), clock)
    await sessions.prepare()
    return GatewayService(
        store=store,
        views=views,
        settings=config,
        users=users,
        passwords=passwords,
        auth=Authenticator(users, passwords, sessions, views, config, clock, keys=view_sync.keys),
        queries=GatewayQueries(views, runner),
        view_sync=view_sync,
        groups=AccessGroupCommands(store, clock, after_append=view_sync.sync),
    )


async def ensure_initial_admin(service: GatewayService, password: str | None) -> str | None:
    """Create the ``admin`` user (role administrator) when the CRM has no users yet.

    Uses ``password`` (e.g. ``CRM_ADMIN_PASSWORD``) or generates one, which is returned so the caller
    can show it once; it is never logged. Returns None when nothing was generated: a password was
    given, or users exist already (idempotent across restarts and replicas: the username reservation
    lets only one creation win).
    """
    if await service.users.user_id_of(INITIAL_ADMIN) is not None:
        return None
    if (await service.queries.users(limit=1)).items:
        return None
    generated = None if password else secrets.token_urlsafe(18)
    chosen = password or generated
    assert chosen is not None
    u.check_password(chosen, field="CRM_ADMIN_PASSWORD")
    try:
        await service.users.create_user(
            username=INITIAL_ADMIN,
            name="Administrator",
            password_hash=await service.passwords.hash(chosen),
            roles=["administrator"],
            groups=[],
            language="en",
            actor=SYSTEM,
        )
    except AlreadyExists:
        return None
    log.info("gateway: created the initial administrator %r", INITIAL_ADMIN)
    return generated
