"""Duplicates never reveal a counterparty the caller cannot see (ADR 0009, ADR 0013): a tax id, an
e-mail or a phone held only in hidden access groups gets the answer a free one gets; the pair goes to
the review of those who see every access group, who merge or dismiss it. A duplicate the caller sees
is refused (409) naming it, and at most one counterparty holds each tax id."""

from __future__ import annotations

from typing import Any

import httpx
from tests.system.conftest import EmbeddedCrm

API = "/api/v1/counterparties"
REVIEW = "/api/v1/counterparties/duplicates/review"


def body(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "relations": ["buyer"], "main_manager": "ivan", "access_group": "north", **extra}


async def with_groups(embedded: EmbeddedCrm) -> httpx.AsyncClient:
    """The administrator's client, with the access groups north and south defined (where the gateway
    keeps a catalogue of them; answered 404 where it does not)."""
    admin = await embedded.start()
    for code in ("north", "south"):
        await admin.post("/api/v1/access-groups", json={"code": code, "name": code.title()})
    return admin


def shape(response: httpx.Response) -> tuple[int, Any]:
    """What a caller can tell apart: the status and the body without ids, times and versions."""
    data = response.json()
    if response.status_code == 201:
        differ = ("id", "registered_at", "updated_at", "version", "name", "tax_id")
        data = {k: v for k, v in data.items() if k not in differ}
    return response.status_code, data


async def test_a_tax_id_held_in_a_hidden_group_answers_as_a_free_one(embedded: EmbeddedCrm) -> None:
    admin = await with_groups(embedded)
    held = await admin.post(API, json=body("South Holder", tax_id="BG204567891", access_group="south"))
    assert held.status_code == 201
    north = await embedded.client_for(["sales_manager"], ["north"])
    over_hidden = await north.post(API, json=body("North One", tax_id="bg 204-567-891"))
    over_free = await north.post(API, json=body("North Two", tax_id="BG999888777"))
    assert shape(over_hidden) == shape(over_free)
    assert over_hidden.status_code == 201 and over_hidden.json()["possible_duplicates"] == []
    refused = await north.post(
        API, params={"reject_duplicates": "true"}, json=body("North Three", tax_id="BG204567891")
    )
    again_free = await north.post(
        API, params={"reject_duplicates": "true"}, json=body("North Four", tax_id="BG999888777")
    )
    # Now a counterparty the caller sees carries each tax id: both are refused alike, naming it.
    assert refused.status_code == again_free.status_code == 409
    assert refused.json()["errors"][0]["field"] == again_free.json()["errors"][0]["field"] == "tax_id"
    assert "South Holder" not in refused.text and held.json()["id"] not in refused.text
    assert over_hidden.json()["id"] in refused.text or "North One" in refused.text
    # Without reject_duplicates the tax-id rule refuses it alike too.
    plain_hidden = await north.post(API, json=body("North Five", tax_id="BG204567891"))
    plain_free = await north.post(API, json=body("North Six", tax_id="BG999888777"))
    assert plain_hidden.status_code == plain_free.status_code == 409
    assert held.json()["id"] not in plain_hidden.text
    # The holder keeps it for everyone who sees it: the administrator is refused.
    assert (await admin.post(API, json=body("Admin Again", tax_id="BG204567891"))).status_code == 409


async def test_changing_to_a_hidden_tax_id_answers_as_a_free_one(embedded: EmbeddedCrm) -> None:
    admin = await with_groups(embedded)
    assert (await admin.post(API, json=body("South", tax_id="BG111000111", access_group="south"))).status_code == 201
    north = await embedded.client_for(["sales_manager"], ["north"])
    mine = (await north.post(API, json=body("Mine"))).headers["Location"]
    to_hidden = await north.patch(mine, json={"tax_id": "BG111000111"})
    assert to_hidden.status_code == 200 and to_hidden.json()["tax_id"] == "BG111000111"
    other = (await north.post(API, json=body("Other"))).headers["Location"]
    assert (await north.patch(other, json={"tax_id": "BG111000111"})).status_code == 409  # mine is visible


