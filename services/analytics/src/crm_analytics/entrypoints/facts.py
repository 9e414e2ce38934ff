"""The ERP's records in (trade facts, orders, payments: one set of routes per
:class:`~crm_analytics.domain.records.RecordKind`): a batch over HTTP, or a CSV file imported as a job
(followed through the kernel's job routes under ``/api/v1/analytics/jobs``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from crm_analytics.application.facts import require_writer
from crm_analytics.bootstrap import AnalyticsService
from crm_analytics.domain.records import KINDS, RecordKind
from crm_analytics.entrypoints.facts_models import BATCHES, BatchOut
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
TAG = "analytics: trade facts"
"""One tag for every kind of ERP record (the job routes are shared)."""


def result_media(job: Job) -> str:
    """Imports of the ERP's records make no file; the type is never used."""
    return "text/csv; charset=utf-8"


def _record_doc(kind: RecordKind[Any]) -> str:
    each = f"the message of the ERP's topic `{kind.topic}` (the same fields and rules)" if kind.topic else "as below"
    return (
        f"Record a batch of {kind.what} (at most {kind.max_batch:,}, all or none) as `{{{kind.items}: [...]}}`, "
        f"each {each}. A {kind.noun} with the {kind.key} of one recorded before replaces it, so sending a "
        f"batch again, or a corrected {kind.noun}, counts once. Amounts "
        f"are decimal strings; a wrong {kind.noun} answers 422 naming `{kind.items}.<index>.<field>`. Needs "
        f"`{kind.permission}`."
    )


def _import_doc(kind: RecordKind[Any]) -> str:
    optional = f" and optionally `{','.join(kind.optional_columns)}`" if kind.optional_columns else ""
    return (
        f"Upload a CSV file of {kind.what} (`multipart/form-data` field `file`, or the raw `text/csv` body; "
        f"UTF-8; columns `{','.join(kind.required_columns)}`{optional}, any order and case, separated by `,`, "
        "`;` or a tab) and import it as a job: 202 with `Location` of the job, whose progress, rejected rows "
        "(line, column, reason) and cancel are under "
        f"`/api/v1/analytics/jobs/{{id}}`. The same {kind.key} again replaces the {kind.noun} before. Needs "
        f"`{kind.permission}`."
    )


def _add_kind(router: APIRouter, service: AnalyticsService, authenticated: Any, kind: RecordKind[Any]) -> None:
    """``POST /<slug>`` (a batch) and ``POST /imports/<slug>`` (a CSV job) of one kind."""
    currency = service.settings.reporting_currency
    jobs = service.jobs

    async def record(body: BaseModel, caller: Caller = authenticated) -> BatchOut:
        items = getattr(body, kind.items)
        recorded = await service.facts.ingest(caller, kind, [kind.of_message(item, currency) for item in items])
        return BatchOut(recorded=recorded)

    # The body's model is the kind's (built at run time): FastAPI reads it from the annotations.
    record.__annotations__["body"] = BATCHES[kind.slug]
    router.add_api_route(
        f"/{kind.slug}",
        record,
        methods=["POST"],
        response_model=BatchOut,
        summary=f"Record {kind.what}",
        description=_record_doc(kind),
        operation_id=f"record_{kind.table}",
    )

    async def upload(
        request: Request,
        response: Response,
        filename: Annotated[
            str | None, Query(max_length=200, description="The file's name, for a raw text/csv body")
        ] = None,
        caller: Caller = authenticated,
    ) -> JobOut:
        require_writer(caller, kind)
        limit = service.settings.import_max_bytes
        check_upload_request(request, limit)
        job = await jobs.create("import", caller, {"filename": filename or "upload.csv", "what": kind.slug})
        await receive_upload(request, jobs, job, limit, filename)

        async def work(control: Control) -> None:
            await service.importer.run(control, await control.input_file(), caller, kind)

        jobs.start(job, work)
        response.headers["Location"] = f"{prefix_of(request, router)}/jobs/{job.id}"
        return job_out(job, prefix_of(request, router))

    router.add_api_route(
        f"/imports/{kind.slug}",
        upload,
        methods=["POST"],
        status_code=202,
        response_model=JobOut,
        openapi_extra=UPLOAD_REQUEST_BODY,
        summary=f"Import {kind.what} from a CSV file",
        description=_import_doc(kind),
        operation_id=f"import_{kind.table}",
    )


def build_router(service: AnalyticsService, tokens: CallerTokens) -> APIRouter:
    """The routes of every kind of ERP record and the job routes; every route needs a verified caller."""
    router = APIRouter(prefix=PREFIX, tags=[TAG])
    authenticated = caller_dependency(tokens)
    for kind in KINDS:
        _add_kind(router, service, authenticated, kind)
    routes = APIRouter()
    routes.include_router(router)
    routes.include_router(job_routes(service.jobs, authenticated, result_media, tags=[TAG], prefix=PREFIX))
    return routes
