"""Interactions end to end in embedded mode, across contacts and interactions: HTTP command → store →
relay → bus → views; contacts' events → the interactions service's local copy → names and access here."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
from tests.system.conftest import EmbeddedCrm

from crm_shared.adapters import open_bus
from crm_shared.bus import Message
from crm_shared.contracts import interactions as public
from crm_shared.http import POSITION_HEADER
from crm_shared.settings import KernelSettings

API = "/api/v1/interactions"
T = TypeVar("T")


def later(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


async def eventually(check: Callable[[], Awaitable[T | None]], timeout: float = 20.0) -> T:
    """The first truthy result of ``check``, polled until ``timeout``."""
    async with asyncio.timeout(timeout):
        while True:
            result = await check()
            if result:
                return result
            await asyncio.sleep(0.05)


async def counterparty(
    crm: httpx.AsyncClient, name: str = "Ромашка ООД", group: str = "general", relations: tuple[str, ...] = ("buyer",)
) -> str:
    """A counterparty registered in contacts, once the interactions service knows it."""
    created = await crm.post(
        "/api/v1/counterparties",
        json={"name": name, "relations": list(relations), "main_manager": "ivan", "access_group": group},
    )
    assert created.status_code == 201, created.text
    cid = str(created.json()["id"])

    async def known() -> bool:
        return (await crm.get(f"{API}/summary", params={"counterparty_id": cid})).status_code == 200

    await eventually(known)
    return cid


async def plan(crm: httpx.AsyncClient, cid: str | None, **fields: Any) -> httpx.Response:
    body: dict[str, Any] = {"kind": "call", "direction": "outgoing", "subject": "Offer", "start": later(days=1)}
    if cid is not None:
        body["counterparty_id"] = cid
    body.update(fields)
    return await crm.post(API, json=body)


async def planned(crm: httpx.AsyncClient, cid: str | None, **fields: Any) -> dict[str, Any]:
    """A planned interaction, once the lists show it."""
    response = await plan(crm, cid, **fields)
    assert response.status_code == 201, response.text
    shown = await crm.get(response.headers["Location"], params={"min_position": response.headers[POSITION_HEADER]})
    assert shown.status_code == 200, shown.text
    return dict(response.json())


def fields_of(response: httpx.Response) -> list[str]:
    assert response.headers["content-type"] == "application/problem+json", response.text
    return [e["field"] for e in response.json().get("errors", [])]


async def test_plan_reschedule_complete_follow_up_and_the_timeline(crm: httpx.AsyncClient) -> None:
    cid = await counterparty(crm)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    created = await plan(
        crm,
        cid,
        start=start.isoformat(),
        end=(start + timedelta(minutes=30)).isoformat(),
        reminder=15,
        importance="high",
        participants=["maria"],
        third_parties=["Mr Smith, Acme"],
        basis={"type": "order", "id": "o-7", "title": "Order 7"},
        project="P-2027",
        description="Prices for 2027",
        content="Long notes",
    )
    assert created.status_code == 201, created.text
    one = created.json()
    iid = one["id"]
    assert created.headers["Location"] == f"{API}/{iid}"
    assert created.headers["ETag"] == '"0"' and int(created.headers[POSITION_HEADER]) > 0
    assert one["state"] == "planned" and one["counterparty_name"] == "Ромашка ООД"
    assert datetime.fromisoformat(one["reminder_at"]) == start - timedelta(minutes=15)
    assert one["thread_id"] == iid and one["source_prompt"] is None  # outgoing: no prompt

    fetched = await crm.get(f"{API}/{iid}", params={"min_position": created.headers[POSITION_HEADER]})
    assert fetched.status_code == 200 and fetched.headers["ETag"] == '"0"'
    got = fetched.json()
    assert (got["content"], got["basis"]["id"], got["participants"], got["importance"]) == (
        "Long notes",
        "o-7",
        ["maria"],
        "high",
    )

    moved = await crm.post(f"{API}/{iid}/reschedule", json={"start": (start + timedelta(days=1)).isoformat()})
    assert moved.status_code == 200 and moved.headers["ETag"] == '"1"'
    assert datetime.fromisoformat(moved.json()["reminder_at"]) == start + timedelta(days=1, minutes=-15)
    assert datetime.fromisoformat(moved.json()["end"]) == start + timedelta(days=1, minutes=30)

    done = await crm.post(f"{API}/{iid}/complete", json={"outcome": "Wants a demo", "outcome_code": "demo"})
    assert done.status_code == 200, done.text
    assert (done.json()["state"], done.json()["outcome_code"]) == ("completed", "demo")

    follow = await crm.post(f"{API}/{iid}/follow-up", json={"kind": "meeting", "start": later(days=5)})
    assert follow.status_code == 201, follow.text
    nxt = follow.json()
    assert (nxt["thread_id"], nxt["follow_up_of"], nxt["subject"], nxt["counterparty_id"]) == (iid, iid, "Offer", cid)
    assert follow.headers["Location"] == f"{API}/{nxt['id']}"

    # Naming any interaction of a thread joins that thread.
    letter = await plan(crm, cid, kind="letter", subject="Offer, signed copy", start=later(days=9), thread_id=nxt["id"])
    assert letter.status_code == 201 and letter.json()["thread_id"] == iid

    # Each interaction is its own stream (on Kafka, maybe its own partition): wait for each.
    await crm.get(f"{API}/{iid}", params={"min_position": done.headers[POSITION_HEADER]})
    await crm.get(f"{API}/{nxt['id']}", params={"min_position": follow.headers[POSITION_HEADER]})
    position = letter.headers[POSITION_HEADER]
    thread = await crm.get(API, params={"thread_id": iid, "min_position": position})
    assert [i["id"] for i in thread.json()["items"]] == [iid, nxt["id"], letter.json()["id"]]
    timeline = await crm.get(API, params={"counterparty_id": cid, "order": "desc"})
    assert [i["id"] for i in timeline.json()["items"]] == [letter.json()["id"], nxt["id"], iid]
    assert all(i["counterparty_name"] == "Ромашка ООД" for i in timeline.json()["items"])

    summary = (await crm.get(f"{API}/summary", params={"counterparty_id": cid})).json()
    assert summary["total"] == 3 and summary["by_state"] == {"planned": 2, "completed": 1, "cancelled": 0}
    assert (summary["by_kind"]["call"], summary["by_kind"]["meeting"], summary["by_kind"]["letter"]) == (1, 1, 1)
    assert summary["last"]["id"] == iid and summary["next"]["id"] == nxt["id"]

    history = (await crm.get(f"{API}/{iid}/history")).json()["items"]
    assert [h["event"] for h in history] == ["InteractionPlanned", "InteractionRescheduled", "InteractionCompleted"]
    assert history[2]["changes"]["outcome"] == "Wants a demo"


async def test_the_calendar_shows_planned_interactions_a_user_takes_part_in(crm: httpx.AsyncClient) -> None:
    cid = await counterparty(crm)
    day = (datetime.now(UTC) + timedelta(days=3)).replace(hour=0, minute=0, second=0, microsecond=0)
    me = (await crm.get("/api/v1/me")).json()["id"]
    mine = await planned(crm, cid, start=(day + timedelta(hours=9)).isoformat())
    joined = await planned(
        crm, cid, start=(day + timedelta(hours=11)).isoformat(), responsible="ivan", participants=[me]
    )
    elsewhere = await planned(crm, cid, start=(day + timedelta(hours=10)).isoformat(), responsible="ivan")
    dropped = await planned(crm, cid, start=(day + timedelta(hours=12)).isoformat())
    cancelled = await crm.post(f"{API}/{dropped['id']}/cancel", json={"reason": "Client ill"})
    window = {"from": day.isoformat(), "to": (day + timedelta(days=1)).isoformat()}

    async def calendar() -> list[str] | None:
        answer = (await crm.get(f"{API}/calendar", params=window)).json()
        ids = [i["id"] for i in answer["items"]]
        return ids if dropped["id"] not in ids and len(ids) == 2 else None

    assert cancelled.status_code == 200
    assert await eventually(calendar) == [mine["id"], joined["id"]]
    ivan = (await crm.get(f"{API}/calendar", params={**window, "user": "ivan"})).json()["items"]
    assert [i["id"] for i in ivan] == [elsewhere["id"], joined["id"]]
    too_long = await crm.get(f"{API}/calendar", params={**window, "to": (day + timedelta(days=63)).isoformat()})
    assert too_long.status_code == 422 and fields_of(too_long) == ["to"]


async def test_wrong_transitions_are_refused_naming_the_state(crm: httpx.AsyncClient) -> None:
    cid = await counterparty(crm)
    iid = (await planned(crm, cid))["id"]
    cancelled = await crm.post(f"{API}/{iid}/cancel", json={"reason": "Not needed"})
    assert cancelled.status_code == 200 and cancelled.json()["cancel_reason"] == "Not needed"
    for path, body in (
        ("complete", {"outcome": "Done"}),
        ("cancel", {"reason": "again"}),
        ("reschedule", {"start": later(days=3)}),
        ("follow-up", {"start": later(days=3)}),
    ):
        refused = await crm.post(f"{API}/{iid}/{path}", json=body)
        assert refused.status_code == 422, (path, refused.text)
        assert fields_of(refused) == ["follow_up_of" if path == "follow-up" else "state"], path
    changed = await crm.patch(f"{API}/{iid}", json={"subject": "x"})
    assert changed.status_code == 422 and fields_of(changed) == ["state"]

    other = (await planned(crm, cid))["id"]
    assert (await crm.post(f"{API}/{other}/complete", json={"outcome": "Done"})).status_code == 200
    again = await crm.post(f"{API}/{other}/complete", json={"outcome": "Done"})
    assert again.status_code == 422 and fields_of(again) == ["state"]


async def test_bad_input_is_a_422_naming_the_field(crm: httpx.AsyncClient) -> None:
    cid = await counterparty(crm)
    start = datetime.now(UTC) + timedelta(days=1)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"end": (start - timedelta(minutes=1)).isoformat(), "start": start.isoformat()}, "end"),
        ({"counterparty_id": str(uuid.uuid4())}, "counterparty_id"),
        ({"start": later(minutes=10), "reminder": 30}, "reminder"),
        ({"reminder": 7}, "reminder"),
        ({"start": "2030-01-01T10:00:00"}, "start"),
        ({"start": "9999-12-31T23:59:59-12:00"}, "start"),
        ({"start": "0001-01-01T00:00:00+14:00", "state": "completed"}, "start"),
        ({"kind": "telegram"}, "kind"),
        ({"subject": " "}, "subject"),
        ({"source": "no-such-source"}, "source"),
        ({"follow_up_of": str(uuid.uuid4())}, "follow_up_of"),
        ({"thread_id": str(uuid.uuid4())}, "thread_id"),
        ({"state": "completed", "reminder": 15, "start": later(hours=-1)}, "reminder"),
        ({"state": "completed", "start": later(days=1)}, "start"),
        ({"outcome": "Too early"}, "outcome"),
        ({"participants": "maria"}, "participants"),
    ]
    for fields, field in cases:
        response = await plan(crm, cid, **fields)
        assert response.status_code == 422, (fields, response.text)
        assert field in fields_of(response), (fields, response.json())
    alone = await plan(crm, None)
    assert alone.status_code == 422 and fields_of(alone) == ["counterparty_id"]

    iid = (await planned(crm, cid))["id"]
    stale = await crm.patch(f"{API}/{iid}", json={"subject": "New"}, headers={"If-Match": '"7"'})
    assert stale.status_code == 412 and fields_of(stale) == ["If-Match"]
    cursor = await crm.get(API, params={"cursor": "not-ours"})
    assert cursor.status_code == 400 and fields_of(cursor) == ["cursor"]
    period = await crm.get(API, params={"from": later(days=2), "to": later(days=1)})
    assert period.status_code == 422 and fields_of(period) == ["to"]
    assert (await crm.get(f"{API}/{uuid.uuid4()}")).status_code == 404


async def test_a_retried_plan_with_the_same_idempotency_key_plans_once(crm: httpx.AsyncClient) -> None:
    cid = await counterparty(crm)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"kind": "call", "direction": "outgoing", "subject": "A", "start": later(days=1), "counterparty_id": cid}
    first = await crm.post(API, json=body, headers=key)
    again = await crm.post(API, json=body, headers=key)  # a retry sends the same request
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"] and again.headers["ETag"] == '"0"'
    other = await crm.post(API, json={**body, "subject": "B"}, headers=key)
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "Idempotency-Key"
    listed = await crm.get(API, params={"counterparty_id": cid, "min_position": again.headers[POSITION_HEADER]})
    assert len(listed.json()["items"]) == 1


async def test_a_counterparty_renamed_in_contacts_shows_its_new_name_here(crm: httpx.AsyncClient) -> None:
    cid = await counterparty(crm, "Old Name Ltd")
    iid = (await planned(crm, cid))["id"]
    renamed = await crm.patch(f"/api/v1/counterparties/{cid}", json={"name": "New Name Ltd"})
    assert renamed.status_code == 200

    async def shows_new_name() -> bool:
        listed = (await crm.get(API, params={"counterparty_id": cid})).json()["items"]
        one = (await crm.get(f"{API}/{iid}")).json()
        return [i["counterparty_name"] for i in listed] == ["New Name Ltd"] and one[
            "counterparty_name"
        ] == "New Name Ltd"

    assert await eventually(shows_new_name)


async def test_an_access_group_changed_in_contacts_takes_effect_here(
    embedded: EmbeddedCrm, crm: httpx.AsyncClient
) -> None:
    north = await embedded.client_for(["sales_manager"], ["north"])
    south = await embedded.client_for(["sales_manager"], ["south"])
    cid = await counterparty(crm, "Moving Ltd", group="north")
    iid = (await planned(north, cid))["id"]
    assert (await south.get(f"{API}/{iid}")).status_code == 404

    moved = await crm.patch(f"/api/v1/counterparties/{cid}", json={"access_group": "south"})
    assert moved.status_code == 200

    async def moved_here() -> bool:
        return (await north.get(f"{API}/{iid}")).status_code == 404 and (
            await south.get(f"{API}/{iid}")
        ).status_code == 200

    assert await eventually(moved_here)
    assert (await north.get(API, params={"counterparty_id": cid})).json()["items"] == []
    assert [i["id"] for i in (await south.get(API, params={"counterparty_id": cid})).json()["items"]] == [iid]
    assert (await north.post(f"{API}/{iid}/cancel", json={"reason": "x"})).status_code == 404
    assert (await north.get(f"{API}/summary", params={"counterparty_id": cid})).status_code == 404
    refused = await plan(north, cid)
    assert refused.status_code == 422 and fields_of(refused) == ["counterparty_id"]
    for client in (north, south):
        await client.aclose()


async def test_roles_and_signing_in(embedded: EmbeddedCrm, crm: httpx.AsyncClient) -> None:
    cid = await counterparty(crm)
    iid = (await planned(crm, cid))["id"]
    anonymous = embedded.anonymous()
    assert (await anonymous.get(API)).status_code == 401
    assert (await anonymous.post(API, json={})).status_code == 401
    reader = await embedded.client_for(["read_only"], ["general"])
    assert (await reader.get(f"{API}/{iid}")).status_code == 200
    assert (await reader.get(API)).status_code == 200
    assert (await plan(reader, cid)).status_code == 403
    assert (await reader.post(f"{API}/{iid}/complete", json={"outcome": "x"})).status_code == 403
    assert (await reader.patch(f"{API}/{iid}", json={"subject": "x"})).status_code == 403
    stranger = await embedded.client_for(["sales_manager"], ["elsewhere"])
    assert (await stranger.get(f"{API}/{iid}")).status_code == 404
    assert (await stranger.get(f"{API}/{iid}/history")).status_code == 404
    assert (await stranger.post(f"{API}/{iid}/complete", json={"outcome": "x"})).status_code == 404
    assert iid not in [i["id"] for i in (await stranger.get(API)).json()["items"]]
    for client in (anonymous, reader, stranger):
        await client.aclose()


async def test_an_interaction_with_a_contact_person_only_is_seen_by_who_takes_part(
    embedded: EmbeddedCrm, crm: httpx.AsyncClient
) -> None:
    author = await embedded.client_for(["sales_manager"], ["general"])
    colleague = await embedded.client_for(["sales_manager"], ["general"])
    person = await author.post("/api/v1/persons", json={"first_name": "Ivan", "last_name": "Petrov"})
    assert person.status_code == 201, person.text
    pid = person.json()["id"]

    async def created() -> httpx.Response | None:
        response = await plan(author, None, contact_person_id=pid)
        return response if response.status_code == 201 else None

    first = await eventually(created)
    iid = first.json()["id"]
    shown = await author.get(f"{API}/{iid}", params={"min_position": first.headers[POSITION_HEADER]})
    assert shown.status_code == 200
    assert (await colleague.get(f"{API}/{iid}")).status_code == 404
    assert (await crm.get(f"{API}/{iid}")).status_code == 200  # every access group
    for client in (author, colleague):
        await client.aclose()


async def published(embedded: EmbeddedCrm, ce_type: str, interaction_id: str) -> dict[str, Any]:
    """The first public event of this type for this interaction, read from the bus as a consumer would."""
    bus = await open_bus(KernelSettings(data_dir=embedded.data_dir, **embedded.settings), "test-consumer")
    found: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    async def handle(message: Message) -> None:
        if message.headers.get("ce_type") == ce_type and message.key == interaction_id and not found.done():
            found.set_result(json.loads(message.value))

    subscription = await bus.subscribe([public.INTERACTION_TOPIC], f"test-{uuid.uuid4().hex[:8]}", handle)
    try:
        async with asyncio.timeout(20):
            return await found
    finally:
        await subscription.stop()
        await bus.stop()


async def test_the_source_prompt_on_incoming_calls_of_buyers_and_recording_the_source(
    embedded: EmbeddedCrm, crm: httpx.AsyncClient
) -> None:
    defined = await crm.post(
        "/api/v1/reference/sources",
        json={"code": "trade-fair", "name": "Изложение", "attributes": {"actuality_days": 30}},
    )
    assert defined.status_code == 201, defined.text
    fresh = await counterparty(crm, "No Source Ltd")
    old = await counterparty(crm, "Old Source Ltd")
    supplier = await counterparty(crm, "Supplier Ltd", relations=("supplier",))
    recorded = await crm.post(
        f"/api/v1/counterparties/{old}/sources", json={"source": "trade-fair", "on": "2025-01-01"}
    )
    assert recorded.status_code == 200, recorded.text

    async def source_known() -> bool:
        doc = await embedded.app.state.interactions.contacts.source("trade-fair")
        card = await embedded.app.state.interactions.contacts.counterparty(old)
        return doc is not None and card is not None and bool(card["sources"])

    await eventually(source_known)
    call = {
        "kind": "call",
        "direction": "incoming",
        "state": "completed",
        "start": later(minutes=-30),
        "outcome": "Asked for prices",
    }

    missing = await plan(crm, fresh, **call)
    assert missing.status_code == 201, missing.text
    assert missing.json()["source_prompt"] == {"reason": "missing", "last_source": None, "expired_on": None}
    expired = await plan(crm, old, **call)
    assert expired.json()["source_prompt"] == {
        "reason": "expired",
        "last_source": "trade-fair",
        "expired_on": "2025-01-31",
    }
    assert (await plan(crm, old, **{**call, "direction": "outgoing"})).json()["source_prompt"] is None
    assert (await plan(crm, supplier, **call)).json()["source_prompt"] is None

    iid = missing.json()["id"]
    unknown = await crm.post(f"{API}/{iid}/source", json={"source": "nope"})
    assert unknown.status_code == 422 and fields_of(unknown) == ["source"]
    answered = await crm.post(f"{API}/{iid}/source", json={"source": "trade-fair"})
    assert answered.status_code == 200, answered.text
    assert answered.json()["source"] == "trade-fair" and answered.json()["source_prompt"] is None
    event = await published(embedded, "crm.interactions.InformationSourceProvided", iid)
    day = datetime.fromisoformat(str(call["start"])).astimezone(UTC).date()  # the interaction's day
    assert event == {"interaction_id": iid, "counterparty_id": fresh, "source": "trade-fair", "on": day.isoformat()}

    async def recorded_in_contacts() -> bool:  # contacts consumes the event into the dated history
        card = (await crm.get(f"/api/v1/counterparties/{fresh}")).json()
        return {"source": "trade-fair", "on": day.isoformat()} in card["sources"]

    await eventually(recorded_in_contacts)
    # Given with the interaction, the source needs no prompt and is published as well.
    given = await plan(crm, fresh, **{**call, "source": "trade-fair"})
    assert given.json()["source_prompt"] is None and given.json()["source"] == "trade-fair"
    await published(embedded, "crm.interactions.InformationSourceProvided", given.json()["id"])


async def test_the_public_events_carry_what_the_notifier_needs(embedded: EmbeddedCrm, crm: httpx.AsyncClient) -> None:
    cid = await counterparty(crm)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    iid = (await planned(crm, cid, start=start.isoformat(), reminder=60, responsible="ivan"))["id"]
    moved = await crm.post(f"{API}/{iid}/reschedule", json={"start": (start + timedelta(hours=2)).isoformat()})
    assert moved.status_code == 200
    event = await published(embedded, "crm.interactions.InteractionRescheduled", iid)
    assert (event["counterparty_id"], event["responsible"], event["state"], event["kind"]) == (
        cid,
        "ivan",
        "planned",
        "call",
    )
    assert datetime.fromisoformat(event["reminder_at"]) == start + timedelta(hours=1)
    planned_event = await published(embedded, "crm.interactions.InteractionPlanned", iid)
    assert datetime.fromisoformat(planned_event["reminder_at"]) == start - timedelta(hours=1)


async def test_a_contact_person_the_caller_cannot_see_is_refused_as_one_that_does_not_exist(
    embedded: EmbeddedCrm, crm: httpx.AsyncClient
) -> None:
    south = await counterparty(crm, "Южна ООД", group="south")
    linked = await crm.post(
        "/api/v1/persons", json={"first_name": "Скрит", "links": [{"counterparty_id": south, "position": "CEO"}]}
    )
    assert linked.status_code == 201, linked.text
    pid = linked.json()["id"]

    async def known_here() -> httpx.Response | None:  # the admin sees it once the copy has the link
        response = await plan(crm, south, contact_person_id=pid)
        return response if response.status_code == 201 else None

    await eventually(known_here)
    north = await embedded.client_for(["sales_manager"], ["north"])
    mine = await counterparty(crm, "Северна ООД", group="north")
    hidden = await plan(north, mine, contact_person_id=pid)
    missing = await plan(north, mine, contact_person_id="no-such-person")
    assert hidden.status_code == missing.status_code == 422
    assert fields_of(hidden) == fields_of(missing) == ["contact_person_id"]
    assert hidden.json()["detail"].replace(pid, "X") == missing.json()["detail"].replace("no-such-person", "X")
    await north.aclose()


async def test_records_created_a_moment_ago_are_referenced_with_no_pause(crm: httpx.AsyncClient) -> None:
    """Issue 13: each call follows the previous answer at once, as an ERP pushing a customer and then
    its contacts and a meeting would; nothing is refused because a local copy lags."""
    for n in range(5):
        head = await crm.post(
            "/api/v1/counterparties", json={"name": f"Бърза {n} АД", "relations": ["buyer"], "main_manager": "ivan"}
        )
        assert head.status_code == 201, head.text
        branch = await crm.post(
            "/api/v1/counterparties",
            json={
                "name": f"Бърз клон {n}",
                "relations": ["buyer"],
                "main_manager": "ivan",
                "head_counterparty_id": head.json()["id"],
            },
        )
        assert branch.status_code == 201, branch.text
        person = await crm.post(
            "/api/v1/persons",
            json={"first_name": "Бърз", "last_name": f"Контакт {n}", "links": [{"counterparty_id": head.json()["id"]}]},
        )
        assert person.status_code == 201, person.text
        linked = await crm.put(f"/api/v1/persons/{person.json()['id']}/counterparties/{branch.json()['id']}", json={})
        assert linked.status_code in (200, 201), linked.text
        meeting = await plan(crm, branch.json()["id"], kind="meeting", contact_person_id=person.json()["id"])
        assert meeting.status_code == 201, meeting.text
        follow = await crm.get(meeting.headers["Location"])
        assert follow.status_code == 200, follow.text  # its Location reads at once
