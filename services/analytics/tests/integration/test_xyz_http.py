"""``GET /api/v1/analytics/xyz`` on the embedded adapters: the rows and summary, linking to
counterparties, paging, 422 naming the field, roles."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from crm_analytics.bootstrap import AnalyticsService
from crm_shared.bus import Message
from crm_shared.identity import CALLER_HEADER, CallerTokens, caller_of
from crm_shared.integration import Envelope
from crm_shared.readstore.cursor import encode_cursor

from .test_crm_events import registered

TOKENS = CallerTokens(b"0123456789abcdef0123456789abcdef")
XYZ = "/api/v1/analytics/xyz"
FACTS = "/api/v1/analytics/trade-facts"


def client(app: FastAPI, role: str = "administrator") -> httpx.AsyncClient:
    token = TOKENS.issue(caller_of("ana", [role], ["general"]))  # type: ignore[list-item]
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://crm", headers={CALLER_HEADER: token}
    )


def fact(n: int, customer: str, day: str, revenue: str, **extra: Any) -> dict[str, Any]:
    return {"id": f"S-{n}", "date": day, "customer": customer, "quantity": "1", "revenue": revenue, **extra}


FACT_ROWS = [
    fact(1, "K1", "2026-01-05", "100.00"),
    fact(2, "K1", "2026-02-05", "100.00"),
    fact(3, "K1", "2026-03-05", "100.00"),
    fact(4, "K2", "2026-01-05", "100.00"),
    fact(5, "K2", "2026-03-05", "50.00"),
    fact(6, "K3", "2026-03-20", "10.00"),
    fact(7, "K4", "2025-05-01", "10.00"),
    fact(8, "K4", "2025-06-01", "10.00"),
    fact(9, "K5", "2026-02-01", "10.00", kind="return"),
    fact(10, "K1", "2026-02-06", "999.00", currency="USD"),
]


def codes(position: int, cid: str, *erp: str) -> Message:
    return Envelope(
        id=f"e{position}",
        type="crm.contacts.CounterpartyExternalCodesChanged",
        source="crm/contacts",
        subject=cid,
        time=datetime(2026, 3, 1, tzinfo=UTC),
        topic="crm.contacts.counterparty.v1",
        data={"counterparty_id": cid, "external_codes": [{"system": "erp", "code": c} for c in erp]},
        stream=f"counterparty-{cid}",
        stream_version=position,
        position=position,
    ).to_message()


async def test_stages_classes_and_links(app: FastAPI, service: AnalyticsService) -> None:
    async with client(app) as http:
        assert (await http.post(FACTS, json={"facts": FACT_ROWS})).status_code == 200
        await service.events.handle([codes(1, "cp-1", "K1")])
        answer = await http.get(XYZ, params={"to": "2026-03-31", "periods": "3"})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert {k: body[k] for k in ("from", "to", "periodicity", "periods", "by", "x", "y", "regular_periods")} == {
            "from": "2026-01-01",
            "to": "2026-03-31",
            "periodicity": "month",
            "periods": 3,
            "by": "revenue",
            "x": "10",
            "y": "25",
            "regular_periods": 2,
        }
        assert body["stages"] == {"potential": 1, "one-time": 1, "regular": 2, "lost": 1}
        assert body["classes"] == {"X": 1, "Y": 0, "Z": 1}
        assert body["without_rate"] == [{"currency": "USD", "facts": 1, "earliest": "2026-02-06"}]
        assert body["customers"] == 5 and body["next_cursor"] is None
        assert body["rows"][0] == {
            "customer": "K1",
            "counterparty_id": "cp-1",
            "stage": "regular",
            "class": "X",
            "coefficient": "0.0000",
            "mean": "100.0000",
            "total": "300.00",
            "values": 3,
            "active_periods": 3,
        }
        rows = {r["customer"]: (r["stage"], r["class"], r["coefficient"]) for r in body["rows"]}
        # K2: 100, 0, 50 → mean 50, population sd 40.8248 → 81.6497 %.
        assert rows == {
            "K1": ("regular", "X", "0.0000"),
            "K2": ("regular", "Z", "81.6497"),
            "K3": ("one-time", None, "141.4214"),
            "K4": ("lost", None, None),
            "K5": ("potential", None, None),
        }

        # Intervals between sale days (days, whatever the currency): K1 31, 1, 27.
        body = (await http.get(XYZ, params={"to": "2026-03-31", "periods": "3", "by": "intervals", "y": "80"})).json()
        k1 = body["rows"][0]
        assert (k1["values"], k1["total"], k1["mean"], k1["class"]) == (3, "59", "19.6667", "Y")

        # Pages of two in code order; the cursor carries on.
        seen, cursor = [], None
        while True:
            params = {"to": "2026-03-31", "periods": "3", "limit": "2", **({"cursor": cursor} if cursor else {})}
            page = (await http.get(XYZ, params=params)).json()
            seen += [r["customer"] for r in page["rows"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == ["K1", "K2", "K3", "K4", "K5"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"periodicity": "fortnight"}, "periodicity"),
        ({"periods": "1"}, "periods"),
        ({"periods": "1001"}, "periods"),
        ({"periodicity": "year", "periods": "1000"}, "periods"),
        ({"by": "margin"}, "by"),
        ({"x": "ten"}, "x"),
        ({"x": "30"}, "y"),
        ({"regular_periods": "7"}, "regular_periods"),
        ({"to": "31.03.2026"}, "to"),
        ({"to": None}, "to"),
        ({"currency": "eur"}, "currency"),
        ({"currency": "USD"}, "currency"),  # only the reporting currency
        ({"limit": "0"}, "limit"),
    ],
)
async def test_bad_parameters_are_422_naming_the_field(app: FastAPI, params: dict[str, str | None], field: str) -> None:
    query = {k: v for k, v in {"to": "2026-03-31", **params}.items() if v is not None}
    async with client(app) as http:
        answer = await http.get(XYZ, params=query)
    assert answer.status_code == 422, answer.text
    assert field in [e["field"] for e in answer.json()["errors"]], answer.text


async def test_a_sales_manager_sees_the_rows_of_their_groups_and_as_of_hides_later_facts(
    app: FastAPI, service: AnalyticsService
) -> None:
    async with client(app) as http:
        assert (await http.post(FACTS, json={"facts": FACT_ROWS})).status_code == 200
        before = datetime.now(UTC)
        late = [fact(20, "K9", "2026-03-02", "10.00")]
        assert (await http.post(FACTS, json={"facts": late})).status_code == 200
        whole = (await http.get(XYZ, params={"to": "2026-03-31", "periods": "3"})).json()
        then = (await http.get(XYZ, params={"to": "2026-03-31", "periods": "3", "as_of": before.isoformat()})).json()
        assert {r["customer"] for r in whole["rows"]} - {r["customer"] for r in then["rows"]} == {"K9"}
        assert then["customers"] == whole["customers"] - 1
    await service.events.handle([registered("cp-1", "ana", group="general"), codes(2, "cp-1", "K1")])
    await service.events.handle([registered("cp-2", "ana", group="south"), codes(3, "cp-2", "K2")])
    async with client(app, "sales_manager") as http:  # of the general group
        mine = (await http.get(XYZ, params={"to": "2026-03-31", "periods": "3"})).json()
        assert [(r["customer"], r["counterparty_id"]) for r in mine["rows"]] == [("K1", "cp-1")]
        k1 = next(r for r in whole["rows"] if r["customer"] == "K1")
        assert (mine["rows"][0]["stage"], mine["rows"][0]["class"]) == (k1["stage"], k1["class"])
        assert (mine["customers"], sum(mine["stages"].values())) == (1, 1)


async def test_a_foreign_cursor_is_400_and_roles_are_the_abc_reports(app: FastAPI) -> None:
    async with client(app) as http:
        for foreign in ("bm9wZQ", encode_cursor((1, "K1")), encode_cursor(("xyz", 5))):  # type: ignore[arg-type]
            answer = await http.get(XYZ, params={"to": "2026-03-31", "cursor": foreign})
            assert answer.status_code == 400, foreign
    for role in ("marketer", "head_of_sales", "sales_manager", "read_only"):
        async with client(app, role) as http:
            assert (await http.get(XYZ, params={"to": "2026-03-31"})).status_code == 200, role
    token = TOKENS.issue(caller_of("nobody", [], []))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://crm", headers={CALLER_HEADER: token}
    ) as http:
        assert (await http.get(XYZ, params={"to": "2026-03-31"})).status_code == 403
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://crm") as http:
        assert (await http.get(XYZ, params={"to": "2026-03-31"})).status_code == 401
