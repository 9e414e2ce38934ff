"""What this service knows of contacts, read from its local copy (:mod:`crm_interactions.projections.contacts`),
and the rules built on it: who sees an interaction, and when to prompt for the information source.

**Who sees an interaction** (checked on every read and write):

- one with a counterparty: whoever sees the counterparty's access group *now* (as the local copy has
  it), exactly as in contacts; a counterparty not (yet) in the local copy is seen only by callers
  with every access group;
- one with a contact person only: its author, its responsible user, its participants, and callers
  with every access group.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from crm_interactions.projections.contacts import COUNTERPARTIES, PERSONS, SOURCES
from crm_shared.errors import DomainError
from crm_shared.identity import Caller, Permission
from crm_shared.local_copy import wait_for_copy
from crm_shared.projections import ProjectionRunner
from crm_shared.readstore import Document, Query, ReadStore


@dataclass(frozen=True, slots=True)
class Involvement:
    """What decides who sees an interaction."""

    counterparty_id: str | None
    created_by: str
    responsible: str
    participants: tuple[str, ...] = ()

    @classmethod
    def of(cls, document: Mapping[str, Any]) -> Involvement:
        """From a view document (or anything with the same fields)."""
        return cls(
            counterparty_id=document.get("counterparty_id"),
            created_by=str(document.get("created_by", "")),
            responsible=str(document.get("responsible", "")),
            participants=tuple(document.get("participants") or ()),
        )


class LocalContacts:
    """Reads of the local contacts view."""

    def __init__(self, views: ReadStore, runner: ProjectionRunner) -> None:
        self._views = views
        self.runner = runner

    async def counterparty(self, counterparty_id: str) -> Document | None:
        """The counterparty as contacts last published it, or None."""
        return await self._views.get(self.runner.collection(COUNTERPARTIES), counterparty_id)

    async def counterparties(self, ids: Iterable[str]) -> dict[str, Document]:
        """Several counterparties at once, by id (the unknown ones left out)."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        return await self._views.get_many(self.runner.collection(COUNTERPARTIES), wanted)

    async def managed_by(self, manager: str, at_most: int) -> tuple[list[Document], bool]:
        """The counterparties whose main manager is ``manager``, archived ones too, by id: at most
        ``at_most``, and whether there are more."""
        target = self.runner.collection(COUNTERPARTIES)
        found: list[Document] = []
        after: tuple[Any, str] | None = None
        while len(found) < at_most:
            page = await self._views.find(
                target, Query({"main_manager": manager}, None, "_id", after, min(500, at_most - len(found)))
            )
            found.extend(page.items)
            if page.next_after is None:
                return found, False
            after = page.next_after
        return found, True

    async def source(self, code: str) -> Document | None:
        """An entry of the ``sources`` catalog."""
        return await self._views.get(self.runner.collection(SOURCES), code)

    async def person(self, person_id: str) -> Document | None:
        """A contact person (ids, owner and privacy only)."""
        return await self._views.get(self.runner.collection(PERSONS), person_id)

    # -- checks of commands ----------------------------------------------------------------------

    async def require_counterparty(self, counterparty_id: str, caller: Caller) -> Document:
        """The counterparty, if it exists, is active and the caller sees it (else 422 on the field); one
        the copy does not have yet is waited for (:func:`~crm_shared.local_copy.wait_for_copy`), and so
        is one the caller may not see, so that the time of the answer tells nothing either."""
        doc = await wait_for_copy(
            lambda: self.counterparty(counterparty_id), lambda found: caller.sees_group(str(found["access_group"]))
        )
        if doc is None or not caller.sees_group(str(doc["access_group"])):
            raise DomainError(f"no counterparty {counterparty_id}", field="counterparty_id")
        if doc.get("merged_into"):
            raise DomainError(
                f"counterparty {counterparty_id} was merged into {doc['merged_into']}", field="counterparty_id"
            )
        if doc.get("archived"):
            raise DomainError(f"counterparty {counterparty_id} is archived", field="counterparty_id")
        return doc

    async def require_person(self, person_id: str, caller: Caller) -> None:
        """The contact person exists, is not erased, and the caller sees it as contacts would: a private
        one only its owner; one linked to counterparties whoever sees one of them. A person the caller
        may not see is refused exactly as one that does not exist. One the copy does not have yet is
        waited for, and so is one the caller may not see (the time of the answer tells nothing either)."""

        async def seen() -> Document | None:
            doc = await self.person(person_id)
            return doc if doc is not None and not doc.get("erased") and await self._sees_person(doc, caller) else None

        doc = await wait_for_copy(seen)
        if doc is None:
            raise DomainError(f"no contact person {person_id}", field="contact_person_id")

    async def _sees_person(self, doc: Document, caller: Caller) -> bool:
        if doc.get("private"):
            return doc.get("owner") == caller.user_id
        linked = [str(c) for c in doc.get("counterparty_ids") or ()]
        if not linked or caller.can(Permission.ALL_ACCESS_GROUPS):
            return True
        found = await self.counterparties(linked)
        return any(caller.sees_group(str(c["access_group"])) for c in found.values())

    async def require_source(self, code: str, field: str = "source") -> None:
        """An information source of the ``sources`` catalog that is not retired (waited for a moment)."""
        doc = await wait_for_copy(lambda: self.source(code), lambda found: not found.get("retired"))
        if doc is None or doc.get("retired"):
            raise DomainError(f"no information source {code!r} in the sources catalog", field=field)

    # -- who sees what ---------------------------------------------------------------------------

    async def visible(self, caller: Caller, who: Involvement) -> bool:
        """Whether the caller sees an interaction (see the module docstring)."""
        if caller.can(Permission.ALL_ACCESS_GROUPS):
            return True
        if who.counterparty_id is None:
            return _takes_part(caller, who)
        doc = await self.counterparty(who.counterparty_id)
        return doc is not None and caller.sees_group(str(doc["access_group"]))

    @staticmethod
    def visible_among(caller: Caller, who: Involvement, counterparties: Mapping[str, Document]) -> bool:
        """:meth:`visible` with the counterparties already read."""
        if caller.can(Permission.ALL_ACCESS_GROUPS):
            return True
        if who.counterparty_id is None:
            return _takes_part(caller, who)
        doc = counterparties.get(who.counterparty_id)
        return doc is not None and caller.sees_group(str(doc["access_group"]))

    # -- the information source prompt -------------------------------------------------------------

    async def source_prompt(self, interaction: Mapping[str, Any], day: date) -> dict[str, Any] | None:
        """The prompt to record the counterparty's information source, or None.

        Only for an incoming interaction with a buyer that has no source yet on this interaction:
        ``missing`` when the buyer has no source recorded on or before ``day``, ``expired`` when the
        last one's actuality period ended before ``day`` (``on + actuality_days < day``; 0 days
        never expires).
        """
        counterparty_id = interaction.get("counterparty_id")
        if interaction.get("direction") != "incoming" or counterparty_id is None or interaction.get("source"):
            return None
        doc = await self.counterparty(str(counterparty_id))
        if doc is None or "buyer" not in doc.get("relations", ()):
            return None
        recorded = [s for s in doc.get("sources", ()) if date.fromisoformat(str(s["on"])) <= day]
        if not recorded:
            return {"reason": "missing"}
        last = max(recorded, key=lambda s: str(s["on"]))
        entry = await self.source(str(last["source"]))
        days = int(entry.get("actuality_days") or 0) if entry is not None else 0
        expires = date.fromisoformat(str(last["on"])) + timedelta(days=days)
        if days > 0 and expires < day:
            return {"reason": "expired", "last_source": last["source"], "expired_on": expires.isoformat()}
        return None


def _takes_part(caller: Caller, who: Involvement) -> bool:
    return caller.user_id in (who.created_by, who.responsible) or caller.user_id in who.participants
