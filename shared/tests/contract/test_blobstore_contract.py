"""The blob store contract: every adapter passes these tests (files always, S3 on moto's server)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from crm_shared.blobstore import BlobNotFound, BlobStore
from crm_shared.blobstore.files import FileBlobStore


@pytest.fixture(params=["files", pytest.param("s3", marks=pytest.mark.s3)])
async def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    if request.param == "files":
        opened: BlobStore = FileBlobStore(tmp_path / "blobs")
    else:
        from crm_shared.blobstore.s3 import S3BlobStore

        endpoint, bucket = request.getfixturevalue("s3_endpoint"), request.getfixturevalue("s3_bucket")
        opened = S3BlobStore.connect(
            bucket=bucket,
            endpoint=endpoint,
            access_key_id="test",
            secret_access_key="test",
            prefix=f"contract-{uuid.uuid4().hex[:12]}",
        )
    try:
        yield opened
    finally:
        await opened.close()


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def read(blobs: BlobStore, key: str) -> bytes:
    return b"".join([chunk async for chunk in blobs.open(key)])


async def test_put_bytes_then_get_stat_and_open(blobs: BlobStore) -> None:
    info = await blobs.put("jobs/a1/report.csv", "ред,1\n".encode())
    assert (info.key, info.size) == ("jobs/a1/report.csv", len("ред,1\n".encode()))
    assert await blobs.get("jobs/a1/report.csv") == "ред,1\n".encode()
    assert await read(blobs, "jobs/a1/report.csv") == "ред,1\n".encode()
    stat = await blobs.stat("jobs/a1/report.csv")
    assert stat is not None and stat.size == info.size and stat.modified.tzinfo is not None
    assert await blobs.exists("jobs/a1/report.csv")


async def test_missing_blobs(blobs: BlobStore, tmp_path: Path) -> None:
    assert await blobs.stat("nothing/here") is None
    assert not await blobs.exists("nothing/here")
    with pytest.raises(BlobNotFound):
        await blobs.get("nothing/here")
    with pytest.raises(BlobNotFound):
        await read(blobs, "nothing/here")
    with pytest.raises(BlobNotFound):
        await blobs.get_file("nothing/here", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    await blobs.delete("nothing/here")  # no error


async def test_chunks_stream_in_and_out_larger_than_one_part(blobs: BlobStore) -> None:
    part = bytes(range(256)) * 4096  # 1 MiB
    info = await blobs.put("big/upload.bin", chunks(*[part] * 7, b"tail"))  # past one 5 MiB S3 part
    assert info.size == 7 * len(part) + 4
    size, first = 0, b""
    async for chunk in blobs.open("big/upload.bin"):
        first = first or chunk
        size += len(chunk)
    assert size == info.size and first.startswith(part[:1024])


async def test_files_in_and_out(blobs: BlobStore, tmp_path: Path) -> None:
    source = tmp_path / "export.csv"
    source.write_bytes(b"id,name\n" + b"x,y\n" * 10_000)
    info = await blobs.put_file("jobs/b2/result", source)
    assert info.size == source.stat().st_size
    target = tmp_path / "copy.csv"
    await blobs.get_file("jobs/b2/result", target)
    assert target.read_bytes() == source.read_bytes()


async def test_put_replaces_and_delete_removes(blobs: BlobStore) -> None:
    await blobs.put("k/v", b"one")
    await blobs.put("k/v", chunks(b"t", b"wo"))
    assert await blobs.get("k/v") == b"two"
    await blobs.delete("k/v")
    assert not await blobs.exists("k/v")
    assert await blobs.list("k") == []


async def test_a_failed_upload_leaves_no_blob_and_keeps_the_old_one(blobs: BlobStore) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"x" * (6 * 1024 * 1024)
        raise RuntimeError("the client went away")

    with pytest.raises(RuntimeError):
        await blobs.put("up/new.csv", broken())
    assert not await blobs.exists("up/new.csv")
    await blobs.put("up/old.csv", b"kept")
    with pytest.raises(RuntimeError):
        await blobs.put("up/old.csv", broken())
    assert await blobs.get("up/old.csv") == b"kept"
    assert [b.key for b in await blobs.list("up")] == ["up/old.csv"]


async def test_list_a_folder_in_key_order_with_pages(blobs: BlobStore) -> None:
    for key in ("jobs/b/2", "jobs/a/1", "jobs/b/1", "jobsx/1", "other/1", "jobs/c"):
        await blobs.put(key, key.encode())
    everything = [b.key for b in await blobs.list("jobs")]
    assert everything == ["jobs/a/1", "jobs/b/1", "jobs/b/2", "jobs/c"]
    assert [b.key for b in await blobs.list("jobs/")] == everything
    assert [b.key for b in await blobs.list("jobs/b")] == ["jobs/b/1", "jobs/b/2"]
    first = await blobs.list("jobs", limit=2)
    assert [b.key for b in first] == ["jobs/a/1", "jobs/b/1"]
    rest = await blobs.list("jobs", after=first[-1].key, limit=10)
    assert [b.key for b in rest] == ["jobs/b/2", "jobs/c"]
    assert [b.size for b in rest] == [len(b"jobs/b/2"), len(b"jobs/c")]
    assert len(await blobs.list()) == 6


@pytest.mark.parametrize("key", ["", "/abs", "a/../b", "../x", "a//b", ".hidden", "a/.tmp-1", "a\\b", "a b", "a/"])
async def test_keys_are_checked_relative_names(blobs: BlobStore, key: str) -> None:
    with pytest.raises(ValueError, match="invalid blob key"):
        await blobs.put(key, b"x")
    with pytest.raises(ValueError, match="invalid blob key"):
        await blobs.stat(key)
