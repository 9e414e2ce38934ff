"""The public event documents served over HTTP by the embedded CRM: to any signed-in caller, the
same as ``docs/events``, with references that resolve against the served URLs."""

from __future__ import annotations

import json
from typing import Any

import httpx
import jsonschema_rs  # installed with schemathesis (dev group): a real draft 2020-12 validator

from crm_contacts.application.publishing import translate
from crm_shared import asyncapi
from crm_shared.bus.trust import Keys

DOCUMENT = "/api/v1/events/asyncapi.json"


async def test_any_signed_in_caller_reads_the_document_and_every_schema(embedded: Any) -> None:
    await embedded.start()
    reader = await embedded.client_for(roles=["read_only"])
    files = asyncapi.generate()

    response = await reader.get(DOCUMENT)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.text == files[asyncapi.ASYNCAPI_FILE]
    document = response.json()
    assert document["asyncapi"] == "3.0.0"

    for name, message in document["components"]["messages"].items():
        if name == asyncapi.DEAD_LETTER_MESSAGE:
            continue
        # The $ref is relative to the document's URL, as it is to docs/events/asyncapi.json.
        url = response.url.join(message["payload"]["$ref"].partition("#")[0])
        schema = await reader.get(url)
        assert schema.status_code == 200, url
        assert schema.text == files[asyncapi.schema_path(name)]


async def test_served_schemas_validate_what_a_registration_published(embedded: Any) -> None:
    admin = await embedded.start()
    body = {"name": "Ромашка ООД", "relations": ["buyer"], "main_manager": "ivan"}
    created = await admin.post("/api/v1/counterparties", json=body)
    assert created.status_code == 201, created.text
    renamed = await admin.patch(created.headers["Location"], json={"name": "Лайка АД"}, headers={"If-Match": '"0"'})
    assert renamed.status_code == 200, renamed.text
    store = embedded.app.state.contacts.store
    keys = Keys(embedded.data_dir / "keys")  # the CRM's own: signed exactly as its bus signs what it publishes
    messages = [keys.sign(env.to_message()) for e in await store.read_all(after=0) for env in translate(e)]
    assert {m.headers["ce_type"] for m in messages} >= {
        "crm.contacts.CounterpartyRegistered",
        "crm.contacts.CounterpartyRenamed",
    }
    for message in messages:
        response = await admin.get(f"/api/v1/events/schemas/{message.headers['ce_type']}.json")
        assert response.status_code == 200
        record = {
            "topic": message.topic,
            "key": message.key,
            "headers": dict(message.headers),
            "value": json.loads(message.value),
        }
        check = jsonschema_rs.Draft202012Validator(response.json(), validate_formats=True)
        assert [e.message for e in check.iter_errors(record)] == []


async def test_unknown_event_type_is_a_404_problem(crm: httpx.AsyncClient) -> None:
    response = await crm.get("/api/v1/events/schemas/crm.contacts.NoSuchEvent.json")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "crm.contacts.NoSuchEvent" in response.json()["detail"]
    bad = await crm.get("/api/v1/events/schemas/no%20spaces.json")
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "event_type"


async def test_anonymous_callers_get_401(embedded: Any) -> None:
    await embedded.start()
    async with embedded.anonymous() as anonymous:
        for path in (DOCUMENT, "/api/v1/events/schemas/crm.contacts.CounterpartyRegistered.json"):
            response = await anonymous.get(path)
            assert response.status_code == 401, path
            assert response.headers["content-type"] == "application/problem+json"
