"""The contacts HTTP API under ``/api/v1``."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from crm_contacts.application.counterparties.commands import new_counterparty_id
from crm_contacts.application.counterparties.queries import Filters
from crm_contacts.application.counterparties.validation import RawContact
from crm_contacts.bootstrap import ContactsService
from crm_contacts.domain import counterparty as cp
from crm_contacts.entrypoints.counterparties_models import (
    ArchiveBody,
    CounterpartyId,
    CounterpartyOut,
    CounterpartyPage,
    Details,
    DuplicateGroupOut,
    DuplicateOut,
    DuplicateReportOut,
    MergeBody,
    RegisterCounterpartyBody,
    RegisteredOut,
    Relation,
    ReviewId,
    ReviewOut,
    ReviewPage,
    ReviewSideOut,
    SourceIn,
    UpdateCounterpartyBody,
    from_state,
    from_view,
    registered_json,
    with_analytics,
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
    command_answer,
    etag,
    run_command,
)
from crm_shared.identity import Caller, CallerTokens
from crm_shared.readstore.cursor import BadCursor, encode_cursor


def build_router(service: ContactsService, tokens: CallerTokens) -> APIRouter:
    """The counterparty routes, bound to one wired service; every route needs a verified caller."""
    router = APIRouter(prefix="/api/v1", tags=["counterparties"])
    authenticated = caller_dependency(tokens)
    rules = service.rules

    async def details(body: Details) -> dict[str, Any]:
        given: dict[str, Any] = body.model_dump(exclude_unset=True)
        if body.contact_info is not None:
            raws = [RawContact(c.kind, c.value, c.main, c.comment) for c in body.contact_info]
            given["contact_info"] = await rules.contact_entries(raws)
        if body.external_codes is not None:
            given["external_codes"] = tuple(cp.ExternalCode(c.system, c.code) for c in body.external_codes)
        return given

    async def run(
        command: cp.Command,
        caller: Caller,
        response: Response,
        *,
        if_match: int | None = None,
        idempotency_key: str | None = None,
        body: BaseModel | None = None,
    ) -> CounterpartyOut:
        result = await run_command(
            service.commands, command, caller, response, if_match=if_match, idempotency_key=idempotency_key, body=body
        )
        return from_state(result.state, result.version)

    @router.post("/counterparties", status_code=201, response_model=RegisteredOut)
    async def register_counterparty(
        body: RegisterCounterpartyBody,
        request: Request,
        idempotency_key: IdempotencyKey = None,
        reject_duplicates: Annotated[
            bool, Query(description="Refuse (409) when a counterparty with the same tax id, e-mail or phone exists")
        ] = False,
        caller: Caller = authenticated,
    ) -> Response:
        """Register a counterparty. Returns 201 with ``Location``, ``ETag``, the commit position and the
        possible duplicates (the same tax id, e-mail or phone), or 409 with them when asked to refuse."""
        given = await details(body)
        source = None
        if body.source is not None:
            source = cp.SourceRecord(body.source.source, body.source.on or service.commands.now().date())
        command = cp.RegisterCounterparty(
            counterparty_id=new_counterparty_id(idempotency_key),
            name=body.name,
            relations=tuple(body.relations),
            tax_id=body.tax_id,
            main_manager=body.main_manager,
            now=service.commands.now(),
            access_group=body.access_group,
            legal_form=body.legal_form or "legal",
            vat_id=body.vat_id,
            group=body.group,
            head_counterparty_id=body.head_counterparty_id,
            region=body.region,
            comment=body.comment or "",
            activity_kinds=tuple(body.activity_kinds or ()),
            managers=tuple(body.managers or ()),
            contact_info=given.get("contact_info") or (),
            properties={k: v for k, v in (body.properties or {}).items() if v is not None},
            categories=tuple(body.categories or ()),
            source=source,
            external_codes=given.get("external_codes") or (),
        )
        result, duplicates = await service.duplicates.register(
            command,
            caller,
            reject_duplicates=reject_duplicates,
            idempotency_key=idempotency_key,
            request=None if idempotency_key is None else fingerprint(body.model_dump(mode="json")),
            new_id=idempotency_key is None,  # new_counterparty_id made a random one
        )
        # Built directly: request.url_for looks the route up and builds an absolute URL on every command.
        location = f"{request.scope.get('root_path', '')}{router.prefix}/counterparties/{result.state.id}"
        # Validated against RegisteredOut once and sent as it is (FastAPI would validate and dump it again).
        content = registered_json(result.state, result.version, duplicates)
        return command_answer(content, result, status_code=201, location=location)

    @router.get("/counterparties/duplicates", response_model=DuplicateReportOut)
    async def duplicate_report(
        field: Annotated[Literal["tax", "email", "phone"], Query(description="Which key to compare")] = "tax",
        after: Annotated[
            inputs.Text | None, Query(max_length=300, description="next_after of the previous chunk")
        ] = None,
        caller: Caller = authenticated,
    ) -> DuplicateReportOut:
        """Counterparties sharing a tax id, an e-mail or a phone, a chunk of keys at a time."""
        chunk = await service.duplicates.report(caller, field, after_key=after)
        return DuplicateReportOut(
            groups=[
                DuplicateGroupOut(
                    field=g.field, key=g.key, counterparties=[DuplicateOut(**asdict(m)) for m in g.counterparties]
                )
                for g in chunk.groups
            ],
            next_after=chunk.next_key,
        )

    @router.get("/counterparties/duplicates/review", response_model=ReviewPage)
    async def duplicates_to_review(
        after: Annotated[
            inputs.Text | None, Query(max_length=64, description="next_after of the previous page")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        caller: Caller = authenticated,
    ) -> ReviewPage:
        """Possible duplicates to review: pairs sharing a tax id, an e-mail or a phone where the one
        who wrote the first could not see the second (and was answered as if it did not exist).
        Only for callers who see every access group; merge them or dismiss the pair."""
        reviews, next_after = await service.reviews.list(caller, after=after, limit=limit)
        return ReviewPage(
            items=[
                ReviewOut(
                    id=r.id,
                    field=r.field,
                    key=r.key,
                    counterparty=ReviewSideOut(**asdict(r.counterparty)),
                    other=ReviewSideOut(**asdict(r.other)),
                    reported_by=r.reported_by,
                    reported_at=r.reported_at,
                )
                for r in reviews
            ],
            next_after=next_after,
        )

    @router.post("/counterparties/duplicates/review/{review_id}/dismiss", status_code=204)
    async def dismiss_review(review_id: ReviewId, caller: Caller = authenticated) -> Response:
        """The pair is not a duplicate (or was handled otherwise): it leaves the review list."""
        await service.reviews.dismiss(review_id, caller)
        return Response(status_code=204)

    @router.post("/counterparties/{counterparty_id}/merge", response_model=CounterpartyOut)
    async def merge_duplicate(
        counterparty_id: CounterpartyId, body: MergeBody, response: Response, caller: Caller = authenticated
    ) -> CounterpartyOut:
        """Merge ``duplicate_id`` into this counterparty: the duplicate is archived for good and points
        here, its contact information, categories, properties, managers and sources are added here, and
        both histories stay. Retrying a merge completes it."""
        result = await service.duplicates.merge(counterparty_id, body.duplicate_id, caller)
        answered(response, result)
        return from_state(result.state, result.version)

    @router.get("/counterparties/{counterparty_id}", response_model=CounterpartyOut)
    async def get_counterparty(
        counterparty_id: CounterpartyId,
        response: Response,
        min_position: MinPosition = None,
        as_of: Annotated[
            inputs.AwareIsoDateTime | None,
            Query(description="Show the card as it was at this moment (ISO 8601 with a time zone)"),
        ] = None,
        caller: Caller = authenticated,
    ) -> CounterpartyOut:
        """One counterparty. ``ETag`` is its version, to send back as ``If-Match``. With ``as_of``
        the card is rebuilt from its events as they stood at that moment. ``abc_class`` and ``abc``:
        its ABC class in force now (analytics' latest classification), also with ``as_of``; ``stage``,
        ``xyz_class`` and ``relationship`` likewise from analytics' latest stage run."""
        abc = (await service.queries.abc_of([counterparty_id])).get(counterparty_id)
        stage = (await service.queries.stage_of([counterparty_id])).get(counterparty_id)
        if as_of is not None:
            if as_of.tzinfo is None:
                raise HttpProblem(422, "Invalid request", "as_of needs a time zone, e.g. 2026-01-31T12:00:00Z", "as_of")
            past = await service.history.as_of(counterparty_id, as_of, caller)
            if past is None:
                raise HttpProblem(404, "Not found", f"no counterparty {counterparty_id} at {as_of.isoformat()}")
            response.headers["ETag"] = etag(past.version)
            return with_analytics(from_state(past.state, past.version), abc, stage)
        doc = await service.queries.get(counterparty_id, caller, min_position=min_position)
        if doc is None:
            fresh = await service.commands.current(cp.stream_of(counterparty_id), caller)
            if fresh is None:
                raise HttpProblem(404, "Not found", f"no counterparty {counterparty_id}")
            response.headers["ETag"] = etag(fresh.version)
            return with_analytics(from_state(fresh.state, fresh.version), abc, stage)
        response.headers["ETag"] = etag(int(doc["_version"]))
        return from_view(doc, abc, stage)

    @router.get("/counterparties/{counterparty_id}/history", response_model=HistoryOut)
    async def counterparty_history(counterparty_id: CounterpartyId, caller: Caller = authenticated) -> HistoryOut:
        """Every change of the counterparty, oldest first: who, when, and what it set."""
        entries = await service.history.changes(counterparty_id, caller)
        if entries is None:
            raise HttpProblem(404, "Not found", f"no counterparty {counterparty_id}")
        return HistoryOut(
            items=[
                HistoryEntryOut(version=e.version, at=e.at, event=e.event, actor=e.actor, changes=e.changes)
                for e in entries
            ]
        )

    @router.patch("/counterparties/{counterparty_id}", response_model=CounterpartyOut)
    async def update_counterparty(
        counterparty_id: CounterpartyId,
        body: UpdateCounterpartyBody,
        response: Response,
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
        caller: Caller = authenticated,
    ) -> CounterpartyOut:
        """Change details. With ``If-Match`` a stale version gets 412; a concurrent change gets 409."""
        changes = await details(body)
        for required in ("name", "relations", "main_manager", "access_group", "legal_form"):
            if required in changes and changes[required] is None:
                raise HttpProblem(422, "Invalid request", f"{required} cannot be removed", required)
        for listed in ("activity_kinds", "managers", "categories", "contact_info", "external_codes"):
            if listed in changes and changes[listed] is None:
                changes[listed] = ()
        command = cp.UpdateCounterparty(counterparty_id=counterparty_id, changes=changes)
        return await run(command, caller, response, if_match=if_match, idempotency_key=idempotency_key, body=body)

    @router.post("/counterparties/{counterparty_id}/archive", response_model=CounterpartyOut)
    async def archive_counterparty(
        counterparty_id: CounterpartyId,
        body: ArchiveBody,
        response: Response,
        if_match: IfMatch = None,
        caller: Caller = authenticated,
    ) -> CounterpartyOut:
        """Archive: the counterparty leaves lists (unless asked for) and takes no changes until restored."""
        command = cp.ArchiveCounterparty(counterparty_id, body.reason)
        return await run(command, caller, response, if_match=if_match)

    @router.post("/counterparties/{counterparty_id}/restore", response_model=CounterpartyOut)
    async def restore_counterparty(
        counterparty_id: CounterpartyId,
        response: Response,
        if_match: IfMatch = None,
        caller: Caller = authenticated,
    ) -> CounterpartyOut:
        """Bring an archived counterparty back (a merged duplicate cannot come back)."""
        return await run(cp.RestoreCounterparty(counterparty_id), caller, response, if_match=if_match)

    @router.post("/counterparties/{counterparty_id}/sources", response_model=CounterpartyOut)
    async def record_source(
        counterparty_id: CounterpartyId,
        body: SourceIn,
        response: Response,
        idempotency_key: IdempotencyKey = None,
        caller: Caller = authenticated,
    ) -> CounterpartyOut:
        """Record how the counterparty found us, as of a date (default today); one source per date."""
        on = body.on or service.commands.now().date()
        command = cp.RecordSource(counterparty_id, body.source, on)
        return await run(command, caller, response, idempotency_key=idempotency_key, body=body)

    @router.get("/counterparties", response_model=CounterpartyPage)
    async def list_counterparties(
        request: Request,
        q: Annotated[
            inputs.Text | None,
            Query(
                max_length=200,
                description="A word of the name (prefix), an e-mail, a tax id, a phone or an external code (exact)",
            ),
        ] = None,
        tax_id: Annotated[inputs.Text | None, Query(max_length=40, description="Tax id or VAT number prefix")] = None,
        email: Annotated[inputs.Text | None, Query(max_length=200, description="E-mail prefix")] = None,
        phone: Annotated[inputs.Text | None, Query(max_length=40, description="Phone number prefix, as typed")] = None,
        relation: Annotated[Relation | None, Query()] = None,
        main_manager: Annotated[inputs.Text | None, Query(max_length=100)] = None,
        manager: Annotated[inputs.Text | None, Query(max_length=100, description="Any of its managers")] = None,
        group: Annotated[inputs.Text | None, Query(max_length=64)] = None,
        region: Annotated[inputs.Text | None, Query(max_length=64)] = None,
        legal_form: Annotated[Literal["legal", "natural"] | None, Query()] = None,
        category: Annotated[inputs.Text | None, Query(max_length=64)] = None,
        external_code: Annotated[
            inputs.Text | None,
            Query(max_length=cp.MAX_EXTERNAL_CODE, description="A code in another system (of any), exactly"),
        ] = None,
        archived: Annotated[
            Literal["false", "true", "any"], Query(description="Archived ones: false (default), true or any")
        ] = "false",
        abc_class: Annotated[
            Literal["A", "B", "C"] | None,
            Query(
                description="The ABC class in force (checked on the list the other filters give: a page may come"
                " shorter than limit, with a cursor to go on)"
            ),
        ] = None,
        stage: Annotated[
            Literal["potential", "one-time", "regular", "lost"] | None,
            Query(description="The relationship stage in force (checked like abc_class)"),
        ] = None,
        xyz_class: Annotated[
            Literal["X", "Y", "Z"] | None, Query(description="The XYZ class in force (checked like abc_class)")
        ] = None,
        sort: Annotated[Literal["name", "registered_at"], Query()] = "name",
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: Cursor = None,
        min_position: MinPosition = None,
        caller: Caller = authenticated,
    ) -> CounterpartyPage:
        """Counterparties with search, filters (``property.<code>=value`` filters by a property) and keyset
        pagination."""
        properties = {
            k.removeprefix("property."): v[:200] for k, v in request.query_params.items() if k.startswith("property.")
        }
        filters = Filters(
            q=q,
            tax_id=tax_id,
            email=email,
            phone=phone,
            relation=relation,
            main_manager=main_manager,
            manager=manager,
            group=group,
            region=region,
            legal_form=legal_form,
            category=category,
            properties=properties,
            archived=None if archived == "any" else archived == "true",
            external_code=external_code,
            abc_class=abc_class,
            stage=stage,
            xyz_class=xyz_class,
        )
        try:
            page = await service.queries.list(
                caller, filters, sort=sort, limit=limit, cursor=cursor, min_position=min_position
            )
        except BadCursor as exc:
            raise HttpProblem(400, "Bad cursor", str(exc), "cursor") from exc
        ids = [str(d["_id"]) for d in page.items]
        classes, stages = await service.queries.abc_of(ids), await service.queries.stage_of(ids)
        return CounterpartyPage(
            items=[from_view(d, classes.get(str(d["_id"])), stages.get(str(d["_id"]))) for d in page.items],
            next_cursor=None if page.next_after is None else encode_cursor(page.next_after),
        )

    return router
