"""The other services' public events in the analytics store (``crm_events``) and the dated histories
its views read from them, as of any moment: events are made with the published contracts' models
(the data a real producer sends) and handed to the feed as bus messages, once through the embedded
bus itself; each view is checked against what the story says."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from crm_analytics.projections.crm_events import GROUP, TOPICS, CrmEventsFeed, row_of
from crm_shared.adapters import open_bus
from crm_shared.analytics import AnalyticsStore
from crm_shared.bus import Message, PoisonMessage
from crm_shared.bus.port import DEAD_LETTER_SUFFIX
from crm_shared.contracts.contacts import counterparty as cp
from crm_shared.contracts.contacts import reference as ref
from crm_shared.contracts.interactions import interaction as ix
from crm_shared.integration import Envelope, IntegrationEvent
from crm_shared.settings import KernelSettings

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
_positions = iter(range(1, 1_000_000))


_TYPES = {model: (m.TOPIC, name) for m in (cp, ref, ix) for name, model in m.EVENT_TYPES.items()}


def message(event: IntegrationEvent, time: datetime) -> Message:
    """The bus message a producer's relay sends for ``event`` (its type and topic from the contract)."""
    topic, name = _TYPES[type(event)]
    data = event.model_dump(mode="json")
    return Envelope(
        id=str(uuid.uuid4()),
        type=name,
        source="test",
        subject=str(data.get("counterparty_id") or data.get("interaction_id") or data.get("code")),
        time=time,
        topic=topic,
        data=data,
        stream="s",
        stream_version=0,
        position=next(_positions),
    ).to_message()


def registered(cid: str, manager: str, group: str = "general", at: datetime = T0) -> Message:
    event = cp.CounterpartyRegistered(
        counterparty_id=cid,
        name="Firm",
        kind="buyer",
        main_manager=manager,
        registered_at=at,
        access_group=group,
        managers=[manager],
    )
    return message(event, at)


@pytest.fixture
def store(tables: AnalyticsStore) -> AnalyticsStore:
    return tables


async def view(store: AnalyticsStore, name: str, as_of: datetime, order: str, tz: str = "UTC") -> list[dict[str, Any]]:
    return await store.query(
        f"SELECT * FROM {name}(as_of = {{as_of:DateTime64(6, 'UTC')}}, tz = {{tz:String}}) ORDER BY {order}"
        if name == "manager_days"
        else f"SELECT * FROM {name}(as_of = {{as_of:DateTime64(6, 'UTC')}}) ORDER BY {order}",
        {"as_of": as_of, "tz": tz},
    )


async def test_the_manager_of_each_day_as_the_crm_knew_it(store: AnalyticsStore) -> None:
    feed = CrmEventsFeed(store)
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    late_evening = datetime(2026, 3, 5, 22, 30, tzinfo=UTC)  # already 6 March in Sofia (UTC+2)
    await feed.handle(
        [
            registered(a, "ana"),
            registered(b, "boris", at=T0 + timedelta(hours=1)),
            message(cp.MainManagerAssigned(counterparty_id=a, main_manager="boris"), late_evening),
            message(
                cp.MainManagerAssigned(counterparty_id=a, main_manager="vera"), late_evening + timedelta(minutes=5)
            ),
        ]
    )
    # As of now: a's manager changed twice late on 5 March (UTC), the last of that day counts.
    rows = await view(store, "manager_days", T0 + timedelta(days=30), "counterparty_id, day")
    found = {(r["counterparty_id"], r["day"]): r["manager"] for r in rows}
    assert found == {(a, date(2026, 3, 1)): "ana", (a, date(2026, 3, 5)): "vera", (b, date(2026, 3, 1)): "boris"}
    # Cut in Sofia's time zone, the change falls on 6 March.
    rows = await view(store, "manager_days", T0 + timedelta(days=30), "counterparty_id, day", tz="Europe/Sofia")
    assert (a, date(2026, 3, 6)) in {(r["counterparty_id"], r["day"]) for r in rows}
    # As of 4 March the CRM knew only the first assignment.
    rows = await view(store, "manager_days", datetime(2026, 3, 4, tzinfo=UTC), "counterparty_id, day")
    assert {(r["counterparty_id"], r["manager"]) for r in rows} == {(a, "ana"), (b, "boris")}


