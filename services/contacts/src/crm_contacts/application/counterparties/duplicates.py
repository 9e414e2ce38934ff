"""Duplicates: counterparties sharing a tax id, an e-mail or a normalised phone, found on create and
in a report; and the merge of a duplicate into the counterparty that stays.

Both read the lookup collection of the counterparty view (one document per counterparty and key), so
they see what the caller may see and scale with an index: the report walks the keys of one field in
order, a chunk per request, and a group is never split between two chunks.

A merge is two commands on two streams, ordered so that a retry completes it: first the duplicate is
marked merged (archived for good, pointing at the survivor), then the survivor absorbs it (its
contact information, categories, missing properties, managers and sources). Both steps are no-ops
when already done. Counterparties whose holding head was the duplicate and contact persons linked
to it are re-pointed, and the duplicate's tax id is released.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from crm_contacts.application.counterparties.commands import CounterpartyCommands, Result
from crm_contacts.application.counterparties.reviews import DuplicateReviews
from crm_contacts.domain import counterparty as cp
from crm_contacts.domain.contact_info import ContactEntry
from crm_contacts.projections.counterparties import COLLECTION, KEYS, past, with_key
from crm_shared.errors import AlreadyExists, DomainError, Forbidden, NotFound
from crm_shared.identity import Caller, Permission
from crm_shared.projections import ProjectionRunner
from crm_shared.readstore import Document, Query, ReadStore

DuplicateField = Literal["tax", "email", "phone"]
DUPLICATE_FIELDS: tuple[DuplicateField, ...] = ("tax", "email", "phone")
REPORT_CHUNK = 2000


@dataclass(frozen=True, slots=True)
class Match:
    """A counterparty sharing ``key`` of ``field`` with another."""

    counterparty_id: str
    name: str
    field: str
    key: str


@dataclass(frozen=True, slots=True)
class DuplicateGroup:
    """Counterparties sharing one key."""

    field: str
    key: str
    counterparties: list[Match]


@dataclass(frozen=True, slots=True)
class ReportChunk:
    """Groups found in one chunk of keys; ``next_key`` continues the walk (None at the end)."""

    groups: list[DuplicateGroup]
    next_key: str | None


def duplicate_keys(
    tax_ids: Iterable[str | None], contact_info: Iterable[ContactEntry]
) -> set[tuple[DuplicateField, str]]:
    """The keys under which another counterparty would be a duplicate of one with these tax ids and
    contact information."""
    keys: set[tuple[DuplicateField, str]] = set()
    for tax_id in tax_ids:
        if tax_id:
            keys.add(("tax", cp.normalise_tax_id(tax_id)))
    for entry in contact_info:
        if entry.type == "email":
            keys.add(("email", entry.key))
        elif entry.type == "phone":
            keys.add(("phone", entry.key))
    return keys


class Duplicates:
    """Finds duplicates in the view and merges them through the command handler."""

    def __init__(
        self,
        views: ReadStore,
        runner: ProjectionRunner,
        commands: CounterpartyCommands,
        release_tax_id: Callable[[str, str, str], Awaitable[None]],
        move_person_links: Callable[[str, str, Caller], Awaitable[int]],
        reviews: DuplicateReviews | None = None,
    ) -> None:
        self._reviews = reviews
        self._views = views
        self._runner = runner
        self._commands = commands
        self._release_tax_id = release_tax_id
        self._move_person_links = move_person_links

    def _within(self, caller: Caller) -> tuple[str, tuple[str, ...]] | None:
        groups = caller.visible_groups()
        return None if groups is None else ("access_group", tuple(sorted(groups)))

    async def matches(
        self, keys: Iterable[tuple[str, str]], caller: Caller, *, exclude: str | None = None
    ) -> list[Match]:
        """Active counterparties the caller sees that have any of ``keys`` (``exclude`` left out)."""
        return (await self._matches(keys, caller, exclude=exclude, hidden=False))[0]

    async def _matches(
        self, keys: Iterable[tuple[str, str]], caller: Caller, *, exclude: str | None, hidden: bool
    ) -> tuple[list[Match], list[Match]]:
        """The matches the caller sees and, with ``hidden``, those it does not (never shown to it)."""
        found: dict[str, Match] = {}
        unseen: dict[str, Match] = {}
        within = None if hidden else self._within(caller)
        for field, key in sorted(set(keys)):
            query = with_key(field, key, {"archived": False}, None, 50, within)
            for doc in (await self._views.find(self._runner.collection(KEYS), query)).items:
                cid = str(doc["counterparty_id"])
                if cid == exclude or cid in found or cid in unseen:
                    continue
                if caller.sees_group(str(doc.get("access_group"))):
                    found[cid] = Match(cid, await self._name(cid), field, key)
                else:
                    unseen[cid] = Match(cid, "", field, key)
        return list(found.values()), list(unseen.values())

    async def _name(self, counterparty_id: str) -> str:
        doc = await self._views.get(self._runner.collection(COLLECTION), counterparty_id)
        return "" if doc is None else str(doc.get("name", ""))

    async def report(
        self, caller: Caller, field: DuplicateField, *, after_key: str | None = None, chunk: int = REPORT_CHUNK
    ) -> ReportChunk:
        """Groups of two or more active counterparties sharing a key of ``field``, walking the keys in
        order from ``after_key``; about ``chunk`` keys per call, never splitting a group."""
        if not caller.can(Permission.COUNTERPARTY_READ):
            raise Forbidden("your roles do not allow reading counterparties")
        collection = self._runner.collection(KEYS)
        within = self._within(caller)
        # Lookups in key_name order are in key order, a key's lookups together (no key has the
        # separator, which sorts before every character a key has but tab and line feed, and the
        # fields walked here, tax ids, e-mails and phones, have neither). The end of a key's range
        # sorts after every (key_name, id) of it: the walk goes on strictly after that key.
        after: tuple[Any, str] | None = None if after_key is None else (past(after_key), "")
        page = await self._views.find(
            collection, Query({"field": field, "archived": False}, None, "key_name", after, chunk, within)
        )
        rows = list(page.items)
        if page.next_after is not None and rows:
            last = rows[-1]  # finish its group, so that no group is split between two chunks
            after = (last["key_name"], str(last["_id"]))
            rest = with_key(field, str(last["key"]), {"archived": False}, after, 10_000, within)
            rows.extend((await self._views.find(collection, rest)).items)
        groups: dict[str, list[Document]] = {}
        for row in rows:
            groups.setdefault(str(row["key"]), []).append(row)
        found = []
        for key, members in groups.items():
            ids = list(dict.fromkeys(str(m["counterparty_id"]) for m in members))
            if len(ids) > 1:
                found.append(DuplicateGroup(field, key, [Match(cid, await self._name(cid), field, key) for cid in ids]))
        return ReportChunk(found, None if page.next_after is None else str(rows[-1]["key"]))

    async def register(
        self,
        command: cp.RegisterCounterparty,
        caller: Caller,
        *,
        reject_duplicates: bool = False,
        idempotency_key: str | None = None,
        request: str | None = None,
        new_id: bool = False,
    ) -> tuple[Result, list[Match]]:
        """Register a counterparty, with the ones it may duplicate (same tax id, e-mail or phone) that
        the caller sees; with ``reject_duplicates`` those refuse it (409). The permission is checked
        before any lookup, so a caller who may not register learns nothing. ``new_id``: its id was
        just made at random (see ``new_stream`` of :meth:`~crm_shared.commands.CommandHandler.handle`)."""
        await self._commands.authorize(command, caller)
        keys = duplicate_keys((command.tax_id, command.vat_id), command.contact_info)
        restricted = caller.visible_groups() is not None
        duplicates, hidden = await self._matches(keys, caller, exclude=command.counterparty_id, hidden=restricted)
        if duplicates and reject_duplicates:
            names = ", ".join(f"{d.name} ({d.field} {d.key})" for d in duplicates[:5])
            # Named as the request names it, like the tax-id rule's own 409 (which may answer first).
            field = "tax_id" if duplicates[0].field == "tax" else "contact_info"
            raise AlreadyExists(f"possible duplicate, already registered: {names}", field=field)
        result = await self._commands.handle(
            command, caller, idempotency_key=idempotency_key, request=request, new_stream=new_id
        )
        # Duplicates the caller cannot see never change its answer (ADR 0013): they go to the review.
        if self._reviews is not None:
            for match in hidden:
                if match.field != "tax":  # a tax id is reported by the reservation, with its holder
                    await self._reviews.add(result.state.id, match.counterparty_id, match.field, match.key, caller)
        return result, duplicates

    async def merge(self, survivor_id: str, duplicate_id: str, caller: Caller) -> Result:
        """Merge ``duplicate_id`` into ``survivor_id`` (see the module docstring); returns the survivor."""
        if not caller.can(Permission.COUNTERPARTY_MERGE):
            raise Forbidden("your roles do not allow merging counterparties")
        if survivor_id == duplicate_id:
            raise DomainError("a counterparty cannot be merged into itself", field="duplicate_id")
        survivor = await self._visible(survivor_id, caller, "survivor")
        duplicate = await self._visible(duplicate_id, caller, "duplicate_id")
        if survivor.archived:
            raise DomainError("the counterparty that stays is archived; restore it first", field="archived")
        if duplicate.merged_into not in (None, survivor_id):
            raise DomainError(f"already merged into {duplicate.merged_into}", field="duplicate_id")
        await self._commands.handle(cp.MarkMerged(duplicate_id, survivor_id), caller)
        result = await self._commands.handle(cp.Absorb(survivor_id, duplicate), caller)
        if duplicate.tax_id and cp.normalise_tax_id(duplicate.tax_id) != cp.normalise_tax_id(survivor.tax_id or ""):
            await self._release_tax_id(duplicate.tax_id, duplicate_id, caller.user_id)
        await self._repoint_holdings(duplicate_id, survivor_id, caller)
        await self._move_person_links(duplicate_id, survivor_id, caller)
        return result

    async def _visible(self, counterparty_id: str, caller: Caller, field: str) -> cp.Counterparty:
        state = await self._commands.load_state(counterparty_id)
        if state is None or not caller.sees_group(state.access_group):
            raise NotFound(f"no counterparty {counterparty_id}", field=field)
        return state

    async def _repoint_holdings(self, duplicate_id: str, survivor_id: str, caller: Caller) -> None:
        """Members of the duplicate's holding that the caller sees now belong to the survivor's."""
        query = Query({"head_counterparty_id": duplicate_id}, None, "_id", None, 500, self._within(caller))
        while True:
            page = await self._views.find(self._runner.collection(COLLECTION), query)
            for doc in page.items:
                member = str(doc["_id"])
                if member != survivor_id and not doc.get("archived"):
                    change = cp.UpdateCounterparty(member, {"head_counterparty_id": survivor_id})
                    with contextlib.suppress(DomainError):  # e.g. a cycle through the survivor: left as is
                        await self._commands.handle(change, caller)
            if page.next_after is None:
                return
            query = Query(query.equals, None, "_id", page.next_after, 500, query.within)
