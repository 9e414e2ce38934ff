"""Import and export of counterparties over HTTP, as jobs: start one, follow its progress, fetch its
report of rejected rows or its file, cancel it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, BinaryIO, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic_settings import BaseSettings, SettingsConfigDict

from crm_contacts.application.exports import CounterpartyExport, file_name
from crm_contacts.application.jobs import Control, Job
from crm_contacts.application.queries import Filters
from crm_contacts.bootstrap import ContactsService
from crm_contacts.projections.counterparties import COLLECTION
from crm_shared.http import HttpProblem, caller_dependency
from crm_shared.identity import Caller, CallerTokens, Permission
from crm_shared.readstore.cursor import BadCursor

JobId = Annotated[str, PathParam(pattern=r"^[0-9a-f]{32}$")]
RAW_TYPES = ("text/csv", "text/plain", "application/csv", "application/octet-stream", "application/vnd.ms-excel")
_FILENAME = re.compile(r"""filename\*?=(?:UTF-8'')?"?([^";\r\n]*)"?""", re.IGNORECASE)
_NAME = re.compile(r"""\bname="?([^";\r\n]*)"?""", re.IGNORECASE)


class ImportSettings(BaseSettings):
    """Limits of uploads (``CRM_CONTACTS_IMPORT_MAX_BYTES``)."""

    model_config = SettingsConfigDict(env_prefix="CRM_CONTACTS_", extra="ignore")
    import_max_bytes: int = 200 * 1024 * 1024


class ProgressOut(BaseModel):
    """Rows done out of ``total`` (0 while unknown), and what became of them."""

    total: int
    done: int
    accepted: int
    rejected: int
    unchanged: int


class RejectionOut(BaseModel):
    """A rejected row: its line in the file, the column at fault and why."""

    line: int
    column: str
    reason: str
    name: str = ""


class JobOut(BaseModel):
    """An import or export job."""

    id: str
    kind: Literal["import", "export"]
    owner: str
    state: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    progress: ProgressOut
    params: dict[str, Any]
    rejected: list[RejectionOut] = Field(description="The first rejected rows; the report has all of them")
    report: str | None = Field(description="Where to download the report of rejected rows (CSV)")
    file: str | None = Field(description="Where to download the result (an export)")
    error: str | None


class JobPage(BaseModel):
    """A page of jobs, newest first."""

    items: list[JobOut]
    next_cursor: str | None


Code = Annotated[str, StringConstraints(max_length=64)]


class ExportBody(BaseModel):
    """What to export: the list's filters, a format (``csv``, or ``vcard`` for the contact persons) and,
    for CSV, the delimiter."""

    model_config = ConfigDict(extra="forbid")
    format: Literal["csv", "vcard"] = "csv"
    delimiter: Literal[",", ";", "\t"] = ","
    q: Annotated[str, StringConstraints(max_length=200)] | None = None
    tax_id: Annotated[str, StringConstraints(max_length=40)] | None = None
    email: Annotated[str, StringConstraints(max_length=200)] | None = None
    phone: Annotated[str, StringConstraints(max_length=40)] | None = None
    relation: Literal["buyer", "supplier", "other"] | None = None
    main_manager: Annotated[str, StringConstraints(max_length=100)] | None = None
    manager: Annotated[str, StringConstraints(max_length=100)] | None = None
    group: Code | None = None
    region: Code | None = None
    legal_form: Literal["legal", "natural"] | None = None
    category: Code | None = None
    properties: Annotated[dict[Code, Annotated[str, StringConstraints(max_length=200)]], Field(max_length=20)] = {}
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
        )


def _out(job: Job, prefix: str) -> JobOut:
    base = f"{prefix}/jobs/{job.id}"
    return JobOut(
        id=job.id,
        kind=job.kind,
        owner=job.owner,
        state=job.state,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        progress=ProgressOut(**vars(job.progress)),
        params=job.params,
        rejected=[RejectionOut(line=r.line, column=r.column, reason=r.reason, name=r.name) for r in job.rejected],
        report=f"{base}/report.csv" if job.report else None,
        file=f"{base}/file" if job.file and job.state == "succeeded" else None,
        error=job.error,
    )


