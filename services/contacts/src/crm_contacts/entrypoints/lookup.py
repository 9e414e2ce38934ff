"""Caller id: ``GET /api/v1/lookup/phone?number=…`` answers "who is calling" with the counterparties
and contact persons the caller may see that have that phone number (normalised to E.164 in the
default country, as stored)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from crm_contacts.bootstrap import ContactsService
from crm_contacts.domain.contact_info import normalise_phone
from crm_shared.http import caller_dependency
from crm_shared.identity import Caller, CallerTokens


class CallerCounterpartyOut(BaseModel):
    """A counterparty with the number."""

    id: str
    name: str


class CallerLinkOut(BaseModel):
    """A counterparty a person with the number works for (one the caller sees)."""

    counterparty_id: str
    counterparty_name: str | None
    position: str | None = None


class CallerPersonOut(BaseModel):
    """A contact person with the number."""

    id: str
    display_name: str
    links: list[CallerLinkOut]


class CallerIdOut(BaseModel):
    """Who has the number: counterparties and contact persons, each sorted by name."""

    number: str
    counterparties: list[CallerCounterpartyOut]
    persons: list[CallerPersonOut]


def build_router(service: ContactsService, tokens: CallerTokens) -> APIRouter:
    """The caller-id route, bound to one wired service."""
    router = APIRouter(prefix="/api/v1", tags=["lookup"])
    authenticated = caller_dependency(tokens)

    @router.get("/lookup/phone", response_model=CallerIdOut)
    async def who_is_calling(
        number: Annotated[str, Query(min_length=1, max_length=40, description="The number as it came in")],
        caller: Caller = authenticated,
    ) -> CallerIdOut:
        """Who is calling: the counterparties and contact persons you may see with this phone number
        (read in the default country when it has no ``+``); 422 naming ``number`` when it is not one."""
        phone = normalise_phone(number, service.rules.default_country, field="number")
        counterparties = await service.queries.by_phone(phone, caller)
        persons = await service.person_queries.by_phone(phone, caller)
        return CallerIdOut(
            number=phone,
            counterparties=[
                CallerCounterpartyOut(id=str(d["_id"]), name=str(d.get("name", ""))) for d in counterparties
            ],
            persons=[
                CallerPersonOut(
                    id=p["id"],
                    display_name=p["display_name"] or "",
                    links=[
                        CallerLinkOut(**{k: link.get(k) for k in ("counterparty_id", "counterparty_name", "position")})
                        for link in p["links"]
                    ],
                )
                for p in persons
            ],
        )

    return router
