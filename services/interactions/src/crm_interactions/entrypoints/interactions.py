"""The interactions HTTP API under ``/api/v1/interactions``."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from crm_interactions.application.commands import Result, new_interaction_id
from crm_interactions.application.queries import MAX_CALENDAR_DAYS, Filters
from crm_interactions.bootstrap import InteractionsService
from crm_interactions.domain import interaction as it
from crm_shared.commands import fingerprint
from crm_shared.http import HttpProblem, IdempotencyKey, IfMatch, MinPosition, answered, caller_dependency, etag
from crm_shared.identity import Caller, CallerTokens
from crm_shared.readstore import Document
from crm_shared.readstore.cursor import BadCursor

EARLIEST, LATEST = 1900, 2999


def _plausible(moment: datetime) -> datetime:
    if not EARLIEST <= moment.year <= LATEST:
        raise ValueError(f"must be between the years {EARLIEST} and {LATEST}")
    return moment


Moment = Annotated[AwareDatetime, AfterValidator(_plausible)]
"""A date-time with a time zone, in years an interaction can take place (reminders and time zones
are computed from it, which would overflow near the ends of the calendar)."""

Kind = Literal["call", "meeting", "email", "letter", "other"]
Direction = Literal["incoming", "outgoing"]
Importance = Literal["high", "medium", "low"]
Status = Literal["planned", "completed", "cancelled"]
Subject = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=it.MAX_SUBJECT)]
UserId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
RecordRef = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]
Code = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Text = Annotated[str, StringConstraints(max_length=it.MAX_TEXT)]
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
    list[Annotated[str, StringConstraints(max_length=it.MAX_THIRD_PARTY)]],
    Field(max_length=it.MAX_PEOPLE, description="People outside the organisation, free text"),
]


class BasisIn(BaseModel):
    """A link to the record the interaction is based on (an order, a letter, another interaction...)."""

    model_config = ConfigDict(extra="forbid")
    type: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    title: Annotated[str, StringConstraints(max_length=200)] = ""


class _Details(BaseModel):
    model_config = ConfigDict(extra="forbid")
    importance: Importance | None = None
    description: Annotated[str, StringConstraints(max_length=it.MAX_DESCRIPTION)] | None = None
    content: Annotated[str, StringConstraints(max_length=it.MAX_CONTENT)] | None = None
    counterparty_id: RecordRef | None = Field(default=None, description="The counterparty (contacts)")
    contact_person_id: RecordRef | None = Field(default=None, description="The contact person (contacts)")
    responsible: UserId | None = Field(default=None, description="User id of the responsible user (default: you)")
    participants: People | None = None
    third_parties: ThirdParties | None = None
    basis: BasisIn | None = None
    project: Annotated[str, StringConstraints(max_length=it.MAX_PROJECT)] | None = Field(
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
    """Fields to change; absent fields stay, ``null`` clears an optional one."""

    kind: Kind | None = None
    direction: Direction | None = None
    subject: Subject | None = None


class RescheduleBody(BaseModel):
    """New times; leave ``reminder`` out to keep its lead time, ``null`` drops it."""

    model_config = ConfigDict(extra="forbid")
    start: Moment
    end: Moment | None = Field(default=None, description="Default: the same duration as before")
    reminder: Reminder = None


class CompleteBody(BaseModel):
    """The outcome of a planned interaction."""

    model_config = ConfigDict(extra="forbid")
    outcome: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=it.MAX_TEXT)]
    outcome_code: Code | None = Field(default=None, description="Code of the outcome, for analytics")


class CancelBody(BaseModel):
    """Why the interaction will not happen."""

    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=it.MAX_TEXT)]


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
    description: Annotated[str, StringConstraints(max_length=it.MAX_DESCRIPTION)] = ""
    content: Annotated[str, StringConstraints(max_length=it.MAX_CONTENT)] = ""
    contact_person_id: RecordRef | None = None
    responsible: UserId | None = None
    participants: People | None = None
    third_parties: ThirdParties | None = None
    project: Annotated[str, StringConstraints(max_length=it.MAX_PROJECT)] | None = None
    reminder: Reminder = None


class SourceBody(BaseModel):
    """The counterparty's information source, learnt at this interaction."""

    model_config = ConfigDict(extra="forbid")
    source: Code = Field(description="A code of the `sources` reference catalog")
    on: date | None = Field(default=None, description="Valid from (default: the interaction's day)")


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


