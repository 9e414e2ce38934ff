"""The interaction aggregate (an "event" in 1C: a call, meeting, e-mail, letter) as a decider:
``decide(command, state) -> events``, ``evolve(state, event) -> state``. Stream: ``interaction-<id>``.

An interaction is planned and then completed or cancelled, or recorded as completed at once (an
incoming call that happened). Every event after the first carries the interaction's key facts as
they are after it (kind, direction, counterparty, responsible, start, reminder time, state...), so a
consumer such as the notifier needs no other event to act on it. Times are kept in UTC.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, get_args

from crm_shared import sealing
from crm_shared.errors import AlreadyExists, DomainError, NotFound
from crm_shared.events import DomainEvent, EventCatalog

Kind = Literal["call", "meeting", "email", "letter", "other"]
KINDS: tuple[Kind, ...] = get_args(Kind)
Direction = Literal["incoming", "outgoing"]
Status = Literal["planned", "completed", "cancelled"]
STATES: tuple[Status, ...] = get_args(Status)
Importance = Literal["high", "medium", "low"]

REMINDER_LEADS: tuple[int, ...] = (5, 10, 15, 30, 60, 120, 240, 480, 1440, 2880, 4320, 5760, 10080)
"""Lead times of a reminder, in minutes: 5/10/15/30 min, 1/2/4/8 h, 1-4 days, 1 week."""
CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future a recorded (already happened) interaction may start: clocks differ."""
MAX_SUBJECT = 200
MAX_DESCRIPTION = 1000
MAX_CONTENT = 100_000
MAX_TEXT = 5000
"""Outcome and cancel reason."""
MAX_PROJECT = 200
MAX_PEOPLE = 50
"""Participants, and third parties."""
MAX_THIRD_PARTY = 200

DETAIL_FIELDS = (
    "kind",
    "direction",
    "importance",
    "subject",
    "description",
    "content",
    "counterparty_id",
    "contact_person_id",
    "responsible",
    "participants",
    "third_parties",
    "basis",
    "project",
)
"""What :class:`ChangeDetails` may change; times, reminder, state and source have commands of their own."""
catalog = EventCatalog()


def stream_of(interaction_id: str) -> str:
    """The event stream of one interaction."""
    return f"interaction-{interaction_id}"


# -- events ---------------------------------------------------------------------------------------


class _Facts(DomainEvent):
    """The key facts of the interaction after the event."""

    interaction_id: str
    state: Status
    kind: Kind
    direction: Direction
    importance: Importance
    subject: str
    counterparty_id: str | None
    contact_person_id: str | None
    responsible: str
    participants: list[str]
    start: datetime
    end: datetime
    reminder: int | None
    reminder_at: datetime | None
    thread_id: str


FACT_FIELDS: frozenset[str] = frozenset(_Facts.model_fields)
"""The fields every lifecycle event carries."""


class _Opened(_Facts):
    """Everything an interaction has when it comes into being."""

    description: str = ""
    content: str = ""
    third_parties: list[str] = []
    basis: dict[str, str] | None = None
    project: str = ""
    source: str | None = None
    follow_up_of: str | None = None
    created_by: str
    created_at: datetime


@catalog.register("interactions.InteractionPlanned")
class InteractionPlanned(_Opened):
    """Planned: to happen at ``start``, with an optional reminder ``reminder`` minutes before."""


@catalog.register("interactions.InteractionRecorded")
class InteractionRecorded(_Opened):
    """Recorded as completed at once (it happened already)."""

    outcome: str = ""
    outcome_code: str | None = None


@catalog.register("interactions.InteractionRescheduled")
class InteractionRescheduled(_Facts):
    """New start, end and reminder (the facts hold them)."""

    previous_start: datetime


@catalog.register("interactions.InteractionCompleted")
class InteractionCompleted(_Facts):
    outcome: str
    outcome_code: str | None = None
    completed_at: datetime


@catalog.register("interactions.InteractionCancelled")
class InteractionCancelled(_Facts):
    reason: str
    cancelled_at: datetime


@catalog.register("interactions.InteractionDetailsChanged")
class InteractionDetailsChanged(_Facts):
    """New values of some of :data:`DETAIL_FIELDS` (only those that changed)."""

    changes: dict[str, Any]


@catalog.register("interactions.InformationSourceProvided")
class InformationSourceProvided(DomainEvent):
    """How the counterparty found us, learnt at this interaction, valid from ``on``."""

    interaction_id: str
    counterparty_id: str
    source: str
    on: date


