"""After a contact person's erasure nothing of them is readable anywhere (issue 13, ADR 12 and 15): not
on any topic, not in any store's rows (events, views, state, the bus), not through any read of the API
(person card, search, caller id, the counterparty's persons, interaction card, timeline, summary,
calendar, histories, the personal-data export) and not in an export made afterwards (CSV, vCard)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
from tests.system.conftest import EmbeddedCrm

T = TypeVar("T")
API = "/api/v1/interactions"
FIRST, LAST = "Зорница", "Квакалова"
EMAIL = "zornitsa.kvakalova@example.org"
PHONE = "+359887654321"
POSITION = "Главна счетоводителка на склад Лозен"
NAME = f"{FIRST} {LAST}"
SECRETS = (FIRST, LAST, "Квакалов", "квакалов", "зорница", "zornitsa.kvakalova", PHONE, "887 654 321", "склад Лозен")


async def eventually(check: Callable[[], Awaitable[T | None]], timeout: float = 30.0) -> T:
    async with asyncio.timeout(timeout):
        while True:
            result = await check()
            if result:
                return result
            await asyncio.sleep(0.05)


def readable(value: Any) -> str:
    """A stored value as text a person would read: JSON with its escapes undone."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="ignore")
    if isinstance(value, str):
        try:
            return json.dumps(json.loads(value), ensure_ascii=False)
        except ValueError:
            return value
    return str(value)


