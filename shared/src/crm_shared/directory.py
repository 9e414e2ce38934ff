"""The local copy of the gateway's directory — users and access groups — that every service which
stores references to people or groups keeps (ADR 0011), and the checks of those references.

Fed from the public topics ``crm.identity.user.v1`` and ``crm.identity.access-group.v1`` through the
bus only (nothing of it is in the service's own log). Each document is guarded by its source stream's
version, so redeliveries are harmless; a new version of the view starts a new consumer group, which
reads the topics from their beginning.

Checks apply to **new** references only: a record that already names a user or group the copy does
not know (data from before the directory was published) keeps loading and keeps that reference
through other changes. A reference the copy does not have (yet) is waited for, a bounded time
(:func:`crm_shared.local_copy.wait_for_copy`), so a user or group created a moment ago is accepted.

Every command that names a manager or a group reads them. Where the copy is fed in this process
(:meth:`LocalDirectory.follow`: embedded mode, a projector role), what was read is kept in memory
for as long as the feed has applied nothing since (:attr:`~crm_shared.projections.ProjectionRunner.applied`
unchanged), so a change to any user or group is seen by the very next check, as when reading the
store. A process that only reads the copy (``crm up``'s API beside its background process, an API
replica whose projector runs elsewhere) keeps a user or group it found for :data:`KEPT_SECONDS`: a
change reaches its checks that much later than it reaches the copy, which itself follows the
gateway by the bus's latency. One it did not find is read again every time, so a user created a
moment ago is accepted as soon as the copy has it. (Two reads of the store per registration were a
tenth of the API's CPU under load, bench P1.)
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from crm_shared.bus.port import Bus, Message
from crm_shared.contracts.identity import access_group as groups
from crm_shared.contracts.identity import user as users
from crm_shared.errors import DomainError
from crm_shared.integration import Envelope, IntegrationEvent
from crm_shared.local_copy import WAIT_SECONDS, wait_for_copy
from crm_shared.projections import Fact, On, ProjectionRunner, View
from crm_shared.readstore import Document, Index, ReadStore

USERS = "directory_users"
ACCESS_GROUPS = "directory_access_groups"
KEPT = 10_000
"""At most this many users and groups read are kept in memory (see the module docstring)."""
KEPT_SECONDS = 0.25
"""How long a process that only reads the copy keeps a user or group it found (module docstring)."""


def _user(before: Document | None, fact: Fact[Any]) -> Document | None:
    contract = fact.contract
    match contract:
        case users.UserRegistered():
            return {"username": contract.username, "name": contract.name, "active": contract.active}
        case users.UserRenamed() if before is not None:
            return {**before, "name": contract.name}
        case users.UserRetired() | users.UserReinstated() if before is not None:
            return {**before, "active": isinstance(contract, users.UserReinstated)}
    return None


def _group(before: Document | None, fact: Fact[Any]) -> Document | None:
    contract = fact.contract
    match contract:
        case groups.AccessGroupDefined():
            return {"name": contract.name, "retired": False}
        case groups.AccessGroupRenamed() if before is not None:
            return {**before, "name": contract.name}
        case groups.AccessGroupRetired() | groups.AccessGroupRestored() if before is not None:
            return {**before, "retired": isinstance(contract, groups.AccessGroupRetired)}
    return None


class DirectoryView(View):
    """Projection of the identity topics into ``directory_users`` and ``directory_access_groups``."""

    name = "directory"
    version = 1
    topics: Sequence[str] = (users.TOPIC, groups.TOPIC)
    collections: Mapping[str, Sequence[Index]] = {USERS: (), ACCESS_GROUPS: ()}
    contracts = {**users.EVENT_TYPES, **groups.EVENT_TYPES}
    tracks_streams = False  # the gateway's events: positions of this service's log never point at them
    handlers: Mapping[str, Sequence[On]] = {
        **{t: (On(USERS, lambda fact: str(fact.data["user_id"]), _user),) for t in users.EVENT_TYPES},
        **{t: (On(ACCESS_GROUPS, lambda fact: str(fact.data["code"]), _group),) for t in groups.EVENT_TYPES},
    }


class LocalDirectory:
    """Reads of the local directory, and the checks of new references to users and access groups."""

    def __init__(self, views: ReadStore, runner: ProjectionRunner, *, wait: float = WAIT_SECONDS) -> None:
        self._views = views
        self.runner = runner
        self.wait = wait
        self._fed_here = False
        self._kept: dict[tuple[str, str], tuple[Document | None, float]] = {}
        """(collection, id) -> what the store held, and when it was read (taken before the read):
        ``runner.applied`` where the copy is fed here, else the monotonic clock (documents found only)."""

    async def prepare(self) -> None:
        """Create the view's collections (it is fed from the bus only: there is no rebuild to wait for)."""
        for base, indexes in self.runner.projection.collections.items():
            await self._views.ensure_indexes(self.runner.collection(base), indexes)

    async def follow(self, bus: Bus) -> None:
        """Feed the copy from the directory's topics in this process; from now on what the checks
        read is kept until the feed applies anything (see the module docstring)."""
        await self.runner.follow(bus)
        self._fed_here = True

    async def stop(self) -> None:
        """Stop feeding the copy; the checks read the store again."""
        self._fed_here = False
        self._kept.clear()
        await self.runner.stop()

    async def _get(self, base: str, id: str) -> Document | None:
        fed = self._fed_here
        # Taken before reading: a batch applied (or time passed) meanwhile makes the entry stale.
        stamp = self.runner.applied if fed else time.monotonic()
        kept = self._kept.get((base, id))
        if kept is not None and (kept[1] == stamp if fed else stamp - kept[1] < KEPT_SECONDS):
            return None if kept[0] is None else dict(kept[0])
        doc = await self._views.get(self.runner.collection(base), id)
        if doc is None and not fed:
            return None  # read again next time: the copy may take it in any moment
        if len(self._kept) >= KEPT:
            self._kept.clear()
        self._kept[(base, id)] = (None if doc is None else dict(doc), stamp)
        return doc

    async def user(self, user_id: str) -> Document | None:
        """A user as the gateway last published it (username, name, active), or None."""
        return await self._get(USERS, user_id)

    async def users(self, ids: Iterable[str]) -> dict[str, Document]:
        """Several users at once, by id (the unknown ones left out)."""
        wanted = sorted(set(ids))
        return await self._views.get_many(self.runner.collection(USERS), wanted) if wanted else {}

    async def names(self, ids: Iterable[str]) -> dict[str, str]:
        """The display names of the users of ``ids`` the copy knows."""
        return {id: str(doc["name"]) for id, doc in (await self.users(ids)).items()}

    async def group(self, code: str) -> Document | None:
        """An access group as the gateway last published it (name, retired), or None."""
        return await self._get(ACCESS_GROUPS, code)

    # -- checks of new references -----------------------------------------------------------------

    async def refusal_of_user(self, user_id: str, *, wait: bool = True) -> str | None:
        """Why ``user_id`` may not be named anew (no such user, or retired), or None when it may."""
        doc = await wait_for_copy(lambda: self.user(user_id), _active, timeout=self.wait if wait else 0.0)
        if doc is None:
            return f"no user {user_id}"
        return None if _active(doc) else f"the user {user_id} is retired"

    async def refusal_of_group(self, code: str, *, wait: bool = True) -> str | None:
        """Why the access group ``code`` may not be named anew (none such, or retired), or None."""
        doc = await wait_for_copy(lambda: self.group(code), _current, timeout=self.wait if wait else 0.0)
        if doc is None:
            return f"no access group {code!r}"
        return None if _current(doc) else f"the access group {code!r} is retired"

    async def require_user(self, user_id: str, *, field: str, kept: Iterable[str] = ()) -> None:
        """``user_id`` names an active user, unless it is in ``kept`` (named already); else 422 on ``field``."""
        if user_id in set(kept):
            return
        refusal = await self.refusal_of_user(user_id)
        if refusal is not None:
            raise DomainError(refusal, field=field)

    async def require_users(self, user_ids: Sequence[str], *, field: str, kept: Iterable[str] = ()) -> None:
        """Each id names an active user, unless in ``kept``; else 422 on ``field[i]`` of the first refused."""
        old = set(kept)
        for i, user_id in enumerate(user_ids):
            if user_id not in old:
                await self.require_user(user_id, field=f"{field}[{i}]")

    async def require_group(self, code: str, *, field: str, kept: str | None = None) -> None:
        """``code`` names an active access group, unless it is ``kept``; else 422 on ``field``."""
        if code == kept:
            return
        refusal = await self.refusal_of_group(code)
        if refusal is not None:
            raise DomainError(refusal, field=field)