class BadUpload(Exception):
    """The request does not carry a file the way it says it does."""


async def copy_file_part(chunks: AsyncIterator[bytes], boundary: bytes, out: BinaryIO, limit: int) -> str:
    """Stream the first file part of a ``multipart/form-data`` body into ``out``; returns its file name.

    Raises :class:`BadUpload`, or :class:`HttpProblem` 413 past ``limit`` bytes.
    """
    marker = b"\r\n--" + boundary
    buffer = b"\r\n"  # the body starts with the boundary itself
    written = 0

    async def more() -> None:
        nonlocal buffer
        try:
            buffer += await anext(chunks)
        except StopAsyncIteration:
            raise BadUpload("the multipart body ended early") from None

    while True:
        while (start := buffer.find(marker)) < 0:
            buffer = buffer[-len(marker) :]
            await more()
        buffer = buffer[start + len(marker) :]
        while len(buffer) < 2:
            await more()
        if buffer.startswith(b"--"):
            raise BadUpload("the multipart body has no file part")
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            if len(buffer) > 16_384:
                raise BadUpload("the headers of a part are too long")
            await more()
        headers, buffer = buffer[:end].decode("latin-1"), buffer[end + 4 :]
        disposition = next((h for h in headers.split("\r\n") if h.lower().startswith("content-disposition")), "")
        found, name = _FILENAME.search(disposition), _NAME.search(disposition)
        if found is None and (name is None or name.group(1) != "file"):
            continue  # another form field: skip to the next part
        while True:
            if (stop := buffer.find(marker)) >= 0:
                out.write(buffer[:stop])
                written += stop
                _check_size(written, limit)
                return found.group(1) if found is not None else "upload.csv"
            keep = len(marker) - 1
            if len(buffer) > keep:
                out.write(buffer[:-keep])
                written += len(buffer) - keep
                _check_size(written, limit)
                buffer = buffer[-keep:]
            await more()


