"""The public events of reference data (topic ``crm.contacts.reference.v1``)."""

from __future__ import annotations

from typing import Any

from crm_contacts.domain import reference as ref
from crm_shared.contracts.contacts import reference as public
from crm_shared.eventstore import RecordedEvent
from crm_shared.integration import Envelope

_PUBLIC_TYPES: dict[type[Any], str] = {
    ref.ReferenceEntryDefined: "crm.contacts.ReferenceEntryDefined",
    ref.ReferenceEntryChanged: "crm.contacts.ReferenceEntryChanged",
    ref.ReferenceEntryRetired: "crm.contacts.ReferenceEntryRetired",
    ref.ReferenceEntryRestored: "crm.contacts.ReferenceEntryRestored",
}


def translate_reference(recorded: RecordedEvent) -> list[Envelope]:
    """The integration event of one stored reference event (topic ``crm.contacts.reference.v1``)."""
    if not recorded.stream.startswith("reference-"):
        return []
    event = ref.event_catalog.decode(recorded)
    ce_type = _PUBLIC_TYPES.get(type(event))
    if ce_type is None:
        return []
    contract = public.EVENT_TYPES[ce_type].model_validate(event.model_dump())
    data = contract.model_dump(mode="json")
    return [
        Envelope.of(
            recorded,
            type=ce_type,
            source=public.SOURCE,
            subject=f"{data['catalog']}:{data['code']}",
            topic=public.TOPIC,
            data=data,
            contract=contract,
        )
    ]
