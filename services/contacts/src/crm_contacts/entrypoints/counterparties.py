"""The contacts HTTP API under ``/api/v1``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from crm_contacts.application.commands import CommandResult, PreconditionFailed, new_counterparty_id
from crm_contacts.bootstrap import ContactsService
from crm_contacts.domain import counterparty as cp
from crm_shared.http import POSITION_HEADER, HttpProblem, caller_dependency, etag, parse_if_match
from crm_shared.identity import Caller, CallerTokens
from crm_shared.observability import current_traceparent
from crm_shared.readstore import Document
from crm_shared.readstore.cursor import BadCursor, encode_cursor

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
TaxId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9 -]{1,31}$")]
UserId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
AccessGroup = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=200, description="Makes a retried request a no-op"),
]
CounterpartyId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]
MinPosition = Annotated[
    int | None,
    Query(
        ge=0, le=2**63 - 1, description=f"Wait until the view includes this commit position (from {POSITION_HEADER})"
    ),
]


class RegisterCounterpartyBody(BaseModel):
    """A new counterparty."""

    model_config = ConfigDict(extra="forbid")
    name: Name
    kind: Literal["buyer", "supplier", "other"]
    tax_id: TaxId | None = None
    main_manager: UserId = Field(description="User id of the responsible sales manager")
    access_group: AccessGroup = Field(default=cp.DEFAULT_ACCESS_GROUP, description="Record-level security group")


class UpdateCounterpartyBody(BaseModel):
    """Fields to change; absent fields stay, ``tax_id: null`` removes the tax id."""

    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    kind: Literal["buyer", "supplier", "other"] | None = None
    tax_id: TaxId | None = None
    main_manager: UserId | None = None
    access_group: AccessGroup | None = None


class CounterpartyOut(BaseModel):
    """A counterparty as the API shows it."""

    id: str
    name: str
    kind: str
    tax_id: str | None
    main_manager: str
    registered_at: datetime | None = None
    access_group: str
    version: int


class HistoryEntryOut(BaseModel):
    """One change of a counterparty: its version, when it was committed, by whom, and what it set."""

    version: int
    at: datetime
    event: str
    actor: str | None
    changes: dict[str, Any]


class CounterpartyHistoryOut(BaseModel):
    """Every change of a counterparty, oldest first."""

    items: list[HistoryEntryOut]


class CounterpartyPage(BaseModel):
    """One page of counterparties; pass ``next_cursor`` as ``cursor`` for the next one."""

    items: list[CounterpartyOut]
    next_cursor: str | None


def _from_state(result: CommandResult) -> CounterpartyOut:
    s = result.state
    return CounterpartyOut(
        id=s.id,
        name=s.name,
        kind=s.kind,
        tax_id=s.tax_id,
        main_manager=s.main_manager,
        registered_at=s.registered_at,
        access_group=s.access_group,
        version=result.version,
    )


def _from_view(doc: Document) -> CounterpartyOut:
    return CounterpartyOut(
        id=str(doc["_id"]),
        name=doc["name"],
        kind=doc["kind"],
        tax_id=doc.get("tax_id"),
        main_manager=doc["main_manager"],
        registered_at=doc.get("registered_at"),
        access_group=str(doc.get("access_group", cp.DEFAULT_ACCESS_GROUP)),
        version=int(doc["_version"]),
    )


def _command_headers(response: Response, result: CommandResult) -> None:
    response.headers["ETag"] = etag(result.version)
    response.headers[POSITION_HEADER] = str(result.position)


def build_router(service: ContactsService, tokens: CallerTokens) -> APIRouter:
    """The contacts routes, bound to one wired service; every route needs a verified caller."""
    router = APIRouter(prefix="/api/v1", tags=["counterparties"])
    authenticated = caller_dependency(tokens)

    @router.post("/counterparties", status_code=201, response_model=CounterpartyOut)
    async def register_counterparty(
        body: RegisterCounterpartyBody,
        request: Request,
        response: Response,
        idempotency_key: IdempotencyKey = None,
        caller: Caller = authenticated,
    ) -> CounterpartyOut:
        """Register a counterparty. Returns 201 with ``Location``, ``ETag`` and the commit position."""
        command = cp.RegisterCounterparty(
            counterparty_id=new_counterparty_id(idempotency_key),
            name=body.name,
            kind=body.kind,
            tax_id=body.tax_id,
            main_manager=body.main_manager,
            now=service.commands.now(),
            access_group=body.access_group,
        )
        result = await service.commands.handle(
            command, caller, idempotency_key=idempotency_key, metadata=current_traceparent()
        )
        _command_headers(response, result)
        # Built directly: request.url_for looks the route up and builds an absolute URL on every command.
        location = f"{request.scope.get('root_path', '')}{router.prefix}/counterparties/{result.state.id}"
        response.headers["Location"] = location
        return _from_state(result)

    @router.get("/counterparties/{counterparty_id}", response_model=CounterpartyOut)
    async def get_counterparty(
        counterparty_id: CounterpartyId,
        response: Response,
        min_position: MinPosition = None,
        as_of: Annotated[
            datetime | None,
            Query(description="Show the card as it was at this moment (ISO 8601 with a time zone)"),
        ] = None,
        caller: Caller = authenticated,
    ) -> CounterpartyOut:
        """One counterparty. ``ETag`` is its version, to send back as ``If-Match``. With ``as_of``
        the card is rebuilt from its events as they stood at that moment."""
        if as_of is not None:
            if as_of.tzinfo is None:
                raise HttpProblem(422, "Invalid request", "as_of needs a time zone, e.g. 2026-01-31T12:00:00Z", "as_of")
            past = await service.history.as_of(counterparty_id, as_of, caller)
            if past is None:
                raise HttpProblem(404, "Not found", f"no counterparty {counterparty_id} at {as_of.isoformat()}")
            response.headers["ETag"] = etag(past.version)
            return _from_state(CommandResult(past.state, past.version, 0))
        doc = await service.queries.get(counterparty_id, caller, min_position=min_position)
        if doc is None:
            raise HttpProblem(404, "Not found", f"no counterparty {counterparty_id}")
        response.headers["ETag"] = etag(int(doc["_version"]))
        return _from_view(doc)

    @router.get("/counterparties/{counterparty_id}/history", response_model=CounterpartyHistoryOut)
    async def counterparty_history(
        counterparty_id: CounterpartyId, caller: Caller = authenticated
    ) -> CounterpartyHistoryOut:
        """Every change of the counterparty, oldest first: who, when, and what it set."""
        entries = await service.history.changes(counterparty_id, caller)
        if entries is None:
            raise HttpProblem(404, "Not found", f"no counterparty {counterparty_id}")
        return CounterpartyHistoryOut(
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
        if_match: Annotated[str | None, Header(alias="If-Match")] = None,
        idempotency_key: IdempotencyKey = None,
        caller: Caller = authenticated,
    ) -> CounterpartyOut:
        """Change details. With ``If-Match`` a stale version gets 412; a concurrent change gets 409."""
        given: dict[str, Any] = body.model_dump(exclude_unset=True)
        command = cp.UpdateCounterparty(
            counterparty_id=counterparty_id,
            name=given.get("name"),
            kind=given.get("kind"),
            tax_id=given.get("tax_id"),
            clear_tax_id="tax_id" in given and given["tax_id"] is None,
            main_manager=given.get("main_manager"),
            access_group=given.get("access_group"),
        )
        try:
            result = await service.commands.handle(
                command,
                caller,
                if_match=parse_if_match(if_match),
                idempotency_key=idempotency_key,
                metadata=current_traceparent(),
            )
        except PreconditionFailed as exc:
            raise HttpProblem(412, "Precondition failed", f"{exc}; reload and retry", "If-Match") from exc
        _command_headers(response, result)
        return _from_state(result)

    @router.get("/counterparties", response_model=CounterpartyPage)
    async def list_counterparties(
        q: Annotated[str | None, Query(max_length=200, description="Name prefix, any case")] = None,
        kind: Annotated[Literal["buyer", "supplier", "other"] | None, Query()] = None,
        main_manager: Annotated[str | None, Query(max_length=100)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, Query(max_length=2000)] = None,
        min_position: MinPosition = None,
        caller: Caller = authenticated,
    ) -> CounterpartyPage:
        """Counterparties sorted by name, with name-prefix search and keyset pagination."""
        try:
            page = await service.queries.list(
                caller,
                search=q,
                kind=kind,
                main_manager=main_manager,
                limit=limit,
                cursor=cursor,
                min_position=min_position,
            )
        except BadCursor as exc:
            raise HttpProblem(400, "Bad cursor", str(exc), "cursor") from exc
        return CounterpartyPage(
            items=[_from_view(d) for d in page.items],
            next_cursor=None if page.next_after is None else encode_cursor(page.next_after),
        )

    return router
