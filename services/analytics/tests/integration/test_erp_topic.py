"""Trade facts in over the ERP's topic (``erp.trade-facts.v1``), on the embedded bus and on the real
Kafka broker: the analytics service's projector role consumes it into the tables the ABC report reads;
a fact counts once however often it arrives (sent again, or the whole topic delivered again), a
corrected fact replaces the one before, and a malformed message is dead-lettered with the reason
naming the field (never its value) while the consumer goes on."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from crm_analytics import bootstrap
from crm_analytics.application.facts_feed import FactFeed, decode
from crm_analytics.bootstrap import AnalyticsService
from crm_analytics.entrypoints.api import build_router
from crm_shared.adapters import open_bus
from crm_shared.bus import HEADER_DLT_GROUP, HEADER_DLT_REASON, Bus, Message, PoisonMessage, dead_letter_topic
from crm_shared.contracts.erp import TRADE_FACTS_TOPIC
from crm_shared.http import install
from crm_shared.identity import CALLER_HEADER, CallerTokens, caller_of
from crm_shared.settings import KernelSettings

TOKENS = CallerTokens(b"0123456789abcdef0123456789abcdef")
DLT = dead_letter_topic(TRADE_FACTS_TOPIC)
SECRET = "Very-Secret-Customer-Name"
"""A value in malformed messages that must never reach a dead letter's reason."""


def fact(n: int, customer: str, revenue: str, **extra: Any) -> dict[str, Any]:
    return {"id": f"F-{n}", "date": "2026-01-10", "customer": customer, "quantity": "1", "revenue": revenue, **extra}


def record(body: dict[str, Any], key: str | None = None) -> Message:
    return Message(TRADE_FACTS_TOPIC, key if key is not None else body["id"], json.dumps(body).encode())


async def eventually(check: Callable[[], Any], what: str, within: float = 30.0) -> None:
    """Wait until ``await check()`` is truthy (polling), then make sure it stays so for a moment."""
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, f"not within {within} s: {what}"
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)
    assert await check(), f"no longer so: {what}"


# -- decoding: the same contract as the HTTP batch, reasons naming fields ----------------------------


@pytest.mark.parametrize(
    ("message", "named"),
    [
        (Message(TRADE_FACTS_TOPIC, "F-1", b"{not json " + SECRET.encode()), "value: not a JSON document"),
        (record(fact(1, SECRET, "1.5") | {"revenue": 1.5}), "revenue: Input should be a valid string"),
        (record(fact(1, SECRET, "10.999")), "revenue: String should match pattern"),
        (record({k: v for k, v in fact(1, SECRET, "1").items() if k != "date"}), "date: Field required"),
        (record(fact(1, SECRET, "1", kind="refund")), "kind: Input should be 'sale' or 'return'"),
        (record(fact(1, SECRET, "1", discount="-2.00")), "discount: String should match pattern"),
        (record(fact(1, SECRET, "1", colour="red")), "colour: Extra inputs are not permitted"),
        (record(fact(1, SECRET, "1"), key="F-2"), "key: must be the fact's id"),
        (Message(TRADE_FACTS_TOPIC, "F-1", b"[1, 2]"), "value: Input should be an object"),
    ],
)
def test_a_malformed_message_is_poison_naming_the_field_not_its_value(message: Message, named: str) -> None:
    with pytest.raises(PoisonMessage) as refused:
        decode(message, "EUR")
    assert str(refused.value).startswith(f"invalid trade fact: {named}")
    assert SECRET not in str(refused.value)
    assert "10.999" not in str(refused.value)


def test_a_good_message_is_the_fact_the_http_batch_would_make() -> None:
    decoded = decode(record(fact(7, "C1", "12.50", kind="return", cost="2", currency="BGN", discount="1.25")), "EUR")
    assert (decoded.id, decoded.kind, str(decoded.revenue), str(decoded.revenue_without_vat)) == (
        "F-7",
        "return",
        "12.50",
        "12.50",
    )
    assert (str(decoded.cost), decoded.currency, decoded.item, decoded.discount) == ("2", "BGN", "", Decimal("1.25"))
    assert decode(record(fact(8, "C1", "1")), "EUR").currency == "EUR"
    assert decode(record(fact(8, "C1", "1")), "EUR").discount == Decimal(0)  # a message of before: no discount


# -- the projector role on a real bus ----------------------------------------------------------------


