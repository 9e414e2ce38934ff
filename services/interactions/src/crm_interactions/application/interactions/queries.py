"""Queries over the interaction view, with read-your-writes.

Lists filter by equality from an index and page by start (keyset, either order). Who sees an
interaction depends on its counterparty's access group *now*, which lives in the local contacts view,
so it is checked on each page (one read of the page's counterparties) rather than copied into the
documents: a caller who sees only some access groups may get a short page, with a cursor to go on.
Counterparty names come from the same read, so a rename in contacts shows on every interaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from crm_interactions.application.contacts import Involvement, LocalContacts
from crm_interactions.application.interactions.publishing import stored
from crm_interactions.application.interactions.texts import opened_documents
from crm_interactions.domain.interaction import KINDS, STATES
from crm_interactions.projections.interactions import CALENDAR, COLLECTION, reverse_key, start_key
from crm_shared.directory import LocalDirectory
from crm_shared.errors import DomainError, Forbidden
from crm_shared.eventstore import EventStore
from crm_shared.identity import Caller, Permission
from crm_shared.keys import SubjectKeys
from crm_shared.projections import ProjectionRunner
from crm_shared.readstore import Document, Query, ReadStore
from crm_shared.readstore.cursor import decode_cursor, encode_cursor

Order = Literal["asc", "desc"]
MAX_ROUNDS = 10
"""Index pages read at most for one list page of a caller who sees only some access groups."""
MAX_CALENDAR_DAYS = 62
MAX_CALENDAR_ITEMS = 2000
MAX_OVERDUE = 200
MAX_MANAGED = 2000
"""Counterparties of one manager read at most for :meth:`InteractionQueries.last_contacts`."""


@dataclass(frozen=True, slots=True)
class Filters:
    """The list's filters; ``None`` means any. The period is ``[start_from, start_to)``."""

    start_from: datetime | None = None
    start_to: datetime | None = None
    kind: str | None = None
    state: str | None = None
    direction: str | None = None
    importance: str | None = None
    responsible: str | None = None
    counterparty_id: str | None = None
    contact_person_id: str | None = None
    thread_id: str | None = None

    def equals(self) -> dict[str, Any]:
        """The equality filters."""
        names = ("kind", "state", "direction", "importance", "responsible", "counterparty_id", "contact_person_id")
        return {name: getattr(self, name) for name in (*names, "thread_id") if getattr(self, name) is not None}


@dataclass(frozen=True, slots=True)
class ListPage:
    """Documents of one page, with the counterparty name on each, and the cursor of the next page."""

    items: list[Document]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class Summary:
    """The interactions of one counterparty at a glance."""

    counterparty_id: str
    counterparty_name: str
    total: int
    by_kind: dict[str, int]
    by_state: dict[str, int]
    last: Document | None
    """The latest completed one."""
    next: Document | None
    """The earliest planned one that has not started yet."""


@dataclass(frozen=True, slots=True)
class LastContact:
    """A counterparty and its latest completed interaction (None: never contacted)."""

    counterparty_id: str
    counterparty_name: str
    last: Document | None
    changed_at: str | None
    """When contacts last changed the counterparty (as its local copy learnt it)."""


