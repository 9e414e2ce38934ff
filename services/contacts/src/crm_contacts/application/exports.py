"""Export of counterparties, as a job: CSV with the import's columns (so an export imports back as
it is), or the contact persons of the exported counterparties as vCard 4.0.

An export sees what the caller's list would show: the same filters, the same access groups. Each
export is recorded as an ``ExportRequested`` event in its own private stream ``exports-<job id>``
(who, which filters, how many): the gateway's audit trail lives in another service, which the
contacts service does not reach.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

from crm_contacts.application.counterparties.queries import CounterpartyQueries, Filters
from crm_contacts.application.csv_columns import export_columns, export_row
from crm_contacts.application.persons.queries import PersonQueries
from crm_contacts.application.persons.vcard import to_vcard
from crm_contacts.application.reference.data import ReferenceData
from crm_shared.directory import LocalDirectory
from crm_shared.errors import Forbidden
from crm_shared.events import DomainEvent, EventCatalog, deterministic_event_id
from crm_shared.eventstore import NO_STREAM, EventStore
from crm_shared.identity import Caller, Permission
from crm_shared.jobs import Control
from crm_shared.readstore import Document, ReadStore
from crm_shared.readstore.cursor import encode_cursor

Format = Literal["csv", "vcard"]
PAGE = 500
audit = EventCatalog()


@audit.register("contacts.ExportRequested")
class ExportRequested(DomainEvent):
    """Someone exported counterparties (or their persons): who, in which format, with which filters, how many."""

    job_id: str
    actor: str
    format: str
    filters: dict[str, Any]
    counterparties: int
    persons: int = 0


def export_stream(job_id: str) -> str:
    """The private stream recording one export."""
    return f"exports-{job_id}"


def file_name(format: Format, day: str) -> str:
    """The name the export is downloaded under."""
    return f"counterparties-{day}.csv" if format == "csv" else f"contact-persons-{day}.vcf"


_LOOKUPS = ("q", "tax_id", "email", "phone", "manager", "category", "external_code")
_EQUALS = ("main_manager", "group", "region", "legal_form")


class CounterpartyExport:
    """Writes the counterparties a caller may list to a file."""

    def __init__(
        self,
        store: EventStore,
        queries: CounterpartyQueries,
        reference: ReferenceData,
        persons: PersonQueries,
        views: ReadStore,
        collection: str,
        directory: LocalDirectory | None = None,
    ) -> None:
        self._directory = directory
        """Where the managers' names come from (the local copy of the gateway's directory)."""
        self._store = store
        self._queries = queries
        self._reference = reference
        self._persons = persons
        self._views = views
        self._collection = collection

    async def run(
        self, control: Control, caller: Caller, filters: Filters, format: Format, target: Path, delimiter: str = ","
    ) -> None:
        """Write the export to ``target`` and record it."""
        if not caller.can(Permission.COUNTERPARTY_EXPORT):
            raise Forbidden("your roles do not allow exporting counterparties")
        control.progress.total = await self._count(caller, filters)
        await control.tick(force=True)
        persons = 0
        if format == "csv":
            await self._csv(control, caller, filters, target, delimiter)
        else:
            persons = await self._vcard(control, caller, filters, target)
        control.progress.total = control.progress.done
        record = ExportRequested(
            job_id=control.job.id,
            actor=caller.user_id,
            format=format,
            filters=_shown(filters),
            counterparties=control.progress.done,
            persons=persons,
        )
        stream = export_stream(control.job.id)
        event = audit.encode(record, event_id=deterministic_event_id(stream), metadata={"actor": caller.user_id})
        await self._store.append(stream, [event], NO_STREAM)

    async def _pages(self, control: Control, caller: Caller, filters: Filters) -> Any:
        """Every counterparty the caller's list shows under ``filters``, page by page (each once)."""
        seen: set[str] | None = set() if _uses_lookup(filters) else None
        cursor: str | None = None
        while True:
            page = await self._queries.list(caller, filters, limit=PAGE, cursor=cursor)
            items = page.items
            if seen is not None:
                items = [d for d in items if str(d["_id"]) not in seen]
                seen.update(str(d["_id"]) for d in items)
            yield items
            control.progress.done += len(items)
            control.progress.accepted = control.progress.done
            await control.tick()
            if page.next_after is None:
                return
            cursor = encode_cursor(page.next_after)

    async def _csv(self, control: Control, caller: Caller, filters: Filters, target: Path, delimiter: str) -> None:
        kinds = [e.code for e in await self._reference.entries("contact-kinds") if _for_counterparties(e.attributes)]
        properties = [e.code for e in await self._reference.entries("properties") if _for_counterparties(e.attributes)]
        columns = export_columns(sorted(kinds), sorted(properties))
        with target.open("w", encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out, delimiter=delimiter)
            writer.writerow(columns)
            async for items in self._pages(control, caller, filters):
                names = await self._names(items)
                writer.writerows(export_row(doc, columns, names) for doc in items)

    async def _names(self, items: list[Document]) -> dict[str, str]:
        """The display names of the managers of ``items`` that the directory knows."""
        if self._directory is None:
            return {}
        ids = {str(m) for d in items for m in (d.get("main_manager"), *(d.get("managers") or ())) if m}
        return await self._directory.names(ids)

    async def _vcard(self, control: Control, caller: Caller, filters: Filters, target: Path) -> int:
        written: set[str] = set()
        with target.open("w", encoding="utf-8", newline="") as out:
            async for items in self._pages(control, caller, filters):
                for doc in items:
                    cursor: str | None = None
                    while True:
                        found = await self._persons.of_counterparty(str(doc["_id"]), caller, limit=100, cursor=cursor)
                        if found is None:
                            break
                        linked, cursor = found
                        for item in linked:
                            card = item["person"]
                            if card["id"] in written or card.get("erased"):
                                continue
                            written.add(card["id"])
                            out.write(to_vcard(card))
                        if cursor is None:
                            break
        return len(written)

    async def _count(self, caller: Caller, filters: Filters) -> int:
        """How many the export will have (0 when unknown: a search through the lookups)."""
        if _uses_lookup(filters):
            return 0
        equals: dict[str, Any] = {name: getattr(filters, name) for name in _EQUALS if getattr(filters, name)}
        if filters.archived is not None:
            equals["archived"] = filters.archived
        if filters.relation:
            equals[f"is_{filters.relation}"] = True
        groups = caller.visible_groups()
        if groups is None:
            return await self._views.count(self._collection, equals)
        return sum([await self._views.count(self._collection, {**equals, "access_group": g}) for g in sorted(groups)])


def _uses_lookup(filters: Filters) -> bool:
    return bool(filters.properties) or any(getattr(filters, name) for name in _LOOKUPS)


def _for_counterparties(attributes: Mapping[str, Any]) -> bool:
    return attributes.get("applies_to", "both") in ("both", "counterparty")


def _shown(filters: Filters) -> dict[str, Any]:
    """The filters that were set."""
    given = asdict(filters)
    return {k: v for k, v in given.items() if v not in (None, "", {}, ())}


__all__: Sequence[str] = ["CounterpartyExport", "ExportRequested", "audit", "export_stream", "file_name"]
