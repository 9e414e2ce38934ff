"""The request and response bodies of the counterparties API, with the rules the server enforces on each
field (so the OpenAPI document states them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from dataclasses import fields as dataclass_fields
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StringConstraints

from crm_contacts.domain import counterparty as cp
from crm_shared import inputs
from crm_shared.readstore import Document

Name = Annotated[inputs.Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
TaxId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9 -]{1,31}$")]
UserId = Annotated[inputs.Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
AccessGroup = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
CounterpartyId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]
CounterpartyRef = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]


Relation = Literal["buyer", "supplier", "other"]
Code = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Comment = Annotated[inputs.MultilineText, StringConstraints(max_length=cp.MAX_COMMENT)]
PropertyValue = StrictBool | StrictInt | StrictFloat | Annotated[inputs.Text, StringConstraints(max_length=1000)] | None


class ContactIn(BaseModel):
    """A contact information entry: its kind (a code of the ``contact-kinds`` catalog) and the value as
    typed; phones are normalised to E.164, e-mails and web addresses checked."""

    model_config = ConfigDict(extra="forbid")
    kind: Code
    value: Annotated[inputs.Text, StringConstraints(min_length=1, max_length=500)]
    main: StrictBool = False
    comment: Annotated[inputs.MultilineText, StringConstraints(max_length=200)] = ""


ExternalSystem = Annotated[str, StringConstraints(pattern=cp.EXTERNAL_SYSTEM_PATTERN)]
ExternalCodeText = Annotated[
    str, StringConstraints(min_length=1, max_length=cp.MAX_EXTERNAL_CODE, pattern=cp.EXTERNAL_CODE_PATTERN)
]


class ExternalCodeIn(BaseModel):
    """The counterparty's code in another system: ``erp`` (the default) is the ERP, whose customer
    code links its trade facts. At most one counterparty has each (system, code): 409 naming
    ``external_codes[i].code`` when one you can see has it. Compared exactly as written."""

    model_config = ConfigDict(extra="forbid")
    system: ExternalSystem = Field(default=cp.DEFAULT_EXTERNAL_SYSTEM, description="A lower-case code, e.g. erp")
    code: ExternalCodeText = Field(description="No control characters, no space at either end, at most 64 characters")


class ExternalCodeOut(BaseModel):
    """A code of the counterparty in another system."""

    system: str
    code: str


class SourceIn(BaseModel):
    """An information source (a code of the ``sources`` catalog) as of a date (default: today)."""

    model_config = ConfigDict(extra="forbid")
    source: Code
    on: inputs.PastDate | None = Field(default=None, description="Valid from (default: today); not in the future")


class Details(BaseModel):
    model_config = ConfigDict(extra="forbid")
    legal_form: Literal["legal", "natural"] | None = None
    tax_id: TaxId | None = None
    vat_id: TaxId | None = None
    group: Code | None = Field(default=None, description="Code of a counterparty group")
    head_counterparty_id: CounterpartyRef | None = Field(default=None, description="The head of its holding")
    region: Code | None = None
    comment: Comment | None = None
    activity_kinds: Annotated[list[Code], Field(max_length=50)] | None = None
    managers: Annotated[list[UserId], Field(max_length=50)] | None = None
    contact_info: Annotated[list[ContactIn], Field(max_length=100)] | None = None
    properties: Annotated[dict[Code, PropertyValue], Field(max_length=100)] | None = None
    categories: Annotated[list[Code], Field(max_length=100)] | None = None
    external_codes: Annotated[list[ExternalCodeIn], Field(max_length=cp.MAX_EXTERNAL_CODES)] | None = Field(
        default=None, description="Codes in other systems (the ERP's customer code); a list replaces the whole list"
    )


class RegisterCounterpartyBody(Details):
    """A new counterparty."""

    name: Name
    relations: Annotated[list[Relation], Field(min_length=1, max_length=3)] = Field(
        description="Buyer, supplier and/or other"
    )
    main_manager: UserId = Field(description="User id of the responsible sales manager")
    access_group: AccessGroup = Field(default=cp.DEFAULT_ACCESS_GROUP, description="Record-level security group")
    source: SourceIn | None = None


class UpdateCounterpartyBody(Details):
    """Fields to change; absent fields stay, ``null`` clears an optional one. ``properties`` is merged
    (a ``null`` value removes that property); lists replace the whole list."""

    name: Name | None = None
    relations: Annotated[list[Relation], Field(min_length=1, max_length=3)] | None = None
    main_manager: UserId | None = None
    access_group: AccessGroup | None = None


class ArchiveBody(BaseModel):
    """Why the counterparty is archived."""

    model_config = ConfigDict(extra="forbid")
    reason: Annotated[inputs.MultilineText, StringConstraints(max_length=500)] = ""


class ContactOut(BaseModel):
    """A contact information entry."""

    kind: str
    type: str
    value: str
    main: bool
    comment: str = ""


class SourceOut(BaseModel):
    """An information source valid from ``on``."""

    source: str
    on: date


AbcClass = Literal["A", "B", "C"]


class AbcOut(BaseModel):
    """The counterparty's ABC class in force, from analytics' latest classification of its ERP code
    (the run of the latest period; a class set by hand counts)."""

    abc_class: AbcClass = Field(alias="class", description="The class in force")
    previous_class: AbcClass | None = Field(description="The class in the scheme's previous run; null: new")
    marker: Literal["up", "down", "new", "same"]
    overridden: bool = Field(description="Set by hand in the run")
    customer: str = Field(description="The ERP's customer code classified")
    run_id: str
    scheme: str = Field(description="Measure, shares and currency of the run, e.g. `revenue:70/20/10:EUR`")
    period_from: date
    period_to: date
    confirmed_at: datetime

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


Stage = Literal["potential", "one-time", "regular", "lost"]
XyzClass = Literal["X", "Y", "Z"]


class StageOut(BaseModel):
    """The counterparty's relationship stage and XYZ class in force, from analytics' latest stage run of
    its ERP code (the run of the latest day)."""

    stage: Stage
    xyz_class: XyzClass | None = Field(alias="class", description="Regular customers only")
    previous_stage: Stage | None = Field(description="The stage in the scheme's previous run; null: new")
    previous_class: XyzClass | None
    customer: str = Field(description="The ERP's customer code")
    run_id: str
    scheme: str = Field(description="Periodicity, periods, measure, bands, regular periods and currency of the run")
    as_of: date = Field(description="The last day the run counted")
    recorded_at: datetime

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class CounterpartyOut(BaseModel):
    """A counterparty as the API shows it."""

    id: str
    name: str
    relations: list[str]
    legal_form: str = "legal"
    tax_id: str | None
    vat_id: str | None = None
    main_manager: str
    managers: list[str] = []
    group: str | None = None
    head_counterparty_id: str | None = None
    region: str | None = None
    comment: str = ""
    activity_kinds: list[str] = []
    registered_at: datetime | None = None
    access_group: str
    archived: bool = False
    merged_into: str | None = None
    contact_info: list[ContactOut] = []
    properties: dict[str, Any] = {}
    categories: list[str] = []
    sources: list[SourceOut] = []
    external_codes: list[ExternalCodeOut] = []
    abc_class: AbcClass | None = Field(
        default=None, description="The ABC class in force (from analytics; null: never classified)"
    )
    abc: AbcOut | None = Field(default=None, description="The classification the class comes from")
    stage: Stage | None = Field(
        default=None, description="The relationship stage in force (from analytics; null: never staged)"
    )
    xyz_class: XyzClass | None = Field(default=None, description="The XYZ class in force (regular customers only)")
    relationship: StageOut | None = Field(default=None, description="The stage run the stage and class come from")
    version: int


class DuplicateOut(BaseModel):
    """A counterparty that shares a tax id (``tax``), an e-mail or a phone (its normalised ``key``)."""

    counterparty_id: str
    name: str
    field: str
    key: str


class RegisteredOut(CounterpartyOut):
    """The new counterparty, and the ones it may duplicate (same tax id, e-mail or phone)."""

    possible_duplicates: list[DuplicateOut] = []


class DuplicateGroupOut(BaseModel):
    """Counterparties sharing one key."""

    field: str
    key: str
    counterparties: list[DuplicateOut]


class DuplicateReportOut(BaseModel):
    """Groups of duplicates in one chunk of keys; pass ``next_after`` as ``after`` to go on."""

    groups: list[DuplicateGroupOut]
    next_after: str | None


class ReviewSideOut(BaseModel):
    """One counterparty of a pair to review (``name`` empty while the view has not caught up)."""

    counterparty_id: str
    name: str
    access_group: str


class ReviewOut(BaseModel):
    """Two counterparties sharing a key; whoever wrote ``counterparty`` could not see ``other``."""

    id: str
    field: str
    key: str
    counterparty: ReviewSideOut
    other: ReviewSideOut
    reported_by: str
    reported_at: str


class ReviewPage(BaseModel):
    """Pairs to review; pass ``next_after`` as ``after`` for the next page."""

    items: list[ReviewOut]
    next_after: str | None


ReviewId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]


class MergeBody(BaseModel):
    """The duplicate to merge into this counterparty."""

    model_config = ConfigDict(extra="forbid")
    duplicate_id: CounterpartyRef


class CounterpartyPage(BaseModel):
    """One page of counterparties; pass ``next_cursor`` as ``cursor`` for the next one."""

    items: list[CounterpartyOut]
    next_cursor: str | None


def _card(state: cp.Counterparty, version: int) -> dict[str, Any]:
    card = {f.name: getattr(state, f.name) for f in dataclass_fields(state) if f.name not in ("id", "contact_info")}
    card["contact_info"] = [asdict(e) for e in state.contact_info]
    card["sources"] = [asdict(s) for s in state.sources]
    card["external_codes"] = [asdict(c) for c in state.external_codes]
    card.pop("codes_moved", None)
    return {**card, "id": state.id, "version": version}


def from_state(state: cp.Counterparty, version: int) -> CounterpartyOut:
    return CounterpartyOut.model_validate(_card(state, version))


def registered_json(state: cp.Counterparty, version: int, duplicates: Sequence[Any]) -> bytes:
    """The JSON of :class:`RegisteredOut` for a new counterparty and its possible duplicates
    (dataclasses with the fields of :class:`DuplicateOut`): validated once, dumped as FastAPI dumps
    a response model (by alias)."""
    out = RegisteredOut.model_validate(
        {**_card(state, version), "possible_duplicates": [asdict(d) for d in duplicates]}
    )
    return RegisteredOut.__pydantic_serializer__.to_json(out, by_alias=True)


def from_view(doc: Document, abc: Document | None = None, stage: Document | None = None) -> CounterpartyOut:
    out = CounterpartyOut.model_validate({**doc, "id": str(doc["_id"]), "version": int(doc["_version"])})
    return with_analytics(out, abc, stage)


def with_analytics(out: CounterpartyOut, abc: Document | None, stage: Document | None = None) -> CounterpartyOut:
    """The card with its ABC class (a document of the ``abc_classes`` copy) and its stage and XYZ class
    (of the ``stages`` copy), where it has them."""
    update: dict[str, Any] = {}
    if abc is not None:
        classified = AbcOut.model_validate({**abc, "class": abc["abc_class"]})
        update.update(abc_class=classified.abc_class, abc=classified)
    if stage is not None:
        staged = StageOut.model_validate({**stage, "class": stage["xyz_class"]})
        update.update(stage=staged.stage, xyz_class=staged.xyz_class, relationship=staged)
    return out.model_copy(update=update) if update else out