async def test_a_redelivered_event_counts_once_and_unread_types_are_skipped(store: AnalyticsStore) -> None:
    feed = CrmEventsFeed(store)
    a = str(uuid.uuid4())
    first = registered(a, "ana")
    renamed = message(cp.CounterpartyRenamed(counterparty_id=a, name="Another name"), T0)
    assert row_of(renamed) is None
    await feed.handle([first, renamed])
    await feed.handle([first])
    [count] = await store.query("SELECT count() AS n FROM crm_events FINAL")
    assert count["n"] == 1
    [raw] = await store.query("SELECT * FROM crm_events FINAL")
    assert "Firm" not in str(raw) and "Another name" not in str(raw)  # names are not kept


async def test_erp_codes_link_as_of_and_follow_a_merge(store: AnalyticsStore) -> None:
    feed = CrmEventsFeed(store)
    a, b = str(uuid.uuid4()), str(uuid.uuid4())

    def codes(cid: str, *values: str, at: datetime) -> Message:
        entries = [cp.ExternalCode(system="erp", code=v) for v in values] + [cp.ExternalCode(system="web", code="W")]
        return message(cp.CounterpartyExternalCodesChanged(counterparty_id=cid, external_codes=entries), at)

    await feed.handle(
        [
            codes(a, "C-1", "C-2", at=T0),
            codes(b, "C-3", at=T0),
            # The merge: a gives its codes up, b takes them (events may arrive in either order).
            codes(b, "C-3", "C-1", "C-2", at=T0 + timedelta(days=2)),
            codes(a, at=T0 + timedelta(days=2, seconds=1)),
        ]
    )
    before = await view(store, "customer_links", T0 + timedelta(days=1), "customer")
    assert {(r["customer"], r["counterparty_id"]) for r in before} == {("C-1", a), ("C-2", a), ("C-3", b)}
    after = await view(store, "customer_links", T0 + timedelta(days=3), "customer")
    assert {(r["customer"], r["counterparty_id"]) for r in after} == {("C-1", b), ("C-2", b), ("C-3", b)}


