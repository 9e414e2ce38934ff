"""Jobs over HTTP, the same in every service: streamed uploads into a job, and the routes that follow
a job (``/jobs``, ``/jobs/{id}``, its report of rejected rows, its result file, cancel).

A service adds its own routes that start jobs (``POST /imports/<what>`` with :func:`receive_upload`,
``POST /exports/<what>``) and mounts :func:`job_routes` once, under its own prefix when ``/api/v1/jobs``
belongs to another service (``POST /api/v1/analytics/imports/trade-facts``,
``GET /api/v1/analytics/jobs/{id}``).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from crm_shared.http import Cursor, HttpProblem
from crm_shared.identity import Caller
from crm_shared.jobs import INPUT, REPORT, RESULT, Job, Jobs
from crm_shared.readstore.cursor import BadCursor

JobId = Annotated[str, PathParam(pattern=r"^[0-9a-f]{32}$")]
RAW_TYPES = ("text/csv", "text/plain", "application/csv", "application/octet-stream", "application/vnd.ms-excel")
_FILENAME = re.compile(r"""filename\*?=(?:UTF-8'')?"?([^";\r\n]*)"?""", re.IGNORECASE)
_NAME = re.compile(r"""\bname="?([^";\r\n]*)"?""", re.IGNORECASE)


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


def job_out(job: Job, prefix: str) -> JobOut:
    """The job as answered, with links under ``prefix`` (e.g. ``/api/v1``)."""
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


def prefix_of(request: Request, router: APIRouter) -> str:
    """Where the router's routes are, as the client sees them (behind a mount or the gateway)."""
    return f"{request.scope.get('root_path', '')}{router.prefix}"


class BadUpload(Exception):
    """The request does not carry a file the way it says it does."""


def check_size(size: int, limit: int) -> None:
    """:class:`HttpProblem` 413 naming ``file`` when ``size`` is past ``limit`` bytes."""
    if size > limit:
        raise HttpProblem(413, "File too large", f"an import file may have at most {limit} bytes", "file")


async def file_part(
    chunks: AsyncIterator[bytes], boundary: bytes, limit: int, on_name: Callable[[str], None]
) -> AsyncIterator[bytes]:
    """The content of the first file part of a ``multipart/form-data`` body, streamed; ``on_name`` gets
    its file name once its headers are read.

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
        on_name(found.group(1) if found is not None else "upload.csv")
        while True:
            if (stop := buffer.find(marker)) >= 0:
                written += stop
                check_size(written, limit)
                if stop:
                    yield buffer[:stop]
                return
            keep = len(marker) - 1
            if len(buffer) > keep:
                written += len(buffer) - keep
                check_size(written, limit)
                yield buffer[:-keep]
                buffer = buffer[-keep:]
            await more()


async def _limited(chunks: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        check_size(size, limit)
        yield chunk


UPLOAD_REQUEST_BODY: dict[str, Any] = {
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
}
"""The OpenAPI request body of an upload route (``openapi_extra``): a raw ``text/csv`` body or a
``multipart/form-data`` field ``file`` (:func:`receive_upload` reads either)."""


async def receive_upload(request: Request, jobs: Jobs, job: Job, limit: int, filename: str | None) -> None:
    """Stream the request's file (a ``multipart/form-data`` field ``file``, or the raw body) into the
    job's :data:`~crm_shared.jobs.INPUT`; sets ``params["filename"]``. On any failure the job is
    discarded and the error raised: 400 (bad multipart), 413 (past ``limit``), 422 (empty file)."""
    content_type = request.headers.get("content-type", "")
    boundary = re.search(r"boundary=\"?([^\";]+)\"?", content_type)

    def named(name: str) -> None:
        job.params["filename"] = filename or Path(name).name or "upload.csv"

    body = (
        file_part(request.stream(), boundary.group(1).encode(), limit, named)
        if boundary is not None
        else _limited(request.stream(), limit)
    )
    try:
        stored = await jobs.attach(job, INPUT, body)
        if stored.size == 0:
            raise HttpProblem(422, "Empty file", "the file is empty", "file")
    except BadUpload as exc:
        await jobs.discard(job)
        raise HttpProblem(400, "Bad upload", str(exc), "file") from exc
    except BaseException:
        await jobs.discard(job)
        raise


def check_upload_request(request: Request, limit: int) -> None:
    """Refuse early what cannot be an upload: a declared size past ``limit`` (413), a multipart body
    without a boundary (400), another media type (415)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit + 64 * 1024:
        check_size(int(declared), limit)
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";")[0].strip().lower()
    if media == "multipart/form-data" and "boundary=" not in content_type:
        raise HttpProblem(400, "Bad upload", "a multipart body needs a boundary", "file")
    if media != "multipart/form-data" and media not in RAW_TYPES:
        raise HttpProblem(415, "Unsupported media type", "send text/csv or multipart/form-data", "file")


