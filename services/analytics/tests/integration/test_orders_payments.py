"""The ERP's orders and payments in, every way (issue 14): the HTTP batches, the CSV import job (with
its report of rejected rows) and the ERP's Kafka topics on the embedded bus (a malformed record dead-
lettered). Each counts once: sent again it changes nothing, a corrected one replaces the one before.
What the tables hold is checked against the records the test sent, kept latest-by-id in plain Python
with Decimal sums."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from crm_analytics.application.facts_feed import decode
from crm_analytics.bootstrap import AnalyticsService
from crm_analytics.domain.records import ORDERS, PAYMENTS
from crm_analytics.entrypoints.api import build_router
from crm_shared.adapters import open_bus
from crm_shared.bus import HEADER_DLT_REASON, Bus, Message, PoisonMessage, dead_letter_topic
from crm_shared.contracts.erp import ORDERS_TOPIC, PAYMENTS_TOPIC
from crm_shared.http import install
from crm_shared.identity import CALLER_HEADER, CallerTokens, caller_of
from crm_shared.settings import KernelSettings

TOKENS = CallerTokens(b"0123456789abcdef0123456789abcdef")
SECRET = "Very-Secret-Customer-Name"


def order(n: int | str, customer: str, amount: str, **extra: Any) -> dict[str, Any]:
    return {"id": f"O-{n}", "date": "2026-03-02", "customer": customer, "amount": amount, **extra}


def payment(n: int | str, customer: str, amount: str, **extra: Any) -> dict[str, Any]:
    return {"id": f"P-{n}", "date": "2026-03-10", "customer": customer, "amount": amount, **extra}


def latest(*batches: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What the table must hold: the last record sent under each id."""
    kept: dict[str, dict[str, Any]] = {}
    for batch in batches:
        for record in batch:
            kept[record["id"]] = record
    return kept


def expected_orders(kept: dict[str, dict[str, Any]], currency: str = "EUR") -> list[dict[str, Any]]:
    return [
        {
            "id": o["id"],
            "date": date.fromisoformat(o["date"]),
            "customer": o["customer"],
            "manager": o.get("manager") or "",
            "amount": Decimal(o["amount"]),
            "currency": o.get("currency") or currency,
            # The due date defaults to the day the order was issued.
            "due_date": date.fromisoformat(o.get("due_date") or o["date"]),
        }
        for o in sorted(kept.values(), key=lambda o: o["id"])
    ]


def expected_payments(kept: dict[str, dict[str, Any]], currency: str = "EUR") -> list[dict[str, Any]]:
    return [
        {
            "id": p["id"],
            "date": date.fromisoformat(p["date"]),
            "customer": p["customer"],
            "order_id": p.get("order_id") or "",
            "amount": Decimal(p["amount"]),
            "currency": p.get("currency") or currency,
        }
        for p in sorted(kept.values(), key=lambda p: p["id"])
    ]


async def stored_orders(service: AnalyticsService) -> list[dict[str, Any]]:
    return await service.analytics.query(
        "SELECT id, date, customer, manager, amount, currency, due_date FROM orders FINAL ORDER BY id"
    )


async def stored_payments(service: AnalyticsService) -> list[dict[str, Any]]:
    return await service.analytics.query(
        "SELECT id, date, customer, order_id, amount, currency FROM payments FINAL ORDER BY id"
    )


async def unpaid_by_order(service: AnalyticsService) -> dict[str, Decimal]:
    """What the sales-manager comparison will ask: each order's amount less the payments naming it."""
    rows = await service.analytics.query(
        "SELECT o.id AS id, o.amount - ifNull(p.paid, 0) AS unpaid FROM orders AS o FINAL "
        "LEFT JOIN (SELECT order_id, sum(amount) AS paid FROM payments FINAL GROUP BY order_id) AS p "
        "ON p.order_id = o.id ORDER BY id"
    )
    return {row["id"]: Decimal(row["unpaid"]) for row in rows}


@pytest.fixture
def app(service: AnalyticsService) -> FastAPI:
    app = FastAPI()
    install(app)
    app.include_router(build_router(service, TOKENS))
    return app


