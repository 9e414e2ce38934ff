"""The request and response bodies of the interactions API, with the rules the server enforces on
each field (so the OpenAPI document states them)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from crm_interactions.domain import interaction as it
from crm_shared import inputs
from crm_shared.readstore import Document

EARLIEST, LATEST = 1900, 2999


def _plausible(moment: datetime) -> datetime:
    if not EARLIEST <= moment.year <= LATEST:
        raise ValueError(f"must be between the years {EARLIEST} and {LATEST}")
    return moment


Moment = Annotated[
    inputs.AwareIsoDateTime, AfterValidator(_plausible), inputs.Stated(pattern=r"^(19[0-9]{2}|2[0-9]{3})-")
]
"""A date-time with a time zone, in years an interaction can take place (reminders and time zones
are computed from it, which would overflow near the ends of the calendar)."""

Kind = Literal["call", "meeting", "email", "letter", "other"]
Direction = Literal["incoming", "outgoing"]
Importance = Literal["high", "medium", "low"]
Status = Literal["planned", "completed", "cancelled"]
Subject = Annotated[inputs.Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=it.MAX_SUBJECT)]
UserId = Annotated[inputs.Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
RecordRef = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]
Code = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Text = Annotated[inputs.MultilineText, StringConstraints(max_length=it.MAX_TEXT)]
InteractionId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]
Reminder = Annotated[
    int | None,
    Field(
        description="Remind this many minutes before the start: 5, 10, 15, 30, 60, 120, 240, 480, 1440, 2880, "
        "4320, 5760 or 10080"
    ),
]
People = Annotated[list[UserId], Field(max_length=it.MAX_PEOPLE, description="User ids of internal participants")]
ThirdParties = Annotated[
    list[Annotated[inputs.Text, StringConstraints(max_length=it.MAX_THIRD_PARTY)]],
    Field(max_length=it.MAX_PEOPLE, description="People outside the organisation, free text"),
]


class BasisIn(BaseModel):
    """A link to the record the interaction is based on (an order, a letter, another interaction...)."""

    model_config = ConfigDict(extra="forbid")
    type: Annotated[inputs.Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    id: Annotated[inputs.Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    title: Annotated[inputs.Text, StringConstraints(max_length=200)] = ""


class _Details(BaseModel):
    model_config = ConfigDict(extra="forbid")
    importance: Importance | None = None
    description: Annotated[inputs.MultilineText, StringConstraints(max_length=it.MAX_DESCRIPTION)] | None = None
    content: Annotated[inputs.MultilineText, StringConstraints(max_length=it.MAX_CONTENT)] | None = None
    counterparty_id: RecordRef | None = Field(default=None, description="The counterparty (contacts)")
    contact_person_id: RecordRef | None = Field(default=None, description="The contact person (contacts)")
    responsible: UserId | None = Field(default=None, description="User id of the responsible user (default: you)")
    participants: People | None = None
    third_parties: ThirdParties | None = None
    basis: BasisIn | None = None
    project: Annotated[inputs.Text, StringConstraints(max_length=it.MAX_PROJECT)] | None = Field(
        default=None, description="Project, free text or code"
    )


class CreateInteractionBody(_Details):
    """A new interaction: planned (default), or ``state: completed`` to record one that happened."""

    kind: Kind
    direction: Direction
    subject: Subject
    start: Moment
    end: Moment | None = Field(default=None, description="Not before the start; default: the start")
    state: Literal["planned", "completed"] = "planned"
    reminder: Reminder = None
    source: Code | None = Field(default=None, description="Information source at the contact (a `sources` code)")
    thread_id: RecordRef | None = Field(default=None, description="Join the thread of this interaction")
    follow_up_of: RecordRef | None = Field(default=None, description="The completed interaction this follows up")
    outcome: Text | None = Field(default=None, description="Only when recording a completed one")
    outcome_code: Code | None = None


class ChangeInteractionBody(_Details):
    """Fields to change; absent fields stay, ``null`` clears an optional one (the ones that cannot be
    cleared are not nullable)."""

    kind: Annotated[Kind | None, inputs.NOT_NULL] = None
    direction: Annotated[Direction | None, inputs.NOT_NULL] = None
    subject: Annotated[Subject | None, inputs.NOT_NULL] = None
    importance: Annotated[Importance | None, inputs.NOT_NULL] = None
    responsible: Annotated[UserId | None, inputs.NOT_NULL] = Field(
        default=None, description="User id of the responsible user"
    )


class RescheduleBody(BaseModel):
    """New times; leave ``reminder`` out to keep its lead time, ``null`` drops it."""

    model_config = ConfigDict(extra="forbid")
    start: Moment
    end: Moment | None = Field(default=None, description="Default: the same duration as before")
    reminder: Reminder = None


class CompleteBody(BaseModel):
    """The outcome of a planned interaction."""

    model_config = ConfigDict(extra="forbid")
    outcome: Annotated[
        inputs.MultilineText, StringConstraints(strip_whitespace=True, min_length=1, max_length=it.MAX_TEXT)
    ]
    outcome_code: Code | None = Field(default=None, description="Code of the outcome, for analytics")


class CancelBody(BaseModel):
    """Why the interaction will not happen."""

    model_config = ConfigDict(extra="forbid")
    reason: Annotated[
        inputs.MultilineText, StringConstraints(strip_whitespace=True, min_length=1, max_length=it.MAX_TEXT)
    ]


class FollowUpBody(BaseModel):
    """The next interaction after a completed one: same thread; counterparty, contact person, subject and
    responsible user default to the completed one's."""

    model_config = ConfigDict(extra="forbid")
    kind: Kind | None = Field(default=None, description="Default: the completed one's kind")
    direction: Direction = "outgoing"
    subject: Subject | None = None
    start: Moment
    end: Moment | None = None
    importance: Importance | None = None
    description: Annotated[inputs.MultilineText, StringConstraints(max_length=it.MAX_DESCRIPTION)] = ""
    content: Annotated[inputs.MultilineText, StringConstraints(max_length=it.MAX_CONTENT)] = ""
    contact_person_id: RecordRef | None = None
    responsible: UserId | None = None
    participants: People | None = None
    third_parties: ThirdParties | None = None
    project: Annotated[inputs.Text, StringConstraints(max_length=it.MAX_PROJECT)] | None = None
    reminder: Reminder = None