# -- state ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Basis:
    """A link to the record the interaction is based on (an order, a letter, another interaction...)."""

    type: str
    id: str
    title: str = ""

    def as_dict(self) -> dict[str, str]:
        """The form stored in events."""
        return {"type": self.type, "id": self.id, "title": self.title}


@dataclass(frozen=True, slots=True)
class Interaction:
    id: str
    state: Status
    kind: Kind
    direction: Direction
    importance: Importance
    subject: str
    start: datetime
    end: datetime
    responsible: str
    created_by: str
    created_at: datetime
    thread_id: str
    counterparty_id: str | None = None
    contact_person_id: str | None = None
    participants: tuple[str, ...] = ()
    third_parties: tuple[str, ...] = ()
    description: str = ""
    content: str = ""
    basis: Basis | None = None
    project: str = ""
    source: str | None = None
    source_on: date | None = None
    reminder: int | None = None
    reminder_at: datetime | None = None
    follow_up_of: str | None = None
    outcome: str = ""
    outcome_code: str | None = None
    completed_at: datetime | None = None
    cancel_reason: str = ""
    cancelled_at: datetime | None = None

    def sees(self, user_id: str) -> bool:
        """Whether ``user_id`` takes part: the author, the responsible user or a participant."""
        return user_id in (self.created_by, self.responsible) or user_id in self.participants


State = Interaction | None


def _basis(raw: Mapping[str, str] | None) -> Basis | None:
    return None if raw is None else Basis(raw["type"], raw["id"], raw.get("title", ""))


def _with_facts(state: Interaction, event: _Facts) -> Interaction:
    return replace(
        state,
        state=event.state,
        kind=event.kind,
        direction=event.direction,
        importance=event.importance,
        subject=event.subject,
        counterparty_id=event.counterparty_id,
        contact_person_id=event.contact_person_id,
        responsible=event.responsible,
        participants=tuple(event.participants),
        start=event.start,
        end=event.end,
        reminder=event.reminder,
        reminder_at=event.reminder_at,
        thread_id=event.thread_id,
    )


def evolve(state: State, event: DomainEvent) -> State:
    """Fold one event into the state."""
    if isinstance(event, _Opened):
        opened = Interaction(
            id=event.interaction_id,
            state=event.state,
            kind=event.kind,
            direction=event.direction,
            importance=event.importance,
            subject=event.subject,
            start=event.start,
            end=event.end,
            responsible=event.responsible,
            created_by=event.created_by,
            created_at=event.created_at,
            thread_id=event.thread_id,
            counterparty_id=event.counterparty_id,
            contact_person_id=event.contact_person_id,
            participants=tuple(event.participants),
            third_parties=tuple(event.third_parties),
            description=event.description,
            content=event.content,
            basis=_basis(event.basis),
            project=event.project,
            source=event.source,
            source_on=event.start.date() if event.source else None,
            reminder=event.reminder,
            reminder_at=event.reminder_at,
            follow_up_of=event.follow_up_of,
        )
        if isinstance(event, InteractionRecorded):
            return replace(
                opened, outcome=event.outcome, outcome_code=event.outcome_code, completed_at=event.created_at
            )
        return opened
    if state is None:
        return None
    match event:
        case InteractionCompleted():
            after = _with_facts(state, event)
            return replace(
                after, outcome=event.outcome, outcome_code=event.outcome_code, completed_at=event.completed_at
            )
        case InteractionCancelled():
            return replace(_with_facts(state, event), cancel_reason=event.reason, cancelled_at=event.cancelled_at)
        case InteractionDetailsChanged():
            after = _with_facts(state, event)
            changes = event.changes
            return replace(
                after,
                description=changes.get("description", after.description),
                content=changes.get("content", after.content),
                third_parties=tuple(changes.get("third_parties", after.third_parties)),
                basis=_basis(changes["basis"]) if "basis" in changes else after.basis,
                project=changes.get("project", after.project),
            )
        case _Facts():
            return _with_facts(state, event)
        case InformationSourceProvided():
            return replace(state, source=event.source, source_on=event.on)
    return state


# -- personal text ----------------------------------------------------------------------------------

TEXT_FIELDS: frozenset[str] = frozenset(
    {"subject", "description", "content", "third_parties", "project", "outcome", "reason"}
)
"""Free text of the events that may identify a person (a name in a subject, third parties by name):
sealed with the contact person's key where the interaction names one, withheld from the public
events (ADR 15). ``basis.title`` (the title of the record it is based on) is sealed likewise; ids,
kinds, states, times and codes (``outcome_code``, ``source``) stay plain."""