async def test_counterparties_sources_reference_and_interactions_as_of(store: AnalyticsStore) -> None:
    feed = CrmEventsFeed(store)
    a = str(uuid.uuid4())
    contact = [
        cp.ContactEntry(kind="phone", type="phone", value="+359 2 123 4567", key="k1", main=True),
        cp.ContactEntry(kind="email", type="email", value="office@firm.example", key="k2"),
    ]
    call = str(uuid.uuid4())
    facts = {
        "interaction_id": call,
        "state": "planned",
        "kind": "call",
        "direction": "outgoing",
        "importance": "medium",
        "subject": "",
        "counterparty_id": a,
        "contact_person_id": None,
        "responsible": "ana",
        "start": "2026-03-02T10:00:00+02:00",
        "end": "2026-03-02T10:30:00+02:00",
        "thread_id": call,
    }
    await feed.handle(
        [
            registered(a, "ana", group="north"),
            message(cp.ContactInformationChanged(counterparty_id=a, entries=contact), T0 + timedelta(minutes=1)),
            message(cp.CounterpartyAccessGroupChanged(counterparty_id=a, access_group="south"), T0 + timedelta(days=5)),
            message(cp.CounterpartyArchived(counterparty_id=a), T0 + timedelta(days=6)),
            message(cp.InformationSourceRecorded(counterparty_id=a, source="fair", on=date(2026, 3, 1)), T0),
            message(
                cp.InformationSourceRecorded(counterparty_id=a, source="web", on=date(2026, 3, 10)),
                T0 + timedelta(days=9),
            ),
            message(
                ref.ReferenceEntryDefined(
                    catalog="sources", code="fair", name="Trade fair", attributes={"actuality_days": 30}
                ),
                T0,
            ),
            message(
                ref.ReferenceEntryChanged(
                    catalog="sources", code="fair", name="Fair", attributes={"actuality_days": 60}
                ),
                T0 + timedelta(days=8),
            ),
            message(ix.InteractionPlanned(**facts, created_by="ana", created_at=T0, source="fair"), T0),
            message(
                ix.InteractionCompleted(
                    **(facts | {"state": "completed"}),
                    outcome="",
                    outcome_code="deal",
                    completed_at=T0 + timedelta(days=1),
                ),
                T0 + timedelta(days=1),
            ),
        ]
    )
    [early] = await view(store, "counterparties_as_of", T0 + timedelta(days=1), "counterparty_id")
    assert (early["manager"], early["access_group"], early["archived"], early["contact_types"]) == (
        "ana",
        "north",
        False,
        ["email", "phone"],
    )
    [late] = await view(store, "counterparties_as_of", T0 + timedelta(days=7), "counterparty_id")
    assert (late["access_group"], late["archived"]) == ("south", True)

    sources = await view(store, "source_records", T0 + timedelta(days=30), "on")
    assert [(r["on"], r["source"]) for r in sources] == [(date(2026, 3, 1), "fair"), (date(2026, 3, 10), "web")]
    assert len(await view(store, "source_records", T0 + timedelta(days=2), "on")) == 1

    [fair] = await view(store, "reference_entries", T0 + timedelta(days=1), "code")
    assert (fair["catalog"], fair["code"], fair["name"], fair["actuality_days"]) == (
        "sources",
        "fair",
        "Trade fair",
        30,
    )
    [fair] = await view(store, "reference_entries", T0 + timedelta(days=9), "code")
    assert (fair["name"], fair["actuality_days"]) == ("Fair", 60)

    [planned] = await view(store, "interactions_as_of", T0 + timedelta(hours=1), "interaction_id")
    assert (planned["state"], planned["kind"], planned["counterparty_id"], planned["source"]) == (
        "planned",
        "call",
        a,
        "fair",
    )
    assert planned["start"] == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    [done] = await view(store, "interactions_as_of", T0 + timedelta(days=2), "interaction_id")
    assert (done["state"], done["outcome_code"], done["end"] - done["start"]) == (
        "completed",
        "deal",
        timedelta(minutes=30),
    )


def test_a_message_that_is_not_a_cloud_event_is_poison() -> None:
    with pytest.raises(PoisonMessage):
        row_of(Message(TOPICS[0], "k", b'{"counterparty_id": "x"}', {}))


async def test_the_feed_follows_the_embedded_bus(store: AnalyticsStore, tmp_path: Path) -> None:
    bus = await open_bus(KernelSettings(data_dir=tmp_path / "data"), "analytics-test")
    feed = CrmEventsFeed(store)
    try:
        await bus.publish([registered(str(uuid.uuid4()), "ana")])
        await feed.follow(bus)
        for _ in range(100):
            [found] = await store.query("SELECT count() AS n FROM crm_events")
            if found["n"]:
                break
            await asyncio.sleep(0.1)
        assert found["n"] == 1
        assert feed.group == GROUP
    finally:
        await feed.stop()
        await bus.stop()