class SourceBody(BaseModel):
    """The counterparty's information source, learnt at this interaction."""

    model_config = ConfigDict(extra="forbid")
    source: Code = Field(description="A code of the `sources` reference catalog")
    on: inputs.PastDate | None = Field(
        default=None, description="Valid from (default: the interaction's day); not in the future"
    )


class BasisOut(BaseModel):
    """A link to another record."""

    type: str
    id: str
    title: str = ""


class SourcePromptOut(BaseModel):
    """Ask for the counterparty's information source: none is recorded (``missing``), or the last one's
    actuality period ended on ``expired_on`` (``expired``). Answer with ``POST .../{id}/source``."""

    reason: Literal["missing", "expired"]
    last_source: str | None = None
    expired_on: date | None = None


class InteractionItemOut(BaseModel):
    """An interaction in a list (without its full content)."""

    id: str
    kind: Kind
    direction: Direction
    state: Status
    importance: Importance
    subject: str
    description: str = ""
    start: datetime
    end: datetime
    counterparty_id: str | None = None
    counterparty_name: str | None = Field(default=None, description="As contacts last published it")
    contact_person_id: str | None = None
    responsible: str
    participants: list[str] = []
    third_parties: list[str] = []
    basis: BasisOut | None = None
    project: str = ""
    source: str | None = None
    reminder: int | None = None
    reminder_at: datetime | None = None
    outcome: str = ""
    outcome_code: str | None = None
    completed_at: datetime | None = None
    cancel_reason: str = ""
    cancelled_at: datetime | None = None
    thread_id: str
    follow_up_of: str | None = None
    created_by: str
    created_at: datetime
    version: int


class InteractionOut(InteractionItemOut):
    """One interaction with everything it holds."""

    content: str = ""
    source_prompt: SourcePromptOut | None = Field(
        default=None, description="Present when the counterparty's information source should be recorded"
    )


class InteractionPage(BaseModel):
    """One page of interactions; pass ``next_cursor`` as ``cursor`` for the next one."""

    items: list[InteractionItemOut]
    next_cursor: str | None


class SummaryOut(BaseModel):
    """The interactions of one counterparty at a glance."""

    counterparty_id: str
    counterparty_name: str
    total: int
    by_kind: dict[str, int]
    by_state: dict[str, int]
    last: InteractionItemOut | None = Field(description="The latest completed one")
    next: InteractionItemOut | None = Field(description="The earliest planned one that has not started")


class CalendarOut(BaseModel):
    """Planned interactions of a user in a window, by start."""

    user: str
    start_from: datetime = Field(alias="from")
    to: datetime
    items: list[InteractionItemOut]
    truncated: bool = Field(description="More interactions than listed start in the window")

    model_config = ConfigDict(populate_by_name=True)


class OverdueOut(BaseModel):
    """Planned interactions of a user that should have started already, oldest first."""

    user: str
    before: datetime
    items: list[InteractionItemOut]
    truncated: bool = Field(description="More overdue interactions than listed")


class LastContactOut(BaseModel):
    """A counterparty and when it was last contacted."""

    counterparty_id: str
    counterparty_name: str
    last_contact: datetime | None = Field(description="Start of its latest completed interaction; null: never")
    last_interaction: InteractionItemOut | None
    changed_at: datetime | None = Field(description="When contacts last changed the counterparty")


class LastContactsOut(BaseModel):
    """The counterparties of a manager with their last contact."""

    manager: str
    quiet_days: int | None = Field(description="Only those with no contact in this many days, when given")
    items: list[LastContactOut]
    truncated: bool = Field(description="More counterparties than listed")


def fields_of(state: it.Interaction) -> dict[str, Any]:
    return {
        "id": state.id,
        "kind": state.kind,
        "direction": state.direction,
        "state": state.state,
        "importance": state.importance,
        "subject": state.subject,
        "description": state.description,
        "content": state.content,
        "start": state.start,
        "end": state.end,
        "counterparty_id": state.counterparty_id,
        "contact_person_id": state.contact_person_id,
        "responsible": state.responsible,
        "participants": list(state.participants),
        "third_parties": list(state.third_parties),
        "basis": None if state.basis is None else state.basis.as_dict(),
        "project": state.project,
        "source": state.source,
        "reminder": state.reminder,
        "reminder_at": state.reminder_at,
        "outcome": state.outcome,
        "outcome_code": state.outcome_code,
        "completed_at": state.completed_at,
        "cancel_reason": state.cancel_reason,
        "cancelled_at": state.cancelled_at,
        "thread_id": state.thread_id,
        "follow_up_of": state.follow_up_of,
        "created_by": state.created_by,
        "created_at": state.created_at,
    }


def item_of(doc: Document) -> InteractionItemOut:
    return InteractionItemOut.model_validate({**doc, "id": str(doc["_id"]), "version": int(doc["_version"])})
