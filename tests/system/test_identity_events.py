"""The directory's public events (``crm.identity.*``): what the gateway publishes fits the served
schemas, carries no secret, and reaches the local copies of the other services."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import jsonschema_rs

from crm_gateway.application.publishing import translate
from crm_shared.bus.trust import Keys


async def test_published_directory_events_fit_their_schemas_and_carry_no_secrets(embedded: Any) -> None:
    admin = await embedded.start()
    body = {"username": "elena.k", "name": "Елена К", "password": "elena-password-1", "roles": ["marketer"]}
    user = (await admin.post("/api/v1/users", json=body)).json()
    url = f"/api/v1/users/{user['id']}"
    for change in ({"name": "Елена Колева"}, {"locked": True}, {"locked": False}, {"groups": ["general"]}):
        assert (await admin.patch(url, json=change)).status_code == 200
    assert (await admin.post("/api/v1/access-groups", json={"code": "east", "name": "Изток"})).status_code == 201
    for change in ({"name": "Изток и юг"}, {"retired": True}, {"retired": False}):
        assert (await admin.patch("/api/v1/access-groups/east", json=change)).status_code == 200

    store = embedded.app.state.gateway.store
    keys = Keys(embedded.data_dir / "keys")  # signed as the CRM's bus signs what it publishes
    messages = [
        keys.sign(env.to_message()) for e in await store.read_all(after=0, limit=10_000) for env in translate(e)
    ]
    assert {m.headers["ce_type"] for m in messages} == {
        "crm.identity.UserRegistered",
        "crm.identity.UserRenamed",
        "crm.identity.UserRetired",
        "crm.identity.UserReinstated",
        "crm.identity.AccessGroupDefined",
        "crm.identity.AccessGroupRenamed",
        "crm.identity.AccessGroupRetired",
        "crm.identity.AccessGroupRestored",
    }
    assert {m.topic for m in messages} == {"crm.identity.user.v1", "crm.identity.access-group.v1"}
    for message in messages:
        assert b"argon2" not in message.value and b"password" not in message.value and b"roles" not in message.value
        schema = await admin.get(f"/api/v1/events/schemas/{message.headers['ce_type']}.json")
        assert schema.status_code == 200
        record = {"topic": message.topic, "key": message.key, "headers": dict(message.headers)}
        record["value"] = json.loads(message.value)
        check = jsonschema_rs.Draft202012Validator(schema.json(), validate_formats=True)
        assert [e.message for e in check.iter_errors(record)] == []

    # The local copies of contacts and interactions follow.
    for service in (embedded.app.state.contacts, embedded.app.state.interactions):

        async def caught_up(directory: Any = service.directory) -> bool:
            person, group = await directory.user(user["id"]), await directory.group("east")
            return (
                person is not None
                and (person["username"], person["name"], person["active"]) == ("elena.k", "Елена Колева", True)
                and group is not None
                and (group["name"], group["retired"]) == ("Изток и юг", False)
            )

        async with asyncio.timeout(10):
            while True:
                if await caught_up():
                    break
                await asyncio.sleep(0.05)
