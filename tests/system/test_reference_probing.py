"""Every route that takes the id of another record answers an id the caller cannot see exactly as a
random id that names nothing (ADR 0009, issue 12): the same status, the same message shape, the same
field. Each case is sent twice by a sales manager of the access group ``north``, once with a record
of ``south`` (a counterparty, a contact person linked only there, an interaction with it) and once
with a fresh random id, and the answers must be equal once the id itself is blanked out."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from tests.system.conftest import EmbeddedCrm

pytestmark = pytest.mark.asyncio(loop_scope="module")


def later(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


@dataclass
class World:
    north: httpx.AsyncClient
    hidden: dict[str, str]
    """counterparty, person, interaction: records of south."""
    mine: dict[str, str]
    """counterparty, person, interaction (completed): records of north the caller works with."""


async def _eventually(attempt: Any, timeout: float = 20.0) -> httpx.Response:
    async with asyncio.timeout(timeout):
        while True:
            response = await attempt()
            if response.status_code < 400:
                return response  # type: ignore[no-any-return]
            await asyncio.sleep(0.05)


async def _counterparty(admin: httpx.AsyncClient, name: str, group: str) -> str:
    body = {"name": name, "relations": ["buyer"], "main_manager": "ivan", "access_group": group}
    created = await admin.post("/api/v1/counterparties", json=body)
    assert created.status_code == 201, created.text
    await admin.get("/api/v1/counterparties", params={"min_position": created.headers["X-Commit-Position"]})
    return str(created.json()["id"])


async def _person(admin: httpx.AsyncClient, last_name: str, counterparty_id: str) -> str:
    body = {"last_name": last_name, "links": [{"counterparty_id": counterparty_id}]}
    created = await admin.post("/api/v1/persons", json=body)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def _interaction(admin: httpx.AsyncClient, counterparty_id: str, person_id: str, **extra: Any) -> str:
    body = {
        "kind": "call",
        "direction": "outgoing",
        "subject": "Offer",
        "start": later(days=1),
        "counterparty_id": counterparty_id,
        "contact_person_id": person_id,
        **extra,
    }
    # Once the interactions service's local copy of contacts has the counterparty and the person.
    created = await _eventually(lambda: admin.post("/api/v1/interactions", json=body))
    return str(created.json()["id"])


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    crm = EmbeddedCrm(Path(tmp_path_factory.mktemp("probing")) / "var")
    admin = await crm.start()
    for code in ("north", "south"):
        await admin.post("/api/v1/access-groups", json={"code": code, "name": code.title()})
    south = await _counterparty(admin, "South Ltd", "south")
    mine = await _counterparty(admin, "North Ltd", "north")
    hidden_person = await _person(admin, "Southman", south)
    my_person = await _person(admin, "Northman", mine)
    hidden_interaction = await _interaction(admin, south, hidden_person)
    done = await _interaction(admin, mine, my_person, state="completed", start=later(days=-1), outcome="ok")
    north = await crm.client_for(["sales_manager"], ["north"])
    yield World(
        north,
        {"counterparty": south, "person": hidden_person, "interaction": hidden_interaction},
        {"counterparty": mine, "person": my_person, "interaction": done},
    )
    while crm.running:
        await crm.stop()


@dataclass(frozen=True)
class Case:
    """One reference: ``kind`` of record it names; method, path and body with ``{ref}`` for it and
    ``{counterparty}``, ``{person}``, ``{interaction}`` for the caller's own records."""

    kind: str
    method: str
    path: str
    body: Any = None

    def request(self, world: World, ref: str) -> tuple[str, Any]:
        values = {**world.mine, "ref": ref, "start": later(days=2)}

        def fill(text: str) -> str:
            for name, value in values.items():
                text = text.replace("{" + name + "}", value)
            return text

        return fill(self.path), None if self.body is None else json.loads(fill(json.dumps(self.body)))


def _plan(**fields: Any) -> dict[str, Any]:
    return {"kind": "call", "direction": "outgoing", "subject": "Probe", "start": "{start}", **fields}


