"""Blob store on S3-compatible object storage (AWS S3, MinIO, Ceph, R2…), through ``obstore``.

obstore is the Python binding of the Rust ``object_store`` crate (used by crates.io and Apache
Arrow): async, typed, no Python dependencies. Uploads from chunks or files go as multipart uploads
once larger than one part (5 MiB), at most a few parts in flight, so memory stays bounded; an object
appears only when its upload completes, which gives the port's all-or-nothing puts. Downloads stream.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import obstore
from obstore.store import S3Store

from crm_shared.blobstore.port import BlobInfo, BlobNotFound, Chunks, check_key, check_prefix

if TYPE_CHECKING:
    from obstore import ObjectMeta

PART = 5 * 1024 * 1024
IN_FLIGHT = 4
CHUNK = 256 * 1024
"""Smallest chunk a download yields (the last one may be smaller)."""
"""Parts uploaded at once: bounds an upload's memory to about ``PART * IN_FLIGHT``."""


class S3BlobStore:
    """Blobs as objects of one bucket, under an optional key prefix (e.g. the service's name)."""

    def __init__(self, store: S3Store) -> None:
        self._store = store

    @classmethod
    def connect(
        cls,
        *,
        bucket: str,
        endpoint: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        prefix: str = "",
    ) -> S3BlobStore:
        """A store on ``bucket`` (which must exist) at ``endpoint`` (None: AWS itself), keys under ``prefix``.

        Without keys, obstore takes credentials from the usual ``AWS_*`` variables or the instance role.
        """
        store = S3Store(
            bucket,
            prefix=check_prefix(prefix) or None,
            endpoint=endpoint,
            region=region,
            access_key_id=access_key_id,
            secret_access_key=secret_access_key,
            virtual_hosted_style_request=False,
            client_options={"allow_http": bool(endpoint and endpoint.startswith("http://"))},
        )
        return cls(store)

    @staticmethod
    def _info(meta: ObjectMeta) -> BlobInfo:
        modified = meta["last_modified"]
        return BlobInfo(meta["path"], int(meta["size"]), modified if modified.tzinfo else modified.replace(tzinfo=UTC))

    async def _put(self, key: str, data: bytes | Chunks | Path) -> BlobInfo:
        await obstore.put_async(self._store, check_key(key), data, chunk_size=PART, max_concurrency=IN_FLIGHT)
        info = await self.stat(key)
        return info if info is not None else BlobInfo(key, 0, datetime.now(UTC))

    async def put(self, key: str, data: bytes | Chunks) -> BlobInfo:
        """Upload ``data`` (multipart once past one part)."""
        return await self._put(key, data)

    async def put_file(self, key: str, path: Path) -> BlobInfo:
        """Upload a local file, read part by part."""
        return await self._put(key, path)

    async def open(self, key: str) -> AsyncIterator[bytes]:
        """The object in chunks as they arrive."""
        try:
            result = await obstore.get_async(self._store, check_key(key))
        except FileNotFoundError:
            raise BlobNotFound(key) from None
        async for chunk in result.stream(min_chunk_size=CHUNK):
            yield bytes(chunk)

    async def get(self, key: str) -> bytes:
        """The whole object."""
        try:
            result = await obstore.get_async(self._store, check_key(key))
        except FileNotFoundError:
            raise BlobNotFound(key) from None
        return bytes(await result.bytes_async())

    async def get_file(self, key: str, path: Path) -> BlobInfo:
        """Download the object into ``path`` (created only once the object is found)."""
        try:
            result = await obstore.get_async(self._store, check_key(key))
        except FileNotFoundError:
            raise BlobNotFound(key) from None
        size = 0
        with path.open("wb") as out:
            async for chunk in result.stream(min_chunk_size=CHUNK):
                out.write(chunk)
                size += len(chunk)
        return BlobInfo(key, size, result.meta["last_modified"])

    async def stat(self, key: str) -> BlobInfo | None:
        """The object's size and time (a HEAD request)."""
        try:
            return self._info(await obstore.head_async(self._store, check_key(key)))
        except FileNotFoundError:
            return None

    async def exists(self, key: str) -> bool:
        """Whether the object exists."""
        return await self.stat(key) is not None

    async def delete(self, key: str) -> None:
        """Delete the object (deleting a missing one is no error in S3)."""
        with contextlib.suppress(FileNotFoundError):
            await obstore.delete_async(self._store, check_key(key))

    async def list(self, prefix: str = "", *, after: str | None = None, limit: int = 1000) -> list[BlobInfo]:
        """Objects under the folder ``prefix``, by key (S3 lists in key order)."""
        folder = check_prefix(prefix)
        stream = obstore.list(self._store, folder or None, offset=after, chunk_size=min(limit, 1000))
        found: list[BlobInfo] = []
        async for batch in stream:
            found += (self._info(meta) for meta in batch)
            if len(found) >= limit:
                break
        return found[:limit]

    async def close(self) -> None:
        """Nothing to release (obstore pools its connections per store)."""
