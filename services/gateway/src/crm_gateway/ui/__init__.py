"""The web UI: static HTML, CSS and native ES modules served by the gateway (no build step).

``GET /`` answers the single page (``index.html``) and ``GET /ui/{path}`` the files under
``static/``. The files are read once, when the router is made, into an in-memory table keyed by
their relative path, so a request can only ever name a file that is in the table: ``..``, absolute
paths, symlinks out of the folder and hidden files cannot be reached. Responses carry a strong
``ETag`` and ``Cache-Control: no-cache``: without a build step file names carry no content hash,
so the browser revalidates each file and gets a cheap ``304`` while it is unchanged. Text files
are also kept gzip-compressed and sent so to browsers that accept it (a slow VPN is common).
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request, Response

STATIC_DIR = Path(__file__).parent / "static"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
}
"""Only these kinds are served; explicit, because ``mimetypes`` differs between machines (``.js``)."""

SECURITY_HEADERS = {
    # Everything comes from this origin: no inline scripts, no external hosts, no framing.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


COMPRESSIBLE = (".html", ".js", ".css", ".json", ".svg", ".txt")


@dataclass(frozen=True, slots=True)
class StaticFile:
    """One file of the UI, ready to send; ``gzipped`` when compressing it pays."""

    body: bytes
    content_type: str
    etag: str
    gzipped: bytes | None = None


def load_static(root: Path = STATIC_DIR) -> dict[str, StaticFile]:
    """Every servable file under ``root``, keyed by its POSIX path relative to ``root``."""
    root = root.resolve()
    files: dict[str, StaticFile] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        content_type = CONTENT_TYPES.get(path.suffix.lower())
        if content_type is None or not path.is_file() or not path.resolve().is_relative_to(root):
            continue
        body = path.read_bytes()
        digest = hashlib.sha256(body).hexdigest()[:32]
        # mtime=0: the same file always compresses to the same bytes.
        packed = gzip.compress(body, compresslevel=9, mtime=0) if path.suffix.lower() in COMPRESSIBLE else None
        files[relative.as_posix()] = StaticFile(
            body, content_type, f'"{digest}"', packed if packed and len(packed) < len(body) else None
        )
    return files


def _send(request: Request, file: StaticFile) -> Response:
    compressed = file.gzipped is not None and "gzip" in request.headers.get("accept-encoding", "").lower()
    # Each encoding is its own representation, so it has its own strong ETag.
    tag = f'{file.etag[:-1]}-gz"' if compressed else file.etag
    headers = {"ETag": tag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding", **SECURITY_HEADERS}
    if tag in (t.strip() for t in request.headers.get("if-none-match", "").split(",")):
        return Response(status_code=304, headers=headers)
    body = file.gzipped if compressed and file.gzipped is not None else file.body
    if compressed:
        headers["Content-Encoding"] = "gzip"
    response = Response(b"" if request.method == "HEAD" else body, media_type=file.content_type, headers=headers)
    if request.method == "HEAD":
        response.headers["Content-Length"] = str(len(body))
    return response


def _not_found() -> Response:
    return Response(
        b'{"type":"about:blank","title":"Not found","status":404}',
        status_code=404,
        media_type="application/problem+json",
    )


def ui_router(static_dir: Path = STATIC_DIR) -> APIRouter:
    """Routes serving the web UI: ``GET /`` and ``GET /ui/{path}``."""
    files = load_static(static_dir)
    router = APIRouter(tags=["web UI"])

    @router.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    async def index(request: Request) -> Response:
        return _send(request, files["index.html"])

    @router.api_route("/ui/{path:path}", methods=["GET", "HEAD"], include_in_schema=False)
    async def static(path: str, request: Request) -> Response:
        file = files.get(path)
        return _not_found() if file is None else _send(request, file)

    return router
