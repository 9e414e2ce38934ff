"""The analytics API on the embedded adapters: batches of trade facts (idempotent, corrections replace,
bad input 422 naming the row and the field), the CSV import job (progress, rejected rows, cancel), and
the ABC route (paging, parameters, roles)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from crm_analytics.bootstrap import AnalyticsService
from crm_shared.bus import Message
from crm_shared.contracts.contacts import counterparty as cp
from crm_shared.identity import CALLER_HEADER, CallerTokens, caller_of

from .test_crm_events import message, registered

TOKENS = CallerTokens(b"0123456789abcdef0123456789abcdef")
ABC = "/api/v1/analytics/abc"
FACTS = "/api/v1/analytics/trade-facts"


def client(app: FastAPI, role: str = "administrator", user: str = "ana") -> httpx.AsyncClient:
    token = TOKENS.issue(caller_of(user, [role], ["general"]))  # type: ignore[list-item]
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://crm", headers={CALLER_HEADER: token}
    )


def codes(cid: str, *erp: str) -> Message:
    changed = cp.CounterpartyExternalCodesChanged(
        counterparty_id=cid, external_codes=[cp.ExternalCode(system="erp", code=c) for c in erp]
    )
    return message(changed, datetime.now(UTC))


def sale(n: int | str, customer: str, revenue: str, **extra: Any) -> dict[str, Any]:
    return {"id": f"S-{n}", "date": "2026-02-10", "customer": customer, "quantity": "1", "revenue": revenue, **extra}


async def abc(http: httpx.AsyncClient, **params: str) -> dict[str, Any]:
    answer = await http.get(ABC, params={"from": "2026-01-01", "to": "2026-03-31", **params})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_a_fact_sent_again_counts_once_and_a_correction_replaces_it(app: FastAPI) -> None:
    async with client(app) as http:
        batch = {"facts": [sale(1, "C1", "100.00"), sale(2, "C2", "50.00"), sale(3, "C2", "25.00", kind="return")]}
        for _ in range(2):  # redelivered
            answer = await http.post(FACTS, json=batch)
            assert answer.status_code == 200, answer.text
            assert answer.json() == {"recorded": 3}
        body = await abc(http)
        assert body["total"] == "125.00"
        assert [(r["customer"], r["value"], r["class"]) for r in body["rows"]] == [
            ("C1", "100.00", "A"),
            ("C2", "25.00", "B"),
        ]
        # A corrected fact replaces the one before: S-1 moves to another customer and amount, S-2 out
        # of the period, and within one batch the later of two facts with one id wins.
        corrected = [
            sale(1, "C3", "10.00"),
            sale(2, "C2", "50.00", date="2025-12-31"),
            sale(4, "C4", "1.00"),
            sale(4, "C4", "7.50"),
        ]
        assert (await http.post(FACTS, json={"facts": corrected})).status_code == 200
        body = await abc(http)
        # C1 has no fact left (its only one now belongs to C3): no longer a customer.
        assert {r["customer"]: r["value"] for r in body["rows"]} == {
            "C2": "-25.00",
            "C3": "10.00",
            "C4": "7.50",
        }
        assert body["total"] == "-7.50"
        assert {r["class"] for r in body["rows"]} == {"C"}
        assert all(r["cumulative_share"] is None for r in body["rows"])


@pytest.mark.parametrize(
    ("fact", "field"),
    [
        ({"revenue": 100.5}, "facts.1.revenue"),  # a JSON number: never a float
        ({"revenue": "100.555"}, "facts.1.revenue"),
        ({"revenue": "-1.00"}, "facts.1.revenue"),
        ({"quantity": "1e2"}, "facts.1.quantity"),
        ({"cost": "NaN"}, "facts.1.cost"),
        ({"date": "2026-02-30"}, "facts.1.date"),
        ({"date": "1900-01-01"}, "facts.1.date"),
        ({"date": 20260210}, "facts.1.date"),
        ({"kind": "refund"}, "facts.1.kind"),
        ({"customer": ""}, "facts.1.customer"),
        ({"customer": "C\u0000"}, "facts.1.customer"),
        ({"id": "x" * 101}, "facts.1.id"),
        ({"currency": "euro"}, "facts.1.currency"),
        ({"colour": "red"}, "facts.1.colour"),
    ],
)
async def test_bad_input_is_422_naming_the_row_and_the_field(app: FastAPI, fact: dict[str, Any], field: str) -> None:
    async with client(app) as http:
        answer = await http.post(FACTS, json={"facts": [sale(1, "C1", "1.00"), {**sale(2, "C1", "1.00"), **fact}]})
        assert answer.status_code == 422, answer.text
        assert field in [e["field"] for e in answer.json()["errors"]]


async def test_batch_limits_and_missing_fields(app: FastAPI) -> None:
    async with client(app) as http:
        for body, field in (
            ({"facts": []}, "facts"),
            ({}, "facts"),
            ({"facts": [{"id": "S-1"}]}, "facts.0.date"),
            ({"facts": [sale(n, "C", "1") for n in range(5001)]}, "facts"),
        ):
            answer = await http.post(FACTS, json=body)
            assert answer.status_code in (413, 422), answer.text
            if answer.status_code == 422:
                assert field in [e["field"] for e in answer.json()["errors"]]
        # A batch with one wrong fact records none of them.
        bad = await http.post(FACTS, json={"facts": [sale(1, "C1", "1.00"), sale(2, "C1", "1.001")]})
        assert bad.status_code == 422
        assert (await abc(http))["customers"] == 0


async def test_abc_parameters_are_checked(app: FastAPI) -> None:
    async with client(app) as http:
        for params, field in (
            ({"shares": "70/20/20"}, "shares"),
            ({"shares": "70-20-10"}, "shares"),
            ({"by": "margin"}, "by"),
            ({"from": "2026-04-01"}, "to"),
            ({"from": "01.01.2026"}, "from"),
            ({"limit": "0"}, "limit"),
            ({"currency": "eur"}, "currency"),
            ({"currency": "BGN"}, "currency"),  # only the reporting currency
        ):
            answer = await http.get(ABC, params={"from": "2026-01-01", "to": "2026-03-31", **params})
            assert answer.status_code == 422, (params, answer.text)
            assert field in [e["field"] for e in answer.json()["errors"]], (params, answer.text)
        answer = await http.get(ABC, params={"from": "2026-01-01", "to": "2026-03-31", "cursor": "bm9wZQ"})
        assert answer.status_code == 400


async def test_abc_pages_in_place_order_with_its_parameters(app: FastAPI) -> None:
    async with client(app) as http:
        facts = [
            sale(n, f"K{n:02d}", f"{n}.00", cost="0.50", currency="BGN" if n == 20 else "EUR") for n in range(1, 21)
        ]
        assert (await http.post(FACTS, json={"facts": facts})).status_code == 200
        seen: list[dict[str, Any]] = []
        params = {"by": "profit", "shares": "80/15/5", "limit": "7"}
        body = await abc(http, **params)
        while True:
            seen += body["rows"]
            if body["next_cursor"] is None:
                break
            body = await abc(http, **params, cursor=body["next_cursor"])
        assert [r["place"] for r in seen] == list(range(1, 21))
        # K20 has facts only in BGN (no rate): known, with value 0, last.
        assert [r["customer"] for r in seen] == [*(f"K{n:02d}" for n in range(19, 0, -1)), "K20"]
        assert seen[0]["value"] == "18.50" and seen[0]["counterparty_id"] is None
        assert body["by"] == "profit" and body["shares"] == "80/15/5" and body["currency"] == "EUR"
        assert body["from"] == "2026-01-01" and body["to"] == "2026-03-31"
        # No BGN rate: K20's fact is left out and reported with its date.
        assert body["without_rate"] == [{"currency": "BGN", "facts": 1, "earliest": "2026-02-10"}]
        assert body["customers"] == 20  # K20 (only BGN facts) is known, with value 0
        assert sum(c["customers"] for c in body["classes"].values()) == 20
        assert (await abc(http, by="profit", currency="EUR"))["total"] == body["total"]


@pytest.mark.parametrize("role", ["sales_manager", "read_only"])
async def test_roles_that_do_not_see_the_whole_see_their_groups_rows_and_send_no_facts(
    app: FastAPI, service: AnalyticsService, role: str
) -> None:
    async with client(app) as http:
        facts = [sale(1, "G1", "600.00"), sale(2, "G2", "300.00"), sale(3, "S1", "1000.00"), sale(4, "X9", "50.00")]
        assert (await http.post(FACTS, json={"facts": facts})).status_code == 200
        whole = await abc(http)
    # G1, G2 are counterparties of the caller's group; S1 of another; X9 is carried by none.
    await service.events.handle(
        [
            registered("g-1", "ana", group="general"),
            registered("g-2", "ana", group="general"),
            registered("s-1", "ana", group="south"),
            *(codes(c, k) for c, k in (("g-1", "G1"), ("g-2", "G2"), ("s-1", "S1"))),
        ]
    )
    async with client(app, role) as http:
        mine = await abc(http)
        assert [(r["customer"], r["counterparty_id"]) for r in mine["rows"]] == [("G1", "g-1"), ("G2", "g-2")]
        # Places among their rows: S1 (place 1 among everybody) leaves no gap that would tell it exists.
        assert [r["place"] for r in whole["rows"] if r["customer"] in ("G1", "G2")] == [2, 3]
        assert [r["place"] for r in mine["rows"]] == [1, 2]
        assert [r["manager"] for r in mine["rows"]] == ["ana", "ana"]  # the counterparty's main manager
        classes = {r["customer"]: r["class"] for r in whole["rows"]}
        assert [r["class"] for r in mine["rows"]] == [classes["G1"], classes["G2"]]  # classes among everybody
        # Cumulative values and totals of their rows only: nothing of the others' revenue shows.
        assert [(r["value"], r["cumulative_value"]) for r in mine["rows"]] == [
            ("600.00", "900.00"),
            ("300.00", "300.00"),
        ]
        assert (mine["total"], mine["customers"]) == ("900.00", 2)
        assert (await http.post(FACTS, json={"facts": [sale(1, "C", "1")]})).status_code == 403
        upload = await http.post(
            "/api/v1/analytics/imports/trade-facts", content=b"id\n", headers={"content-type": "text/csv"}
        )
        assert upload.status_code == 403
        assert (await http.get("/api/v1/analytics/abc/unlinked")).status_code == 403
    async with client(app, "marketer") as http:
        everybody = await abc(http)
        # The whole: the rule's own places, each row with its counterparty and main manager, page by page.
        assert [(r["place"], r["customer"], r["counterparty_id"], r["manager"]) for r in everybody["rows"]] == [
            (1, "S1", "s-1", "ana"),
            (2, "G1", "g-1", "ana"),
            (3, "G2", "g-2", "ana"),
            (4, "X9", None, None),
        ]
        first = await abc(http, limit="3")
        second = await abc(http, limit="3", cursor=first["next_cursor"])
        assert first["rows"] + second["rows"] == everybody["rows"] and second["next_cursor"] is None
        assert first["classes"] == second["classes"] == everybody["classes"]
        assert (await http.post(FACTS, json={"facts": [sale(1, "C", "1")]})).status_code == 403


async def test_a_caller_with_no_role_gets_403(app: FastAPI) -> None:
    token = TOKENS.issue(caller_of("nobody", [], []))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://crm", headers={CALLER_HEADER: token}
    ) as http:
        assert (await http.get(ABC, params={"from": "2026-01-01", "to": "2026-03-31"})).status_code == 403


async def test_as_of_a_moment_the_report_is_what_the_crm_knew_then(app: FastAPI, service: AnalyticsService) -> None:
    async with client(app) as http:
        assert (
            await http.post(FACTS, json={"facts": [sale(1, "K1", "100.00"), sale(2, "K2", "50.00")]})
        ).status_code == 200
        before = datetime.now(UTC)
        await asyncio.sleep(0.01)
        # Later: K1 corrected, K3 arrives, and K1 is linked to a counterparty.
        assert (
            await http.post(FACTS, json={"facts": [sale(1, "K1", "10.00"), sale(3, "K3", "70.00")]})
        ).status_code == 200
        await service.events.handle([registered("k-1", "ana"), codes("k-1", "K1")])
        then = await abc(http, as_of=before.isoformat())
        now = await abc(http)
        assert await abc(http, as_of=before.isoformat()) == then  # the same question, the same answer
        assert [(r["customer"], r["value"], r["counterparty_id"]) for r in then["rows"]] == [
            ("K1", "100.00", None),
            ("K2", "50.00", None),
        ]
        assert [(r["customer"], r["value"], r["counterparty_id"]) for r in now["rows"]] == [
            ("K3", "70.00", None),
            ("K2", "50.00", None),
            ("K1", "10.00", "k-1"),
        ]
        for wrong in ("2026-03-01T00:00:00", "1969-12-31T23:00:00Z", "yesterday"):
            refused = await http.get(ABC, params={"from": "2026-01-01", "to": "2026-03-31", "as_of": wrong})
            assert refused.status_code == 422, wrong
            assert "as_of" in refused.text


async def test_no_caller_token_is_401(app: FastAPI) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://crm") as http:
        assert (await http.get(ABC, params={"from": "2026-01-01", "to": "2026-03-31"})).status_code == 401
        assert (await http.get("/api/v1/analytics")).status_code == 401
    async with client(app, "read_only") as http:
        assert (await http.get("/api/v1/analytics")).json() == {
            "reporting_currency": "EUR",
            "time_zone": "UTC",
            "reports": ["abc", "xyz", "sources", "effectiveness", "attribution", "managers"],
        }


async def finished(http: httpx.AsyncClient, location: str) -> dict[str, Any]:
    for _ in range(600):
        job: dict[str, Any] = (await http.get(location)).json()
        if job["state"] in ("succeeded", "failed", "cancelled"):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"the job did not end: {job}")


CSV = (
    "\ufeffID;Date;Customer;Quantity;Revenue;Kind;Cost;Currency\n"
    "S-1;2026-01-05;C1;2;100.00;sale;60.00;EUR\n"
    "S-2;2026-01-06;C2;1;12,50;sale;;EUR\n"
    "S-3;05.01.2026;C2;1;10.00;;;\n"
    "S-4;2026-01-07;C2;1;40.00;return;;\n"
    "S-5;2026-01-08;;1;1.00;;;\n"
    "\n"
    "S-6;2026-01-09;C3;1;5.00;;;;extra\n"
    'S-7;2026-01-10;"C\n4";1;5.00;;;\n'
    "S-8;2026-01-11;C5;0.5;70.00;;;\n"
)


async def test_a_csv_file_is_imported_as_a_job_with_its_rejected_rows(app: FastAPI) -> None:
    async with client(app, "head_of_sales") as http:
        answer = await http.post(
            "/api/v1/analytics/imports/trade-facts",
            params={"filename": "sales.csv"},
            content=CSV.encode(),
            headers={"content-type": "text/csv"},
        )
        assert answer.status_code == 202, answer.text
        location = answer.headers["location"]
        assert location.startswith("/api/v1/analytics/jobs/")
        job = await finished(http, location)
        assert job["state"] == "succeeded", job
        assert job["progress"]["done"] == job["progress"]["total"] == 8
        assert (job["progress"]["accepted"], job["progress"]["rejected"]) == (3, 5)
        assert [(r["line"], r["column"]) for r in job["rejected"]] == [
            (3, "revenue"),
            (4, "date"),
            (6, "customer"),
            (8, ""),
            (9, "customer"),
        ]
        report = await http.get(job["report"])
        assert report.status_code == 200
        lines = report.text.lstrip("\ufeff").splitlines()
        assert lines[0] == "line,column,reason,name" and lines[1].startswith('3,revenue,"must be an amount')
        # Imported again: nothing counts twice.
        again = await http.post(
            "/api/v1/analytics/imports/trade-facts", content=CSV.encode(), headers={"content-type": "text/csv"}
        )
        assert (await finished(http, again.headers["location"]))["state"] == "succeeded"
        body = await abc(http)
        assert {r["customer"]: r["value"] for r in body["rows"]} == {"C1": "100.00", "C2": "-40.00", "C5": "70.00"}
        assert (await abc(http, by="profit"))["total"] == "70.00"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"id,date,customer,quantity\nS-1,2026-01-01,C,1\n", "required column(s) missing: revenue"),
        (b"id,date,customer,quantity,revenue,colour\n", "unknown column(s): 'colour'"),
        (b"id,date,customer,quantity,revenue,id\n", "repeated column(s): id"),
        ("id,date,customer,quantity,revenue\nS-1,2026-01-01,Ф,1,1\n".encode("cp1251"), "not UTF-8"),
    ],
)
async def test_a_file_that_cannot_be_read_fails_the_job_naming_why(app: FastAPI, content: bytes, reason: str) -> None:
    async with client(app) as http:
        answer = await http.post(
            "/api/v1/analytics/imports/trade-facts", content=content, headers={"content-type": "text/csv"}
        )
        job = await finished(http, answer.headers["location"])
        assert job["state"] == "failed"
        assert reason in job["error"]


async def test_a_running_import_can_be_cancelled(app: FastAPI, service: AnalyticsService) -> None:
    service.importer._batch_size = 10
    rows = "".join(f"S-{n},2026-01-05,C{n % 7},1,1.00\n" for n in range(3000))
    async with client(app) as http:
        answer = await http.post(
            "/api/v1/analytics/imports/trade-facts",
            content=f"id,date,customer,quantity,revenue\n{rows}".encode(),
            headers={"content-type": "text/csv"},
        )
        location = answer.headers["location"]
        for _ in range(200):
            if (await http.get(location)).json()["state"] == "running":
                break
            await asyncio.sleep(0.02)
        cancelled = await http.post(f"{location}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        job = await finished(http, location)
        assert job["state"] == "cancelled"
        assert job["progress"]["done"] < 3000
        assert (await http.post(f"{location}/cancel")).status_code == 409
        # Only the owner and administrators see a job.
    async with client(app, "head_of_sales", user="someone-else") as other:
        assert (await other.get(location)).status_code == 404
