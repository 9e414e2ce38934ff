"""Public events of interactions (calls, meetings, e-mails, letters): topic ``crm.interactions.interaction.v1``.

The Kafka key (``ce_subject``) is the interaction's id, so the events of one interaction arrive in
order. Every event but :class:`InformationSourceProvided` carries the interaction's key facts as
they are after it (:class:`InteractionFacts`): a consumer such as the notifier keeps a reminder at
``reminder_at`` for a ``planned`` interaction and drops it on any other state, with no other event.
Times are ISO 8601 in UTC.

**No free text** (ADR 15). What people write on an interaction (subject, description, content, third
parties, project, outcome, cancel reason, the title of its basis) may name a person, and a topic cannot
forget. Those fields are *withheld*: they keep their place in this topic version for consumers written
before, and always carry the empty value (``""``, ``[]``); the schemas allow nothing else. Consumers
that need the text read ``GET /api/v1/interactions/{id}`` under the caller's rights; once the contact
person is erased it reads as erased there too. Published: ids, kinds, states, times, user ids and
codes (``outcome_code``, ``source``). Events published before 2026-12 may still carry text.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field

from crm_shared.integration import IntegrationEvent

SOURCE = "crm/interactions"
TOPIC = "crm.interactions.interaction.v1"

Kind = Literal["call", "meeting", "email", "letter", "other"]
Direction = Literal["incoming", "outgoing"]
State = Literal["planned", "completed", "cancelled"]
Importance = Literal["high", "medium", "low"]


WITHHELD = "Withheld, always empty (ADR 15): free text that may identify a person; read it through the API."
Withheld = Literal[""]
"""A free-text field that is never published (ADR 15)."""


def _withheld(what: str, *, required: bool = False) -> Any:
    if required:  # required as before it was withheld: consumers written then find it
        return Field(description=f"{what}. {WITHHELD}")
    return Field(default="", description=f"{what}. {WITHHELD}")


class Basis(IntegrationEvent):
    """A link to the record an interaction is based on."""

    type: str = Field(description="What kind of record, e.g. order, letter, interaction.")
    id: str
    title: Withheld = _withheld("The record's title")


class InteractionFacts(IntegrationEvent):
    """The key facts of an interaction after the event (common to the lifecycle events)."""

    interaction_id: str = Field(description="Stable id of the interaction (UUID).")
    state: State
    kind: Kind
    direction: Direction
    importance: Importance
    subject: Withheld = _withheld("The subject", required=True)
    counterparty_id: str | None = Field(description="The counterparty (crm.contacts), if any.")
    contact_person_id: str | None = Field(description="The contact person (crm.contacts), if any.")
    responsible: str = Field(description="User id of the responsible user.")
    participants: list[str] = Field(default_factory=list, description="User ids of internal participants.")
    start: datetime
    end: datetime
    reminder: int | None = Field(default=None, description="Lead time of the reminder in minutes, if any.")
    reminder_at: datetime | None = Field(default=None, description="When to remind the responsible user: start - lead.")
    thread_id: str = Field(description="The thread (chain of interactions on one subject): the id of its first one.")


class _Opened(InteractionFacts):
    description: Withheld = _withheld("The description")
    content: Withheld = _withheld("The content (e.g. a letter's text)")
    third_parties: list[str] = Field(
        default_factory=list, max_length=0, description=f"People outside the organisation. {WITHHELD}"
    )
    basis: Basis | None = None
    project: Withheld = _withheld("The project")
    source: str | None = Field(default=None, description="Information source at the contact (a `sources` code).")
    follow_up_of: str | None = Field(default=None, description="The completed interaction this one follows up.")
    created_by: str = Field(description="User id of who entered it.")
    created_at: datetime


class InteractionPlanned(_Opened):
    """An interaction was planned (``state`` planned). Type ``crm.interactions.InteractionPlanned``."""


class InteractionRecorded(_Opened):
    """An interaction that already happened was recorded (``state`` completed).
    Type ``crm.interactions.InteractionRecorded``."""

    outcome: Withheld = _withheld("The outcome")
    outcome_code: str | None = Field(default=None, description="Code of the outcome, for analytics.")


class InteractionRescheduled(InteractionFacts):
    """New start, end and reminder. Type ``crm.interactions.InteractionRescheduled``."""

    previous_start: datetime


class InteractionCompleted(InteractionFacts):
    """Done, with its outcome (its text withheld). Type ``crm.interactions.InteractionCompleted``."""

    outcome: Withheld = _withheld("The outcome", required=True)
    outcome_code: str | None = Field(default=None, description="Code of the outcome, for analytics.")
    completed_at: datetime


class InteractionCancelled(InteractionFacts):
    """Cancelled (the reason withheld). Type ``crm.interactions.InteractionCancelled``."""

    reason: Withheld = _withheld("Why it was cancelled", required=True)
    cancelled_at: datetime


ChangedField = Literal[
    "kind", "direction", "importance", "counterparty_id", "contact_person_id", "responsible", "participants", "basis"
]
TextField = Literal["subject", "description", "content", "third_parties", "project"]


class InteractionDetailsChanged(InteractionFacts):
    """New values of descriptive fields, only those that changed: any of ``kind``, ``direction``,
    ``importance``, ``counterparty_id``, ``contact_person_id``, ``responsible``, ``participants``,
    ``basis`` (its title withheld). Which free-text fields changed is in ``text_changed``; their values
    are withheld (ADR 15). Type ``crm.interactions.InteractionDetailsChanged``."""

    changes: dict[ChangedField, Any] = Field(description="Field -> its new value (free text is never here).")
    text_changed: list[TextField] = Field(
        default_factory=list, description="Which free-text fields changed (their values are withheld; added in v1)."
    )


class InformationSourceProvided(IntegrationEvent):
    """At this interaction the counterparty told how it found us: the contacts service records
    ``source`` in the counterparty's dated source history as of ``on`` (the interaction's day unless
    given). Type ``crm.interactions.InformationSourceProvided``."""

    interaction_id: str
    counterparty_id: str
    source: str = Field(description="Code of the information source (crm.contacts reference catalog `sources`).")
    on: date


EVENT_TYPES: dict[str, type[IntegrationEvent]] = {
    "crm.interactions.InteractionPlanned": InteractionPlanned,
    "crm.interactions.InteractionRecorded": InteractionRecorded,
    "crm.interactions.InteractionRescheduled": InteractionRescheduled,
    "crm.interactions.InteractionCompleted": InteractionCompleted,
    "crm.interactions.InteractionCancelled": InteractionCancelled,
    "crm.interactions.InteractionDetailsChanged": InteractionDetailsChanged,
    "crm.interactions.InformationSourceProvided": InformationSourceProvided,
}
"""Every public event type of this topic, by its CloudEvents type."""