def _attachment(filename: str) -> str:
    if filename.isascii() and '"' not in filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename*=utf-8''{quote(filename)}"


def job_routes(
    jobs: Jobs,
    authenticated: Any,
    result_media: Callable[[Job], str],
    *,
    tags: list[str] | None = None,
    prefix: str = "/api/v1",
) -> APIRouter:
    """``GET /jobs``, ``GET /jobs/{id}``, ``GET /jobs/{id}/report.csv``, ``GET /jobs/{id}/file`` and
    ``POST /jobs/{id}/cancel`` under ``prefix``; ``authenticated`` is the caller dependency and
    ``result_media`` names the media type of a job's result.

    ``/api/v1/jobs`` belongs to contacts; another service mounts its jobs under its own prefix
    (``prefix="/api/v1/analytics"``: ``/api/v1/analytics/jobs/{id}``)."""
    labels: list[str | Enum] = [*(tags or ["jobs"])]
    router = APIRouter(prefix=prefix, tags=labels)

    async def visible(job_id: str, caller: Caller) -> Job:
        job = await jobs.get(job_id, caller)
        if job is None:
            raise HttpProblem(404, "Not found", f"no job {job_id}")
        return job

    async def stream(job: Job, name: str, media: str, filename: str) -> StreamingResponse:
        info = await jobs.file_info(job, name)
        if info is None:
            raise HttpProblem(404, "Not found", "the file is gone")
        headers = {"Content-Disposition": _attachment(filename), "Content-Length": str(info.size)}
        return StreamingResponse(jobs.open_file(job, name), media_type=media, headers=headers)

    @router.get("/jobs", response_model=JobPage)
    async def my_jobs(
        request: Request,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: Cursor = None,
        caller: Caller = authenticated,
    ) -> JobPage:
        """Your jobs, newest first."""
        try:
            found, next_cursor = await jobs.mine(caller, limit=limit, cursor=cursor)
        except BadCursor as exc:
            raise HttpProblem(400, "Bad cursor", str(exc), "cursor") from exc
        return JobPage(items=[job_out(j, prefix_of(request, router)) for j in found], next_cursor=next_cursor)

    @router.get("/jobs/{job_id}", response_model=JobOut)
    async def get_job(job_id: JobId, request: Request, caller: Caller = authenticated) -> JobOut:
        """A job's state and progress (yours, or any for administrators)."""
        return job_out(await visible(job_id, caller), prefix_of(request, router))

    @router.get(
        "/jobs/{job_id}/report.csv",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/csv": {}}, "description": "line, column, reason, name"}},
    )
    async def job_report(job_id: JobId, caller: Caller = authenticated) -> StreamingResponse:
        """The rejected rows of an import: line, column, reason (CSV, UTF-8), once the job has ended."""
        job = await visible(job_id, caller)
        if not job.report:
            raise HttpProblem(404, "Not found", "this job rejected no rows")
        return await stream(job, REPORT, "text/csv; charset=utf-8", f"rejected-rows-{job.id[:8]}.csv")

    @router.get(
        "/jobs/{job_id}/file",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/csv": {}, "text/vcard": {}}, "description": "The result"}},
    )
    async def job_file(job_id: JobId, caller: Caller = authenticated) -> StreamingResponse:
        """The file a job made (an export), once it succeeded."""
        job = await visible(job_id, caller)
        if job.file is None:
            raise HttpProblem(404, "Not found", "this job makes no file")
        if job.state != "succeeded":
            raise HttpProblem(409, "Not ready", f"the export is {job.state}", "state")
        return await stream(job, RESULT, result_media(job), job.file)

    @router.post("/jobs/{job_id}/cancel", response_model=JobOut)
    async def cancel_job(job_id: JobId, request: Request, caller: Caller = authenticated) -> JobOut:
        """Stop a queued or running job; rows done until then stay (run it again to finish)."""
        return job_out(await jobs.cancel(job_id, caller), prefix_of(request, router))

    return router
