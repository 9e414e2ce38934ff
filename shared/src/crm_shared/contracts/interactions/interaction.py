"""Public events of interactions (calls, meetings, e-mails, letters): topic ``crm.interactions.interaction.v1``.

The Kafka key (``ce_subject``) is the interaction's id, so the events of one interaction arrive in
order. Every event but :class:`InformationSourceProvided` carries the interaction's key facts as
they are after it (:class:`InteractionFacts`): a consumer such as the notifier keeps a reminder at
``reminder_at`` for a ``planned`` interaction and drops it on any other state, with no other event.
Times are ISO 8601 in UTC.
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


class Basis(IntegrationEvent):
    """A link to the record an interaction is based on."""

    type: str = Field(description="What kind of record, e.g. order, letter, interaction.")
    id: str
    title: str = ""


class InteractionFacts(IntegrationEvent):
    """The key facts of an interaction after the event (common to the lifecycle events)."""

    interaction_id: str = Field(description="Stable id of the interaction (UUID).")
    state: State
    kind: Kind
    direction: Direction
    importance: Importance
    subject: str
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
    description: str = ""
    content: str = ""
    third_parties: list[str] = Field(default_factory=list, description="People outside the organisation, free text.")
    basis: Basis | None = None
    project: str = ""
    source: str | None = Field(default=None, description="Information source at the contact (a `sources` code).")
    follow_up_of: str | None = Field(default=None, description="The completed interaction this one follows up.")
    created_by: str = Field(description="User id of who entered it.")
    created_at: datetime


class InteractionPlanned(_Opened):
    """An interaction was planned (``state`` planned). Type ``crm.interactions.InteractionPlanned``."""


class InteractionRecorded(_Opened):
    """An interaction that already happened was recorded (``state`` completed).
    Type ``crm.interactions.InteractionRecorded``."""

    outcome: str = ""
    outcome_code: str | None = Field(default=None, description="Code of the outcome, for analytics.")


class InteractionRescheduled(InteractionFacts):
    """New start, end and reminder. Type ``crm.interactions.InteractionRescheduled``."""

    previous_start: datetime


class InteractionCompleted(InteractionFacts):
    """Done, with its outcome. Type ``crm.interactions.InteractionCompleted``."""

    outcome: str
    outcome_code: str | None = Field(default=None, description="Code of the outcome, for analytics.")
    completed_at: datetime


class InteractionCancelled(InteractionFacts):
    """Cancelled, with the reason. Type ``crm.interactions.InteractionCancelled``."""

    reason: str
    cancelled_at: datetime


class InteractionDetailsChanged(InteractionFacts):
    """New values of descriptive fields, only those that changed: any of ``kind``, ``direction``,
    ``importance``, ``subject``, ``description``, ``content``, ``counterparty_id``,
    ``contact_person_id``, ``responsible``, ``participants``, ``third_parties``, ``basis``, ``project``.
    Type ``crm.interactions.InteractionDetailsChanged``."""

    changes: dict[str, Any]


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
