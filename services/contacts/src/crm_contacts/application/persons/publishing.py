"""The public events of persons (topic ``crm.contacts.person.v1``): never a personal field."""

from __future__ import annotations

from typing import Any

from crm_contacts.domain import person as pe
from crm_shared.contracts.contacts import person as public
from crm_shared.contracts.contacts.counterparty import SOURCE
from crm_shared.events import DomainEvent
from crm_shared.eventstore import RecordedEvent
from crm_shared.integration import Envelope

_DETAILS: dict[type[DomainEvent], str] = {
    pe.PersonRenamed: "name",
    pe.PersonBirthDateChanged: "birth_date",
    pe.PersonBirthdayReminderChanged: "birthday_reminder_days",
    pe.PersonGenderChanged: "gender",
    pe.PersonDescriptionChanged: "description",
    pe.PersonContactInfoSet: "contact_info",
}


def _public_form(event: DomainEvent) -> tuple[str, dict[str, Any]]:
    """The CloudEvents type and data of a person event: never a personal field (see the contract)."""
    match event:
        case pe.PersonRegistered():
            return "crm.contacts.PersonRegistered", {
                "person_id": event.person_id,
                "owner": event.owner,
                "private": event.private,
                "registered_at": event.registered_at,
            }
        case pe.PersonPrivacyChanged():
            return "crm.contacts.PersonPrivacyChanged", {"person_id": event.person_id, "private": event.private}
        case pe.PersonPropertiesChanged():
            return "crm.contacts.PersonPropertiesChanged", {"person_id": event.person_id, "values": event.values}
        case pe.PersonCategoriesChanged():
            return "crm.contacts.PersonCategoriesChanged", {
                "person_id": event.person_id,
                "categories": event.categories,
            }
        case pe.PersonLinkedToCounterparty() | pe.PersonCounterpartyLinkChanged():
            ce_type = (
                "crm.contacts.PersonLinkedToCounterparty"
                if isinstance(event, pe.PersonLinkedToCounterparty)
                else "crm.contacts.PersonCounterpartyLinkChanged"
            )
            return ce_type, {
                "person_id": event.person_id,
                "counterparty_id": event.counterparty_id,
                "position": None,  # withheld: sealed personal data (ADR 15)
                "role": event.role,
            }
        case pe.PersonUnlinkedFromCounterparty():
            return "crm.contacts.PersonUnlinkedFromCounterparty", {
                "person_id": event.person_id,
                "counterparty_id": event.counterparty_id,
            }
        case pe.PersonErased():
            return "crm.contacts.PersonErased", {"person_id": event.person_id, "erased_at": event.erased_at}
    return "crm.contacts.PersonDetailsChanged", {
        "person_id": getattr(event, "person_id", ""),
        "fields": [_DETAILS[type(event)]],
    }


def translate_person(recorded: RecordedEvent) -> list[Envelope]:
    """The integration event of one stored person event (topic ``crm.contacts.person.v1``). Decoded
    without opening: the public form never needs, and never gets, a personal field."""
    if not recorded.stream.startswith("person-"):
        return []
    ce_type, fields = _public_form(pe.catalog.decode(recorded))
    data = public.EVENT_TYPES[ce_type].model_validate(fields).model_dump(mode="json")
    return [
        Envelope.of(
            recorded,
            type=ce_type,
            source=SOURCE,
            subject=str(data["person_id"]),
            topic=public.TOPIC,
            data=data,
        )
    ]