class HistoryEntryOut(BaseModel):
    """One change of an interaction: its version, when it was committed, by whom, and what it set."""

    version: int
    at: datetime
    event: str
    actor: str | None
    changes: dict[str, Any]


class HistoryOut(BaseModel):
    """Every change of an interaction, oldest first."""

    items: list[HistoryEntryOut]


def _fields_of(state: it.Interaction) -> dict[str, Any]:
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


def _item(doc: Document) -> InteractionItemOut:
    return InteractionItemOut.model_validate({**doc, "id": str(doc["_id"]), "version": int(doc["_version"])})


def build_router(service: InteractionsService, tokens: CallerTokens) -> APIRouter:
    """The interaction routes, bound to one wired service; every route needs a verified caller."""
    router = APIRouter(prefix="/api/v1/interactions", tags=["interactions"])
    authenticated = caller_dependency(tokens)
    commands, contacts = service.commands, service.contacts

    async def out(fields: dict[str, Any], version: int) -> InteractionOut:
        """The answer: the interaction, its counterparty's name and, when due, the source prompt."""
        name = None
        if fields.get("counterparty_id"):
            counterparty = await contacts.counterparty(str(fields["counterparty_id"]))
            name = None if counterparty is None else counterparty.get("name")
        prompt = None
        if service.settings.source_prompt and fields["state"] != "cancelled":
            start = fields["start"]
            day = (datetime.fromisoformat(start) if isinstance(start, str) else start).date()
            prompt = await contacts.source_prompt(fields, day)
        return InteractionOut.model_validate(
            {**fields, "counterparty_name": name, "version": version, "source_prompt": prompt}
        )

    async def run(
        command: it.Command,
        caller: Caller,
        response: Response,
        *,
        if_match: int | None = None,
        idempotency_key: str | None = None,
        body: BaseModel | None = None,
    ) -> InteractionOut:
        result = await commands.handle(
            command,
            caller,
            if_match=if_match,
            idempotency_key=idempotency_key,
            request=None if body is None else fingerprint(body.model_dump(mode="json")),
        )
        return await answer(response, result)

    async def answer(response: Response, result: Result, request: Request | None = None) -> InteractionOut:
        # Location is built directly: request.url_for looks the route up and builds an absolute URL.
        location = None
        if request is not None:
            location = f"{request.scope.get('root_path', '')}{router.prefix}/{result.state.id}"
        answered(response, result, location=location)
        return await out(_fields_of(result.state), result.version)

    @router.post("", status_code=201, response_model=InteractionOut)
    async def create_interaction(
        body: CreateInteractionBody,
        request: Request,
        response: Response,
        idempotency_key: IdempotencyKey = None,
        caller: Caller = authenticated,
    ) -> InteractionOut:
        """Plan an interaction, or record one that happened (``state: completed``). Returns 201 with
        ``Location``, ``ETag``, the commit position and, for an incoming interaction with a buyer whose
        information source is missing or expired, ``source_prompt``."""
        draft = it.Draft(
            interaction_id=new_interaction_id(idempotency_key),
            kind=body.kind,
            direction=body.direction,
            subject=body.subject,
            start=body.start,
            end=body.end,
            responsible=body.responsible or caller.user_id,
            created_by=caller.user_id,
            importance=body.importance or "medium",
            description=body.description or "",
            content=body.content or "",
            counterparty_id=body.counterparty_id,
            contact_person_id=body.contact_person_id,
            participants=tuple(body.participants or ()),
            third_parties=tuple(body.third_parties or ()),
            basis=None if body.basis is None else it.Basis(body.basis.type, body.basis.id, body.basis.title),
            project=body.project or "",
            source=body.source,
            thread_id=body.thread_id,
            follow_up_of=body.follow_up_of,
        )
        command = commands.new_interaction(
            draft,
            recording=body.state == "completed",
            reminder=body.reminder,
            outcome=body.outcome,
            outcome_code=body.outcome_code,
        )
        result = await commands.handle(
            command, caller, idempotency_key=idempotency_key, request=fingerprint(body.model_dump(mode="json"))
        )
        return await answer(response, result, request)

    @router.get("", response_model=InteractionPage)
    async def list_interactions(
        start_from: Annotated[Moment | None, Query(alias="from", description="Starting at or after")] = None,
        to: Annotated[Moment | None, Query(description="Starting before")] = None,
        kind: Annotated[Kind | None, Query()] = None,
        state: Annotated[Status | None, Query()] = None,
        direction: Annotated[Direction | None, Query()] = None,
        importance: Annotated[Importance | None, Query()] = None,
        responsible: Annotated[str | None, Query(max_length=100, description="The responsible user (manager)")] = None,
        counterparty_id: Annotated[str | None, Query(max_length=64)] = None,
        contact_person_id: Annotated[str | None, Query(max_length=64)] = None,
        thread_id: Annotated[str | None, Query(max_length=64)] = None,
        order: Annotated[Literal["asc", "desc"], Query(description="By start: asc (default) or desc")] = "asc",
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, Query(max_length=2000)] = None,
        min_position: MinPosition = None,
        caller: Caller = authenticated,
    ) -> InteractionPage:
        """Interactions the caller sees, filtered, by start, with keyset pagination. A caller who sees only
        some access groups may get a short page with a ``next_cursor``: go on while there is one."""
        filters = Filters(
            start_from=start_from,
            start_to=to,
            kind=kind,
            state=state,
            direction=direction,
            importance=importance,
            responsible=responsible,
            counterparty_id=counterparty_id,
            contact_person_id=contact_person_id,
            thread_id=thread_id,
        )
        try:
            page = await service.queries.find(
                caller, filters, order=order, limit=limit, cursor=cursor, min_position=min_position
            )
        except BadCursor as exc:
            raise HttpProblem(400, "Bad cursor", str(exc), "cursor") from exc
        return InteractionPage(items=[_item(d) for d in page.items], next_cursor=page.next_cursor)

    @router.get("/summary", response_model=SummaryOut)
    async def counterparty_summary(
        counterparty_id: Annotated[str, Query(min_length=1, max_length=64)],
        caller: Caller = authenticated,
    ) -> SummaryOut:
        """The interactions of one counterparty: counts by kind and state, the last completed and the next
        planned one. Drill down with ``GET /api/v1/interactions?counterparty_id=``."""
        summary = await service.queries.summary(counterparty_id, caller, now=commands.now())
        if summary is None:
            raise HttpProblem(404, "Not found", f"no counterparty {counterparty_id}")
        return SummaryOut(
            counterparty_id=summary.counterparty_id,
            counterparty_name=summary.counterparty_name,
            total=summary.total,
            by_kind=summary.by_kind,
            by_state=summary.by_state,
            last=None if summary.last is None else _item(summary.last),
            next=None if summary.next is None else _item(summary.next),
        )

    @router.get("/calendar", response_model=CalendarOut)
    async def calendar(
        start_from: Annotated[Moment, Query(alias="from", description="Window start")],
        to: Annotated[Moment, Query(description=f"Window end (at most {MAX_CALENDAR_DAYS} days on)")],
        user: Annotated[str | None, Query(min_length=1, max_length=100, description="Default: you")] = None,
        caller: Caller = authenticated,
    ) -> CalendarOut:
        """Planned interactions a user takes part in (responsible or participant) starting in
        ``[from, to)``: a day, a week or a month, as the UI chooses."""
        whose = user or caller.user_id
        items, more = await service.queries.calendar(whose, start_from, to, caller)
        items_out = [_item(d) for d in items]
        return CalendarOut.model_validate(
            {"user": whose, "from": start_from, "to": to, "items": items_out, "truncated": more}
        )

    @router.get("/{interaction_id}", response_model=InteractionOut)
    async def get_interaction(
        interaction_id: InteractionId,
        response: Response,
        min_position: MinPosition = None,
        caller: Caller = authenticated,
    ) -> InteractionOut:
        """One interaction. ``ETag`` is its version, to send back as ``If-Match``."""
        doc = await service.queries.get(interaction_id, caller, min_position=min_position)
        if doc is None:
            raise HttpProblem(404, "Not found", f"no interaction {interaction_id}")
        response.headers["ETag"] = etag(int(doc["_version"]))
        return await out({**doc, "id": str(doc["_id"])}, int(doc["_version"]))

    @router.get("/{interaction_id}/history", response_model=HistoryOut)
    async def interaction_history(interaction_id: InteractionId, caller: Caller = authenticated) -> HistoryOut:
        """Every change of the interaction, oldest first: who, when, and what it set."""
        entries = await service.history.changes(interaction_id, caller)
        if entries is None:
            raise HttpProblem(404, "Not found", f"no interaction {interaction_id}")
        return HistoryOut(
            items=[
                HistoryEntryOut(version=e.version, at=e.at, event=e.event, actor=e.actor, changes=e.changes)
                for e in entries
            ]
        )

    @router.patch("/{interaction_id}", response_model=InteractionOut)
    async def change_interaction(
        interaction_id: InteractionId,
        body: ChangeInteractionBody,
        response: Response,
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
        caller: Caller = authenticated,
    ) -> InteractionOut:
        """Change details. With ``If-Match`` a stale version gets 412; a concurrent change gets 409."""
        changes: dict[str, Any] = body.model_dump(exclude_unset=True)
        for required in ("kind", "direction", "importance", "subject", "responsible"):
            if required in changes and changes[required] is None:
                raise HttpProblem(422, "Invalid request", f"{required} cannot be removed", required)
        if "basis" in changes:
            basis = body.basis
            changes["basis"] = None if basis is None else it.Basis(basis.type, basis.id, basis.title)
        command = it.ChangeDetails(interaction_id, changes)
        return await run(
            command, caller, response, if_match=if_match, idempotency_key=idempotency_key, body=body
        )

    @router.post("/{interaction_id}/reschedule", response_model=InteractionOut)
    async def reschedule(
        interaction_id: InteractionId,
        body: RescheduleBody,
        response: Response,
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
        caller: Caller = authenticated,
    ) -> InteractionOut:
        """Move a planned interaction; its reminder moves with it (refused if it would fire in the past)."""
        command = it.Reschedule(interaction_id, body.start, commands.now(), body.end)
        if "reminder" in body.model_fields_set:
            command = replace(command, reminder=body.reminder)
        return await run(
            command, caller, response, if_match=if_match, idempotency_key=idempotency_key, body=body
        )

    @router.post("/{interaction_id}/complete", response_model=InteractionOut)
    async def complete(
        interaction_id: InteractionId,
        body: CompleteBody,
        response: Response,
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
        caller: Caller = authenticated,
    ) -> InteractionOut:
        """Complete a planned interaction with its outcome (and an outcome code for analytics)."""
        command = it.Complete(interaction_id, body.outcome, commands.now(), body.outcome_code)
        return await run(
            command, caller, response, if_match=if_match, idempotency_key=idempotency_key, body=body
        )

    @router.post("/{interaction_id}/cancel", response_model=InteractionOut)
    async def cancel(
        interaction_id: InteractionId,
        body: CancelBody,
        response: Response,
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
        caller: Caller = authenticated,
    ) -> InteractionOut:
        """Cancel a planned interaction, with the reason."""
        command = it.Cancel(interaction_id, body.reason, commands.now())
        return await run(
            command, caller, response, if_match=if_match, idempotency_key=idempotency_key, body=body
        )

    @router.post("/{interaction_id}/follow-up", status_code=201, response_model=InteractionOut)
    async def follow_up(
        interaction_id: InteractionId,
        body: FollowUpBody,
        request: Request,
        response: Response,
        idempotency_key: IdempotencyKey = None,
        caller: Caller = authenticated,
    ) -> InteractionOut:
        """Plan the next interaction after a completed one, in its thread. 201 with ``Location``."""
        result = await commands.plan_follow_up(
            interaction_id,
            body.model_dump(),
            caller,
            idempotency_key=idempotency_key,
            request=fingerprint(body.model_dump(mode="json")),
        )
        return await answer(response, result, request)

    @router.post("/{interaction_id}/source", response_model=InteractionOut)
    async def provide_source(
        interaction_id: InteractionId,
        body: SourceBody,
        response: Response,
        idempotency_key: IdempotencyKey = None,
        caller: Caller = authenticated,
    ) -> InteractionOut:
        """Record the counterparty's information source learnt at this interaction: published as
        ``crm.interactions.InformationSourceProvided`` for the contacts service's source history."""
        command = it.ProvideSource(interaction_id, body.source, body.on)
        return await run(command, caller, response, idempotency_key=idempotency_key, body=body)

    return router

