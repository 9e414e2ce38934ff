"""The contact persons' HTTP API under ``/api/v1``: persons, their links to counterparties, the
vCard, and the personal-data routes (GDPR export and erasure)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from crm_contacts.application.counterparties.validation import RawContact
from crm_contacts.application.persons.reading import new_person_id
from crm_contacts.bootstrap import ContactsService
from crm_contacts.domain import person as pe
from crm_contacts.domain.contact_info import ContactEntry
from crm_contacts.entrypoints.persons_models import (
    VCARD,
    VCARD_RESPONSE,
    ContactIn,
    CounterpartyPersonOut,
    CounterpartyPersonsPage,
    EraseBody,
    Id,
    Limit,
    LinkBody,
    PersonalDataOut,
    PersonHistoryEntryOut,
    PersonHistoryOut,
    PersonOut,
    PersonPage,
    RegisterPersonBody,
    UpdatePersonBody,
)
from crm_shared import inputs
from crm_shared.http import (
    Cursor,
    HttpProblem,
    IdempotencyKey,
    IfMatch,
    MinPosition,
    caller_dependency,
    etag,
    run_command,
)
from crm_shared.identity import Caller, CallerTokens
from crm_shared.readstore.cursor import BadCursor


def build_router(service: ContactsService, tokens: CallerTokens) -> APIRouter:
    """The persons routes, bound to one wired service; every route needs a verified caller."""
    router = APIRouter(prefix="/api/v1", tags=["persons"])
    authenticated = caller_dependency(tokens)
    persons = service.persons
    queries = service.person_queries

    async def entries(given: list[ContactIn] | None) -> tuple[ContactEntry, ...]:
        raws = [RawContact(c.kind, c.value, c.main, c.comment) for c in given or ()]
        return await persons.contact_entries(raws)

    async def run(
        command: pe.Command,
        caller: Caller,
        response: Response,
        *,
        if_match: int | None = None,
        key: str | None = None,
        body: BaseModel | None = None,
        request: Request | None = None,
    ) -> PersonOut:
        def location(person: pe.Person) -> str:
            assert request is not None
            return f"{request.scope.get('root_path', '')}{router.prefix}/persons/{person.id}"

        result = await run_command(
            persons,
            command,
            caller,
            response,
            if_match=if_match,
            idempotency_key=key,
            body=body,
            location=None if request is None else location,
        )
        return PersonOut.model_validate(await queries.present(result, caller))

    @router.post("/persons", status_code=201, response_model=PersonOut)
    async def register_person(
        body: RegisterPersonBody,
        request: Request,
        response: Response,
        idempotency_key: IdempotencyKey = None,
        caller: Caller = authenticated,
    ) -> PersonOut:
        """Register a contact person (you become its owner). 201 with ``Location``, ``ETag`` and the
        commit position; ``Idempotency-Key`` makes a retry a no-op."""
        command = pe.RegisterPerson(
            person_id=new_person_id(idempotency_key),
            owner=caller.user_id,
            now=persons.now(),
            first_name=body.first_name,
            middle_name=body.middle_name,
            last_name=body.last_name,
            birth_date=body.birth_date,
            birthday_reminder_days=body.birthday_reminder_days,
            gender=body.gender,
            description=body.description,
            contact_info=await entries(body.contact_info),
            private=body.private,
            links=tuple(pe.Link(x.counterparty_id, x.position, x.role) for x in body.links),
            properties=body.properties or {},
            categories=tuple(body.categories or ()),
        )
        return await run(command, caller, response, key=idempotency_key, body=body, request=request)

    @router.get("/persons", response_model=PersonPage)
    async def list_persons(
        request: Request,
        q: Annotated[
            inputs.Text | None, Query(max_length=200, description="Beginning of the last or first name, any case")
        ] = None,
        category: Annotated[inputs.Text | None, Query(max_length=64, description="Code of a category")] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
        min_position: MinPosition = None,
        caller: Caller = authenticated,
    ) -> PersonPage:
        """The persons you may see, by last name; ``q`` finds them by the beginning of the name written
        last name first or first name first (then sorted by the name as it matched). ``category`` or
        ``property.<code>=<value>`` (text in any case) narrows the list, with or without ``q``; one of
        the two at a time (422 naming the second)."""
        properties = {
            k.removeprefix("property."): v[:200] for k, v in request.query_params.items() if k.startswith("property.")
        }
        try:
            items, next_cursor = await queries.find(
                caller,
                search=q,
                category=category or None,
                properties=properties,
                limit=limit,
                cursor=cursor,
                min_position=min_position,
            )
        except BadCursor as exc:
            raise HttpProblem(400, "Bad cursor", str(exc), "cursor") from exc
        return PersonPage(items=[PersonOut.model_validate(i) for i in items], next_cursor=next_cursor)

    @router.get("/persons/{person_id}", response_model=PersonOut)
    async def get_person(
        person_id: Id,
        response: Response,
        min_position: MinPosition = None,
        as_of: Annotated[
            inputs.AwareIsoDateTime | None,
            Query(description="The card as it was at this moment (ISO 8601 with a time zone)"),
        ] = None,
        caller: Caller = authenticated,
    ) -> PersonOut:
        """One person; ``ETag`` is its version. With ``as_of`` the card is rebuilt from its events as they
        stood then (personal fields erased since are null)."""
        if as_of is not None:
            if as_of.tzinfo is None:
                raise HttpProblem(422, "Invalid request", "as_of needs a time zone, e.g. 2026-01-31T12:00:00Z", "as_of")
            past = await queries.as_of(person_id, as_of, caller)
            if past is None:
                raise HttpProblem(404, "Not found", f"no person {person_id} at {as_of.isoformat()}")
            response.headers["ETag"] = etag(int(past["version"]))
            return PersonOut.model_validate(past)
        card = await queries.get(person_id, caller, min_position=min_position)
        if card is None:
            fresh = await persons.current(pe.stream_of(person_id), caller)
            if fresh is None:
                raise HttpProblem(404, "Not found", f"no person {person_id}")
            card = await queries.present(fresh, caller)
        response.headers["ETag"] = etag(int(card["version"]))
        return PersonOut.model_validate(card)

    @router.patch("/persons/{person_id}", response_model=PersonOut)
    async def update_person(
        person_id: Id,
        body: UpdatePersonBody,
        response: Response,
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
        caller: Caller = authenticated,
    ) -> PersonOut:
        """Change details. ``If-Match`` with a stale version gets 412; a concurrent change 409; an erased
        person 410."""
        changes: dict[str, Any] = body.model_dump(exclude_unset=True)
        if "contact_info" in changes:
            changes["contact_info"] = await entries(body.contact_info)
        command = pe.UpdatePerson(
            person_id=person_id, actor=caller.user_id, today=persons.now().date(), changes=changes
        )
        return await run(command, caller, response, if_match=if_match, key=idempotency_key, body=body)

    @router.put("/persons/{person_id}/counterparties/{counterparty_id}", response_model=PersonOut)
    async def link_counterparty(
        person_id: Id,
        counterparty_id: Id,
        body: LinkBody,
        response: Response,
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
        caller: Caller = authenticated,
    ) -> PersonOut:
        """Link the person to a counterparty you may see, or change the position and role there."""
        command = pe.LinkCounterparty(person_id, counterparty_id, body.position, body.role)
        return await run(command, caller, response, if_match=if_match, key=idempotency_key, body=body)

    @router.delete("/persons/{person_id}/counterparties/{counterparty_id}", response_model=PersonOut)
    async def unlink_counterparty(
        person_id: Id,
        counterparty_id: Id,
        response: Response,
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
        caller: Caller = authenticated,
    ) -> PersonOut:
        """Remove the link to a counterparty."""
        command = pe.UnlinkCounterparty(person_id, counterparty_id)
        return await run(command, caller, response, if_match=if_match, key=idempotency_key)

    @router.get("/persons/{person_id}/history", response_model=PersonHistoryOut)
    async def person_history(person_id: Id, caller: Caller = authenticated) -> PersonHistoryOut:
        """Every change, oldest first: who, when, what; erased personal fields are null."""
        entries_ = await queries.history(person_id, caller)
        if entries_ is None:
            raise HttpProblem(404, "Not found", f"no person {person_id}")
        return PersonHistoryOut(items=[PersonHistoryEntryOut.model_validate(e) for e in entries_])

    @router.get("/persons/{person_id}/vcard", response_class=Response, responses=VCARD_RESPONSE)
    async def person_vcard(person_id: Id, caller: Caller = authenticated) -> Response:
        """The person as a vCard 4.0 file (410 once the personal data was erased)."""
        text = await queries.vcard(person_id, caller)
        if text is None:
            raise HttpProblem(404, "Not found", f"no person {person_id}")
        return Response(
            text.encode(),
            media_type=VCARD,
            headers={"Content-Disposition": f'attachment; filename="person-{person_id}.vcf"'},
        )

    @router.get("/counterparties/{counterparty_id}/persons", response_model=CounterpartyPersonsPage)
    async def counterparty_persons(
        counterparty_id: Id,
        limit: Limit = 50,
        cursor: Cursor = None,
        min_position: MinPosition = None,
        caller: Caller = authenticated,
    ) -> CounterpartyPersonsPage:
        """The persons linked to a counterparty, by name, with their position and role there."""
        try:
            found = await queries.of_counterparty(
                counterparty_id, caller, limit=limit, cursor=cursor, min_position=min_position
            )
        except BadCursor as exc:
            raise HttpProblem(400, "Bad cursor", str(exc), "cursor") from exc
        if found is None:
            raise HttpProblem(404, "Not found", f"no counterparty {counterparty_id}")
        items, next_cursor = found
        return CounterpartyPersonsPage(
            items=[CounterpartyPersonOut.model_validate(i) for i in items], next_cursor=next_cursor
        )

    @router.get("/persons/{person_id}/personal-data", response_model=PersonalDataOut)
    async def export_personal_data(person_id: Id, caller: Caller = authenticated) -> PersonalDataOut:
        """GDPR access request (``personal-data:admin``): everything held about the person — the card,
        every event with its fields, who changed what and when. Private persons included."""
        exported = await queries.export(person_id, caller)
        if exported is None:
            raise HttpProblem(404, "Not found", f"no person {person_id}")
        return PersonalDataOut.model_validate(exported)

    @router.post("/persons/{person_id}/erase", response_model=PersonOut)
    async def erase_person(
        person_id: Id,
        body: EraseBody,
        response: Response,
        idempotency_key: IdempotencyKey = None,
        caller: Caller = authenticated,
    ) -> PersonOut:
        """GDPR erasure (``personal-data:admin``): records ``PersonErased`` and deletes the person's key,
        so its personal data can never be read again, in any copy of the events. Links, dates and who
        changed what remain. Repeating it changes nothing."""
        command = pe.ErasePerson(person_id=person_id, reason=body.reason, now=persons.now())
        return await run(command, caller, response, key=idempotency_key, body=body)

    return router
