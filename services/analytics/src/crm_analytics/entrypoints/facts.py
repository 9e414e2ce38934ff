"""Trade facts in: a batch over HTTP, or a CSV file imported as a job (followed through the kernel's
job routes under ``/api/v1/analytics/jobs``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from crm_analytics.application.facts import require_writer
from crm_analytics.bootstrap import AnalyticsService
from crm_analytics.entrypoints.facts_models import BatchOut, FactBatch
from crm_shared.http import caller_dependency
from crm_shared.identity import Caller, CallerTokens
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

PREFIX = "/api/v1/analytics"


def result_media(job: Job) -> str:
    """Imports of trade facts make no file; the type is never used."""
    return "text/csv; charset=utf-8"


def build_router(service: AnalyticsService, tokens: CallerTokens) -> APIRouter:
    """The trade-fact routes and the job routes; every route needs a verified caller."""
    router = APIRouter(prefix=PREFIX, tags=["analytics: trade facts"])
    authenticated = caller_dependency(tokens)
    jobs = service.jobs
    currency = service.settings.reporting_currency

    @router.post("/trade-facts", response_model=BatchOut)
    async def record_facts(body: FactBatch, caller: Caller = authenticated) -> BatchOut:
        """Record a batch of sales and returns (at most 5,000, all or none). A fact whose ``id`` was
        recorded before replaces it, so sending a batch again, or a corrected fact, counts once. Amounts
        are decimal strings; a wrong fact answers 422 naming ``facts.<index>.<field>``."""
        recorded = await service.facts.ingest(caller, [fact.fact(currency) for fact in body.facts])
        return BatchOut(recorded=recorded)

    @router.post("/imports/trade-facts", status_code=202, response_model=JobOut, openapi_extra=UPLOAD_REQUEST_BODY)
    async def import_facts(
        request: Request,
        response: Response,
        filename: Annotated[
            str | None, Query(max_length=200, description="The file's name, for a raw text/csv body")
        ] = None,
        caller: Caller = authenticated,
    ) -> JobOut:
        """Upload a CSV file of trade facts (``multipart/form-data`` field ``file``, or the raw
        ``text/csv`` body; UTF-8; columns ``id,date,customer,quantity,revenue`` and optionally
        ``kind,item,division,manager,revenue_without_vat,cost,currency``) and import it as a job: 202
        with ``Location`` of the job, whose progress, rejected rows (line, column, reason) and cancel
        are under ``/api/v1/analytics/jobs/{id}``."""
        require_writer(caller)
        limit = service.settings.import_max_bytes
        check_upload_request(request, limit)
        job = await jobs.create("import", caller, {"filename": filename or "upload.csv", "what": "trade-facts"})
        await receive_upload(request, jobs, job, limit, filename)

        async def work(control: Control) -> None:
            await service.importer.run(control, await control.input_file(), caller)

        jobs.start(job, work)
        response.headers["Location"] = f"{prefix_of(request, router)}/jobs/{job.id}"
        return job_out(job, prefix_of(request, router))

    routes = APIRouter()
    routes.include_router(router)
    routes.include_router(job_routes(jobs, authenticated, result_media, tags=["analytics: trade facts"], prefix=PREFIX))
    return routes