@pytest.fixture(params=["embedded", pytest.param("kafka", marks=pytest.mark.kafka)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> KernelSettings:
    if request.param == "embedded":
        return KernelSettings(data_dir=tmp_path)
    bootstrap_servers = request.getfixturevalue("kafka_bootstrap")
    return KernelSettings(
        data_dir=tmp_path, bus="kafka", kafka_bootstrap=bootstrap_servers, bus_namespace=f"t{uuid.uuid4().hex[:8]}"
    )


@pytest.fixture
async def bus(settings: KernelSettings) -> AsyncIterator[Bus]:
    opened = await open_bus(settings, "erp-test")
    try:
        yield opened
    finally:
        await opened.stop()


@pytest.fixture
async def service(settings: KernelSettings, bus: Bus) -> AsyncIterator[AnalyticsService]:
    wired = await bootstrap.build(settings)
    try:
        await wired.start_projector(bus)
        yield wired
    finally:
        await wired.close()


@pytest.fixture
def http(service: AnalyticsService) -> httpx.AsyncClient:
    app = FastAPI()
    install(app)
    app.include_router(build_router(service, TOKENS))
    token = TOKENS.issue(caller_of("ana", ["administrator"], ["general"]))  # type: ignore[list-item]
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://crm", headers={CALLER_HEADER: token}
    )


class DeadLetters:
    """What the dead-letter topic received, read by a group of the test."""

    def __init__(self) -> None:
        self.letters: list[Message] = []

    async def take(self, message: Message) -> None:
        self.letters.append(message)

    def of(self, group: str) -> dict[str, str]:
        """The reasons by key of the letters of consumer group ``group`` (named with the bus's namespace
        in the header, if any)."""
        return {
            m.key: m.headers[HEADER_DLT_REASON]
            for m in self.letters
            if m.headers[HEADER_DLT_GROUP].split(".", 1)[-1] == group or m.headers[HEADER_DLT_GROUP] == group
        }


async def test_facts_over_the_topic_count_once_corrections_replace_and_bad_ones_are_dead_lettered(
    service: AnalyticsService, bus: Bus, http: httpx.AsyncClient
) -> None:
    dead = DeadLetters()
    await bus.subscribe([DLT], f"dlt-reader-{uuid.uuid4().hex[:6]}", dead.take)

    async def report() -> dict[str, str]:
        answer = await http.get("/api/v1/analytics/abc", params={"from": "2026-01-01", "to": "2026-01-31"})
        assert answer.status_code == 200, answer.text
        return {row["customer"]: row["value"] for row in answer.json()["rows"]}

    good = [record(fact(1, "C1", "700.00")), record(fact(2, "C2", "200.00")), record(fact(3, "C3", "100.00"))]
    bad = [
        Message(TRADE_FACTS_TOPIC, "B-1", b"{oops " + SECRET.encode()),
        record(fact(90, SECRET, "1.5") | {"revenue": 1.5, "id": "B-2"}),
        record(fact(91, SECRET, "5.00") | {"id": "B-3"}, key="not-the-id"),
    ]
    await bus.publish([*good[:2], *bad, good[2]])
    expected = {"C1": "700.00", "C2": "200.00", "C3": "100.00"}

    async def first_round() -> bool:
        return await report() == expected and len(dead.of(service.feed.group)) == len(bad)

    await eventually(first_round, "the good facts in the report once, the bad ones dead-lettered")
    reasons = dead.of(service.feed.group)
    assert reasons["B-1"] == "poison: invalid trade fact: value: not a JSON document"
    assert reasons["B-2"].startswith("poison: invalid trade fact: revenue: ")
    assert reasons["not-the-id"] == "poison: invalid trade fact: key: must be the fact's id"
    assert not any(SECRET in reason for reason in reasons.values())

    # Sent again (the ERP re-sends) with a correction of F-2 and a return: each fact counts once.
    correction = record(fact(2, "C2", "300.00"))
    a_return = record(fact(4, "C1", "50.00", kind="return"))
    await bus.publish([*good, correction, a_return])
    expected = {"C1": "650.00", "C2": "300.00", "C3": "100.00"}

    async def corrected() -> bool:
        return await report() == expected

    await eventually(corrected, "the correction replaced F-2, the return subtracted, nothing doubled")

    # Every message delivered again (another group reads the topic from its beginning, as after lost
    # offsets): the same facts, the same report; the malformed ones are dead-lettered again.
    replay = FactFeed(service.analytics, "EUR", group=f"replay-{uuid.uuid4().hex[:6]}")
    await replay.follow(bus)
    try:

        async def replayed() -> bool:
            return len(dead.of(replay.group)) == len(bad) and await report() == expected

        await eventually(replayed, "the whole topic again changes nothing")
    finally:
        await replay.stop()
