"""The interactions routes under ``/api/v1/interactions``: each parses, builds the command or query,
calls the application and answers; the rules live in the application."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from crm_interactions.application.interactions.commands import Result, new_interaction_id
from crm_interactions.application.interactions.queries import MAX_CALENDAR_DAYS, MAX_OVERDUE, Filters
from crm_interactions.bootstrap import InteractionsService
from crm_interactions.domain import interaction as it
from crm_interactions.entrypoints.interactions_models import (
    CalendarOut,
    CancelBody,
    ChangeInteractionBody,
    CompleteBody,
    CreateInteractionBody,
    Direction,
    FollowUpBody,
    Importance,
    InteractionId,
    InteractionOut,
    InteractionPage,
    Kind,
    LastContactOut,
    LastContactsOut,
    Moment,
    OverdueOut,
    RescheduleBody,
    SourceBody,
    Status,
    SummaryOut,
    fields_of,
    item_of,
)
from crm_shared import inputs
from crm_shared.commands import fingerprint
from crm_shared.http import (
    Cursor,
    HistoryEntryOut,
    HistoryOut,
    HttpProblem,
    IdempotencyKey,
    IfMatch,
    MinPosition,
    answered,
    caller_dependency,
    etag,
    run_command,
)
from crm_shared.identity import Caller, CallerTokens
from crm_shared.readstore.cursor import BadCursor


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
        result = await run_command(
            commands, command, caller, response, if_match=if_match, idempotency_key=idempotency_key, body=body
        )
        return await out(fields_of(result.state), result.version)

    async def answer(response: Response, result: Result, request: Request | None = None) -> InteractionOut:
        # Location is built directly: request.url_for looks the route up and builds an absolute URL.
        location = None
        if request is not None:
            location = f"{request.scope.get('root_path', '')}{router.prefix}/{result.state.id}"
        answered(response, result, location=location)
        return await out(fields_of(result.state), result.version)

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
            command,
            caller,
            idempotency_key=idempotency_key,
            request=None if idempotency_key is None else fingerprint(body.model_dump(mode="json")),
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
        responsible: Annotated[
            inputs.Text | None, Query(max_length=100, description="The responsible user (manager)")
        ] = None,
        counterparty_id: Annotated[inputs.Text | None, Query(max_length=64)] = None,
        contact_person_id: Annotated[inputs.Text | None, Query(max_length=64)] = None,
        thread_id: Annotated[inputs.Text | None, Query(max_length=64)] = None,
        order: Annotated[Literal["asc", "desc"], Query(description="By start: asc (default) or desc")] = "asc",
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: Cursor = None,
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
        return InteractionPage(items=[item_of(d) for d in page.items], next_cursor=page.next_cursor)

    @router.get("/summary", response_model=SummaryOut)
    async def counterparty_summary(
        counterparty_id: Annotated[inputs.Text, Query(min_length=1, max_length=64)],
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
            last=None if summary.last is None else item_of(summary.last),
            next=None if summary.next is None else item_of(summary.next),
        )

    @router.get("/calendar", response_model=CalendarOut)
    async def calendar(
        start_from: Annotated[Moment, Query(alias="from", description="Window start")],
        to: Annotated[Moment, Query(description=f"Window end (at most {MAX_CALENDAR_DAYS} days on)")],
        user: Annotated[inputs.Text | None, Query(min_length=1, max_length=100, description="Default: you")] = None,
        completed: Annotated[bool, Query(description="Completed interactions too")] = False,
        caller: Caller = authenticated,
    ) -> CalendarOut:
        """Planned interactions (with ``completed=true`` completed ones too) a user takes part in
        (responsible or participant) starting in ``[from, to)``: a day, a week or a month, as the UI chooses."""
        whose = user or caller.user_id
        states = ("planned", "completed") if completed else ("planned",)
        items, more = await service.queries.calendar(whose, start_from, to, caller, states=states)
        items_out = [item_of(d) for d in items]
        return CalendarOut.model_validate(
            {"user": whose, "from": start_from, "to": to, "items": items_out, "truncated": more}
        )

    @router.get("/overdue", response_model=OverdueOut)
    async def overdue(
        before: Annotated[Moment | None, Query(description="Should have started before this (default: now)")] = None,
        user: Annotated[inputs.Text | None, Query(min_length=1, max_length=100, description="Default: you")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_OVERDUE)] = 50,
        caller: Caller = authenticated,
    ) -> OverdueOut:
        """Planned interactions a user takes part in (responsible or participant) that should have
        started before ``before`` and were neither completed nor cancelled, oldest first."""
        whose = user or caller.user_id
        moment = before or commands.now()
        items, more = await service.queries.overdue(whose, moment, caller, limit=limit)
        return OverdueOut(user=whose, before=moment, items=[item_of(d) for d in items], truncated=more)

    @router.get("/last-contacts", response_model=LastContactsOut)
    async def last_contacts(
        manager: Annotated[
            inputs.Text | None, Query(min_length=1, max_length=100, description="Main manager; default: you")
        ] = None,
        quiet_days: Annotated[
            int | None, Query(ge=1, le=3650, description="Only those with no completed interaction in this many days")
        ] = None,
        sort: Annotated[
            Literal["last_contact", "changed"],
            Query(description="last_contact: never and longest ago first; changed: newest change first"),
        ] = "last_contact",
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        caller: Caller = authenticated,
    ) -> LastContactsOut:
        """The active counterparties whose main manager is ``manager`` (that the caller sees), each with its
        last contact: the start of its latest completed interaction."""
        whose = manager or caller.user_id
        since = None if quiet_days is None else commands.now() - timedelta(days=quiet_days)
        found, more = await service.queries.last_contacts(whose, caller, quiet_since=since, sort=sort)
        items = [
            LastContactOut.model_validate(
                {
                    "counterparty_id": c.counterparty_id,
                    "counterparty_name": c.counterparty_name,
                    "last_contact": None if c.last is None else c.last["start"],
                    "last_interaction": None if c.last is None else item_of(c.last),
                    "changed_at": c.changed_at,
                }
            )
            for c in found[:limit]
        ]
        return LastContactsOut(manager=whose, quiet_days=quiet_days, items=items, truncated=more or len(found) > limit)

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
            fresh = await commands.current(it.stream_of(interaction_id), caller)
            if fresh is None:
                raise HttpProblem(404, "Not found", f"no interaction {interaction_id}")
            response.headers["ETag"] = etag(fresh.version)
            return await out(fields_of(fresh.state), fresh.version)
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
        changes: dict[str, Any] = body.model_dump(exclude_unset=True)  # kind, subject...: never null (NOT_NULL)
        if "basis" in changes:
            basis = body.basis
            changes["basis"] = None if basis is None else it.Basis(basis.type, basis.id, basis.title)
        command = it.ChangeDetails(interaction_id, changes)
        return await run(command, caller, response, if_match=if_match, idempotency_key=idempotency_key, body=body)

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
        return await run(command, caller, response, if_match=if_match, idempotency_key=idempotency_key, body=body)

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
        return await run(command, caller, response, if_match=if_match, idempotency_key=idempotency_key, body=body)

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
        return await run(command, caller, response, if_match=if_match, idempotency_key=idempotency_key, body=body)

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
            request=None if idempotency_key is None else fingerprint(body.model_dump(mode="json")),
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
