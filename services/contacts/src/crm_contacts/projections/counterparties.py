"""The counterparty list and card: one document per counterparty, searchable by name prefix."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from crm_shared.contracts import contacts as public
from crm_shared.integration import Envelope
from crm_shared.projections import GetDocument
from crm_shared.readstore import Change, Index, Put

COLLECTION = "counterparties"


def name_key(name: str) -> str:
    """The search form of a name: case-folded, single-spaced (Cyrillic and Latin alike)."""
    return " ".join(name.casefold().split())


class CounterpartiesView:
    """Projection of ``crm.contacts.counterparty.v1`` into the ``counterparties`` collection."""

    name = "counterparties"
    version = 2  # 2: access groups
    topics: Sequence[str] = (public.COUNTERPARTY_TOPIC,)
    collections: Mapping[str, Sequence[Index]] = {
        COLLECTION: (
            Index(("name_key",)),
            Index(("access_group", "name_key")),
            Index(("kind", "name_key")),
            Index(("main_manager", "name_key")),
        ),
    }

    async def changes(self, event: Envelope, get: GetDocument, collection: Callable[[str], str]) -> list[Change]:
        """Registered creates the document; every other event updates the fields it names."""
        target = collection(COLLECTION)
        contract = public.EVENT_TYPES.get(event.type)
        if contract is None:
            return []
        data = contract.model_validate(event.data).model_dump(mode="json")
        cid = str(data.pop("counterparty_id"))
        if event.type == "crm.contacts.CounterpartyRegistered":
            document = {"_id": cid, **data}
        else:
            current = await get(target, cid)
            if current is None:
                return []  # the registration was not seen yet: its redelivery will bring all fields
            document = {**current, **data}
        document["_version"] = event.stream_version
        document["name_key"] = name_key(str(document["name"]))
        document["updated_at"] = event.time.isoformat()
        return [Put(target, document)]