def _check_size(size: int, limit: int) -> None:
    if size > limit:
        raise HttpProblem(413, "File too large", f"an import file may have at most {limit} bytes", "file")


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
        service.persons,
        service.views,
        service.runner.collection(COLLECTION),
    )

    def prefix(request: Request) -> str:
        return f"{request.scope.get('root_path', '')}{router.prefix}"

    async def visible(job_id: str, caller: Caller) -> Job:
        job = await jobs.get(job_id, caller)
        if job is None:
            raise HttpProblem(404, "Not found", f"no job {job_id}")
        return job

    @router.post(
        "/imports/counterparties",
        status_code=202,
        response_model=JobOut,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "text/csv": {"schema": {"type": "string", "format": "binary"}},
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {"file": {"type": "string", "format": "binary"}},
                            "required": ["file"],
                        }
                    },
                },
            }
        },
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
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit + 64 * 1024:
            _check_size(int(declared), limit)
        content_type = request.headers.get("content-type", "")
        media = content_type.split(";")[0].strip().lower()
        boundary = re.search(r"boundary=\"?([^\";]+)\"?", content_type)
        if media == "multipart/form-data" and boundary is None:
            raise HttpProblem(400, "Bad upload", "a multipart body needs a boundary", "file")
        if media != "multipart/form-data" and media not in RAW_TYPES:
            raise HttpProblem(415, "Unsupported media type", "send text/csv or multipart/form-data", "file")
        job = await jobs.create("import", caller, {"filename": filename or "upload.csv"})
        path = jobs.directory_of(job.id) / "input.csv"
        try:
            with path.open("wb") as out:
                if boundary is not None:
                    name = await copy_file_part(request.stream(), boundary.group(1).encode(), out, limit)
                    job.params["filename"] = filename or Path(name).name or "upload.csv"
                else:
                    size = 0
                    async for chunk in request.stream():
                        size += len(chunk)
                        _check_size(size, limit)
                        out.write(chunk)
            if path.stat().st_size == 0:
                raise HttpProblem(422, "Empty file", "the file is empty", "file")
        except BadUpload as exc:
            await jobs.discard(job)
            raise HttpProblem(400, "Bad upload", str(exc), "file") from exc
        except BaseException:
            await jobs.discard(job)
            raise

        async def work(control: Control) -> None:
            await importer.run(control, path, caller)

        jobs.start(job, work)
        response.headers["Location"] = f"{prefix(request)}/jobs/{job.id}"
        return _out(job, prefix(request))

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
        suffix = "csv" if body.format == "csv" else "vcf"
        job.file = file_name(body.format, job.created_at.date().isoformat())
        target = jobs.directory_of(job.id) / f"export.{suffix}"

        async def work(control: Control) -> None:
            await exporter.run(control, caller, body.filters(), body.format, target, body.delimiter)

        jobs.start(job, work)
        response.headers["Location"] = f"{prefix(request)}/jobs/{job.id}"
        return _out(job, prefix(request))

    @router.get("/jobs", response_model=JobPage)
    async def my_jobs(
        request: Request,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Query(max_length=2000)] = None,
        caller: Caller = authenticated,
    ) -> JobPage:
        """Your jobs, newest first."""
        try:
            found, next_cursor = await jobs.mine(caller, limit=limit, cursor=cursor)
        except BadCursor as exc:
            raise HttpProblem(400, "Bad cursor", str(exc), "cursor") from exc
        return JobPage(items=[_out(j, prefix(request)) for j in found], next_cursor=next_cursor)

    @router.get("/jobs/{job_id}", response_model=JobOut)
    async def get_job(job_id: JobId, request: Request, caller: Caller = authenticated) -> JobOut:
        """A job's state and progress (yours, or any for administrators)."""
        return _out(await visible(job_id, caller), prefix(request))

    @router.get(
        "/jobs/{job_id}/report.csv",
        response_class=FileResponse,
        responses={200: {"content": {"text/csv": {}}, "description": "line, column, reason, name"}},
    )
    async def job_report(job_id: JobId, caller: Caller = authenticated) -> FileResponse:
        """The rejected rows of an import: line, column, reason (CSV, UTF-8)."""
        job = await visible(job_id, caller)
        path = jobs.directory_of(job.id) / "report.csv"
        if not job.report or not path.exists():
            raise HttpProblem(404, "Not found", "this job rejected no rows")
        return FileResponse(path, media_type="text/csv; charset=utf-8", filename=f"rejected-rows-{job.id[:8]}.csv")

    @router.get(
        "/jobs/{job_id}/file",
        response_class=FileResponse,
        responses={200: {"content": {"text/csv": {}, "text/vcard": {}}, "description": "The export"}},
    )
    async def job_file(job_id: JobId, caller: Caller = authenticated) -> FileResponse:
        """The file an export made, once it succeeded."""
        job = await visible(job_id, caller)
        if job.kind != "export" or job.file is None:
            raise HttpProblem(404, "Not found", "this job makes no file")
        if job.state != "succeeded":
            raise HttpProblem(409, "Not ready", f"the export is {job.state}", "state")
        vcard = job.params.get("format") == "vcard"
        path = jobs.directory_of(job.id) / ("export.vcf" if vcard else "export.csv")
        if not path.exists():
            raise HttpProblem(404, "Not found", "the file is gone")
        media = "text/vcard; charset=utf-8" if vcard else "text/csv; charset=utf-8"
        return FileResponse(path, media_type=media, filename=job.file)

    @router.post("/jobs/{job_id}/cancel", response_model=JobOut)
    async def cancel_job(job_id: JobId, request: Request, caller: Caller = authenticated) -> JobOut:
        """Stop a queued or running job; rows imported until then stay (run it again to finish)."""
        return _out(await jobs.cancel(job_id, caller), prefix(request))

    return router