CASES = {
    # contacts
    "register with head_counterparty_id": Case(
        "counterparty",
        "POST",
        "/api/v1/counterparties",
        {
            "name": "Probe",
            "relations": ["buyer"],
            "main_manager": "ivan",
            "access_group": "north",
            "head_counterparty_id": "{ref}",
        },
    ),
    "change head_counterparty_id": Case(
        "counterparty", "PATCH", "/api/v1/counterparties/{counterparty}", {"head_counterparty_id": "{ref}"}
    ),
    "card": Case("counterparty", "GET", "/api/v1/counterparties/{ref}"),
    "card as of": Case("counterparty", "GET", "/api/v1/counterparties/{ref}?as_of=2030-01-01T00:00:00Z"),
    "history": Case("counterparty", "GET", "/api/v1/counterparties/{ref}/history"),
    "change": Case("counterparty", "PATCH", "/api/v1/counterparties/{ref}", {"comment": "probe"}),
    "archive": Case("counterparty", "POST", "/api/v1/counterparties/{ref}/archive", {"reason": "probe"}),
    "record a source": Case("counterparty", "POST", "/api/v1/counterparties/{ref}/sources", {"source": "web"}),
    "merge target": Case(
        "counterparty", "POST", "/api/v1/counterparties/{counterparty}/merge", {"duplicate_id": "{ref}"}
    ),
    "merge survivor": Case(
        "counterparty", "POST", "/api/v1/counterparties/{ref}/merge", {"duplicate_id": "{counterparty}"}
    ),
    "persons of a counterparty": Case("counterparty", "GET", "/api/v1/counterparties/{ref}/persons"),
    "register a person linked": Case(
        "counterparty", "POST", "/api/v1/persons", {"last_name": "Probe", "links": [{"counterparty_id": "{ref}"}]}
    ),
    "link a person": Case("counterparty", "PUT", "/api/v1/persons/{person}/counterparties/{ref}", {"position": "x"}),
    "unlink a person": Case("counterparty", "DELETE", "/api/v1/persons/{person}/counterparties/{ref}"),
    "person card": Case("person", "GET", "/api/v1/persons/{ref}"),
    "person vcard": Case("person", "GET", "/api/v1/persons/{ref}/vcard"),
    "person change": Case("person", "PATCH", "/api/v1/persons/{ref}", {"description": "probe"}),
    # interactions
    "plan with counterparty_id": Case("counterparty", "POST", "/api/v1/interactions", _plan(counterparty_id="{ref}")),
    "plan with contact_person_id": Case(
        "person", "POST", "/api/v1/interactions", _plan(counterparty_id="{counterparty}", contact_person_id="{ref}")
    ),
    "plan with thread_id": Case(
        "interaction", "POST", "/api/v1/interactions", _plan(counterparty_id="{counterparty}", thread_id="{ref}")
    ),
    "plan with follow_up_of": Case(
        "interaction", "POST", "/api/v1/interactions", _plan(counterparty_id="{counterparty}", follow_up_of="{ref}")
    ),
    "plan with a basis": Case(
        "interaction",
        "POST",
        "/api/v1/interactions",
        _plan(counterparty_id="{counterparty}", basis={"type": "interaction", "id": "{ref}"}),
    ),
    "change counterparty_id": Case(
        "counterparty", "PATCH", "/api/v1/interactions/{interaction}", {"counterparty_id": "{ref}"}
    ),
    "change contact_person_id": Case(
        "person", "PATCH", "/api/v1/interactions/{interaction}", {"contact_person_id": "{ref}"}
    ),
    "follow up": Case("interaction", "POST", "/api/v1/interactions/{ref}/follow-up", {"start": "{start}"}),
    "interaction": Case("interaction", "GET", "/api/v1/interactions/{ref}"),
    "interaction history": Case("interaction", "GET", "/api/v1/interactions/{ref}/history"),
    "summary": Case("counterparty", "GET", "/api/v1/interactions/summary?counterparty_id={ref}"),
    "list by counterparty": Case("counterparty", "GET", "/api/v1/interactions?counterparty_id={ref}"),
    "list by contact person": Case("person", "GET", "/api/v1/interactions?contact_person_id={ref}"),
    "list by thread": Case("interaction", "GET", "/api/v1/interactions?thread_id={ref}"),
}

_VOLATILE = {"id", "thread_id", "start", "end", "created_at", "updated_at", "registered_at", "version", "reminder_at"}


def _answer(response: httpx.Response, ref: str) -> tuple[int, Any]:
    """What the caller can tell apart: the status and the body with the id blanked out (and, for an
    accepted request, without what every new record has of its own)."""
    text = response.text.replace(ref, "<ref>")
    try:
        body = json.loads(text)
    except json.JSONDecodeError:
        return response.status_code, text
    if response.status_code < 300 and isinstance(body, dict):
        body = {k: v for k, v in body.items() if k not in _VOLATILE}
    return response.status_code, body


@pytest.mark.parametrize("name", sorted(CASES))
async def test_a_hidden_reference_answers_as_a_random_one(world: World, name: str) -> None:
    case = CASES[name]
    answers = []
    for ref in (world.hidden[case.kind], str(uuid.uuid4())):
        path, body = case.request(world, ref)
        response = await world.north.request(case.method, path, json=body)
        assert response.status_code < 500, response.text
        answers.append(_answer(response, ref))
    hidden, random = answers
    assert hidden == random, f"{name}: hidden {hidden} != random {random}"
