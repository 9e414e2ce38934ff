"""Import and export of counterparties over HTTP: permissions, access groups, job visibility, limits,
the report of rejected rows, and an export that imports back unchanged (into the same CRM and a new one)."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path
from typing import Any

import httpx
import pytest

IMPORT = "/api/v1/imports/counterparties"
EXPORT = "/api/v1/exports/counterparties"
CSV = {"Content-Type": "text/csv"}


async def finished(client: httpx.AsyncClient, location: str, timeout: float = 120.0) -> dict[str, Any]:
    """Poll a job until it ends."""
    async with asyncio.timeout(timeout):
        while True:
            job = (await client.get(location)).json()
            if job["state"] in ("succeeded", "failed", "cancelled"):
                return job
            await asyncio.sleep(0.05)


async def imported(client: httpx.AsyncClient, text: str) -> dict[str, Any]:
    started = await client.post(IMPORT, content=text.encode(), headers=CSV, params={"filename": "c.csv"})
    assert started.status_code == 202, started.text
    assert started.json()["state"] in ("queued", "running")
    return await finished(client, started.headers["Location"])


async def exported(client: httpx.AsyncClient, **body: Any) -> tuple[dict[str, Any], httpx.Response]:
    started = await client.post(EXPORT, json=body)
    assert started.status_code == 202, started.text
    job = await finished(client, started.headers["Location"])
    assert job["state"] == "succeeded", job
    return job, await client.get(job["file"])


async def visible_count(client: httpx.AsyncClient, expected: int, timeout: float = 30.0) -> None:
    """Wait until the list shows ``expected`` counterparties (the view follows the event log)."""
    async with asyncio.timeout(timeout):
        while True:
            page = (await client.get("/api/v1/counterparties", params={"limit": 500})).json()
            if len(page["items"]) >= expected:
                return
            await asyncio.sleep(0.1)


def read_csv(text: str, delimiter: str = ",") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter))


REGISTER = (
    "name;tax_id;relations;access_group;contact:phone;contact:email;comment\n"
    "Север ООД;BG201;buyer;north;0888 111 222;sever@example.bg;„първи“, с кавички\n"
    "Юг АД;BG202;supplier;south;;yug@example.bg;\n"
    'Общ ЕООД;;buyer|supplier;general;02 987 6543;;"ред\nслед ред"\n'
    "Лош;BG204;клиент;north;;;\n"
)


async def test_anonymous_callers_get_401(embedded: Any) -> None:
    await embedded.start()
    async with embedded.anonymous() as anonymous:
        assert (await anonymous.post(IMPORT, content=b"name\nA\n", headers=CSV)).status_code == 401
        assert (await anonymous.post(EXPORT, json={})).status_code == 401
        assert (await anonymous.get("/api/v1/jobs")).status_code == 401


async def test_who_may_import_and_export(embedded: Any) -> None:
    await embedded.start()
    manager = await embedded.client_for(["sales_manager"], ["general"])
    refused = await manager.post(IMPORT, content=b"name\nA\n", headers=CSV)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert (await manager.post(EXPORT, json={})).status_code == 403
    marketer = await embedded.client_for(["marketer"], ["general"])
    assert (await marketer.post(IMPORT, content=b"name\nA\n", headers=CSV)).status_code == 403
    reader = await embedded.client_for(["read_only"], ["general"])
    assert (await reader.post(EXPORT, json={})).status_code == 403


async def test_import_reports_rejected_rows_with_lines_and_marketers_export_only_their_groups(
    embedded: Any,
) -> None:
    admin = await embedded.start()
    job = await imported(admin, REGISTER)
    assert job["state"] == "succeeded", job
    assert {k: job["progress"][k] for k in ("total", "accepted", "rejected")} == {
        "total": 4,
        "accepted": 3,
        "rejected": 1,
    }
    assert job["rejected"] == [
        {"line": 6, "column": "relations", "reason": "'клиент' is not buyer, supplier or other", "name": "Лош"}
    ]
    report = await admin.get(job["report"])
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/csv")
    assert read_csv(report.text) == [
        {"line": "6", "column": "relations", "reason": "'клиент' is not buyer, supplier or other", "name": "Лош"}
    ]
    await visible_count(admin, 3)

    marketer = await embedded.client_for(["marketer"], ["north", "general"])
    job, file = await exported(marketer)
    assert file.headers["content-type"].startswith("text/csv")
    assert 'filename="counterparties-' in file.headers["content-disposition"]
    names = sorted(row["name"] for row in read_csv(file.text))
    assert names == ["Общ ЕООД", "Север ООД"]
    assert job["progress"]["done"] == 2
    _, filtered = await exported(marketer, relation="supplier")
    assert [row["name"] for row in read_csv(filtered.text)] == ["Общ ЕООД"]


async def test_a_job_is_seen_by_its_owner_and_administrators_only(embedded: Any) -> None:
    admin = await embedded.start()
    await imported(admin, "name\nA\n")
    marketer = await embedded.client_for(["marketer"], ["general"])
    other = await embedded.client_for(["marketer"], ["general"])
    started = await marketer.post(EXPORT, json={"format": "csv"})
    location = started.headers["Location"]
    job = await finished(marketer, location)
    assert (await other.get(location)).status_code == 404
    assert (await other.get(job["file"])).status_code == 404
    assert (await other.post(f"{location}/cancel")).status_code == 404
    assert (await admin.get(location)).status_code == 200
    mine = (await marketer.get("/api/v1/jobs")).json()["items"]
    assert [j["id"] for j in mine] == [job["id"]]
    assert (await other.get("/api/v1/jobs")).json()["items"] == []
    assert (await marketer.post(f"{location}/cancel")).status_code == 409  # it has finished


async def test_an_export_imports_back_unchanged_here_and_the_same_into_a_new_crm(embedded: Any, tmp_path: Path) -> None:
    admin = await embedded.start()
    await imported(admin, REGISTER)
    await visible_count(admin, 3)
    _, file = await exported(admin, delimiter=";")
    again = await imported(admin, file.text)
    assert {k: again["progress"][k] for k in ("accepted", "unchanged", "rejected")} == {
        "accepted": 0,
        "unchanged": 3,
        "rejected": 0,
    }
    original = {row["id"]: row for row in read_csv(file.text, ";")}

    # People are not carried from one CRM to another: without the managers' columns, the rows are the
    # importer's in the new CRM (whose directory knows nobody of the first one).
    people = ("main_manager", "main_manager_name", "managers", "managers_names")
    rows = read_csv(file.text, ";")
    kept = [c for c in rows[0] if c not in people]
    moved = io.StringIO()
    writer = csv.DictWriter(moved, kept, delimiter=";", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)

    elsewhere = type(embedded)(tmp_path / "elsewhere")  # a second, empty CRM
    try:
        other = await elsewhere.start()
        job = await imported(other, moved.getvalue())
        assert job["progress"]["accepted"] == 3, job
        await visible_count(other, 3)
        for cid, row in original.items():
            card = (await other.get(f"/api/v1/counterparties/{cid}")).json()
            assert card["name"] == row["name"] and (card["tax_id"] or "") == row["tax_id"]
            assert card["comment"] == row["comment"] and card["access_group"] == row["access_group"]
            phones = [c["value"] for c in card["contact_info"] if c["kind"] == "phone"]
            assert "|".join(phones) == row["contact:phone"]
    finally:
        while elsewhere.running:
            await elsewhere.stop()


async def test_multipart_uploads_and_the_size_limit(embedded: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_CONTACTS_IMPORT_MAX_BYTES", "2000")
    admin = await embedded.start()
    files = {"file": ("clients.csv", b"name,tax_id\nMultipart Ltd,BG301\n", "text/csv")}
    started = await admin.post(IMPORT, files=files)
    assert started.status_code == 202, started.text
    job = await finished(admin, started.headers["Location"])
    assert job["params"]["filename"] == "clients.csv" and job["progress"]["accepted"] == 1
    big = b"name\n" + b"Company with a long name\n" * 200
    too_large = await admin.post(IMPORT, content=big, headers=CSV)
    assert too_large.status_code == 413
    assert too_large.json()["errors"][0]["field"] == "file"
    assert (await admin.post(IMPORT, files={"file": ("big.csv", big, "text/csv")})).status_code == 413
    assert (await admin.post(IMPORT, content=b"", headers=CSV)).status_code == 422
    assert (await admin.post(IMPORT, json={"name": "A"})).status_code == 415


async def test_a_file_that_cannot_be_read_fails_its_job_with_the_reason(embedded: Any) -> None:
    admin = await embedded.start()
    job = await imported(admin, "name,colour\nA,red\n")
    assert job["state"] == "failed"
    assert "unknown column(s): 'colour'" in job["error"]


async def test_contact_persons_export_as_vcard(embedded: Any) -> None:
    admin = await embedded.start()
    await imported(admin, "id,name\nfirm-1,Фирма Едно\n")
    await visible_count(admin, 1)
    person = await admin.post(
        "/api/v1/persons",
        json={"first_name": "Йорданка", "last_name": "Петрова", "links": [{"counterparty_id": "firm-1"}]},
    )
    assert person.status_code == 201, person.text
    async with asyncio.timeout(10):
        while True:
            if (await admin.get("/api/v1/counterparties/firm-1/persons")).json().get("items"):
                break
            await asyncio.sleep(0.1)
    job, file = await exported(admin, format="vcard")
    assert file.headers["content-type"].startswith("text/vcard")
    assert file.text.startswith("BEGIN:VCARD\r\nVERSION:4.0\r\n")
    assert "FN:Йорданка Петрова" in file.text
    assert job["progress"]["done"] == 1


async def test_an_import_cut_off_by_a_restart_is_failed_and_a_rerun_completes_it(embedded: Any) -> None:
    admin = await embedded.start()
    # Enough rows that the import is still running when the restart comes (6,000 were at times all
    # written before it once the import got faster).
    rows = 15_000
    text = "name;tax_id;contact:email\n" + "".join(f"Фирма {i};BG{5000 + i};f{i}@firma.bg\n" for i in range(rows))
    started = await admin.post(IMPORT, content=text.encode(), headers=CSV)
    location = started.headers["Location"]
    async with asyncio.timeout(30):
        while True:
            job = (await admin.get(location)).json()
            if job["progress"]["accepted"] > 0:
                break
            await asyncio.sleep(0.02)
    await embedded.stop()
    admin = await embedded.start()
    job = (await admin.get(location)).json()
    assert job["state"] == "failed" and "interrupted" in job["error"], job
    again = await imported(admin, text)
    progress = again["progress"]
    assert progress["rejected"] == 0 and progress["accepted"] > 0
    assert progress["accepted"] + progress["unchanged"] == rows
    assert (await imported(admin, text))["progress"]["unchanged"] == rows


async def test_a_running_import_can_be_stopped_and_run_again(embedded: Any) -> None:
    admin = await embedded.start()
    text = "name;tax_id\n" + "".join(f"Фирма {i};BG{7000 + i}\n" for i in range(6000))
    started = await admin.post(IMPORT, content=text.encode(), headers=CSV)
    location = started.headers["Location"]
    async with asyncio.timeout(30):
        while True:
            if (await admin.get(location)).json()["progress"]["done"] > 0:
                break
            await asyncio.sleep(0.02)
    stopped = await admin.post(f"{location}/cancel")
    assert stopped.status_code == 200, stopped.text
    job = await finished(admin, location)
    assert job["state"] == "cancelled" and job["progress"]["done"] < 6000
    rerun = (await imported(admin, text))["progress"]
    assert rerun["accepted"] + rerun["unchanged"] == 6000 and rerun["rejected"] == 0


async def test_files_larger_than_the_api_body_limit_are_accepted_for_import(embedded: Any) -> None:
    admin = await embedded.start()
    big = ("name\n" + "".join(f"Фирма с дълго име номер {i}\n" for i in range(30_000))).encode()
    assert len(big) > 1_000_000  # the limit of every other request body
    started = await admin.post(IMPORT, content=big, headers=CSV)
    assert started.status_code == 202, started.text
    await admin.post(f"{started.headers['Location']}/cancel")
    assert (await finished(admin, started.headers["Location"]))["state"] in ("cancelled", "succeeded")