def client(app: FastAPI, role: str = "administrator", user: str = "ana") -> httpx.AsyncClient:
    token = TOKENS.issue(caller_of(user, [role], ["general"]))  # type: ignore[list-item]
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://crm", headers={CALLER_HEADER: token}
    )


# -- HTTP batches --------------------------------------------------------------------------------------


async def test_orders_and_payments_sent_again_count_once_and_corrections_replace(
    app: FastAPI, service: AnalyticsService
) -> None:
    orders = [
        order(1, "C1", "1200.50", manager="Ivan Petrov", due_date="2026-04-01"),
        order(2, "C2", "99999999999999.99", currency="BGN"),  # 16 digits: the largest amount, exact
        order(3, "C2", "0.01"),
    ]
    payments = [
        payment(1, "C1", "200.25", order_id="O-1"),
        payment(2, "C1", "1000.25", order_id="O-1"),
        payment(3, "C3", "50.00"),  # an advance: no order
    ]
    async with client(app) as http:
        for _ in range(2):  # redelivered: the same batches again
            answer = await http.post("/api/v1/analytics/orders", json={"orders": orders})
            assert answer.status_code == 200, answer.text
            assert answer.json() == {"recorded": 3}
            answer = await http.post("/api/v1/analytics/payments", json={"payments": payments})
            assert answer.status_code == 200, answer.text
        assert await stored_orders(service) == expected_orders(latest(orders))
        assert await stored_payments(service) == expected_payments(latest(payments))
        assert await unpaid_by_order(service) == {
            "O-1": Decimal("0.00"),
            "O-2": Decimal("99999999999999.99"),
            "O-3": Decimal("0.01"),
        }

        # Corrections: O-1's amount and due date change, O-3 moves to another customer; the advance
        # P-3 is allocated to O-3; within one batch the later of two orders with one id wins.
        corrected_orders = [order(1, "C1", "1300.50", due_date="2026-05-01"), order(3, "C4", "5.00")]
        corrected_orders += [order(4, "C5", "1.00"), order(4, "C5", "7.50")]
        corrected_payments = [payment(3, "C4", "2.50", order_id="O-3")]
        assert (await http.post("/api/v1/analytics/orders", json={"orders": corrected_orders})).status_code == 200
        answer = await http.post("/api/v1/analytics/payments", json={"payments": corrected_payments})
        assert answer.status_code == 200
    stored = await stored_orders(service)
    assert stored == expected_orders(latest(orders, corrected_orders))
    assert len(stored) == 4 and stored[3]["amount"] == Decimal("7.50")
    assert await stored_payments(service) == expected_payments(latest(payments, corrected_payments))
    assert await unpaid_by_order(service) == {
        "O-1": Decimal("100.00"),
        "O-2": Decimal("99999999999999.99"),
        "O-3": Decimal("2.50"),
        "O-4": Decimal("7.50"),
    }


@pytest.mark.parametrize(
    ("path", "item", "field"),
    [
        ("orders", {"amount": 100.5}, "orders.1.amount"),  # a JSON number: never a float
        ("orders", {"amount": "100.555"}, "orders.1.amount"),
        ("orders", {"amount": "-1.00"}, "orders.1.amount"),
        ("orders", {"amount": "1e3"}, "orders.1.amount"),
        ("orders", {"amount": "12345678901234567.00"}, "orders.1.amount"),  # 17 digits
        ("orders", {"due_date": "2026-03-01"}, "orders.1.due_date"),  # before the day it was issued
        ("orders", {"due_date": "2026-02-30"}, "orders.1.due_date"),
        ("orders", {"date": "1969-12-31"}, "orders.1.date"),
        ("orders", {"manager": " Ivan"}, "orders.1.manager"),
        ("orders", {"currency": "eur"}, "orders.1.currency"),
        ("orders", {"order_id": "O-1"}, "orders.1.order_id"),  # a payment's field
        ("payments", {"amount": "NaN"}, "payments.1.amount"),
        ("payments", {"amount": 5}, "payments.1.amount"),
        ("payments", {"order_id": ""}, "payments.1.order_id"),
        ("payments", {"order_id": "x" * 101}, "payments.1.order_id"),
        ("payments", {"customer": "C\u0000"}, "payments.1.customer"),
        ("payments", {"date": 20260310}, "payments.1.date"),
    ],
)
async def test_a_bad_value_is_422_naming_the_row_and_the_field(
    app: FastAPI, service: AnalyticsService, path: str, item: dict[str, Any], field: str
) -> None:
    make = order if path == "orders" else payment
    async with client(app) as http:
        answer = await http.post(
            f"/api/v1/analytics/{path}", json={path: [make(1, "C1", "1.00"), {**make(2, "C1", "1.00"), **item}]}
        )
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert field in [e["field"] for e in answer.json()["errors"]]
    # All or none: the good first record was not written either.
    assert await stored_orders(service) == [] and await stored_payments(service) == []