class InteractionQueries:
    """Reads of the interaction view and the calendar."""

    def __init__(
        self,
        views: ReadStore,
        runner: ProjectionRunner,
        store: EventStore,
        contacts: LocalContacts,
        directory: LocalDirectory | None = None,
        keys: SubjectKeys | None = None,
    ) -> None:
        self._views = views
        self._runner = runner
        self._store = store
        self._contacts = contacts
        self._directory = directory
        self._keys = keys
        """The contact persons' keys that open the texts (ADR 15)."""

    async def _opened(self, docs: list[Document]) -> list[Document]:
        """The documents as shown: texts opened, those of an erased contact person empty."""
        return await opened_documents(self._keys, self._contacts, docs)

    async def _known_user(self, user: str | None, caller: Caller, param: str) -> None:
        """A user named in a query parameter must be an active user of the directory (the caller's own
        id always is); else 422 naming the parameter."""
        if user and self._directory is not None and user != caller.user_id:
            await self._directory.require_user(user, field=param)

    async def _wait(self, min_position: int | None) -> None:
        if min_position:
            await self._runner.wait_for(self._store, min_position, translate=stored)

    @staticmethod
    def _may_read(caller: Caller) -> None:
        if not caller.can(Permission.INTERACTION_READ):
            raise Forbidden("your roles do not allow reading interactions")

    async def _named(self, docs: list[Document], caller: Caller) -> list[Document]:
        """The documents the caller sees, each with ``counterparty_name`` from the local contacts view."""
        counterparties = await self._contacts.counterparties(
            str(d["counterparty_id"]) for d in docs if d.get("counterparty_id")
        )
        return await self._opened(
            [
                _with_name(doc, counterparties)
                for doc in docs
                if LocalContacts.visible_among(caller, Involvement.of(doc), counterparties)
            ]
        )

    async def get(self, interaction_id: str, caller: Caller, *, min_position: int | None = None) -> Document | None:
        """One interaction, or None (also when the caller does not see it)."""
        self._may_read(caller)
        await self._wait(min_position)
        doc = await self._views.get(self._runner.collection(COLLECTION), interaction_id)
        if doc is None:
            return None
        named = await self._named([doc], caller)
        return named[0] if named else None

    async def find(
        self,
        caller: Caller,
        filters: Filters = Filters(),
        *,
        order: Order = "asc",
        limit: int = 50,
        cursor: str | None = None,
        min_position: int | None = None,
    ) -> ListPage:
        """A page of the interactions the caller sees that match ``filters``, by start."""
        self._may_read(caller)
        await self._known_user(filters.responsible, caller, "responsible")
        await self._wait(min_position)
        if filters.start_from and filters.start_to and filters.start_to <= filters.start_from:
            raise DomainError("the end of the period must be after its start", field="to")
        low = None if filters.start_from is None else start_key(filters.start_from)
        high = None if filters.start_to is None else start_key(filters.start_to)
        sort = "start_key" if order == "asc" else "start_rkey"
        after = decode_cursor(cursor)
        if after is None and order == "asc" and low is not None:
            after = (low, "")
        elif after is None and order == "desc" and high is not None:
            after = (reverse_key(high), "")

        def past_the_period(doc: Document) -> bool:
            key = str(doc["start_key"])
            return (high is not None and key >= high) if order == "asc" else (low is not None and key < low)

        def in_the_period(doc: Document) -> bool:
            # Only a first descending page, which starts on the period's end, meets ones at the end.
            return order == "asc" or high is None or str(doc["start_key"]) < high

        batch = limit if caller.can(Permission.ALL_ACCESS_GROUPS) else min(500, limit * 4)
        target = self._runner.collection(COLLECTION)
        items: list[Document] = []
        for _ in range(MAX_ROUNDS):
            page = await self._views.find(target, Query(filters.equals(), None, sort, after, batch))
            counterparties = await self._contacts.counterparties(
                str(d["counterparty_id"]) for d in page.items if d.get("counterparty_id")
            )
            for doc in page.items:
                if past_the_period(doc):
                    return ListPage(await self._opened(items), None)
                after = (doc[sort], str(doc["_id"]))
                if in_the_period(doc) and LocalContacts.visible_among(caller, Involvement.of(doc), counterparties):
                    items.append(_with_name(doc, counterparties))
                    if len(items) == limit:
                        last = page.next_after is None and doc is page.items[-1]
                        return ListPage(await self._opened(items), None if last else encode_cursor(after))
            if page.next_after is None:
                return ListPage(await self._opened(items), None)
        return ListPage(await self._opened(items), encode_cursor(after))

    async def summary(self, counterparty_id: str, caller: Caller, *, now: datetime) -> Summary | None:
        """Counts by kind and state, the last completed and the next planned interaction of a counterparty
        (None when the caller does not see the counterparty)."""
        self._may_read(caller)
        counterparty = await self._contacts.counterparty(counterparty_id)
        if counterparty is None or not caller.sees_group(str(counterparty["access_group"])):
            return None
        target = self._runner.collection(COLLECTION)
        base = {"counterparty_id": counterparty_id}
        by_kind: dict[str, int] = {kind: await self._views.count(target, {**base, "kind": kind}) for kind in KINDS}
        by_state: dict[str, int] = {
            state: await self._views.count(target, {**base, "state": state}) for state in STATES
        }
        completed = {**base, "state": "completed"}
        planned = {**base, "state": "planned"}
        last = await self._views.find(target, Query(completed, None, "start_rkey", None, 1))
        now_key = start_key(now)
        upcoming = await self._views.find(target, Query(planned, None, "start_key", (now_key, ""), 1))
        names = {counterparty_id: counterparty}
        shown = await self._opened([_with_name(doc, names) for doc in (*last.items[:1], *upcoming.items[:1])])
        return Summary(
            counterparty_id=counterparty_id,
            counterparty_name=str(counterparty["name"]),
            total=sum(by_state.values()),
            by_kind=by_kind,
            by_state=by_state,
            last=shown[0] if last.items else None,
            next=shown[-1] if upcoming.items else None,
        )

    async def calendar(
        self,
        user: str,
        start_from: datetime,
        start_to: datetime,
        caller: Caller,
        *,
        states: tuple[str, ...] = ("planned",),
    ) -> tuple[list[Document], bool]:
        """The interactions in ``states`` (planned by default) ``user`` takes part in (responsible or
        participant) that start in ``[start_from, start_to)``, by start, at most
        :data:`MAX_CALENDAR_ITEMS`; and whether there were more."""
        self._may_read(caller)
        await self._known_user(user, caller, "user")
        if start_to <= start_from:
            raise DomainError("the end of the window must be after its start", field="to")
        if start_to - start_from > timedelta(days=MAX_CALENDAR_DAYS):
            raise DomainError(f"a calendar window is at most {MAX_CALENDAR_DAYS} days", field="to")
        high = start_key(start_to)
        entries: list[Document] = []
        for state in states:
            query = Query(
                {"user": user, "state": state}, None, "start_key", (start_key(start_from), ""), MAX_CALENDAR_ITEMS + 1
            )
            entries.extend((await self._views.find(self._runner.collection(CALENDAR), query)).items)
        entries.sort(key=lambda e: (str(e["start_key"]), str(e["_id"])))
        in_window = [e for e in entries if str(e["start_key"]) < high]
        more = len(in_window) > MAX_CALENDAR_ITEMS
        ids = [str(e["interaction_id"]) for e in in_window[:MAX_CALENDAR_ITEMS]]
        found = await self._views.get_many(self._runner.collection(COLLECTION), ids)
        docs = [found[i] for i in ids if i in found]
        return await self._named(docs, caller), more

    async def overdue(self, user: str, before: datetime, caller: Caller, *, limit: int) -> tuple[list[Document], bool]:
        """The planned interactions ``user`` takes part in that should have started before ``before``,
        oldest first, at most ``limit`` the caller sees; and whether there are more."""
        self._may_read(caller)
        await self._known_user(user, caller, "user")
        high = start_key(before)
        target = self._runner.collection(CALENDAR)
        found: list[Document] = []
        after: tuple[Any, str] | None = None
        for _ in range(MAX_ROUNDS):
            page = await self._views.find(
                target, Query({"user": user, "state": "planned"}, None, "start_key", after, 100)
            )
            due = [e for e in page.items if str(e["start_key"]) < high]
            docs = await self._views.get_many(
                self._runner.collection(COLLECTION), [str(e["interaction_id"]) for e in due]
            )
            found.extend(
                await self._named(
                    [docs[str(e["interaction_id"])] for e in due if str(e["interaction_id"]) in docs], caller
                )
            )
            if len(found) > limit:
                return found[:limit], True
            if page.next_after is None or len(due) < len(page.items):
                return found, False
            after = page.next_after
        return found[:limit], True

    async def last_contacts(
        self,
        manager: str,
        caller: Caller,
        *,
        quiet_since: datetime | None = None,
        sort: Literal["last_contact", "changed"] = "last_contact",
    ) -> tuple[list[LastContact], bool]:
        """The active counterparties whose main manager is ``manager`` and the caller sees, each with its
        latest completed interaction, by that interaction's start (never contacted first); with
        ``quiet_since``, only those with no completed interaction since then; ``sort="changed"``: the
        counterparties contacts changed last first. Reads at most
        :data:`MAX_MANAGED` counterparties; the flag says there were more."""
        self._may_read(caller)
        await self._known_user(manager, caller, "manager")
        managed, more = await self._contacts.managed_by(manager, MAX_MANAGED)
        limit_key = None if quiet_since is None else start_key(quiet_since)
        target = self._runner.collection(COLLECTION)
        found: list[LastContact] = []
        for doc in managed:
            if doc.get("archived") or not caller.sees_group(str(doc["access_group"])):
                continue
            cid = str(doc["_id"])
            latest = await self._views.find(
                target, Query({"counterparty_id": cid, "state": "completed"}, None, "start_rkey", None, 1)
            )
            last = (await self._opened(latest.items[:1]))[0] if latest.items else None
            if limit_key is not None and last is not None and str(last["start_key"]) >= limit_key:
                continue
            changed = doc.get("updated_at")
            found.append(LastContact(cid, str(doc["name"]), last, None if changed is None else str(changed)))
        if sort == "changed":
            found.sort(key=lambda c: c.changed_at or "", reverse=True)
        else:
            found.sort(key=lambda c: ("" if c.last is None else str(c.last["start_key"]), c.counterparty_name))
        return found, more


def _with_name(doc: Document, counterparties: Mapping[str, Document]) -> Document:
    counterparty = counterparties.get(str(doc.get("counterparty_id")))
    return {**doc, "counterparty_name": None if counterparty is None else counterparty.get("name")}