def _active(doc: Document) -> bool:
    return bool(doc.get("active", True))


def _current(doc: Document) -> bool:
    return not doc.get("retired")


def directory_messages(
    users_by_id: Mapping[str, str] | None = None, group_codes: Iterable[str] = (groups.DEFAULT_CODE,)
) -> list[Message]:
    """The messages the gateway publishes when these users (id → name; the id is the username too) are
    registered and these access groups defined: to feed a local copy where no gateway runs (a service
    tested alone, a distributed test without the gateway)."""
    now = datetime.now(UTC)
    made: list[tuple[str, str, str, str, IntegrationEvent]] = []
    for user_id, name in (users_by_id or {}).items():
        event = users.UserRegistered(user_id=user_id, username=user_id, name=name)
        made.append(("crm.identity.UserRegistered", users.TOPIC, user_id, f"user-{user_id}", event))
    for code in group_codes:
        defined = groups.AccessGroupDefined(code=code, name=code)
        made.append(("crm.identity.AccessGroupDefined", groups.TOPIC, code, f"access-group-{code}", defined))
    return [
        Envelope(
            id=str(uuid.uuid4()),
            type=ce_type,
            source=users.SOURCE,
            subject=subject,
            time=now,
            topic=topic,
            data=event.model_dump(mode="json"),
            stream=stream,
            stream_version=0,
            position=0,
        ).to_message()
        for ce_type, topic, subject, stream, event in made
    ]
