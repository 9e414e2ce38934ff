"""The request and response bodies of the persons API, with the rules the server enforces on each
field (so the OpenAPI document states them)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StringConstraints

from crm_contacts.domain import person as pe
from crm_shared import inputs

Id = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]
IdRef = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]
Code = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
NamePart = Annotated[inputs.Text, StringConstraints(max_length=pe.MAX_NAME)]
Position = Annotated[inputs.Text, StringConstraints(max_length=pe.MAX_POSITION)]
Description = Annotated[inputs.MultilineText, StringConstraints(max_length=pe.MAX_DESCRIPTION)]
ReminderDays = Annotated[int, Field(ge=0, le=pe.MAX_REMINDER_DAYS)]
Gender = Literal["female", "male", "unspecified"]
PropertyValue = StrictBool | StrictInt | StrictFloat | Annotated[inputs.Text, StringConstraints(max_length=1000)] | None
Limit = Annotated[int, Query(ge=1, le=500)]


class ContactIn(BaseModel):
    """A contact information entry: its kind (a ``contact-kinds`` code for persons) and the value as
    typed; phones become E.164, e-mails and web addresses are checked."""

    model_config = ConfigDict(extra="forbid")
    kind: Code
    value: Annotated[inputs.Text, StringConstraints(min_length=1, max_length=500)]
    main: StrictBool = False
    comment: Annotated[inputs.MultilineText, StringConstraints(max_length=200)] = ""


class LinkIn(BaseModel):
    """A counterparty the person works for: position (free text) and role (a ``person-roles`` code)."""

    model_config = ConfigDict(extra="forbid")
    counterparty_id: IdRef
    position: Position | None = None
    role: Code | None = None


class PersonFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    first_name: NamePart | None = None
    middle_name: NamePart | None = None
    last_name: NamePart | None = None
    birth_date: inputs.IsoDate | None = Field(default=None, description="Not in the future")
    birthday_reminder_days: ReminderDays | None = Field(
        default=None, description="Remind about the birthday this many days ahead (0-365)"
    )
    description: Description | None = None
    contact_info: Annotated[list[ContactIn], Field(max_length=pe.MAX_CONTACTS)] | None = None
    properties: Annotated[dict[Code, PropertyValue], Field(max_length=pe.MAX_PROPERTIES)] | None = Field(
        default=None, description="Property code -> value of the property's type (``properties`` catalog)"
    )
    categories: Annotated[list[Code], Field(max_length=pe.MAX_CATEGORIES)] | None = Field(
        default=None, description="Codes of the ``categories`` catalog"
    )


class RegisterPersonBody(PersonFields):
    """A new contact person: a first or a last name at least."""

    gender: Gender = "unspecified"
    private: StrictBool = Field(default=False, description="Only you (its owner) will see the person")
    links: Annotated[list[LinkIn], Field(max_length=pe.MAX_LINKS)] = []


class UpdatePersonBody(PersonFields):
    """Fields to change; absent fields stay, ``null`` clears one; ``contact_info`` and ``categories``
    replace the list; ``properties`` is merged (a ``null`` value removes that property). Only the
    owner may change ``private``."""

    gender: Annotated[Gender | None, inputs.NOT_NULL] = None
    private: Annotated[StrictBool | None, inputs.NOT_NULL] = None


class LinkBody(BaseModel):
    """Position and role at the counterparty."""

    model_config = ConfigDict(extra="forbid")
    position: Position | None = None
    role: Code | None = None


class EraseBody(BaseModel):
    """Why the personal data is erased: the request's reference, never personal data itself."""

    model_config = ConfigDict(extra="forbid")
    reason: Annotated[
        inputs.MultilineText, StringConstraints(strip_whitespace=True, min_length=1, max_length=pe.MAX_REASON)
    ]


class ContactOut(BaseModel):
    """A contact information entry; ``value`` and ``comment`` are null once erased."""

    kind: str
    type: str
    value: str | None
    main: bool
    comment: str | None = None


class LinkOut(BaseModel):
    """A link to a counterparty the caller may see."""

    counterparty_id: str
    counterparty_name: str | None = None
    position: str | None = None
    role: str | None = None


class PersonOut(BaseModel):
    """A contact person. Once ``erased``, every personal field is null."""

    id: str
    first_name: str | None
    middle_name: str | None
    last_name: str | None
    display_name: str
    birth_date: date | None
    birthday_reminder_days: int | None
    gender: str | None
    description: str | None
    contact_info: list[ContactOut]
    private: bool
    owner: str | None
    links: list[LinkOut]
    properties: dict[str, Any] = Field(default_factory=dict, description="Property code -> value")
    categories: list[str] = Field(default_factory=list, description="Category codes")
    registered_at: datetime | None
    erased: bool
    erased_at: datetime | None
    version: int


class PersonPage(BaseModel):
    """One page of persons; pass ``next_cursor`` as ``cursor`` for the next one (a page may hold fewer
    than ``limit`` items and still have a next one)."""

    items: list[PersonOut]
    next_cursor: str | None


class CounterpartyPersonOut(BaseModel):
    """A person linked to the counterparty, with the position and role there."""

    person: PersonOut
    position: str | None
    role: str | None


class CounterpartyPersonsPage(BaseModel):
    """One page of the persons of a counterparty."""

    items: list[CounterpartyPersonOut]
    next_cursor: str | None


class PersonHistoryEntryOut(BaseModel):
    """One change: version, commit time, who, the fields it set, and which of them are erased (null)."""

    version: int
    at: datetime
    event: str
    actor: str | None
    changes: dict[str, Any]
    erased_fields: list[str]


class PersonHistoryOut(BaseModel):
    """Every change of a person, oldest first."""

    items: list[PersonHistoryEntryOut]


class PersonalDataOut(BaseModel):
    """Everything held about a person (GDPR access request)."""

    person_id: str
    exported_at: datetime
    exported_by: str
    personal_data_readable: bool = Field(description="False once erased: the key is gone")
    card: PersonOut
    links: list[LinkOut] = Field(description="Every link, also to counterparties the caller cannot see")
    events: list[PersonHistoryEntryOut]


VCARD = "text/vcard"
VCARD_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {VCARD: {"schema": {"type": "string"}}}, "description": "The vCard 4.0"}
}
