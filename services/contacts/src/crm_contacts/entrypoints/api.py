"""All contacts routes under ``/api/v1``: one router per part of the register."""

from __future__ import annotations

from fastapi import APIRouter

from crm_contacts.bootstrap import ContactsService
from crm_contacts.entrypoints import counterparties, events_doc, jobs, lookup, persons, reference
from crm_shared.identity import CallerTokens


def build_router(service: ContactsService, tokens: CallerTokens) -> APIRouter:
    """The contacts API, bound to one wired service; every route needs a verified caller."""
    router = APIRouter()
    router.include_router(counterparties.build_router(service, tokens))
    router.include_router(events_doc.build_router(tokens))
    router.include_router(reference.build_router(service, tokens))
    router.include_router(persons.build_router(service, tokens))
    router.include_router(jobs.build_router(service, tokens))
    router.include_router(lookup.build_router(service, tokens))
    return router