def rows_of(database: Path) -> Iterator[tuple[str, str]]:
    """Every row of every table of an SQLite file, as (table, text)."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in connection.execute(f'SELECT * FROM "{table}"'):
                yield table, " ".join(readable(cell) for cell in row)
    finally:
        connection.close()


def leaks_in(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def leaks_in_stores(data_dir: Path) -> list[str]:
    """Where a secret is still readable in any store or file of the data directory."""
    found = []
    for path in sorted(data_dir.rglob("*")):
        if not path.is_file() or path.name.endswith(("-wal", "-shm", "-journal")):
            continue
        if path.suffix == ".db":
            for table, text in rows_of(path):
                if leaks := leaks_in(text):
                    found.append(f"{path.relative_to(data_dir)}:{table}: {leaks}")
        elif path.suffix not in (".key", ".pub") and (leaks := leaks_in(readable(path.read_bytes()))):
            found.append(f"{path.relative_to(data_dir)}: {leaks}")
    return found


async def exported(admin: httpx.AsyncClient, **body: Any) -> str:
    started = await admin.post("/api/v1/exports/counterparties", json=body)
    assert started.status_code == 202, started.text

    async def done() -> dict[str, Any] | None:
        job = (await admin.get(started.headers["Location"])).json()
        return job if job["state"] in ("succeeded", "failed", "cancelled") else None

    job = await eventually(done, timeout=120)
    assert job["state"] == "succeeded", job
    return (await admin.get(job["file"])).text


async def test_after_an_erasure_no_topic_store_read_or_export_yields_the_persons_data(embedded: EmbeddedCrm) -> None:
    admin = await embedded.start()
    for code, kind in (("p-mobile", "phone"), ("p-email", "email")):
        defined = await admin.post(
            "/api/v1/reference/contact-kinds",
            json={"code": code, "name": code, "attributes": {"type": kind, "applies_to": "person"}},
        )
        assert defined.status_code == 201, defined.text
    registered = await admin.post(
        "/api/v1/counterparties", json={"name": "Лозен Логистик ООД", "relations": ["buyer"], "main_manager": "ivan"}
    )
    assert registered.status_code == 201, registered.text
    cid = registered.json()["id"]
    seen = await admin.get(
        registered.headers["Location"], params={"min_position": registered.headers["X-Commit-Position"]}
    )
    assert seen.status_code == 200, seen.text
    person = await admin.post(
        "/api/v1/persons",
        json={
            "first_name": FIRST,
            "last_name": LAST,
            "description": f"{NAME} предпочита обаждания сутрин",
            "contact_info": [{"kind": "p-mobile", "value": "0887 654 321"}, {"kind": "p-email", "value": EMAIL}],
            "links": [{"counterparty_id": cid, "position": POSITION}],
        },
    )
    assert person.status_code == 201, person.text
    pid = person.json()["id"]
    changed = await admin.put(
        f"/api/v1/persons/{pid}/counterparties/{cid}", json={"position": f"{POSITION} (Квакалова)"}
    )
    assert changed.status_code == 200, changed.text

    async def plan(**fields: Any) -> dict[str, Any] | None:
        body = {
            "kind": "meeting",
            "direction": "outgoing",
            "subject": f"Среща с {NAME}",
            "start": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
            "counterparty_id": cid,
            "contact_person_id": pid,
            "description": f"{FIRST} иска оферта",
            "content": f"Уважаема г-жо {LAST}, ...",
            "third_parties": [f"съпругът на {NAME}"],
            "project": f"Проект {LAST}",
            "basis": {"type": "letter", "id": "l-1", "title": f"Писмо от {NAME}"},
            **fields,
        }
        response = await admin.post(API, json=body)
        return response.json() if response.status_code == 201 else None

    meeting = await eventually(plan)  # once the interactions service knows the person
    done = await admin.post(f"{API}/{meeting['id']}/complete", json={"outcome": f"{FIRST} прие", "outcome_code": "won"})
    assert done.status_code == 200, done.text
    follow_up = await admin.post(
        f"{API}/{meeting['id']}/follow-up", json={"start": (datetime.now(UTC) + timedelta(days=2)).isoformat()}
    )
    assert follow_up.status_code == 201, follow_up.text
    dropped = await plan()
    assert dropped is not None
    cancelled = await admin.post(f"{API}/{dropped['id']}/cancel", json={"reason": f"{FIRST} е в отпуск"})
    assert cancelled.status_code == 200, cancelled.text
    recorded = await plan(
        state="completed", start=(datetime.now(UTC) - timedelta(hours=1)).isoformat(), outcome=f"{LAST} доволна"
    )
    assert recorded is not None
    renamed = await admin.patch(f"{API}/{recorded['id']}", json={"subject": f"Обаждане на {NAME}"})
    assert renamed.status_code == 200, renamed.text
    ids = [meeting["id"], follow_up.json()["id"], dropped["id"], recorded["id"]]

    # Before the erasure the API shows the texts: the secrets would be found where they are.
    shown = (await admin.get(f"{API}/{meeting['id']}")).json()
    assert shown["subject"] == f"Среща с {NAME}" and shown["third_parties"] == [f"съпругът на {NAME}"]

    # ... and the store scan finds them where they are plain while the key exists (the name search keys).
    assert any("person_names" in leak for leak in leaks_in_stores(embedded.data_dir))

    erased = await admin.post(f"/api/v1/persons/{pid}/erase", json={"reason": "GDPR request 42"})
    assert erased.status_code == 200, erased.text

    async def texts_gone() -> bool:
        cards = [(await admin.get(f"{API}/{iid}")).json() for iid in ids]
        return all(card["subject"] == "" for card in cards)

    await eventually(texts_gone)  # interactions took contacts' PersonErased and deleted its key

    reads = {
        "person": await admin.get(f"/api/v1/persons/{pid}"),
        "person history": await admin.get(f"/api/v1/persons/{pid}/history"),
        "personal data": await admin.get(f"/api/v1/persons/{pid}/personal-data"),
        "persons by name": await admin.get("/api/v1/persons", params={"q": FIRST}),
        "persons": await admin.get("/api/v1/persons"),
        "persons of the counterparty": await admin.get(f"/api/v1/counterparties/{cid}/persons"),
        "caller id": await admin.get("/api/v1/lookup/phone", params={"number": PHONE}),
        "vcard": await admin.get(f"/api/v1/persons/{pid}/vcard"),
        "timeline": await admin.get(API, params={"counterparty_id": cid}),
        "by person": await admin.get(API, params={"contact_person_id": pid}),
        "summary": await admin.get(f"{API}/summary", params={"counterparty_id": cid}),
        "calendar": await admin.get(
            f"{API}/calendar",
            params={
                "from": datetime.now(UTC).isoformat(),
                "to": (datetime.now(UTC) + timedelta(days=5)).isoformat(),
            },
        ),
        "last contacts": await admin.get(f"{API}/last-contacts", params={"manager": "ivan"}),
        **{f"interaction {i}": await admin.get(f"{API}/{iid}") for i, iid in enumerate(ids)},
        **{f"interaction history {i}": await admin.get(f"{API}/{iid}/history") for i, iid in enumerate(ids)},
    }
    for name, response in reads.items():
        assert response.status_code in (200, 410), (name, response.status_code, response.text)
        text = readable(response.text)
        if name == "caller id":  # it echoes the number asked about; nobody may be found under it
            assert response.json()["persons"] == []
            text = text.replace(PHONE, "")
        assert leaks_in(text) == [], name
    assert reads["personal data"].json()["personal_data_readable"] is False
    assert reads["timeline"].json()["items"] and reads["person"].json()["erased"] is True
    card = reads["interaction 0"].json()
    assert (card["contact_person_id"], card["outcome_code"], card["state"]) == (pid, "won", "completed")

    csv = await exported(admin, format="csv")
    vcard = await exported(admin, format="vcard")
    assert "Лозен Логистик ООД" in csv
    assert leaks_in(csv) == [] and leaks_in(vcard) == []

    # Every row of every store (events, views, keys, jobs, the bus with every topic and dead-letter
    # topic) and every file (exports): nothing.
    assert leaks_in_stores(embedded.data_dir) == []
