"""Forged events change nothing (issue 13): a well-formed event that an outsider produces onto a
service's public topic never reaches that service's own views, which follow its event store, nor
another service's local copy, which takes only what the topic's owner signed; the forgery is
dead-lettered with the reason."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import replace

from tests.system.conftest import EmbeddedCrm

from crm_shared.bus import HEADER_DLT_GROUP, HEADER_DLT_REASON, Message, dead_letter_topic
from crm_shared.bus.embedded import EmbeddedBus
from crm_shared.contracts.contacts.counterparty import TOPIC

API = "/api/v1/counterparties"


async def published(bus: EmbeddedBus, topic: str) -> list[Message]:
    seen: list[Message] = []

    async def collect(message: Message) -> None:
        seen.append(message)

    subscription = await bus.subscribe([topic], f"outsider-{uuid.uuid4().hex[:8]}", collect)
    await asyncio.sleep(0.5)
    await subscription.stop()
    return seen


async def test_a_forged_registration_on_the_public_topic_never_reaches_the_register(embedded: EmbeddedCrm) -> None:
    admin = await embedded.start()
    genuine = await admin.post(API, json={"name": "Истинска ООД", "relations": ["buyer"], "main_manager": "ivan"})
    assert genuine.status_code == 201, genuine.text
    outsider = EmbeddedBus(embedded.data_dir / "bus.db")  # another process on the same log: anyone on the network
    await outsider.start()
    try:
        for _ in range(100):
            copies = [m for m in await published(outsider, TOPIC) if m.key == genuine.json()["id"]]
            if copies:
                break
        original = copies[0]
        forged_id = str(uuid.uuid4())
        data = json.loads(original.value)
        data.update(counterparty_id=forged_id, name="Подправена ООД")
        headers = {
            **original.headers,
            "ce_id": str(uuid.uuid4()),
            "ce_subject": forged_id,
            "crm_stream": f"counterparty-{forged_id}",
        }
        await outsider.publish([replace(original, key=forged_id, value=json.dumps(data).encode(), headers=headers)])
    finally:
        await outsider.stop()

    # A genuine write after the forgery: once it shows, the forgery had every chance to show too.
    later = await admin.post(API, json={"name": "Следваща ООД", "relations": ["buyer"], "main_manager": "ivan"})
    position = later.headers["X-Commit-Position"]
    listed = await admin.get(API, params={"q": "ООД", "min_position": position, "limit": 100})
    names = {c["name"] for c in listed.json()["items"]}
    assert {"Истинска ООД", "Следваща ООД"} <= names and "Подправена ООД" not in names
    assert (await admin.get(f"{API}/{forged_id}")).status_code == 404
    found = await admin.get(API, params={"q": "Подправена"})
    assert found.json()["items"] == []

    # Nor may it be used where interactions take a counterparty: their local copy refused it...
    call = {"kind": "call", "direction": "incoming", "subject": "Обаждане", "counterparty_id": forged_id}
    planned = await admin.post("/api/v1/interactions", json={**call, "start": "2026-12-07T10:00:00+02:00"})
    assert planned.status_code == 422, planned.text
    assert "counterparty_id" in planned.text
    # ... and dead-lettered it, saying why.
    outsider = EmbeddedBus(embedded.data_dir / "bus.db")
    await outsider.start()
    try:
        letters = [m for m in await published(outsider, dead_letter_topic(TOPIC)) if m.key == forged_id]
    finally:
        await outsider.stop()
    assert letters, "the forgery was not dead-lettered"
    assert all("untrusted" in m.headers[HEADER_DLT_REASON] for m in letters)
    assert "interactions.contacts.v1" in {m.headers[HEADER_DLT_GROUP] for m in letters}