async def test_hidden_duplicates_go_to_the_review_and_leave_it_by_merge_or_dismissal(embedded: EmbeddedCrm) -> None:
    admin = await with_groups(embedded)
    kinds = await admin.get("/api/v1/reference/contact-kinds")
    email_kind = next(e["code"] for e in kinds.json()["items"] if e["attributes"]["type"] == "email")
    contact = [{"kind": email_kind, "value": "office@south.example"}]
    south = await admin.post(
        API, json=body("South Ltd", tax_id="BG300400500", access_group="south", contact_info=contact)
    )
    south_id = south.json()["id"]
    north = await embedded.client_for(["sales_manager"], ["north"])
    by_tax = await north.post(API, json=body("North by tax", tax_id="BG300400500"))
    by_mail = await north.post(
        API, params={"reject_duplicates": "true"}, json=body("North by mail", contact_info=contact)
    )
    assert by_tax.status_code == by_mail.status_code == 201
    assert by_mail.json()["possible_duplicates"] == []
    assert (await north.get(REVIEW)).status_code == 403  # only for those who see every group
    review = await admin.get(REVIEW)
    assert review.status_code == 200
    items = review.json()["items"]
    pairs = {(i["field"], i["counterparty"]["counterparty_id"], i["other"]["counterparty_id"]) for i in items}
    assert pairs == {("tax", by_tax.json()["id"], south_id), ("email", by_mail.json()["id"], south_id)}
    mail_review = next(i for i in review.json()["items"] if i["field"] == "email")
    assert mail_review["other"]["name"] == "South Ltd" and mail_review["key"] == "office@south.example"
    assert (await north.post(f"{REVIEW}/{mail_review['id']}/dismiss")).status_code == 403
    assert (await admin.post(f"{REVIEW}/{mail_review['id']}/dismiss")).status_code == 204
    assert (await admin.post(f"{REVIEW}/{mail_review['id']}/dismiss")).status_code == 404
    merged = await admin.post(f"{API}/{south_id}/merge", json={"duplicate_id": by_tax.json()["id"]})
    assert merged.status_code == 200, merged.text
    await admin.get(API, params={"min_position": merged.headers["X-Commit-Position"]})  # the view has the merge
    left = await admin.get(REVIEW)
    assert left.json()["items"] == []


async def test_the_duplicate_report_and_search_show_no_hidden_counterparty(embedded: EmbeddedCrm) -> None:
    admin = await with_groups(embedded)
    await admin.post(API, json=body("South", tax_id="BG555666777", access_group="south"))
    north = await embedded.client_for(["sales_manager"], ["north"])
    mine = await north.post(API, json=body("Mine", tax_id="BG555666777"))
    position = mine.headers["X-Commit-Position"]
    report = await north.get(f"{API}/duplicates", params={"field": "tax"})
    assert report.status_code == 200 and report.json()["groups"] == []
    found = await north.get(API, params={"q": "BG555666777", "min_position": position})
    assert [c["name"] for c in found.json()["items"]] == ["Mine"]
    both = await admin.get(f"{API}/duplicates", params={"field": "tax"})
    assert [len(g["counterparties"]) for g in both.json()["groups"]] == [2]


async def test_an_unconfirmed_claim_takes_the_tax_id_over_when_the_holder_lets_it_go(embedded: EmbeddedCrm) -> None:
    admin = await with_groups(embedded)
    await admin.post("/api/v1/access-groups", json={"code": "east", "name": "East"})
    holder = await admin.post(API, json=body("South Holder", tax_id="BG700800900", access_group="south"))
    north = await embedded.client_for(["sales_manager"], ["north"])
    claimant = await north.post(API, json=body("North Claimant", tax_id="BG700800900"))
    assert claimant.status_code == 201  # unconfirmed: the holder is hidden from north
    # The holder's tax id is corrected: the north claimant is now the one carrying (and holding) it.
    moved = await admin.patch(
        f"{API}/{holder.json()['id']}", json={"tax_id": "BG700800901"}, headers={"If-Match": holder.headers["ETag"]}
    )
    assert moved.status_code == 200, moved.text
    # East sees neither: its claim is accepted as for a free tax id, and reviewed against the claimant.
    east = await embedded.client_for(["sales_manager"], ["east"])
    late = await east.post(API, json=body("East Late", tax_id="BG700800900", access_group="east"))
    assert late.status_code == 201, late.text
    pairs = {
        (i["field"], i["counterparty"]["counterparty_id"], i["other"]["counterparty_id"])
        for i in (await admin.get(REVIEW)).json()["items"]
    }
    assert ("tax", late.json()["id"], claimant.json()["id"]) in pairs
    # The administrator sees every carrier: the tax id is refused.
    again = await admin.post(API, json=body("Admin Again", tax_id="BG700800900"))
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "tax_id"