async def test_batch_limits_and_roles(app: FastAPI) -> None:
    async with client(app) as http:
        for body, field in (
            ({"orders": []}, "orders"),
            ({}, "orders"),
            ({"facts": [order(1, "C", "1")]}, "facts"),
            ({"orders": [{"id": "O-1"}]}, "orders.0.date"),
            ({"orders": [order(n, "C", "1") for n in range(5001)]}, "orders"),
        ):
            answer = await http.post("/api/v1/analytics/orders", json=body)
            assert answer.status_code in (413, 422), answer.text
            if answer.status_code == 422:
                assert field in [e["field"] for e in answer.json()["errors"]]
        assert (await http.post("/api/v1/analytics/payments", json={"payments": [{}]})).status_code == 422
    for role in ("sales_manager", "marketer", "read_only"):
        async with client(app, role) as http:
            answer = await http.post("/api/v1/analytics/orders", json={"orders": [order(1, "C", "1")]})
            assert answer.status_code == 403, (role, answer.text)
            answer = await http.post("/api/v1/analytics/payments", json={"payments": [payment(1, "C", "1")]})
            assert answer.status_code == 403, (role, answer.text)
            answer = await http.post(
                "/api/v1/analytics/imports/orders",
                content=b"id,date,customer,amount\n",
                headers={"content-type": "text/csv"},
            )
            assert answer.status_code == 403, (role, answer.text)
    async with client(app, "head_of_sales") as http:
        answer = await http.post("/api/v1/analytics/payments", json={"payments": [payment(1, "C", "1")]})
        assert answer.status_code == 200


# -- CSV files as jobs ---------------------------------------------------------------------------------


async def finished(http: httpx.AsyncClient, location: str) -> dict[str, Any]:
    job: dict[str, Any] = {}
    for _ in range(600):
        job = (await http.get(location)).json()
        if job["state"] in ("succeeded", "failed", "cancelled"):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"the job did not end: {job}")


ORDERS_CSV = (
    "\ufeffID;Date;Customer;Amount;Due_Date;Manager\n"
    "O-1;2026-01-05;C1;100.00;2026-02-04;Ivan\n"  # 2
    "O-2;2026-01-06;C2;12,50;;\n"  # 3: a decimal comma
    "O-3;2026-01-06;C2;10.00;2026-01-05;\n"  # 4: due before issued
    "O-4;2026-01-07;C2;40.00;;\n"  # 5
    "O-5;2026-01-08;;1.00;;\n"  # 6: no customer
    "O-6;2026-01-09;C3;5.00;;;extra\n"  # 7: a value too many
    "O-7;2026-01-10;C4;-5.00;;\n"  # 8: negative
    "O-8;2026-01-11;C5;70.00;2026-01-11;\n"  # 9
)
PAYMENTS_CSV = (
    "id,date,customer,order_id,amount,currency\n"
    "P-1,2026-01-20,C1,O-1,60.00,\n"  # 2
    "P-2,2026-01-21,C1,O-1,40.00,EUR\n"  # 3
    "P-3,2026-01-22,C9,,15.00,BGN\n"  # 4: an advance
    "P-4,2026-01-23,C5,O-8,7.123,\n"  # 5: three decimals
    "P-5,2026-01-23,C5,O-8,,\n"  # 6: no amount
)


async def upload(http: httpx.AsyncClient, what: str, content: str) -> dict[str, Any]:
    answer = await http.post(
        f"/api/v1/analytics/imports/{what}",
        params={"filename": f"{what}.csv"},
        content=content.encode(),
        headers={"content-type": "text/csv"},
    )
    assert answer.status_code == 202, answer.text
    assert answer.headers["location"].startswith("/api/v1/analytics/jobs/")
    return await finished(http, answer.headers["location"])


