"""Import and export of counterparties over HTTP, as jobs: start one here; follow its progress, fetch its
report of rejected rows or its file and cancel it through the kernel's job routes."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic_settings import BaseSettings, SettingsConfigDict

from crm_contacts.application.counterparties.queries import Filters
from crm_contacts.application.exports import CounterpartyExport, file_name
from crm_contacts.bootstrap import ContactsService
from crm_contacts.projections.counterparties import COLLECTION
from crm_shared import inputs
from crm_shared.http import HttpProblem, caller_dependency
from crm_shared.identity import Caller, CallerTokens, Permission
from crm_shared.jobs import Control, Job
from crm_shared.jobs_http import (
    UPLOAD_REQUEST_BODY,
    JobOut,
    check_upload_request,
    job_out,
    job_routes,
    prefix_of,
    receive_upload,
)


class ImportSettings(BaseSettings):
    """Limits of uploads (``CRM_CONTACTS_IMPORT_MAX_BYTES``)."""

    model_config = SettingsConfigDict(env_prefix="CRM_CONTACTS_", extra="ignore")
    import_max_bytes: int = 200 * 1024 * 1024


Code = Annotated[inputs.Text, StringConstraints(max_length=64)]


class ExportBody(BaseModel):
    """What to export: the list's filters, a format (``csv``, or ``vcard`` for the contact persons) and,
    for CSV, the delimiter."""

    model_config = ConfigDict(extra="forbid")
    format: Literal["csv", "vcard"] = "csv"
    delimiter: Literal[",", ";", "\t"] = ","
    q: Annotated[inputs.Text, StringConstraints(max_length=200)] | None = None
    tax_id: Annotated[inputs.Text, StringConstraints(max_length=40)] | None = None
    email: Annotated[inputs.Text, StringConstraints(max_length=200)] | None = None
    phone: Annotated[inputs.Text, StringConstraints(max_length=40)] | None = None
    relation: Literal["buyer", "supplier", "other"] | None = None
    main_manager: Annotated[inputs.Text, StringConstraints(max_length=100)] | None = None
    manager: Annotated[inputs.Text, StringConstraints(max_length=100)] | None = None
    group: Code | None = None
    region: Code | None = None
    legal_form: Literal["legal", "natural"] | None = None
    category: Code | None = None
    external_code: Code | None = None
    properties: Annotated[
        dict[Code, Annotated[inputs.Text, StringConstraints(max_length=200)]], Field(max_length=20)
    ] = {}
    archived: Literal["false", "true", "any"] = "false"

    def filters(self) -> Filters:
        """The list filters this export applies."""
        return Filters(
            q=self.q,
            tax_id=self.tax_id,
            email=self.email,
            phone=self.phone,
            relation=self.relation,
            main_manager=self.main_manager,
            manager=self.manager,
            group=self.group,
            region=self.region,
            legal_form=self.legal_form,
            category=self.category,
            properties=dict(self.properties),
            archived=None if self.archived == "any" else self.archived == "true",
            external_code=self.external_code,
        )


def result_media(job: Job) -> str:
    """The media type of an export: vCard or CSV, by the format it was asked in."""
    return "text/vcard; charset=utf-8" if job.params.get("format") == "vcard" else "text/csv; charset=utf-8"


def build_router(service: ContactsService, tokens: CallerTokens) -> APIRouter:
    """The import, export and job routes; every route needs a verified caller."""
    router = APIRouter(prefix="/api/v1", tags=["import and export"])
    authenticated = caller_dependency(tokens)
    jobs = service.jobs
    limit = ImportSettings().import_max_bytes
    importer = service.importer()
    exporter = CounterpartyExport(
        service.store,
        service.queries,
        service.reference,
        service.person_queries,
        service.views,
        service.runner.collection(COLLECTION),
        service.directory,
    )

    @router.post(
        "/imports/counterparties",
        status_code=202,
        response_model=JobOut,
        openapi_extra=UPLOAD_REQUEST_BODY,
    )
    async def import_counterparties(
        request: Request,
        response: Response,
        filename: Annotated[
            str | None, Query(max_length=200, description="The file's name, for a raw text/csv body")
        ] = None,
        caller: Caller = authenticated,
    ) -> JobOut:
        """Upload a CSV file (``multipart/form-data`` field ``file``, or the raw ``text/csv`` body) and
        import it as a job: 202 with ``Location`` of the job, whose progress and report of rejected rows
        follow there. Files over the configured limit (200 MB by default) get 413."""
        if not caller.can(Permission.COUNTERPARTY_IMPORT):
            raise HttpProblem(403, "Forbidden", "your roles do not allow importing counterparties")
        check_upload_request(request, limit)
        job = await jobs.create("import", caller, {"filename": filename or "upload.csv"})
        await receive_upload(request, jobs, job, limit, filename)

        async def work(control: Control) -> None:
            await importer.run(control, await control.input_file(), caller)

        jobs.start(job, work)
        response.headers["Location"] = f"{prefix_of(request, router)}/jobs/{job.id}"
        return job_out(job, prefix_of(request, router))

    @router.post("/exports/counterparties", status_code=202, response_model=JobOut)
    async def export_counterparties(
        body: ExportBody, request: Request, response: Response, caller: Caller = authenticated
    ) -> JobOut:
        """Export the counterparties the list would show with these filters (within your access
        groups), as CSV with the import's columns or as vCard 4.0 of their contact persons: 202 with
        ``Location`` of the job, whose ``file`` is the download once it succeeded."""
        if not caller.can(Permission.COUNTERPARTY_EXPORT):
            raise HttpProblem(403, "Forbidden", "your roles do not allow exporting counterparties")
        await service.queries.list(caller, body.filters(), limit=1)  # bad filters: 422 now, not a failed job
        params = body.model_dump(exclude_defaults=True)
        params.update(format=body.format)
        job = await jobs.create("export", caller, params)
        job.file = file_name(body.format, job.created_at.date().isoformat())

        async def work(control: Control) -> None:
            target = control.scratch / ("export.csv" if body.format == "csv" else "export.vcf")
            await exporter.run(control, caller, body.filters(), body.format, target, body.delimiter)
            await control.keep_result(target)

        jobs.start(job, work)
        response.headers["Location"] = f"{prefix_of(request, router)}/jobs/{job.id}"
        return job_out(job, prefix_of(request, router))

    routes = APIRouter()
    routes.include_router(router)
    routes.include_router(job_routes(jobs, authenticated, result_media, tags=["import and export"]))
    return routes
