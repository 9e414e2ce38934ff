"""The queries behind the web UI's home page ("My day"), end to end in embedded mode: overdue planned
interactions of a user, the last contact of each counterparty a manager has, and the calendar with
completed interactions too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from tests.system.conftest import EmbeddedCrm
from tests.system.test_interactions_http import API, eventually, fields_of, planned

from crm_shared.http import POSITION_HEADER


def ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


async def managed(crm: httpx.AsyncClient, name: str, manager: str, group: str = "general") -> str:
    """A counterparty of ``manager``, once the interactions service knows it."""
    created = await crm.post(
        "/api/v1/counterparties",
        json={"name": name, "relations": ["buyer"], "main_manager": manager, "access_group": group},
    )
    assert created.status_code == 201, created.text
    cid = str(created.json()["id"])

    async def known() -> bool:
        return (await crm.get(f"{API}/summary", params={"counterparty_id": cid})).status_code == 200

    await eventually(known)
    return cid


async def recorded(crm: httpx.AsyncClient, cid: str, start: str, **fields: Any) -> dict[str, Any]:
    """A completed interaction that happened at ``start``, once the lists show it."""
    body = {"kind": "call", "direction": "outgoing", "subject": "Talked", "start": start, "counterparty_id": cid}
    response = await crm.post(API, json={**body, "state": "completed", "outcome": "Fine", **fields})
    assert response.status_code == 201, response.text
    await crm.get(response.headers["Location"], params={"min_position": response.headers[POSITION_HEADER]})
    return dict(response.json())


async def test_overdue_lists_the_planned_interactions_a_user_missed_oldest_first(
    embedded: EmbeddedCrm, crm: httpx.AsyncClient
) -> None:
    me = (await crm.get("/api/v1/me")).json()["id"]
    cid = await managed(crm, "Overdue Ltd", me)
    oldest = await planned(crm, cid, start=ago(days=3))
    joined = await planned(crm, cid, start=ago(days=1), responsible="ivan", participants=[me])
    await planned(crm, cid, start=ago(days=2), responsible="ivan")  # not mine
    await planned(crm, cid, start=(datetime.now(UTC) + timedelta(hours=2)).isoformat())  # not due yet
    await recorded(crm, cid, ago(days=2))  # done
    dropped = await planned(crm, cid, start=ago(hours=5))
    cancelled = await crm.post(f"{API}/{dropped['id']}/cancel", json={"reason": "Not needed"})
    assert cancelled.status_code == 200

    async def overdue() -> list[str] | None:
        answer = (await crm.get(f"{API}/overdue")).json()
        ids = [i["id"] for i in answer["items"]]
        return ids if dropped["id"] not in ids else None

    assert await eventually(overdue) == [oldest["id"], joined["id"]]
    ivan = (await crm.get(f"{API}/overdue", params={"user": "ivan"})).json()
    assert len(ivan["items"]) == 2 and ivan["user"] == "ivan" and not ivan["truncated"]
    one = (await crm.get(f"{API}/overdue", params={"limit": 1})).json()
    assert [i["id"] for i in one["items"]] == [oldest["id"]] and one["truncated"]
    earlier = (await crm.get(f"{API}/overdue", params={"before": ago(days=2)})).json()
    assert [i["id"] for i in earlier["items"]] == [oldest["id"]]

    # Someone who does not see the counterparty's access group does not learn of its interactions.
    north = await embedded.client_for(["sales_manager"], ["north"])
    assert (await north.get(f"{API}/overdue", params={"user": me})).json()["items"] == []
    await north.aclose()

    for params, field in (({"limit": 0}, "limit"), ({"before": "yesterday"}, "before"), ({"user": ""}, "user")):
        refused = await crm.get(f"{API}/overdue", params=params)
        assert refused.status_code == 422 and fields_of(refused) == [field], refused.text


async def test_last_contacts_show_which_counterparties_of_a_manager_went_quiet(
    embedded: EmbeddedCrm, crm: httpx.AsyncClient
) -> None:
    stamp = datetime.now(UTC).strftime("%H%M%S%f")
    body = {"username": f"mgr-{stamp}", "name": "Мениджър", "password": f"password-{stamp}"}
    manager = (await crm.post("/api/v1/users", json=body)).json()["id"]  # a user of the directory
    quiet = await managed(crm, "Quiet Ltd", manager)
    recent = await managed(crm, "Recent Ltd", manager)
    never = await managed(crm, "Never Ltd", manager)
    gone = await managed(crm, "Archived Ltd", manager)
    north = await managed(crm, "North Ltd", manager, group="north")
    await managed(crm, "Someone Else's Ltd", "maria")
    long_ago = await recorded(crm, quiet, ago(days=40))
    await recorded(crm, recent, ago(days=3))
    await planned(crm, never, start=ago(days=50))  # planned, never happened: not a contact
    archived = await crm.post(f"/api/v1/counterparties/{gone}/archive", json={"reason": "Closed"})
    assert archived.status_code == 200, archived.text

    async def listed(client: httpx.AsyncClient = crm, **params: Any) -> list[str] | None:
        answer = await client.get(f"{API}/last-contacts", params={"manager": manager, **params})
        assert answer.status_code == 200, answer.text
        ids = [c["counterparty_id"] for c in answer.json()["items"]]
        return ids if gone not in ids else None

    # Never contacted first (by name), then the longest ago.
    assert await eventually(listed) == [never, north, quiet, recent]
    assert await listed(quiet_days=30) == [never, north, quiet]
    answer = (await crm.get(f"{API}/last-contacts", params={"manager": manager, "quiet_days": 30})).json()
    by_id = {c["counterparty_id"]: c for c in answer["items"]}
    assert by_id[quiet]["counterparty_name"] == "Quiet Ltd" and by_id[never]["last_contact"] is None
    assert by_id[quiet]["last_interaction"]["id"] == long_ago["id"]
    assert datetime.fromisoformat(by_id[quiet]["last_contact"]) == datetime.fromisoformat(long_ago["start"])
    assert (answer["manager"], answer["quiet_days"], answer["truncated"]) == (manager, 30, False)
    cut = (await crm.get(f"{API}/last-contacts", params={"manager": manager, "limit": 2})).json()
    assert len(cut["items"]) == 2 and cut["truncated"]

    # The newest change in contacts first.
    renamed = await crm.patch(f"/api/v1/counterparties/{quiet}", json={"name": "Quiet Renamed Ltd"})
    assert renamed.status_code == 200

    async def changed_first() -> bool:
        items = (await crm.get(f"{API}/last-contacts", params={"manager": manager, "sort": "changed"})).json()["items"]
        return bool(items[0]["counterparty_name"] == "Quiet Renamed Ltd")

    assert await eventually(changed_first)

    # A manager who sees only the general group does not learn of the north counterparty.
    general = await embedded.client_for(["sales_manager"], ["general"])
    assert await listed(general) == [never, quiet, recent]
    await general.aclose()
    for params, field in (({"quiet_days": 0}, "quiet_days"), ({"sort": "size"}, "sort"), ({"limit": 501}, "limit")):
        refused = await crm.get(f"{API}/last-contacts", params=params)
        assert refused.status_code == 422 and fields_of(refused) == [field], refused.text


async def test_the_calendar_shows_completed_interactions_when_asked(crm: httpx.AsyncClient) -> None:
    me = (await crm.get("/api/v1/me")).json()["id"]
    cid = await managed(crm, "Calendar Ltd", me)
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=2)
    done = await recorded(crm, cid, (day + timedelta(hours=10)).isoformat())
    todo = await planned(crm, cid, start=(day + timedelta(hours=9)).isoformat())
    window = {"from": day.isoformat(), "to": (day + timedelta(days=1)).isoformat()}

    async def calendar(**params: Any) -> list[str] | None:
        ids = [i["id"] for i in (await crm.get(f"{API}/calendar", params={**window, **params})).json()["items"]]
        return ids or None

    assert await eventually(lambda: calendar(completed="true")) == [todo["id"], done["id"]]
    assert await calendar() == [todo["id"]]
