"""Who sees which persons and counterparties, for one request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from crm_contacts.domain.counterparty import DEFAULT_ACCESS_GROUP
from crm_shared.identity import Caller
from crm_shared.readstore import ReadStore

Unseen = Callable[[str], Awaitable[tuple[str, str] | None]]
"""The (access group, name) of a counterparty its view does not have yet, read from the event store."""


class Access:
    """Visibility of persons and counterparties for one request (counterparty groups cached).

    Reads see the counterparties' view. Commands also pass ``unseen``: a counterparty registered a
    moment ago may not be in the view yet (it is fed through the bus in distributed mode), and a
    command must never refuse a reference to a record that is in contacts' own event store."""

    def __init__(self, views: ReadStore, counterparties: str, caller: Caller, unseen: Unseen | None = None) -> None:
        self._views = views
        self._counterparties = counterparties
        self.caller = caller
        self._unseen = unseen
        self._groups: dict[str, str | None] = {}
        self._names: dict[str, str | None] = {}

    async def _load(self, counterparty_id: str) -> None:
        if counterparty_id in self._groups:
            return
        doc = await self._views.get(self._counterparties, counterparty_id)
        if doc is not None:
            self._groups[counterparty_id] = str(doc.get("access_group") or DEFAULT_ACCESS_GROUP)
            self._names[counterparty_id] = str(doc.get("name", ""))
            return
        found = None if self._unseen is None else await self._unseen(counterparty_id)
        self._groups[counterparty_id] = None if found is None else found[0]
        self._names[counterparty_id] = None if found is None else found[1]

    async def sees_counterparty(self, counterparty_id: str) -> bool:
        """Whether the counterparty exists (in its view) and is in one of the caller's groups."""
        await self._load(counterparty_id)
        group = self._groups[counterparty_id]
        return group is not None and self.caller.sees_group(group)

    async def name_of(self, counterparty_id: str) -> str | None:
        """The counterparty's name as its view has it."""
        await self._load(counterparty_id)
        return self._names[counterparty_id]

    async def sees_person(self, owner: str, private: bool, counterparty_ids: Sequence[str]) -> bool:
        """See the module docstring."""
        if private:
            return self.caller.user_id == owner
        if not counterparty_ids or self.caller.visible_groups() is None:
            return True
        for cid in counterparty_ids:
            if await self.sees_counterparty(cid):
                return True
        return False

    async def visible_links(self, links: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """The links the caller may see, each with the counterparty's name."""
        shown = []
        for link in links:
            cid = str(link["counterparty_id"])
            if await self.sees_counterparty(cid):
                shown.append({**link, "counterparty_name": await self.name_of(cid)})
        return shown
