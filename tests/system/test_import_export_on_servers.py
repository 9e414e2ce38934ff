"""Import and export jobs on the distributed adapters: job records in the MongoDB-protocol state store,
uploads, reports and exports in S3-compatible object storage (moto), through the same HTTP API."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.system.conftest import EmbeddedCrm
from tests.system.test_import_export_http import CSV, IMPORT, exported, finished, read_csv, visible_count

pytestmark = [pytest.mark.mongo, pytest.mark.s3]


@pytest.fixture
async def on_servers(tmp_path: Path, mongo_uri: str, s3_endpoint: str, s3_bucket: str) -> AsyncIterator[EmbeddedCrm]:
    run = uuid.uuid4().hex[:8]
    crm = EmbeddedCrm(
        tmp_path / "var",
        state_store="mongo",
        mongo_uri=mongo_uri,
        mongo_database_prefix=f"crm{run}",
        blob_store="s3",
        s3_endpoint=s3_endpoint,
        s3_bucket=s3_bucket,
        s3_access_key_id="test",
        s3_secret_access_key="test",
        s3_prefix=f"t{run}",
    )
    yield crm
    while crm.running:
        await crm.stop()


async def test_an_import_and_an_export_keep_their_records_and_files_on_the_servers(on_servers: EmbeddedCrm) -> None:
    admin = await on_servers.start()
    text = "name;tax_id\nАлфа;BG1\nБета;BG1\nГама;BG3\n"
    started = await admin.post(IMPORT, content=text.encode(), headers=CSV, params={"filename": "c.csv"})
    assert started.status_code == 202, started.text
    job = await finished(admin, started.headers["Location"])
    assert job["state"] == "succeeded" and job["progress"]["rejected"] == 1, job
    report = await admin.get(job["report"])
    assert report.status_code == 200 and read_csv(report.text)[0]["line"] == "3"
    service = on_servers.app.state.contacts
    assert await service.blobs.list(f"jobs/{job['id']}") != []  # the report, in the bucket
    assert not (on_servers.data_dir / "contacts" / "blobs").exists()

    await visible_count(admin, 2)
    done, file = await exported(admin)
    assert sorted(row["name"] for row in read_csv(file.text)) == ["Алфа", "Гама"]
    mine = (await admin.get("/api/v1/jobs")).json()["items"]
    assert [j["id"] for j in mine] == [done["id"], job["id"]]

    await on_servers.stop()  # the records outlive the process: they are on the servers
    admin = await on_servers.start()
    again = (await admin.get(f"/api/v1/jobs/{job['id']}")).json()
    assert again["state"] == "succeeded" and (await admin.get(again["report"])).status_code == 200