def purpose_of(interaction_id: str) -> str:
    """What a sealed text of an interaction is bound to: a text copied into another one does not open."""
    return f"interaction:{interaction_id}"


def seal_text(data: Mapping[str, Any], seal_one: Callable[[str], str]) -> dict[str, Any]:
    """Event data with every text of :data:`TEXT_FIELDS` and ``basis.title`` (also inside ``changes``)
    sealed by ``seal_one``; empty texts stay as they are."""
    sealed = sealing.seal_fields(data, TEXT_FIELDS, seal_one)
    if isinstance(sealed.get("basis"), Mapping):
        sealed["basis"] = sealing.seal_fields(sealed["basis"], {"title"}, seal_one)
    if isinstance(sealed.get("changes"), Mapping):
        sealed["changes"] = seal_text(sealed["changes"], seal_one)
    return sealed


def has_text(data: Mapping[str, Any]) -> bool:
    """Whether event data holds a text :func:`seal_text` would seal."""
    found: list[str] = []

    def note(text: str) -> str:
        found.append(text)
        return text

    seal_text(data, note)
    return bool(found)


# -- commands -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Draft:
    """What a new interaction is made of. ``thread_id`` is the thread it joins (resolved by the
    application from a named thread or a follow-up; None starts a thread of its own)."""

    interaction_id: str
    kind: Kind
    direction: Direction
    subject: str
    start: datetime
    responsible: str
    created_by: str
    end: datetime | None = None
    importance: Importance = "medium"
    description: str = ""
    content: str = ""
    counterparty_id: str | None = None
    contact_person_id: str | None = None
    participants: tuple[str, ...] = ()
    third_parties: tuple[str, ...] = ()
    basis: Basis | None = None
    project: str = ""
    source: str | None = None
    thread_id: str | None = None
    follow_up_of: str | None = None


@dataclass(frozen=True, slots=True)
class PlanInteraction:
    draft: Draft
    now: datetime
    reminder: int | None = None

    @property
    def interaction_id(self) -> str:
        return self.draft.interaction_id


@dataclass(frozen=True, slots=True)
class RecordInteraction:
    """An interaction that happened: it is completed from the start."""

    draft: Draft
    now: datetime
    outcome: str = ""
    outcome_code: str | None = None

    @property
    def interaction_id(self) -> str:
        return self.draft.interaction_id


_KEEP: Any = object()


@dataclass(frozen=True, slots=True)
class Reschedule:
    """New times; ``reminder`` left out keeps the lead time, ``None`` drops the reminder."""

    interaction_id: str
    start: datetime
    now: datetime
    end: datetime | None = None
    reminder: int | None = _KEEP


@dataclass(frozen=True, slots=True)
class Complete:
    interaction_id: str
    outcome: str
    now: datetime
    outcome_code: str | None = None


@dataclass(frozen=True, slots=True)
class Cancel:
    interaction_id: str
    reason: str
    now: datetime


@dataclass(frozen=True, slots=True)
class ChangeDetails:
    """New values of the fields in ``changes`` (keys of :data:`DETAIL_FIELDS`; ``None`` clears an
    optional one)."""

    interaction_id: str
    changes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProvideSource:
    """The counterparty's information source, learnt at this interaction, as of ``on`` (default: the
    interaction's day)."""

    interaction_id: str
    source: str
    on: date | None = None


Command = PlanInteraction | RecordInteraction | Reschedule | Complete | Cancel | ChangeDetails | ProvideSource


def follow_up_thread(original: State, original_id: str) -> str:
    """The thread a follow-up of ``original`` joins; only a completed interaction is followed up."""
    if original is None:
        raise DomainError(f"no interaction {original_id}", field="follow_up_of")
    if original.state != "completed":
        raise DomainError(
            f"only a completed interaction is followed up; this one is {original.state}", field="follow_up_of"
        )
    return original.thread_id


def reminder_time(start: datetime, reminder: int | None, now: datetime) -> datetime | None:
    """When the reminder of an interaction starting at ``start`` fires; refuses unknown lead times
    and reminders that would fire in the past."""
    if reminder is None:
        return None
    if reminder not in REMINDER_LEADS:
        leads = ", ".join(map(str, REMINDER_LEADS))
        raise DomainError(f"a reminder is {leads} minutes ahead, not {reminder}", field="reminder")
    at = start - timedelta(minutes=reminder)
    if at < now:
        raise DomainError(
            f"the reminder would fire at {at.isoformat()}, which has passed; choose a shorter lead or none",
            field="reminder",
        )
    return at