async def test_csv_files_of_orders_and_payments_are_jobs_with_their_rejected_rows(
    app: FastAPI, service: AnalyticsService
) -> None:
    async with client(app, "head_of_sales") as http:
        job = await upload(http, "orders", ORDERS_CSV)
        assert job["state"] == "succeeded", job
        assert job["progress"]["done"] == job["progress"]["total"] == 8
        assert (job["progress"]["accepted"], job["progress"]["rejected"]) == (3, 5)
        assert [(r["line"], r["column"]) for r in job["rejected"]] == [
            (3, "amount"),
            (4, "due_date"),
            (6, "customer"),
            (7, ""),
            (8, "amount"),
        ]
        assert job["rejected"][1]["reason"] == "must not be before the order's date"
        report = await http.get(job["report"])
        lines = report.text.lstrip("\ufeff").splitlines()
        assert lines[0] == "line,column,reason,name" and lines[1].startswith('3,amount,"must be an amount')

        job = await upload(http, "payments", PAYMENTS_CSV)
        assert job["state"] == "succeeded", job
        assert (job["progress"]["accepted"], job["progress"]["rejected"]) == (3, 2)
        assert [(r["line"], r["column"]) for r in job["rejected"]] == [(5, "amount"), (6, "amount")]

        # Imported again: nothing counts twice.
        for what, content in (("orders", ORDERS_CSV), ("payments", PAYMENTS_CSV)):
            assert (await upload(http, what, content))["state"] == "succeeded"

        # A file of the other kind's columns fails before anything is written.
        wrong = await upload(http, "payments", "id,date,customer,amount,due_date\nP-9,2026-01-01,C,1,\n")
        assert wrong["state"] == "failed" and "unknown column(s): 'due_date'" in wrong["error"]
        wrong = await upload(http, "orders", "id,date,customer\nO-9,2026-01-01,C\n")
        assert wrong["state"] == "failed" and "required column(s) missing: amount" in wrong["error"]

    good_orders = [
        order(1, "C1", "100.00", date="2026-01-05", due_date="2026-02-04", manager="Ivan"),
        order(4, "C2", "40.00", date="2026-01-07"),
        order(8, "C5", "70.00", date="2026-01-11", due_date="2026-01-11"),
    ]
    good_payments = [
        payment(1, "C1", "60.00", date="2026-01-20", order_id="O-1"),
        payment(2, "C1", "40.00", date="2026-01-21", order_id="O-1"),
        payment(3, "C9", "15.00", date="2026-01-22", currency="BGN"),
    ]
    assert await stored_orders(service) == expected_orders(latest(good_orders))
    assert await stored_payments(service) == expected_payments(latest(good_payments))
    assert await unpaid_by_order(service) == {"O-1": Decimal("0.00"), "O-4": Decimal("40.00"), "O-8": Decimal("70.00")}


async def test_a_running_import_of_orders_can_be_cancelled(app: FastAPI, service: AnalyticsService) -> None:
    service.importer._batch_size = 10
    rows = "".join(f"O-{n},2026-01-05,C{n % 7},1.00\n" for n in range(3000))
    async with client(app) as http:
        answer = await http.post(
            "/api/v1/analytics/imports/orders",
            content=f"id,date,customer,amount\n{rows}".encode(),
            headers={"content-type": "text/csv"},
        )
        location = answer.headers["location"]
        for _ in range(200):
            if (await http.get(location)).json()["state"] == "running":
                break
            await asyncio.sleep(0.02)
        assert (await http.post(f"{location}/cancel")).status_code == 200
        job = await finished(http, location)
    assert job["state"] == "cancelled"
    assert job["progress"]["done"] < 3000
    assert len(await stored_orders(service)) == job["progress"]["accepted"]


# -- The ERP's topics on the embedded bus -------------------------------------------------------------


def record(topic: str, body: dict[str, Any], key: str | None = None) -> Message:
    return Message(topic, key if key is not None else body["id"], json.dumps(body).encode())


