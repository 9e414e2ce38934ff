"""A client reads the ``Location`` a 201 just returned at once: while the views have not caught up,
a read by id answers from the record's own stream, under the same access rules (issue 12)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tests.system.conftest import EmbeddedCrm


async def _views_stopped(crm: EmbeddedCrm) -> None:
    """Stop every live view feed, so the views lag behind the event log for the rest of the test."""
    for name in ("contacts", "interactions"):
        for runner in getattr(crm.app.state, name).runners:
            await runner.stop()


async def test_a_new_record_is_read_at_its_location_before_its_view_has_it(embedded: EmbeddedCrm) -> None:
    admin = await embedded.start()
    start = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    call = {"kind": "call", "direction": "outgoing", "subject": "Hello", "start": start}
    base = await admin.post(
        "/api/v1/counterparties", json={"name": "Base Ltd", "relations": ["buyer"], "main_manager": "ivan"}
    )
    for _ in range(200):  # until the interactions service's copy of contacts has it
        known = await admin.post("/api/v1/interactions", json={**call, "counterparty_id": base.json()["id"]})
        if known.status_code == 201:
            break
        await asyncio.sleep(0.05)
    assert known.status_code == 201, known.text
    await _views_stopped(embedded)

    registered = await admin.post(
        "/api/v1/counterparties", json={"name": "Fresh Ltd", "relations": ["buyer"], "main_manager": "ivan"}
    )
    assert registered.status_code == 201, registered.text
    listed = await admin.get("/api/v1/counterparties", params={"q": "Fresh"})
    assert listed.json()["items"] == []  # the view really lags
    card = await admin.get(registered.headers["Location"])
    assert card.status_code == 200 and card.json()["name"] == "Fresh Ltd"
    assert card.headers["ETag"] == registered.headers["ETag"]

    person = await admin.post("/api/v1/persons", json={"first_name": "Мария", "last_name": "Петрова"})
    assert person.status_code == 201, person.text
    shown = await admin.get(person.headers["Location"])
    assert shown.status_code == 200 and shown.json()["last_name"] == "Петрова"

    planned = await admin.post("/api/v1/interactions", json={**call, "counterparty_id": base.json()["id"]})
    assert planned.status_code == 201, planned.text
    interaction = await admin.get(planned.headers["Location"])
    assert interaction.status_code == 200 and interaction.json()["subject"] == "Hello"


async def test_the_stream_fallback_keeps_the_access_rules(embedded: EmbeddedCrm) -> None:
    admin = await embedded.start()
    await _views_stopped(embedded)
    north = await embedded.client_for(["sales_manager"], ["north"])

    hidden = await admin.post(
        "/api/v1/counterparties",
        json={"name": "South Only", "relations": ["buyer"], "main_manager": "ivan", "access_group": "south"},
    )
    assert hidden.status_code == 201, hidden.text
    seen = await north.get(hidden.headers["Location"])
    missing = await north.get("/api/v1/counterparties/no-such-id")
    assert seen.status_code == missing.status_code == 404
    assert seen.json()["detail"].replace(hidden.json()["id"], "X") == missing.json()["detail"].replace(
        "no-such-id", "X"
    )

    private = await admin.post("/api/v1/persons", json={"first_name": "Private", "private": True})
    assert private.status_code == 201, private.text
    assert (await north.get(private.headers["Location"])).status_code == 404