def _text(value: str, name: str, limit: int, *, required: bool = False) -> str:
    cleaned = value.strip()
    if required and not cleaned:
        raise DomainError(f"{name} must not be blank", field=name)
    if len(cleaned) > limit:
        raise DomainError(f"at most {limit} characters", field=name)
    return cleaned


def _subject(value: str) -> str:
    return " ".join(_text(value, "subject", MAX_SUBJECT, required=True).split())


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v.strip() for v in values if v and v.strip()))


def _people(values: Iterable[str], name: str, limit_each: int = 100) -> list[str]:
    people = _unique(values)
    if len(people) > MAX_PEOPLE:
        raise DomainError(f"at most {MAX_PEOPLE}", field=name)
    for i, person in enumerate(people):
        if len(person) > limit_each:
            raise DomainError(f"at most {limit_each} characters", field=f"{name}[{i}]")
    return people


def _utc(moment: datetime, name: str) -> datetime:
    """Times are kept in UTC; one without a time zone is ambiguous."""
    if moment.tzinfo is None:
        raise DomainError("give the time zone, e.g. 2026-03-01T10:00:00+02:00", field=name)
    return moment.astimezone(UTC)


def _end(start: datetime, end: datetime | None) -> datetime:
    if end is None:
        return start
    end = _utc(end, "end")
    if end < start:
        raise DomainError("the end cannot be before the start", field="end")
    return end


def _parties(counterparty_id: str | None, contact_person_id: str | None) -> None:
    if counterparty_id is None and contact_person_id is None:
        raise DomainError("name a counterparty, a contact person or both", field="counterparty_id")


def _outcome_code(code: str | None) -> str | None:
    if code is None:
        return None
    cleaned = code.strip()
    if not cleaned or len(cleaned) > 64:
        raise DomainError("an outcome code has 1 to 64 characters", field="outcome_code")
    return cleaned


def decide(command: Command, state: State) -> list[DomainEvent]:
    """The events a command produces given the current state, or a :class:`DomainError`."""
    if isinstance(command, PlanInteraction | RecordInteraction):
        if state is not None:
            raise AlreadyExists(f"interaction {command.interaction_id} already exists")
        return _open(command)
    if state is None:
        raise NotFound(f"interaction {command.interaction_id} does not exist")
    match command:
        case Reschedule():
            return _reschedule(command, state)
        case Complete():
            _require_planned(state, "completed")
            completed = replace(state, state="completed")
            return [
                InteractionCompleted(
                    **_facts(completed),
                    outcome=_text(command.outcome, "outcome", MAX_TEXT, required=True),
                    outcome_code=_outcome_code(command.outcome_code),
                    completed_at=command.now,
                )
            ]
        case Cancel():
            _require_planned(state, "cancelled")
            reason = _text(command.reason, "reason", MAX_TEXT, required=True)
            return [
                InteractionCancelled(
                    **_facts(replace(state, state="cancelled")), reason=reason, cancelled_at=command.now
                )
            ]
        case ChangeDetails():
            return _change(command, state)
        case ProvideSource():
            if state.counterparty_id is None:
                raise DomainError(
                    "the interaction has no counterparty to record the source for", field="counterparty_id"
                )
            if state.state == "cancelled":
                raise DomainError("the interaction was cancelled", field="state")
            on = command.on or state.start.date()
            if state.source == command.source and state.source_on == on:
                return []
            return [
                InformationSourceProvided(
                    interaction_id=state.id, counterparty_id=state.counterparty_id, source=command.source, on=on
                )
            ]
    raise AssertionError(f"unhandled command {command!r}")  # pragma: no cover


def _require_planned(state: Interaction, becoming: str) -> None:
    if state.state != "planned":
        raise DomainError(f"the interaction is {state.state}; only a planned one can be {becoming}", field="state")


def _facts(state: Interaction) -> dict[str, Any]:
    return {
        "interaction_id": state.id,
        "state": state.state,
        "kind": state.kind,
        "direction": state.direction,
        "importance": state.importance,
        "subject": state.subject,
        "counterparty_id": state.counterparty_id,
        "contact_person_id": state.contact_person_id,
        "responsible": state.responsible,
        "participants": list(state.participants),
        "start": state.start,
        "end": state.end,
        "reminder": state.reminder,
        "reminder_at": state.reminder_at,
        "thread_id": state.thread_id,
    }