@pytest.mark.parametrize(
    ("message", "kind", "named"),
    [
        (record(ORDERS_TOPIC, order(1, SECRET, "1.5") | {"amount": 1.5}), ORDERS, "order: amount: Input should be"),
        (record(ORDERS_TOPIC, order(1, SECRET, "1", due_date="2026-03-01")), ORDERS, "order: due_date: Value error"),
        (record(ORDERS_TOPIC, order(1, SECRET, "1"), key="O-2"), ORDERS, "order: key: must be the order's id"),
        (record(PAYMENTS_TOPIC, payment(1, SECRET, "1", colour="red")), PAYMENTS, "payment: colour: Extra inputs"),
        (Message(PAYMENTS_TOPIC, "P-1", SECRET.encode()), PAYMENTS, "payment: value: not a JSON document"),
    ],
)
def test_a_malformed_record_is_poison_naming_the_field_not_its_value(message: Message, kind: Any, named: str) -> None:
    with pytest.raises(PoisonMessage) as refused:
        decode(message, "EUR", kind)
    assert str(refused.value).startswith(f"invalid {named}")
    assert SECRET not in str(refused.value)


async def eventually(check: Callable[[], Any], what: str, within: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, f"not within {within} s: {what}"
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)
    assert await check(), f"no longer so: {what}"


@pytest.fixture
async def bus(tmp_path: Path) -> AsyncIterator[Bus]:
    opened = await open_bus(KernelSettings(data_dir=tmp_path), "erp-test")
    try:
        yield opened
    finally:
        await opened.stop()


async def test_orders_and_payments_over_the_topics_count_once_and_bad_ones_are_dead_lettered(
    service: AnalyticsService, bus: Bus
) -> None:
    await service.start_projector(bus)
    assert {feed.group for feed in service.feeds} >= {"analytics.orders.v1", "analytics.payments.v1"}
    letters: list[Message] = []

    async def take(message: Message) -> None:
        letters.append(message)

    group = f"dlt-reader-{uuid.uuid4().hex[:6]}"
    await bus.subscribe([dead_letter_topic(ORDERS_TOPIC), dead_letter_topic(PAYMENTS_TOPIC)], group, take)

    orders = [order(1, "C1", "300.00", due_date="2026-03-31"), order(2, "C2", "50.00")]
    payments = [payment(1, "C1", "100.00", order_id="O-1"), payment(2, "C2", "10.00")]
    bad = [
        record(ORDERS_TOPIC, order(9, SECRET, "1.999")),
        record(PAYMENTS_TOPIC, payment(9, SECRET, "1.00"), key="not-the-id"),
    ]
    await bus.publish(
        [record(ORDERS_TOPIC, orders[0]), bad[0], record(ORDERS_TOPIC, orders[1])]
        + [record(PAYMENTS_TOPIC, p) for p in payments]
        + [bad[1]]
    )

    async def first_round() -> bool:
        return (
            await stored_orders(service) == expected_orders(latest(orders))
            and await stored_payments(service) == expected_payments(latest(payments))
            and len(letters) == 2
        )

    await eventually(first_round, "the good records once, the bad ones dead-lettered")
    reasons = {m.key: m.headers[HEADER_DLT_REASON] for m in letters}
    assert reasons["O-9"].startswith("poison: invalid order: amount: ")
    assert reasons["not-the-id"] == "poison: invalid payment: key: must be the payment's id"
    assert not any(SECRET in reason for reason in reasons.values())

    # Everything sent again, with a corrected O-2 and P-2 now allocated to it: each counts once.
    corrections = [order(2, "C2", "80.00", due_date="2026-04-15")], [payment(2, "C2", "10.00", order_id="O-2")]
    await bus.publish(
        [record(ORDERS_TOPIC, o) for o in [*orders, *corrections[0]]]
        + [record(PAYMENTS_TOPIC, p) for p in [*payments, *corrections[1]]]
    )

    async def corrected() -> bool:
        return (
            await stored_orders(service) == expected_orders(latest(orders, corrections[0]))
            and await stored_payments(service) == expected_payments(latest(payments, corrections[1]))
            and await unpaid_by_order(service) == {"O-1": Decimal("200.00"), "O-2": Decimal("70.00")}
        )

    await eventually(corrected, "the corrections replaced, nothing doubled")
