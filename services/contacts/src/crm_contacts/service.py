"""The contacts service as one object (:class:`crm_shared.service.Service`), for the launcher."""

from __future__ import annotations

from fastapi import APIRouter

from crm_contacts import bootstrap
from crm_contacts.bootstrap import ContactsService
from crm_contacts.entrypoints.api import build_router
from crm_shared.identity import CallerTokens
from crm_shared.service import Service
from crm_shared.settings import KernelSettings


class Contacts:
    """Counterparties, contact persons, the reference data, imports and exports, the event documents."""

    name = bootstrap.SERVICE
    prefixes = ("counterparties", "persons", "reference", "imports", "exports", "jobs", "events", "lookup")
    background_apart = True
    """Its views, local copies and relay share nothing with its API but the stores."""

    async def build(self, settings: KernelSettings) -> ContactsService:
        """Wired with :class:`~crm_contacts.settings.ContactsSettings` from the environment."""
        return await bootstrap.build(settings)

    def router(self, wired: ContactsService, tokens: CallerTokens) -> APIRouter:
        """The contacts API."""
        return build_router(wired, tokens)


CONTACTS: Service[ContactsService] = Contacts()
