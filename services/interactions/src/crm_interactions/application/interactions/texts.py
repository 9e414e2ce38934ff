"""The texts of interactions sealed with the contact person's key (ADR 15).

An interaction that names a contact person stores its free text (:data:`~crm_interactions.domain.
interaction.TEXT_FIELDS` and the basis title) sealed with that person's key from this service's state
store; each sealed text names the person (``enc2:<person>:…``), so a text written while another person
was the contact opens with that person's key. The events, the view and a rebuilt view hold only the
sealed texts; they are opened when read (commands, history, queries). When contacts publishes
``PersonErased`` (:class:`ErasuresFromContacts`), the person's key is deleted: every text about them
then reads as erased (empty, and left out of lists), now and after any rebuild.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from crm_interactions.application.contacts import LocalContacts
from crm_interactions.domain import interaction as it
from crm_shared import sealing
from crm_shared.bus import Bus, Message, PoisonMessage, Subscription
from crm_shared.contracts.contacts import person
from crm_shared.errors import DomainError
from crm_shared.events import DomainEvent
from crm_shared.eventstore import RecordedEvent
from crm_shared.integration import Envelope
from crm_shared.keys import SubjectKeys
from crm_shared.readstore import Document
from crm_shared.statestore import StateStore

KEYS = "person_keys"
"""The state store collection of the contact persons' keys (one per person named by an interaction)."""
GROUP = "interactions.erasures-from-contacts"
ERASED = "crm.contacts.PersonErased"
log = logging.getLogger(__name__)


class PersonErased(DomainError):
    """The contact person's personal data was erased: no text about them can be written."""

    status = 410


def person_keys(state: StateStore) -> SubjectKeys:
    """The key store of the contact persons' keys in this service's state store."""
    return SubjectKeys(state, KEYS)


async def text_keys(keys: SubjectKeys | None, contacts: LocalContacts, data: Iterable[Any]) -> dict[str, bytes | None]:
    """The keys of every person whose sealed text ``data`` holds; None for one erased (also when the
    local copy of contacts knows of the erasure but a restored backup brought the key back)."""
    subjects = sealing.subjects_in(list(data))
    if keys is None or not subjects:
        return {}
    found = await keys.keys_of(sorted(subjects))
    for subject, key in found.items():
        if key is not None:
            known = await contacts.person(subject)
            if known is not None and known.get("erased"):
                found[subject] = None
    return found


def decode(recorded: RecordedEvent, keys: Mapping[str, bytes | None]) -> DomainEvent:
    """A stored interaction event with its texts opened (erased ones empty)."""
    purpose = it.purpose_of(recorded.stream.removeprefix("interaction-"))
    data, _ = sealing.open_tree(dict(recorded.data), keys, purpose)
    return it.catalog.decode(dataclasses.replace(recorded, data=data))


async def opened_documents(
    keys: SubjectKeys | None, contacts: LocalContacts, docs: Sequence[Document]
) -> list[Document]:
    """View documents with their texts opened (erased ones empty, and left out of lists)."""
    found = await text_keys(keys, contacts, docs)
    if not found:
        return list(docs)
    return [sealing.open_tree(dict(doc), found, it.purpose_of(str(doc["_id"])))[0] for doc in docs]


class ErasuresFromContacts:
    """Deletes a contact person's key when contacts publishes ``PersonErased`` (idempotent: deleting
    again changes nothing); other events of the topic are skipped."""

    def __init__(self, keys: SubjectKeys) -> None:
        self._keys = keys

    async def subscribe(self, bus: Bus) -> Subscription:
        """Consume contacts' person topic as this service's erasure group."""
        return await bus.subscribe([person.TOPIC], GROUP, self.handle)

    async def handle(self, message: Message) -> None:
        envelope = Envelope.from_message(message)  # PoisonMessage when it is not an integration event
        if envelope.type != ERASED:
            return
        try:
            erased = person.PersonErased.model_validate(envelope.data)
        except ValueError as exc:
            raise PoisonMessage(f"not a {ERASED}: {exc}") from exc
        await self._keys.delete(erased.person_id)
        log.info("interactions: the key of contact person %s deleted (erased in contacts)", erased.person_id)
