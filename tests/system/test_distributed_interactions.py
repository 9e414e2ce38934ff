"""Distributed mode across two services: contacts and interactions each as API, relay and projector
processes over Kafka and the MongoDB-protocol server. Interactions learns counterparties from contacts'
events only; a source told at an interaction reaches contacts' history only through an event."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from tests.system.test_distributed import Cluster, Role, free_port, make_cluster, signed_client

pytestmark = [pytest.mark.system, pytest.mark.kafka, pytest.mark.mongo]
CONTACTS = "/api/v1/counterparties"
INTERACTIONS = "/api/v1/interactions"


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"never: {what}"
        await asyncio.sleep(0.2)


@pytest.fixture
async def two_services(tmp_path: Path, kafka_bootstrap: str, mongo_uri: str) -> AsyncIterator[tuple[Cluster, str]]:
    contacts = await make_cluster(tmp_path, kafka_bootstrap, mongo_uri)
    port = free_port()
    logs = tmp_path / "logs"
    roles = [
        Role("interactions-api", ["interactions-api", "--port", str(port)], contacts.env, logs / "i-api.log"),
        Role("interactions-relay", ["interactions-relay"], contacts.env, logs / "i-relay.log"),
        Role("interactions-projector", ["interactions-projector"], contacts.env, logs / "i-projector.log"),
    ]
    for role in roles:
        role.start()
        contacts.roles[role.name] = role
    url = f"http://127.0.0.1:{port}"

    async def healthy() -> bool:
        try:
            async with httpx.AsyncClient(base_url=url) as client:
                return (await client.get("/health")).status_code == 200
        except httpx.TransportError:
            return False

    await eventually(healthy, "the interactions API answers")
    yield contacts, url
    for role in contacts.roles.values():
        role.stop()


async def test_interactions_follow_contacts_and_tell_it_sources_over_kafka(two_services: tuple[Cluster, str]) -> None:
    contacts, interactions_url = two_services
    async with signed_client(contacts.api_url) as crm, signed_client(interactions_url) as timeline:
        source = await crm.post("/api/v1/reference/sources", json={"code": "fair", "name": "Панаир"})
        assert source.status_code == 201, source.text
        created = await crm.post(CONTACTS, json={"name": "Далечна АД", "relations": ["buyer"], "main_manager": "ivan"})
        assert created.status_code == 201, created.text
        cid = created.json()["id"]

        async def known() -> bool:
            answer = await timeline.get(f"{INTERACTIONS}/summary", params={"counterparty_id": cid})
            return answer.status_code == 200

        await eventually(known, "interactions learns the counterparty from contacts' events")
        start = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        call = await timeline.post(
            INTERACTIONS,
            json={
                "kind": "call",
                "direction": "incoming",
                "state": "completed",
                "subject": "Запитване",
                "start": start,
                "counterparty_id": cid,
            },
        )
        assert call.status_code == 201, call.text
        assert call.json()["source_prompt"]["reason"] == "missing"
        iid = call.json()["id"]

        async def source_taken() -> bool:
            answer = await timeline.post(f"{INTERACTIONS}/{iid}/source", json={"source": "fair"})
            return answer.status_code == 200  # 422 until interactions has seen the source defined

        await eventually(source_taken, "the source is accepted")

        async def in_contacts_history() -> bool:
            card = (await crm.get(f"{CONTACTS}/{cid}")).json()
            return any(s["source"] == "fair" for s in card["sources"])

        await eventually(in_contacts_history, "contacts records the source told at the interaction")

        renamed = await crm.patch(f"{CONTACTS}/{cid}", json={"name": "Близка АД"})
        assert renamed.status_code == 200

        async def renamed_here() -> bool:
            listed = (await timeline.get(INTERACTIONS, params={"counterparty_id": cid})).json()["items"]
            return [i["counterparty_name"] for i in listed] == ["Близка АД"]

        await eventually(renamed_here, "the new name shows on the interaction")

        # References to records created a moment ago (issue 13): each call follows the last one's answer
        # with no pause. Contacts links a person to a counterparty it registered a moment ago (its own
        # event store); interactions, across Kafka, takes both the counterparty and the person at once.
        for n in range(3):
            fresh = await crm.post(
                CONTACTS, json={"name": f"Свежа {n} ООД", "relations": ["buyer"], "main_manager": "ivan"}
            )
            assert fresh.status_code == 201, fresh.text
            fresh_id = fresh.json()["id"]
            person = await crm.post("/api/v1/persons", json={"first_name": "Нов", "last_name": f"Контакт {n}"})
            assert person.status_code == 201, person.text
            person_id = person.json()["id"]
            linked = await crm.put(f"/api/v1/persons/{person_id}/counterparties/{fresh_id}", json={})
            assert linked.status_code in (200, 201), linked.text
            planned = await timeline.post(
                INTERACTIONS,
                json={
                    "kind": "meeting",
                    "direction": "outgoing",
                    "state": "planned",
                    "subject": "Първа среща",
                    "start": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
                    "counterparty_id": fresh_id,
                    "contact_person_id": person_id,
                },
            )
            assert planned.status_code == 201, planned.text
