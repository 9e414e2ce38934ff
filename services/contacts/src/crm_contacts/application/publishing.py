"""Which domain events become public, and how: the translation the relay and projections use."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from uuid import UUID

from crm_contacts.application.persons.publishing import translate_person
from crm_contacts.application.reference.publishing import translate_reference
from crm_contacts.domain import counterparty as cp
from crm_shared.contracts import contacts as public
from crm_shared.eventstore import RecordedEvent
from crm_shared.integration import Envelope

_PUBLIC_TYPES = {
    cp.CounterpartyRegistered: "crm.contacts.CounterpartyRegistered",
    cp.CounterpartyRenamed: "crm.contacts.CounterpartyRenamed",
    cp.CounterpartyKindChanged: "crm.contacts.CounterpartyKindChanged",
    cp.CounterpartyTaxIdChanged: "crm.contacts.CounterpartyTaxIdChanged",
    cp.MainManagerAssigned: "crm.contacts.MainManagerAssigned",
    cp.CounterpartyAccessGroupChanged: "crm.contacts.CounterpartyAccessGroupChanged",
    cp.CounterpartyRelationsChanged: "crm.contacts.CounterpartyRelationsChanged",
    cp.CounterpartyDetailsChanged: "crm.contacts.CounterpartyDetailsChanged",
    cp.CounterpartyRegrouped: "crm.contacts.CounterpartyRegrouped",
    cp.HeadCounterpartyChanged: "crm.contacts.HeadCounterpartyChanged",
    cp.ManagersChanged: "crm.contacts.ManagersChanged",
    cp.CounterpartyArchived: "crm.contacts.CounterpartyArchived",
    cp.CounterpartyRestored: "crm.contacts.CounterpartyRestored",
    cp.ContactInformationChanged: "crm.contacts.ContactInformationChanged",
    cp.CounterpartyPropertiesChanged: "crm.contacts.CounterpartyPropertiesChanged",
    cp.CounterpartyCategoriesChanged: "crm.contacts.CounterpartyCategoriesChanged",
    cp.InformationSourceRecorded: "crm.contacts.InformationSourceRecorded",
    cp.CounterpartyMerged: "crm.contacts.CounterpartyMerged",
    cp.DuplicateAbsorbed: "crm.contacts.DuplicateAbsorbed",
    cp.CounterpartyExternalCodesChanged: "crm.contacts.CounterpartyExternalCodesChanged",
}


def translate(recorded: RecordedEvent) -> list[Envelope]:
    """The integration events of one stored event (none for private ones), chosen by its stream."""
    for prefix, translate_stream in _BY_STREAM.items():
        if recorded.stream.startswith(prefix):
            return translate_stream(recorded)
    return []


def _counterparty(recorded: RecordedEvent) -> list[Envelope]:
    event = cp.catalog.decode(recorded)
    ce_type = _PUBLIC_TYPES.get(type(event))
    if ce_type is None:
        return []
    contract = public.EVENT_TYPES[ce_type]
    fields = event.model_dump()
    if isinstance(event, cp.CounterpartyRegistered):
        fields["kind"] = event.relations[0]
    validated = contract.model_validate(fields)
    data = validated.model_dump(mode="json")
    return [
        Envelope.of(
            recorded,
            type=ce_type,
            source=public.SOURCE,
            subject=str(data["counterparty_id"]),
            topic=public.COUNTERPARTY_TOPIC,
            data=data,
            contract=validated,
        )
    ]


_BY_STREAM: dict[str, Callable[[RecordedEvent], list[Envelope]]] = {
    "counterparty-": _counterparty,
    "reference-": translate_reference,
    "person-": translate_person,
}
"""Which translation applies to the events of each stream prefix; private streams are absent."""


RECENT = 16_384
"""How many stored events a :class:`Translation` remembers the public events of."""


class Translation:
    """:func:`translate` for one service instance, remembering what it gave for recent events.

    The relay and each of the service's views (counterparties, reference, persons) read every event
    of the log and translate it, so without this each event is decoded, validated and dumped four
    times over (the import's profile, bench P2). Events of persons are translated afresh every time:
    their personal data is sealed with a key that erasure deletes, so no earlier translation may
    outlive it. The envelopes handed out are shared: none of their readers changes them."""

    def __init__(self, size: int = RECENT) -> None:
        self._size = size
        self._recent: OrderedDict[tuple[int, UUID], tuple[Envelope, ...]] = OrderedDict()

    def __call__(self, recorded: RecordedEvent) -> tuple[Envelope, ...]:
        if recorded.stream.startswith("person-"):
            return tuple(translate(recorded))
        key = (recorded.position, recorded.id)
        found = self._recent.get(key)
        if found is None:
            found = self._recent[key] = tuple(translate(recorded))
            if len(self._recent) > self._size:
                self._recent.popitem(last=False)
        return found