class CountedInserts:
    """The real store, counting the inserts it is asked for."""

    def __init__(self, store: AnalyticsStore) -> None:
        self._store = store
        self.inserts = 0

    async def execute(self, sql: str, parameters: Mapping[str, Any] | None = None) -> None:
        await self._store.execute(sql, parameters)

    async def query(self, sql: str, parameters: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        return await self._store.query(sql, parameters)

    async def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
        self.inserts += 1
        return await self._store.insert(table, columns, rows)

    async def run_script(self, path: Path, parameters: Mapping[str, Any] | None = None) -> None:
        await self._store.run_script(path, parameters)

    async def close(self) -> None:
        await self._store.close()


async def _stored(store: AnalyticsStore, expected: int, within: float = 10.0) -> dict[str, int]:
    """Once ``crm_events`` holds ``expected`` events (FINAL): how many rows each id has without FINAL."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        [found] = await store.query("SELECT count() AS n FROM crm_events FINAL")
        if found["n"] >= expected or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.02)
    assert found["n"] == expected
    rows = await store.query("SELECT id, count() AS n FROM crm_events GROUP BY id")
    return {str(r["id"]): int(r["n"]) for r in rows}


async def test_the_live_feed_inserts_at_most_once_per_pace_and_keeps_every_event(
    store: AnalyticsStore, tmp_path: Path
) -> None:
    counted = CountedInserts(store)
    bus = await open_bus(KernelSettings(data_dir=tmp_path / "data"), "analytics-test")
    feed = CrmEventsFeed(counted, pace=0.4)
    await feed.follow(bus)
    try:
        started = asyncio.get_running_loop().time()
        # A steady stream of one-event publishes (as a relay under load): each one wakes the feed.
        for _ in range(40):
            await bus.publish([registered(str(uuid.uuid4()), "ana")])
            await asyncio.sleep(0.025)
        stored = await _stored(store, 40)
        took = asyncio.get_running_loop().time() - started
    finally:
        await feed.stop()
        await bus.stop()
    assert sorted(stored.values()) == [1] * 40  # each event stored once
    assert counted.inserts <= 2 + took / 0.4, (counted.inserts, took)  # not one insert per publish


async def test_a_batch_redelivered_after_a_crash_is_stored_once(store: AnalyticsStore, tmp_path: Path) -> None:
    settings = KernelSettings(data_dir=tmp_path / "data")
    bus = await open_bus(settings, "analytics-test")
    first, second, third = ([registered(str(uuid.uuid4()), "ana") for _ in range(5)] for _ in range(3))
    feed = CrmEventsFeed(store, pace=60)
    await feed.follow(bus)
    try:
        await bus.publish(first)
        await _stored(store, 5)  # the first insert does not wait
        await bus.publish(second)  # fetched, then held: the last insert was less than `pace` ago
        await asyncio.sleep(0.3)
        await feed.stop()  # the process dies while the batch waits: nothing of it was acknowledged
        await CrmEventsFeed(store).handle(third)  # and another one was written but not acknowledged
        await bus.publish(third)
    finally:
        await feed.stop()
        await bus.stop()
    # The next process of the service takes the same group on: both batches come again.
    bus = await open_bus(settings, "analytics-test")
    feed = CrmEventsFeed(store, pace=60)
    await feed.follow(bus)
    try:
        await _stored(store, 15)
    finally:
        await feed.stop()
        await bus.stop()
    [kept] = await store.query("SELECT count() AS n, uniqExact(id) AS ids FROM crm_events FINAL")
    assert (kept["n"], kept["ids"]) == (15, 15)


async def test_a_poison_message_does_not_hold_its_neighbours_up(store: AnalyticsStore, tmp_path: Path) -> None:
    bus = await open_bus(KernelSettings(data_dir=tmp_path / "data"), "analytics-test")
    feed = CrmEventsFeed(store, pace=60)
    letters: list[Message] = []

    async def dead(messages: Sequence[Message]) -> None:
        letters.extend(messages)

    await feed.follow(bus)
    watch = await bus.subscribe_batches([TOPICS[0] + DEAD_LETTER_SUFFIX], "test-dead-letters", dead)
    try:
        await bus.publish([registered(str(uuid.uuid4()), "ana")])
        await _stored(store, 1)
        good = [registered(str(uuid.uuid4()), "ana") for _ in range(6)]
        poison = Message(TOPICS[0], "k", b'{"counterparty_id": "x"}', {})
        await bus.publish([*good[:3], poison, *good[3:]])
        # The batch fails on the poison and comes one message at a time, none of them waiting `pace`.
        stored = await _stored(store, 7, within=5.0)
        for _ in range(100):
            if letters:
                break
            await asyncio.sleep(0.05)
    finally:
        await watch.stop()
        await feed.stop()
        await bus.stop()
    assert sorted(stored.values()) == [1] * 7
    assert [m.key for m in letters] == ["k"]
