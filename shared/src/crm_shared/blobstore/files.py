"""Blob store on the local file system: the embedded default, one file per blob under a root folder.

A put writes a temporary file (``.tmp-…``, a name no key can have) in the blob's folder, fsyncs it,
renames it over the key's file and fsyncs the folder, so a crash leaves the old blob or the new one,
never a torn file, and an acknowledged put survives a power cut. File work runs in worker threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TypeVar

from crm_shared.blobstore.port import BlobInfo, BlobNotFound, Chunks, check_key, check_prefix

CHUNK = 1024 * 1024
_TEMP = ".tmp-"
T = TypeVar("T")


async def _io(work: Callable[[], T]) -> T:
    return await asyncio.to_thread(work)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileBlobStore:
    """Blobs as files under ``root`` (created when missing)."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def _path(self, key: str) -> Path:
        return self._root / check_key(key)

    def _info(self, key: str, path: Path) -> BlobInfo:
        st = path.stat()
        return BlobInfo(key, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC))

    def _temp(self, key: str) -> tuple[Path, Path]:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path, path.parent / f"{_TEMP}{uuid.uuid4().hex}"

    def _commit(self, key: str, temp: Path, out: IO[bytes], path: Path) -> BlobInfo:
        out.flush()
        os.fsync(out.fileno())
        out.close()
        os.replace(temp, path)
        _fsync_dir(path.parent)
        return self._info(key, path)

    async def put(self, key: str, data: bytes | Chunks) -> BlobInfo:
        """Store ``data`` under ``key`` through a temporary file renamed into place."""
        path, temp = await _io(lambda: self._temp(key))
        out = await _io(lambda: temp.open("wb"))
        try:
            if isinstance(data, (bytes, bytearray, memoryview)):
                await _io(lambda: out.write(data))
            else:
                async for chunk in data:
                    await asyncio.to_thread(out.write, chunk)
            return await _io(lambda: self._commit(key, temp, out, path))
        except BaseException:
            out.close()
            temp.unlink(missing_ok=True)
            raise

    async def put_file(self, key: str, path: Path) -> BlobInfo:
        """Copy a local file in through a temporary file renamed into place."""

        def work() -> BlobInfo:
            target, temp = self._temp(key)
            try:
                with path.open("rb") as source:
                    out = temp.open("wb")
                    try:
                        shutil.copyfileobj(source, out, CHUNK)
                    except BaseException:
                        out.close()
                        raise
                return self._commit(key, temp, out, target)
            except BaseException:
                temp.unlink(missing_ok=True)
                raise

        return await _io(work)

    async def open(self, key: str) -> AsyncIterator[bytes]:
        """The blob in chunks of up to 1 MiB."""
        path = self._path(key)
        try:
            source = await _io(lambda: path.open("rb"))
        except FileNotFoundError:
            raise BlobNotFound(key) from None
        try:
            while chunk := await asyncio.to_thread(source.read, CHUNK):
                yield chunk
        finally:
            source.close()

    async def get(self, key: str) -> bytes:
        """The whole blob."""
        path = self._path(key)
        try:
            return await _io(path.read_bytes)
        except FileNotFoundError:
            raise BlobNotFound(key) from None

    async def get_file(self, key: str, path: Path) -> BlobInfo:
        """Copy the blob to ``path``."""
        source = self._path(key)

        def work() -> BlobInfo:
            try:
                shutil.copyfile(source, path)
            except FileNotFoundError:
                if not source.exists():
                    raise BlobNotFound(key) from None
                raise
            return self._info(key, source)

        return await _io(work)

    async def stat(self, key: str) -> BlobInfo | None:
        """Size and time of the blob's file."""
        path = self._path(key)

        def work() -> BlobInfo | None:
            try:
                return self._info(key, path) if path.is_file() else None
            except FileNotFoundError:
                return None

        return await _io(work)

    async def exists(self, key: str) -> bool:
        """Whether the blob's file exists."""
        return await self.stat(key) is not None

    async def delete(self, key: str) -> None:
        """Delete the blob's file and the folders it leaves empty."""
        path = self._path(key)

        def work() -> None:
            path.unlink(missing_ok=True)
            folder = path.parent
            while folder != self._root and folder.is_relative_to(self._root):
                with contextlib.suppress(OSError):
                    folder.rmdir()  # only succeeds when empty
                    folder = folder.parent
                    continue
                break

        await _io(work)

    async def list(self, prefix: str = "", *, after: str | None = None, limit: int = 1000) -> list[BlobInfo]:
        """Blobs in the folder ``prefix`` by key (the folder is walked and sorted on each call)."""
        folder = check_prefix(prefix)
        start = self._root / folder if folder else self._root

        def work() -> list[BlobInfo]:
            keys: list[str] = []
            for dirpath, dirnames, filenames in os.walk(start):
                dirnames[:] = [d for d in dirnames if not d.startswith(".")]
                base = Path(dirpath).relative_to(self._root).as_posix()
                keys += [name if base == "." else f"{base}/{name}" for name in filenames if not name.startswith(".")]
            keys.sort()
            found: list[BlobInfo] = []
            for key in keys:
                if after is not None and key <= after:
                    continue
                with contextlib.suppress(FileNotFoundError):  # deleted meanwhile
                    found.append(self._info(key, self._root / key))
                if len(found) >= limit:
                    break
            return found

        return await _io(work)

    async def close(self) -> None:
        """Nothing to release."""