def _open(command: PlanInteraction | RecordInteraction) -> list[DomainEvent]:
    draft, now = command.draft, command.now
    draft = replace(draft, start=_utc(draft.start, "start"))
    _parties(draft.counterparty_id, draft.contact_person_id)
    iid = draft.interaction_id
    fields: dict[str, Any] = {
        "interaction_id": iid,
        "kind": draft.kind,
        "direction": draft.direction,
        "importance": draft.importance,
        "subject": _subject(draft.subject),
        "counterparty_id": draft.counterparty_id,
        "contact_person_id": draft.contact_person_id,
        "responsible": _text(draft.responsible, "responsible", 100, required=True),
        "participants": _people(draft.participants, "participants"),
        "start": draft.start,
        "end": _end(draft.start, draft.end),
        "thread_id": draft.thread_id or iid,
        "description": _text(draft.description, "description", MAX_DESCRIPTION),
        "content": _text(draft.content, "content", MAX_CONTENT),
        "third_parties": _people(draft.third_parties, "third_parties", MAX_THIRD_PARTY),
        "basis": None if draft.basis is None else draft.basis.as_dict(),
        "project": _text(draft.project, "project", MAX_PROJECT),
        "source": draft.source,
        "follow_up_of": draft.follow_up_of,
        "created_by": draft.created_by,
        "created_at": now,
    }
    opened: DomainEvent
    if isinstance(command, PlanInteraction):
        at = reminder_time(draft.start, command.reminder, now)
        opened = InteractionPlanned(**fields, state="planned", reminder=command.reminder, reminder_at=at)
    else:
        if draft.start > now + CLOCK_SKEW:
            raise DomainError("a recorded interaction has happened: its start cannot be in the future", field="start")
        opened = InteractionRecorded(
            **fields,
            state="completed",
            reminder=None,
            reminder_at=None,
            outcome=_text(command.outcome, "outcome", MAX_TEXT),
            outcome_code=_outcome_code(command.outcome_code),
        )
    events: list[DomainEvent] = [opened]
    if draft.source is not None and draft.counterparty_id is not None:
        events.append(
            InformationSourceProvided(
                interaction_id=iid, counterparty_id=draft.counterparty_id, source=draft.source, on=draft.start.date()
            )
        )
    return events


def _reschedule(command: Reschedule, state: Interaction) -> list[DomainEvent]:
    if state.state != "planned":
        raise DomainError(f"the interaction is {state.state}; only a planned one can be rescheduled", field="state")
    reminder = state.reminder if command.reminder is _KEEP else command.reminder
    start = _utc(command.start, "start")
    end = _end(start, command.end if command.end is not None else start + (state.end - state.start))
    at = reminder_time(start, reminder, command.now)
    if (start, end, reminder) == (state.start, state.end, state.reminder):
        return []
    after = replace(state, start=start, end=end, reminder=reminder, reminder_at=at)
    return [InteractionRescheduled(**_facts(after), previous_start=state.start)]


def _change(command: ChangeDetails, state: Interaction) -> list[DomainEvent]:
    unknown = set(command.changes) - set(DETAIL_FIELDS)
    if unknown:
        first = sorted(unknown)[0]
        raise DomainError(f"{first} cannot be changed here", field=first)
    if state.state == "cancelled":
        raise DomainError("the interaction was cancelled; it takes no changes", field="state")
    given = command.changes
    new: dict[str, Any] = {}
    for name in DETAIL_FIELDS:
        if name not in given:
            continue
        value = given[name]
        if name in ("kind", "direction", "importance") and value is None:
            raise DomainError(f"{name} cannot be removed", field=name)
        if name == "subject":
            value = _subject(value or "")
        elif name == "responsible":
            value = _text(value or "", "responsible", 100, required=True)
        elif name == "description":
            value = _text(value or "", name, MAX_DESCRIPTION)
        elif name == "content":
            value = _text(value or "", name, MAX_CONTENT)
        elif name == "project":
            value = _text(value or "", name, MAX_PROJECT)
        elif name == "participants":
            value = tuple(_people(value or (), name))
        elif name == "third_parties":
            value = tuple(_people(value or (), name, MAX_THIRD_PARTY))
        if getattr(state, name) != value:
            new[name] = value
    if not new:
        return []
    after = replace(state, **new)
    _parties(after.counterparty_id, after.contact_person_id)
    changes = {
        k: list(v) if isinstance(v, tuple) else v.as_dict() if isinstance(v, Basis) else v for k, v in new.items()
    }
    return [InteractionDetailsChanged(**_facts(after), changes=changes)]
