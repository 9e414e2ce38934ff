"""Reference data over HTTP: ``/api/v1/reference`` (the catalogs and their attributes) and
``/api/v1/reference/{catalog}[/{code}]``. Everyone who may read counterparties reads; administrators
define, change, retire and restore."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from crm_contacts.application.reference.data import ReferenceResult
from crm_contacts.bootstrap import ContactsService
from crm_contacts.domain import reference as ref
from crm_contacts.domain.contact_info import ContactType
from crm_shared import inputs
from crm_shared.contracts.contacts.reference import NAMES
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
from crm_shared.identity import Caller, CallerTokens, Language
from crm_shared.readstore.cursor import BadCursor

Code = Annotated[str, StringConstraints(pattern=ref.CODE_PATTERN)]
Name = Annotated[inputs.Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=ref.MAX_NAME)]
Choice = Annotated[inputs.Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=ref.MAX_CHOICE)]
CatalogName = Annotated[str, Path(min_length=1, max_length=64, description="contact-kinds, sources, groups, ...")]
EntryCode = Annotated[str, Path(pattern=ref.CODE_PATTERN, description="The entry's code")]
AppliesTo = Literal["counterparty", "person", "both"]


class AttributesBody(BaseModel):
    """Attributes of an entry; which apply depends on the catalog (``GET /api/v1/reference``)."""

    model_config = ConfigDict(extra="forbid")
    type: ContactType | None = Field(default=None, description="contact-kinds: the type of its values")
    applies_to: AppliesTo | None = Field(default=None, description="contact-kinds, properties, categories")
    value_type: Literal["string", "number", "date", "boolean", "choice"] | None = Field(
        default=None, description="properties: the type of their values; cannot change once defined"
    )
    choices: list[Choice] | None = Field(
        default=None, max_length=ref.MAX_CHOICES, description="properties of value type choice: the allowed values"
    )
    actuality_days: int | None = Field(
        default=None, ge=0, le=ref.MAX_ACTUALITY_DAYS, description="sources: days a recorded source stays current"
    )
    parent: Code | None = Field(default=None, description="groups: the code of the group above, or null")


class DefineBody(BaseModel):
    """A new entry."""

    model_config = ConfigDict(extra="forbid")
    code: Code = Field(description="The entry's id within its catalog; cannot change later")
    name: Name
    attributes: AttributesBody = Field(default_factory=AttributesBody)
    names: dict[Language, Name] = Field(default_factory=dict, description=NAMES)


class ChangeBody(BaseModel):
    """What to change; absent fields and attributes stay."""

    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    attributes: AttributesBody | None = None
    names: dict[Language, Name] | None = Field(
        default=None,
        description=NAMES + " A new name without names drops them, so the new name shows in every language.",
    )


class EntryOut(BaseModel):
    """An entry as the API shows it."""

    catalog: str
    code: str
    name: str
    names: dict[str, str] = Field(description=NAMES)
    attributes: dict[str, Any]
    retired: bool
    version: int


class EntryPage(BaseModel):
    """One page of entries; pass ``next_cursor`` as ``cursor`` for the next one."""

    items: list[EntryOut]
    next_cursor: str | None


class AttributeOut(BaseModel):
    """One attribute of a catalog's entries."""

    name: str
    type: Literal["choice", "integer", "list", "code"] = Field(
        description="choice: one of options; integer: minimum..maximum; list: texts; code: of an entry of refers_to"
    )
    options: list[str]
    default: Any
    required: bool = Field(description="Must be given when defining an entry")
    immutable: bool = Field(description="Cannot change once defined")
    minimum: int | None
    maximum: int | None
    refers_to: str | None


class CatalogOut(BaseModel):
    """A catalog and the attributes of its entries."""

    catalog: str
    attributes: list[AttributeOut]


class CatalogsOut(BaseModel):
    """Every catalog."""

    items: list[CatalogOut]


def _out(result: ReferenceResult) -> EntryOut:
    e = result.state
    return EntryOut(
        catalog=e.catalog,
        code=e.code,
        name=e.name,
        names=dict(e.names),
        attributes=dict(e.attributes),
        retired=e.retired,
        version=result.version,
    )


def _catalog(catalog: str) -> str:
    if catalog not in ref.SCHEMAS:
        raise HttpProblem(404, "Not found", f"there is no reference catalog {catalog!r}", "catalog")
    return catalog


