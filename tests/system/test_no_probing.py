"""A caller learns nothing about records it may not see by the way a write is refused (issue 12):
the permission comes before any lookup, a hidden record and a missing one answer alike with
``If-Match``, and an ``Idempotency-Key`` cannot replay another request's answer."""

from __future__ import annotations

from tests.system.conftest import EmbeddedCrm


async def test_a_caller_without_the_permission_learns_nothing_from_a_duplicate_check(embedded: EmbeddedCrm) -> None:
    admin = await embedded.start()
    body = {"name": "Visible Ltd", "relations": ["buyer"], "main_manager": "ivan", "tax_id": "BG111222333"}
    assert (await admin.post("/api/v1/counterparties", json=body)).status_code == 201
    reader = await embedded.client_for(["read_only"], ["general"])
    refused = await reader.post(
        "/api/v1/counterparties", params={"reject_duplicates": "true"}, json={**body, "name": "Probe"}
    )
    assert refused.status_code == 403
    assert "Visible Ltd" not in refused.text and "BG111222333" not in refused.text


async def test_if_match_on_a_hidden_record_answers_as_on_a_missing_one(embedded: EmbeddedCrm) -> None:
    admin = await embedded.start()
    south = await admin.post(
        "/api/v1/counterparties",
        json={"name": "South Ltd", "relations": ["buyer"], "main_manager": "ivan", "access_group": "south"},
    )
    hidden_id = south.json()["id"]
    north = await embedded.client_for(["sales_manager"], ["north"])
    change = {"name": "Renamed"}
    hidden = await north.patch(f"/api/v1/counterparties/{hidden_id}", json=change, headers={"If-Match": '"0"'})
    missing = await north.patch("/api/v1/counterparties/nothing-here", json=change, headers={"If-Match": '"0"'})
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"].replace(hidden_id, "X") == missing.json()["detail"].replace("nothing-here", "X")
    mine = await admin.patch("/api/v1/counterparties/nothing-here", json=change, headers={"If-Match": '"0"'})
    assert mine.status_code == 404  # not 412 "at version None"


async def test_an_idempotency_key_reused_for_another_request_is_refused(embedded: EmbeddedCrm) -> None:
    admin = await embedded.start()
    key = {"Idempotency-Key": "register-once"}
    body = {"name": "Once Ltd", "relations": ["buyer"], "main_manager": "ivan"}
    first = await admin.post("/api/v1/counterparties", json=body, headers=key)
    again = await admin.post("/api/v1/counterparties", json=body, headers=key)
    other = await admin.post("/api/v1/counterparties", json={**body, "name": "Twice Ltd"}, headers=key)
    assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    card = await admin.get(first.headers["Location"])
    assert card.json()["name"] == "Once Ltd"
