"""Contact persons end to end in embedded mode: register, change, link, find, access, vCard, and the
personal-data routes (GDPR export, and erasure by crypto-shredding)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from crm_contacts.application.publishing import translate
from crm_contacts.domain import person as pe
from crm_contacts.projections import persons as view
from crm_shared.http import POSITION_HEADER

API = "/api/v1/persons"
CP = "/api/v1/counterparties"
SECRETS = ("Йорданка", "Фандъкова", "Стоянова", "1962-04-12", "+359888123456", "yordanka@example.com", "Обича кафе")


async def define(crm: httpx.AsyncClient, catalog: str, code: str, **attributes: str) -> None:
    answer = await crm.post(f"/api/v1/reference/{catalog}", json={"code": code, "name": code, "attributes": attributes})
    assert answer.status_code == 201, answer.text


@pytest.fixture
async def catalogs(crm: httpx.AsyncClient) -> None:
    """The contact kinds and roles the tests use."""
    await define(crm, "contact-kinds", "p-mobile", type="phone", applies_to="person")
    await define(crm, "contact-kinds", "p-email", type="email")
    await define(crm, "contact-kinds", "cp-office", type="address", applies_to="counterparty")
    await define(crm, "person-roles", "decider")


async def counterparty(crm: httpx.AsyncClient, name: str, group: str = "general") -> str:
    body = {"name": name, "relations": ["buyer"], "main_manager": "ivan", "access_group": group}
    created = await crm.post(CP, json=body)
    assert created.status_code == 201, created.text
    shown = await crm.get(created.headers["Location"], params={"min_position": created.headers[POSITION_HEADER]})
    assert shown.status_code == 200
    return str(created.json()["id"])


async def register(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    """Register a person and wait until the views show it; returns the card plus its position."""
    created = await client.post(API, json=fields)
    assert created.status_code == 201, created.text
    position = created.headers[POSITION_HEADER]
    shown = await client.get(created.headers["Location"], params={"min_position": position})
    assert shown.status_code == 200, shown.text
    return {**shown.json(), "position": position}


def yordanka(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "first_name": " Йорданка ",
        "middle_name": "Стоянова",
        "last_name": "Фандъкова",
        "birth_date": "1962-04-12",
        "birthday_reminder_days": 7,
        "gender": "female",
        "description": "Обича кафе",
        "contact_info": [
            {"kind": "p-mobile", "value": "0888 123 456"},
            {"kind": "p-email", "value": "yordanka@EXAMPLE.com", "comment": "лично"},
        ],
    }
    fields.update(overrides)
    return fields


def text_of(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


async def test_register_and_read_back_with_contacts_and_links(crm: httpx.AsyncClient, catalogs: None) -> None:
    cid = await counterparty(crm, "Ромашка ООД")
    created = await crm.post(
        API,
        json=yordanka(links=[{"counterparty_id": cid, "position": " Кмет ", "role": "decider"}]),
    )
    assert created.status_code == 201, created.text
    assert created.headers["ETag"] == '"1"'  # registered, then linked
    assert created.headers["Location"] == f"{API}/{created.json()['id']}"
    got = (await crm.get(created.headers["Location"], params={"min_position": created.headers[POSITION_HEADER]})).json()
    assert {k: got[k] for k in ("first_name", "middle_name", "last_name", "display_name", "birth_date", "gender")} == {
        "first_name": "Йорданка",
        "middle_name": "Стоянова",
        "last_name": "Фандъкова",
        "display_name": "Йорданка Стоянова Фандъкова",
        "birth_date": "1962-04-12",
        "gender": "female",
    }
    assert got["birthday_reminder_days"] == 7 and got["private"] is False and got["erased"] is False
    assert [(c["kind"], c["type"], c["value"], c["main"], c["comment"]) for c in got["contact_info"]] == [
        ("p-mobile", "phone", "+359888123456", True, None),
        ("p-email", "email", "yordanka@example.com", True, "лично"),
    ]
    assert got["links"] == [
        {"counterparty_id": cid, "counterparty_name": "Ромашка ООД", "position": "Кмет", "role": "decider"}
    ]
    of_counterparty = (await crm.get(f"{CP}/{cid}/persons")).json()
    assert [(i["person"]["id"], i["position"], i["role"]) for i in of_counterparty["items"]] == [
        (got["id"], "Кмет", "decider")
    ]


async def test_a_retried_registration_registers_once(crm: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": f"person-{uuid.uuid4()}"}
    first = await crm.post(API, json={"last_name": "Петров"}, headers=headers)
    again = await crm.post(API, json={"last_name": "Петров"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert first.headers[POSITION_HEADER] == again.headers[POSITION_HEADER]


TOMORROW = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"first_name": " ", "last_name": None}, "first_name"),
        ({"first_name": "я" * 101}, "first_name"),
        ({"middle_name": 5}, "middle_name"),
        ({"birth_date": "1990-13-01"}, "birth_date"),
        ({"birth_date": TOMORROW}, "birth_date"),
        ({"birth_date": "1899-12-31"}, "birth_date"),
        ({"birthday_reminder_days": 366}, "birthday_reminder_days"),
        ({"birthday_reminder_days": -1}, "birthday_reminder_days"),
        ({"gender": "other"}, "gender"),
        ({"description": "я" * 4001}, "description"),
        ({"contact_info": [{"kind": "p-mobile", "value": "12"}]}, "contact_info[0].value"),
        ({"contact_info": [{"kind": "p-email", "value": "not-an-address"}]}, "contact_info[0].value"),
        ({"contact_info": [{"kind": "fax", "value": "123"}]}, "contact_info[0].kind"),
        ({"contact_info": [{"kind": "cp-office", "value": "Sofia"}]}, "contact_info[0].kind"),
        ({"contact_info": [{"kind": "Mobile!", "value": "1"}]}, "contact_info.0.kind"),
        (
            {
                "contact_info": [
                    {"kind": "p-mobile", "value": "0888123456", "main": True},
                    {"kind": "p-mobile", "value": "0888999999", "main": True},
                ]
            },
            "contact_info",
        ),
        ({"links": [{"counterparty_id": str(uuid.uuid4())}]}, "links[0].counterparty_id"),
        ({"links": [{"counterparty_id": "bad id!"}]}, "links.0.counterparty_id"),
        ({"private": "maybe"}, "private"),
        ({"nickname": "Данчето"}, "nickname"),
    ],
)
async def test_bad_input_is_refused_naming_the_field(
    crm: httpx.AsyncClient, catalogs: None, fields: dict[str, Any], field: str
) -> None:
    body = {"first_name": "Мария", **fields}
    refused = await crm.post(API, json=body)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in refused.json()["errors"]]


async def test_an_unknown_role_is_refused_naming_the_link(crm: httpx.AsyncClient, catalogs: None) -> None:
    cid = await counterparty(crm, "Ролева АД")
    refused = await crm.post(API, json={"last_name": "Х", "links": [{"counterparty_id": cid, "role": "nobody"}]})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "links[0].role"
    person = await register(crm, last_name="Х")
    bad = await crm.put(f"{API}/{person['id']}/counterparties/{cid}", json={"role": "nobody"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "role"


async def test_each_change_is_an_event_with_who_and_when(crm: httpx.AsyncClient, catalogs: None) -> None:
    person = await register(crm, **yordanka())
    url = f"{API}/{person['id']}"
    same = await crm.patch(url, json={"first_name": "Йорданка", "gender": "female"})
    assert same.status_code == 200 and same.headers["ETag"] == '"0"'
    changed = await crm.patch(
        url,
        json={
            "middle_name": None,
            "birth_date": "1962-04-13",
            "birthday_reminder_days": None,
            "description": None,
            "contact_info": [{"kind": "p-email", "value": "y.f@example.com"}],
        },
        headers={"If-Match": '"0"'},
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["ETag"] == '"5"'
    body = changed.json()
    assert body["middle_name"] is None and body["birth_date"] == "1962-04-13" and body["description"] is None
    assert [c["value"] for c in body["contact_info"]] == ["y.f@example.com"]
    stale = await crm.patch(url, json={"first_name": "Дана"}, headers={"If-Match": '"0"'})
    assert stale.status_code == 412
    assert stale.json()["errors"][0]["field"] == "If-Match"

    history = (await crm.get(f"{url}/history")).json()["items"]
    assert [e["event"] for e in history] == [
        "PersonRegistered",
        "PersonRenamed",
        "PersonBirthDateChanged",
        "PersonBirthdayReminderChanged",
        "PersonDescriptionChanged",
        "PersonContactInfoSet",
    ]
    assert history[1]["changes"]["middle_name"] is None and history[1]["changes"]["first_name"] == "Йорданка"
    assert history[0]["changes"]["birth_date"] == "1962-04-12"
    assert all(e["actor"] and e["at"] and e["erased_fields"] == [] for e in history)

    before = history[0]["at"]
    past = await crm.get(url, params={"as_of": before})
    assert past.status_code == 200
    assert past.json()["middle_name"] == "Стоянова" and past.headers["ETag"] == '"0"'
    too_early = await crm.get(url, params={"as_of": "2000-01-01T00:00:00Z"})
    assert too_early.status_code == 404


async def test_link_change_and_unlink_a_counterparty(crm: httpx.AsyncClient, catalogs: None) -> None:
    cid = await counterparty(crm, "Връзки ЕООД")
    person = await register(crm, first_name="Георги")
    link = f"{API}/{person['id']}/counterparties/{cid}"
    linked = await crm.put(link, json={"position": "Счетоводител"})
    assert linked.status_code == 200
    changed = await crm.put(link, json={"position": "Главен счетоводител", "role": "decider"})
    assert changed.json()["links"][0]["position"] == "Главен счетоводител"
    listed = (await crm.get(f"{CP}/{cid}/persons", params={"min_position": changed.headers[POSITION_HEADER]})).json()
    assert [(i["person"]["first_name"], i["position"]) for i in listed["items"]] == [("Георги", "Главен счетоводител")]

    unlinked = await crm.delete(link)
    assert unlinked.status_code == 200 and unlinked.json()["links"] == []
    listed = (await crm.get(f"{CP}/{cid}/persons", params={"min_position": unlinked.headers[POSITION_HEADER]})).json()
    assert listed["items"] == []
    assert (await crm.delete(link)).status_code == 404
    assert (await crm.put(f"{API}/{person['id']}/counterparties/{uuid.uuid4()}", json={})).status_code == 404
    assert (await crm.get(f"{CP}/{uuid.uuid4()}/persons")).status_code == 404
    events = [e["event"] for e in (await crm.get(f"{API}/{person['id']}/history")).json()["items"]]
    assert events[1:] == [
        "PersonLinkedToCounterparty",
        "PersonCounterpartyLinkChanged",
        "PersonUnlinkedFromCounterparty",
    ]


async def test_search_by_name_prefix_in_any_case_and_page(crm: httpx.AsyncClient) -> None:
    last = {}
    for first, family in [
        ("Иван", "Петров"),
        ("Мария", "Иванова"),
        ("John", "Smith"),
        ("Анна", "Smirnova"),
        (None, "Борисов"),
    ]:
        last = await register(crm, first_name=first, last_name=family)
    position = last["position"]
    found = await crm.get(API, params={"q": "ИВАН", "min_position": position})
    # Found by the first name and by the last name, each person once, sorted by the name as it matched.
    assert [p["display_name"] for p in found.json()["items"]] == ["Иван Петров", "Мария Иванова"]
    assert [p["display_name"] for p in (await crm.get(API, params={"q": "smi"})).json()["items"]] == [
        "Анна Smirnova",
        "John Smith",
    ]
    assert [p["display_name"] for p in (await crm.get(API, params={"q": "john sm"})).json()["items"]] == ["John Smith"]

    names: list[str] = []
    cursor = None
    while True:
        page = (await crm.get(API, params={"limit": 2, **({"cursor": cursor} if cursor else {})})).json()
        names.extend(p["display_name"] for p in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert names == ["Анна Smirnova", "John Smith", "Борисов", "Мария Иванова", "Иван Петров"]
    bad = await crm.get(API, params={"cursor": "not-a-cursor"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "cursor"


async def test_a_private_person_is_seen_by_its_owner_only(embedded: Any, crm: httpx.AsyncClient) -> None:
    cid = await counterparty(crm, "Обща АД")
    owner = await embedded.client_for(["sales_manager"], ["general"])
    colleague = await embedded.client_for(["sales_manager"], ["general"])
    person = await register(
        owner, first_name="Тайна", last_name="Личност", private=True, links=[{"counterparty_id": cid}]
    )
    url = f"{API}/{person['id']}"
    assert person["private"] is True
    listed = await owner.get(API, params={"q": "тайна"})
    assert [p["id"] for p in listed.json()["items"]] == [person["id"]]
    assert [i["person"]["id"] for i in (await owner.get(f"{CP}/{cid}/persons")).json()["items"]] == [person["id"]]

    for other in (colleague, crm):  # another manager of the group, and even the administrator
        assert (await other.get(url)).status_code == 404
        assert (await other.get(url, params={"as_of": datetime.now(UTC).isoformat()})).status_code == 404
        assert (await other.get(f"{url}/history")).status_code == 404
        assert (await other.get(f"{url}/vcard")).status_code == 404
        assert (await other.patch(url, json={"first_name": "Разкрита"})).status_code == 404
        assert (await other.put(f"{url}/counterparties/{cid}", json={})).status_code == 404
        assert (await other.get(API, params={"q": "тайна"})).json()["items"] == []
        assert (await other.get(f"{CP}/{cid}/persons")).json()["items"] == []
    # The personal-data routes are for administrators, private persons included.
    exported = await crm.get(f"{url}/personal-data")
    assert exported.status_code == 200 and exported.json()["card"]["first_name"] == "Тайна"

    shared = await owner.patch(url, json={"private": False})
    assert shared.status_code == 200
    assert (await colleague.get(url, params={"min_position": shared.headers[POSITION_HEADER]})).status_code == 200
    refused = await colleague.patch(url, json={"private": True})
    assert refused.status_code == 403 and refused.json()["errors"][0]["field"] == "private"


async def test_persons_follow_the_access_groups_of_their_counterparties(embedded: Any, crm: httpx.AsyncClient) -> None:
    south = await counterparty(crm, "Южна АД", "south")
    north = await counterparty(crm, "Северна АД", "north")
    southern = await register(crm, last_name="Южняков", links=[{"counterparty_id": south}])
    both = await register(crm, last_name="Двоен", links=[{"counterparty_id": south}, {"counterparty_id": north}])
    free = await register(crm, last_name="Свободен")
    manager = await embedded.client_for(["sales_manager"], ["north"])

    assert (await manager.get(f"{API}/{southern['id']}")).status_code == 404
    assert (await manager.get(f"{API}/{southern['id']}/history")).status_code == 404
    assert (await manager.patch(f"{API}/{southern['id']}", json={"first_name": "Х"})).status_code == 404
    assert (await manager.get(f"{CP}/{south}/persons")).status_code == 404
    seen = (await manager.get(f"{API}/{both['id']}")).json()
    assert [x["counterparty_id"] for x in seen["links"]] == [north]  # the southern link stays hidden
    history = (await manager.get(f"{API}/{both['id']}/history")).json()["items"]
    assert [e["changes"].get("counterparty_id") for e in history] == [None, north]
    assert (await manager.get(f"{API}/{free['id']}")).status_code == 200
    everyone = (await manager.get(API, params={"limit": 500})).json()["items"]
    assert {p["last_name"] for p in everyone} == {"Двоен", "Свободен"}
    # Linking to a counterparty the manager cannot see is as if it did not exist.
    assert (await manager.put(f"{API}/{free['id']}/counterparties/{south}", json={})).status_code == 404

    head = await embedded.client_for(["head_of_sales"])
    assert (await head.get(f"{API}/{southern['id']}")).status_code == 200
    assert len((await head.get(API, params={"limit": 500})).json()["items"]) == 3


async def test_anonymous_callers_get_401_and_read_only_users_cannot_write(
    embedded: Any, crm: httpx.AsyncClient
) -> None:
    person = await register(crm, first_name="Четим")
    url = f"{API}/{person['id']}"
    anonymous = embedded.anonymous()
    for path in (API, url, f"{url}/history", f"{url}/vcard", f"{url}/personal-data"):
        assert (await anonymous.get(path)).status_code == 401
    reader = await embedded.client_for(["read_only"], ["general"])
    assert (await reader.get(url)).status_code == 200
    assert (await reader.post(API, json={"first_name": "Нов"})).status_code == 403
    assert (await reader.patch(url, json={"first_name": "Друг"})).status_code == 403
    cid = await counterparty(crm, "Само за четене ООД")
    assert (await reader.put(f"{url}/counterparties/{cid}", json={})).status_code == 403
    manager = await embedded.client_for(["sales_manager"], ["general"])
    for client in (reader, manager):
        assert (await client.get(f"{url}/personal-data")).status_code == 403
        assert (await client.post(f"{url}/erase", json={"reason": "GDPR-1"})).status_code == 403


async def test_vcard_is_escaped_and_folded(crm: httpx.AsyncClient, catalogs: None) -> None:
    cid = await counterparty(crm, "Ромашка, Лайка & Co; ООД")
    description = "Ред едно; с точка и запетая, запетая\\наклонена\nРед две " + "дълго " * 30
    person = await register(
        crm,
        **yordanka(description=description, links=[{"counterparty_id": cid, "position": "Кмет", "role": "decider"}]),
    )
    answer = await crm.get(f"{API}/{person['id']}/vcard")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/vcard")
    assert "attachment" in answer.headers["content-disposition"]
    raw = answer.content
    assert raw.startswith(b"BEGIN:VCARD\r\nVERSION:4.0\r\n") and raw.endswith(b"END:VCARD\r\n")
    physical = raw.split(b"\r\n")[:-1]
    assert all(len(line) <= 75 for line in physical)
    assert all(line.decode() for line in physical)  # no line splits a UTF-8 character
    assert any(line.startswith(b" ") for line in physical)  # the long NOTE was folded
    unfolded = raw.decode().replace("\r\n ", "").split("\r\n")
    assert "FN:Йорданка Стоянова Фандъкова" in unfolded
    assert "N:Фандъкова;Йорданка;Стоянова;;" in unfolded
    assert "BDAY:19620412" in unfolded and "GENDER:F" in unfolded
    assert "TEL;VALUE=uri;PREF=1;TYPE=p-mobile:tel:+359888123456" in unfolded
    assert "ORG:Ромашка\\, Лайка & Co\\; ООД" in unfolded and "TITLE:Кмет" in unfolded
    note = "NOTE:Ред едно\\; с точка и запетая\\, запетая\\\\наклонена\\nРед две " + "дълго " * 29 + "дълго"
    assert note in unfolded


async def test_export_holds_everything_and_erasure_shreds_it_everywhere(
    embedded: Any, crm: httpx.AsyncClient, catalogs: None
) -> None:
    cid = await counterparty(crm, "Столична община")
    person = await register(crm, **yordanka(links=[{"counterparty_id": cid, "position": "Кмет"}]))
    keeper = await register(crm, first_name="Йордан", last_name="Запазен")
    url = f"{API}/{person['id']}"
    renamed = await crm.patch(url, json={"last_name": "Фандъкова-Стоянова"})
    assert renamed.status_code == 200
    before_erasure = datetime.now(UTC).isoformat()

    exported = await crm.get(f"{url}/personal-data")
    assert exported.status_code == 200
    data = exported.json()
    assert data["personal_data_readable"] is True and data["exported_by"]
    assert data["card"]["last_name"] == "Фандъкова-Стоянова" and data["card"]["birth_date"] == "1962-04-12"
    assert data["links"] == [{"counterparty_id": cid, "counterparty_name": None, "position": "Кмет", "role": None}]
    assert [e["event"] for e in data["events"]] == ["PersonRegistered", "PersonLinkedToCounterparty", "PersonRenamed"]
    assert all(secret in text_of(data) for secret in SECRETS)
    assert all(e["actor"] for e in data["events"])

    erased = await crm.post(f"{url}/erase", json={"reason": "GDPR request 2026-17"})
    assert erased.status_code == 200, erased.text
    position = erased.headers[POSITION_HEADER]
    card = (await crm.get(url, params={"min_position": position})).json()
    assert card["erased"] is True and card["erased_at"]
    assert all(
        card[f] is None for f in ("first_name", "middle_name", "last_name", "birth_date", "gender", "description")
    )
    assert card["display_name"] == ""
    assert [(c["kind"], c["value"]) for c in card["contact_info"]] == [("p-mobile", None), ("p-email", None)]
    # Non-personal facts stay; the position at the counterparty is personal (ADR 15) and goes too.
    assert card["links"][0]["counterparty_id"] == cid and card["links"][0]["position"] is None

    def shredded(value: Any) -> None:
        text = text_of(value)
        assert not [s for s in SECRETS if s in text]

    history = (await crm.get(f"{url}/history")).json()["items"]
    shredded(history)
    assert [e["event"] for e in history][-1] == "PersonErased"
    assert history[-1]["changes"]["reason"] == "GDPR request 2026-17"
    assert "first_name" in history[0]["erased_fields"] and "contact_info[0].value" in history[0]["erased_fields"]
    assert all(e["actor"] and e["at"] for e in history)
    past = (await crm.get(url, params={"as_of": before_erasure})).json()
    shredded(past)
    assert past["erased"] is True and past["links"][0]["counterparty_id"] == cid
    assert (await crm.get(API, params={"q": "йорданка"})).json()["items"] == []
    assert (await crm.get(API, params={"q": "фанд"})).json()["items"] == []
    assert [p["id"] for p in (await crm.get(API, params={"q": "йорд"})).json()["items"]] == [keeper["id"]]
    linked = (await crm.get(f"{CP}/{cid}/persons")).json()["items"]
    assert [(i["person"]["id"], i["person"]["erased"]) for i in linked] == [(person["id"], True)]
    shredded(linked)
    assert (await crm.get(f"{url}/vcard")).status_code == 410
    after = (await crm.get(f"{url}/personal-data")).json()
    shredded(after)
    assert after["personal_data_readable"] is False and len(after["events"]) == 4
    assert (await crm.patch(url, json={"first_name": "Отново"})).status_code == 410
    again = await crm.post(f"{url}/erase", json={"reason": "again"})
    assert again.status_code == 200 and again.headers["ETag"] == erased.headers["ETag"]

    # Nothing anywhere in the stores: the event log, the key store, the view — also rebuilt from the log.
    service = embedded.app.state.contacts
    stored = await service.store.read_stream(pe.stream_of(person["id"]))
    shredded([e.data for e in stored])
    assert await service.persons.keys.key_of(person["id"]) is None
    runner = service.persons.runner
    for base in [*runner.projection.collections, f"{runner.projection.name}_streams"]:
        await service.views.drop(runner.collection(base))
    await runner.catch_up(service.store, translate, after=0)
    shredded(await service.views.get(runner.collection(view.COLLECTION), person["id"]))
    rebuilt = (await crm.get(url)).json()
    shredded(rebuilt)
    assert rebuilt["erased"] is True and rebuilt["links"][0]["counterparty_id"] == cid
    assert [p["id"] for p in (await crm.get(API, params={"q": "йорд"})).json()["items"]] == [keeper["id"]]
    assert (await crm.get(f"{API}/{keeper['id']}")).json()["first_name"] == "Йордан"


# -- properties and categories ----------------------------------------------------------------------


async def define_entry(crm: httpx.AsyncClient, catalog: str, code: str, **attributes: Any) -> None:
    answer = await crm.post(f"/api/v1/reference/{catalog}", json={"code": code, "name": code, "attributes": attributes})
    assert answer.status_code == 201, answer.text


@pytest.fixture
async def classification(crm: httpx.AsyncClient) -> None:
    """Properties and categories for persons, for both, and for counterparties only."""
    await define_entry(
        crm, "properties", "p-level", value_type="choice", choices=["gold", "Silver"], applies_to="person"
    )
    await define_entry(crm, "properties", "p-staff", value_type="number")
    await define_entry(crm, "properties", "p-vip", value_type="boolean", applies_to="both")
    await define_entry(crm, "properties", "p-since", value_type="date", applies_to="person")
    await define_entry(crm, "properties", "p-note", value_type="string", applies_to="person")
    await define_entry(crm, "properties", "cp-size", value_type="string", applies_to="counterparty")
    await define_entry(crm, "categories", "pc-key", applies_to="person")
    await define_entry(crm, "categories", "pc-both")
    await define_entry(crm, "categories", "cp-only", applies_to="counterparty")


async def test_properties_and_categories_are_set_merged_removed_and_shown_everywhere(
    crm: httpx.AsyncClient, classification: None
) -> None:
    created = await crm.post(
        API,
        json={
            "last_name": "Класифициран",
            "properties": {"p-level": "gold", "p-staff": 12, "p-note": None},
            "categories": ["pc-key", "pc-both", "pc-key"],
        },
    )
    assert created.status_code == 201, created.text
    assert created.headers["ETag"] == '"2"'  # registered, properties, categories
    assert created.json()["properties"] == {"p-level": "gold", "p-staff": 12}
    url = created.headers["Location"]
    shown = (await crm.get(url, params={"min_position": created.headers[POSITION_HEADER]})).json()
    assert shown["properties"] == {"p-level": "gold", "p-staff": 12} and shown["categories"] == ["pc-key", "pc-both"]
    registered_at = datetime.now(UTC).isoformat()

    same = await crm.patch(url, json={"properties": {"p-level": "gold"}, "categories": ["pc-key", "pc-both"]})
    assert same.status_code == 200 and same.headers["ETag"] == '"2"'
    merged = await crm.patch(
        url, json={"properties": {"p-staff": None, "p-vip": True, "p-since": "2020-02-29"}, "categories": ["pc-both"]}
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["properties"] == {"p-level": "gold", "p-vip": True, "p-since": "2020-02-29"}
    assert merged.json()["categories"] == ["pc-both"]
    cleared = await crm.patch(url, json={"categories": []})
    assert cleared.json()["categories"] == [] and cleared.json()["properties"]["p-level"] == "gold"
    got = (await crm.get(url, params={"min_position": cleared.headers[POSITION_HEADER]})).json()
    assert got["categories"] == [] and got["properties"] == merged.json()["properties"]

    history = (await crm.get(f"{url}/history")).json()["items"]
    assert [(e["event"], e["changes"]) for e in history[1:]] == [
        ("PersonPropertiesChanged", {"values": {"p-level": "gold", "p-staff": 12}}),
        ("PersonCategoriesChanged", {"categories": ["pc-key", "pc-both"]}),
        ("PersonPropertiesChanged", {"values": {"p-level": "gold", "p-vip": True, "p-since": "2020-02-29"}}),
        ("PersonCategoriesChanged", {"categories": ["pc-both"]}),
        ("PersonCategoriesChanged", {"categories": []}),
    ]
    past = (await crm.get(url, params={"as_of": registered_at})).json()
    assert past["properties"] == {"p-level": "gold", "p-staff": 12} and past["categories"] == ["pc-key", "pc-both"]
    exported = (await crm.get(f"{url}/personal-data")).json()
    assert exported["card"]["properties"] == got["properties"]
    assert [e["event"] for e in exported["events"]].count("PersonCategoriesChanged") == 3

    # Not personal data: an erasure keeps them.
    erased = await crm.post(f"{url}/erase", json={"reason": "GDPR-9"})
    assert erased.json()["properties"] == got["properties"]
    after = (await crm.get(url, params={"min_position": erased.headers[POSITION_HEADER]})).json()
    assert after["erased"] is True and after["properties"] == got["properties"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"properties": {"p-staff": "many"}}, "properties.p-staff"),
        ({"properties": {"p-level": "bronze"}}, "properties.p-level"),
        ({"properties": {"p-since": "2021-02-29"}}, "properties.p-since"),
        ({"properties": {"p-vip": "yes"}}, "properties.p-vip"),
        ({"properties": {"p-note": 5}}, "properties.p-note"),
        ({"properties": {"nothing-such": "x"}}, "properties.nothing-such"),
        ({"properties": {"cp-size": "large"}}, "properties.cp-size"),
        ({"categories": ["pc-key", "nothing-such"]}, "categories[1]"),
        ({"categories": ["cp-only"]}, "categories[0]"),
        ({"categories": ["Not a code!"]}, "categories.0"),
        ({"categories": "pc-key"}, "categories"),
        ({"properties": ["p-staff"]}, "properties"),
    ],
)
async def test_bad_properties_and_categories_are_refused_naming_the_field(
    crm: httpx.AsyncClient, classification: None, fields: dict[str, Any], field: str
) -> None:
    refused = await crm.post(API, json={"last_name": "Грешков", **fields})
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in refused.json()["errors"]]


async def test_a_change_to_a_category_or_property_not_for_persons_is_refused(
    crm: httpx.AsyncClient, classification: None
) -> None:
    person = await register(crm, last_name="Промянов", categories=["pc-key"])
    url = f"{API}/{person['id']}"
    refused = await crm.patch(url, json={"categories": ["pc-key", "cp-only"]})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "categories[1]"
    refused = await crm.patch(url, json={"properties": {"cp-size": "large"}})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "properties.cp-size"
    removed = await crm.patch(url, json={"properties": {"cp-size": None}})  # removing needs no definition
    assert removed.status_code == 200 and removed.headers["ETag"] == '"1"'  # nothing changed
    assert (await crm.get(url)).json()["categories"] == ["pc-key"]


async def test_the_list_filters_by_category_or_property_with_the_name_search(
    embedded: Any, crm: httpx.AsyncClient, classification: None
) -> None:
    south = await counterparty(crm, "Южна Класа АД", "south")
    ivan = await register(crm, first_name="Иван", last_name="Петров", categories=["pc-key"], properties={"p-vip": True})
    maria = await register(
        crm, first_name="Мария", last_name="Иванова", categories=["pc-key", "pc-both"], properties={"p-level": "Silver"}
    )
    await register(crm, first_name="Иво", last_name="Без", properties={"p-level": "gold"})
    last = await register(
        crm, first_name="Анна", last_name="Южна", categories=["pc-key"], links=[{"counterparty_id": south}]
    )
    position = last["position"]

    async def names(client: httpx.AsyncClient = crm, **params: Any) -> list[str]:
        answer = await client.get(API, params={"min_position": position, **params})
        assert answer.status_code == 200, answer.text
        return [p["display_name"] for p in answer.json()["items"]]

    assert await names(category="pc-key") == ["Мария Иванова", "Иван Петров", "Анна Южна"]
    assert await names(category="pc-both") == ["Мария Иванова"]
    assert await names(category="cp-only") == []
    assert await names(**{"property.p-level": "SILVER"}) == ["Мария Иванова"]
    assert await names(**{"property.p-vip": "true"}) == ["Иван Петров"]
    # Combined with the name search: found by the first or the last name, each person once.
    assert await names(category="pc-key", q="иван") == ["Иван Петров", "Мария Иванова"]
    assert await names(q="ив", **{"property.p-level": "gold"}) == ["Иво Без"]
    page = (await crm.get(API, params={"category": "pc-key", "limit": 2})).json()
    rest = (await crm.get(API, params={"category": "pc-key", "cursor": page["next_cursor"]})).json()
    assert [p["display_name"] for p in page["items"] + rest["items"]] == await names(category="pc-key")
    two = await crm.get(API, params={"category": "pc-key", "property.p-vip": "true"})
    assert two.status_code == 422 and two.json()["errors"][0]["field"] == "property.p-vip"

    # The filter follows changes, and the persons' visibility.
    changed = await crm.patch(f"{API}/{ivan['id']}", json={"categories": [], "properties": {"p-vip": None}})
    position = changed.headers[POSITION_HEADER]
    assert await names(category="pc-key") == ["Мария Иванова", "Анна Южна"]
    assert await names(**{"property.p-vip": "true"}) == []
    northern = await embedded.client_for(["sales_manager"], ["north"])
    assert await names(northern, category="pc-key") == ["Мария Иванова"]
    private = await crm.patch(f"{API}/{maria['id']}", json={"private": True})
    position = private.headers[POSITION_HEADER]
    assert await names(northern, category="pc-key") == []
    assert await names(category="pc-key") == ["Мария Иванова", "Анна Южна"]  # its owner still finds it

    # A rebuilt view filters alike.
    service = embedded.app.state.contacts
    runner = service.persons.runner
    for base in [*runner.projection.collections, f"{runner.projection.name}_streams"]:
        await service.views.drop(runner.collection(base))
    await runner.catch_up(service.store, translate, after=0)
    assert await names(category="pc-key") == ["Мария Иванова", "Анна Южна"]
    assert await names(category="pc-key", q="южна") == ["Анна Южна"]