def build_router(service: ContactsService, tokens: CallerTokens) -> APIRouter:
    """The reference-data routes, bound to one wired service; every route needs a verified caller."""
    router = APIRouter(prefix="/api/v1/reference", tags=["reference data"])
    authenticated = caller_dependency(tokens)
    commands, queries = service.reference_commands, service.reference_queries

    async def run(
        command: ref.Command,
        caller: Caller,
        response: Response,
        if_match: int | None,
        key: str | None,
        body: BaseModel | None = None,
        request: Request | None = None,
    ) -> EntryOut:
        def location(entry: ref.ReferenceEntry) -> str:
            assert request is not None
            return f"{request.scope.get('root_path', '')}{router.prefix}/{entry.catalog}/{entry.code}"

        result = await run_command(
            commands,
            command,
            caller,
            response,
            if_match=if_match,
            idempotency_key=key,
            body=body,
            location=None if request is None else location,
        )
        return _out(result)

    @router.get("", response_model=CatalogsOut)
    async def list_catalogs(caller: Caller = authenticated) -> CatalogsOut:
        """The catalogs and the attributes of their entries (what the UI builds its forms from)."""
        schemas = queries.catalogs(caller)
        return CatalogsOut(
            items=[
                CatalogOut(
                    catalog=name,
                    attributes=[
                        AttributeOut(
                            name=a.name,
                            type=a.type,
                            options=list(a.options),
                            default=list(a.default) if isinstance(a.default, tuple) else a.default,
                            required=a.required,
                            immutable=a.immutable,
                            minimum=a.minimum,
                            maximum=a.maximum,
                            refers_to=a.refers_to,
                        )
                        for a in attributes
                    ],
                )
                for name, attributes in schemas.items()
            ]
        )

    @router.get("/{catalog}", response_model=EntryPage)
    async def list_entries(
        catalog: CatalogName,
        include_retired: Annotated[bool, Query(description="Retired entries too")] = False,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        cursor: Cursor = None,
        min_position: MinPosition = None,
        caller: Caller = authenticated,
    ) -> EntryPage:
        """A catalog's entries sorted by name, with keyset pagination."""
        try:
            page = await queries.list(
                _catalog(catalog),
                caller,
                include_retired=include_retired,
                limit=limit,
                cursor=cursor,
                min_position=min_position,
            )
        except BadCursor as exc:
            raise HttpProblem(400, "Bad cursor", str(exc), "cursor") from exc
        return EntryPage(items=[_out(r) for r in page.items], next_cursor=page.next_cursor)

    @router.post("/{catalog}", status_code=201, response_model=EntryOut)
    async def define_entry(
        catalog: CatalogName,
        body: DefineBody,
        request: Request,
        response: Response,
        idempotency_key: IdempotencyKey = None,
        caller: Caller = authenticated,
    ) -> EntryOut:
        """Define an entry. 201 with ``Location`` and ``ETag``; 409 when the code is taken."""
        command = ref.DefineEntry(
            catalog=_catalog(catalog),
            code=body.code,
            name=body.name,
            attributes=body.attributes.model_dump(exclude_unset=True),
            names=body.names,
        )
        return await run(command, caller, response, None, idempotency_key, body, request)

    @router.get("/{catalog}/{code}", response_model=EntryOut)
    async def get_entry(
        catalog: CatalogName, code: EntryCode, response: Response, caller: Caller = authenticated
    ) -> EntryOut:
        """One entry (retired ones too), as it is now. ``ETag`` is its version, to send back as ``If-Match``."""
        result = await queries.get(_catalog(catalog), code, caller)
        if result is None:
            raise HttpProblem(404, "Not found", f"there is no {code!r} in {catalog}")
        response.headers["ETag"] = etag(result.version)
        return _out(result)

    @router.patch("/{catalog}/{code}", response_model=EntryOut)
    async def change_entry(
        catalog: CatalogName,
        code: EntryCode,
        body: ChangeBody,
        response: Response,
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
        caller: Caller = authenticated,
    ) -> EntryOut:
        """Rename or change attributes. A stale ``If-Match`` gets 412; a concurrent change 409."""
        attributes = {} if body.attributes is None else body.attributes.model_dump(exclude_unset=True)
        command = ref.ChangeEntry(
            catalog=_catalog(catalog), code=code, name=body.name, attributes=attributes, names=body.names
        )
        return await run(command, caller, response, if_match, idempotency_key, body)

    @router.post("/{catalog}/{code}/retire", response_model=EntryOut)
    async def retire_entry(
        catalog: CatalogName,
        code: EntryCode,
        response: Response,
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
        caller: Caller = authenticated,
    ) -> EntryOut:
        """No longer offer the entry for new records; records that have it keep it."""
        command = ref.RetireEntry(catalog=_catalog(catalog), code=code)
        return await run(command, caller, response, if_match, idempotency_key)

    @router.post("/{catalog}/{code}/restore", response_model=EntryOut)
    async def restore_entry(
        catalog: CatalogName,
        code: EntryCode,
        response: Response,
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
        caller: Caller = authenticated,
    ) -> EntryOut:
        """Offer a retired entry again."""
        command = ref.RestoreEntry(catalog=_catalog(catalog), code=code)
        return await run(command, caller, response, if_match, idempotency_key)

    return router
