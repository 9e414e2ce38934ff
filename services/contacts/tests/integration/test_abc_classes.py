"""Analytics' customer classes land in contacts' own copy, by counterparty: the latest period (then
confirmation, then the log) wins whatever the order of arrival, redeliveries change nothing, events
without a counterparty are ignored; the list filters by class and keeps access rules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from crm_contacts import bootstrap
from crm_contacts.application.counterparties.queries import Filters
from crm_contacts.domain import counterparty as cp
from crm_contacts.projections.abc_classes import ABC_CLASSES
from crm_shared.bus import Message, PoisonMessage
from crm_shared.contracts.analytics import CUSTOMER_CLASS_TOPIC
from crm_shared.directory import directory_messages
from crm_shared.errors import DomainError
from crm_shared.identity import caller_of
from crm_shared.integration import Envelope
from crm_shared.readstore.cursor import encode_cursor
from crm_shared.settings import KernelSettings

ADMIN = caller_of("admin", ["administrator"])
CHANGED = "crm.analytics.CustomerClassChanged"


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[bootstrap.ContactsService]:
    wired = await bootstrap.build(KernelSettings(data_dir=tmp_path))
    await wired.directory.runner.handle_batch(directory_messages({"ivan": "Иван Петров"}, ("general", "secret")))
    yield wired
    await wired.close()


def changed(
    position: int,
    counterparty_id: str | None,
    abc_class: str,
    *,
    period_to: str = "2026-01-31",
    confirmed_at: str = "2026-02-01T08:00:00+00:00",
    previous_class: str | None = None,
    run_id: str = "run-1",
    overridden: bool = False,
    customer: str = "K-1",
) -> Message:
    data: dict[str, Any] = {
        "customer": customer,
        "counterparty_id": counterparty_id,
        "abc_class": abc_class,
        "previous_class": previous_class,
        "marker": "new" if previous_class is None else "up",
        "computed_class": abc_class,
        "overridden": overridden,
        "run_id": run_id,
        "scheme": "revenue:70/20/10:EUR",
        "period_from": period_to[:8] + "01",
        "period_to": period_to,
        "confirmed_at": confirmed_at,
    }
    return Envelope(
        id=f"e-{position}-{customer}",
        type=CHANGED,
        source="crm/analytics",
        subject=customer,
        time=datetime.now(UTC),
        topic=CUSTOMER_CLASS_TOPIC,
        data=data,
        stream=f"abc-run-{run_id}",
        stream_version=position,
        position=position,
    ).to_message()


async def abc(service: bootstrap.ContactsService, cid: str) -> dict[str, Any] | None:
    return await service.views.get(service.abc_runner.collection(ABC_CLASSES), cid)


async def register(service: bootstrap.ContactsService, cid: str, name: str, group: str = "general") -> None:
    now = service.commands.now()
    command = cp.RegisterCounterparty(cid, name, ("buyer",), None, "ivan", now, access_group=group)
    await service.commands.handle(command, ADMIN)


async def test_the_latest_period_wins_in_any_order_and_redeliveries_change_nothing(
    service: bootstrap.ContactsService,
) -> None:
    runner = service.abc_runner
    january = changed(10, "c-1", "B")
    february = changed(20, "c-1", "A", period_to="2026-02-28", previous_class="B", run_id="run-2")
    january_again = changed(30, "c-1", "C", run_id="run-3", confirmed_at="2026-03-05T08:00:00+00:00")
    await runner.handle_batch([january])
    await runner.handle_batch([february])
    await runner.handle_batch([january_again])  # January run again after February was confirmed: older
    await runner.handle_batch([february, january])  # redelivered
    doc = await abc(service, "c-1")
    assert doc is not None
    assert (doc["abc_class"], doc["previous_class"], doc["run_id"], doc["period_to"]) == (
        "A",
        "B",
        "run-2",
        "2026-02-28",
    )

    # An override in February's run comes later in analytics' log: it is in force.
    await runner.handle_batch([changed(40, "c-1", "C", period_to="2026-02-28", run_id="run-2", overridden=True)])
    doc = await abc(service, "c-1")
    assert doc is not None and (doc["abc_class"], doc["overridden"]) == ("C", True)
    await runner.handle_batch([february])  # the run's row redelivered after the override
    doc = await abc(service, "c-1")
    assert doc is not None and doc["abc_class"] == "C"

    # Two runs of one period: the one confirmed later.
    await runner.handle_batch(
        [
            changed(60, "c-2", "B", confirmed_at="2026-02-02T08:00:00+00:00", customer="K-2"),
            changed(50, "c-2", "A", customer="K-2"),
        ]
    )
    doc = await abc(service, "c-2")
    assert doc is not None and doc["abc_class"] == "B"


async def test_events_without_a_counterparty_are_ignored_and_bad_ones_dead_lettered(
    service: bootstrap.ContactsService,
) -> None:
    await service.abc_runner.handle_batch([changed(10, None, "A", customer="UNLINKED")])
    assert await service.views.count(service.abc_runner.collection(ABC_CLASSES)) == 0
    bad = changed(11, "c-1", "D")
    with pytest.raises(PoisonMessage):
        await service.abc_runner.handle_batch([bad])


async def test_the_list_filters_by_class_pages_and_keeps_hidden_counterparties_hidden(
    service: bootstrap.ContactsService,
) -> None:
    for i in range(7):
        await register(service, f"c-{i}", f"Фирма {i}")
    await register(service, "c-secret", "Фирма тайна", group="secret")
    await service.catch_up_views()
    classes = {"c-0": "A", "c-2": "A", "c-3": "B", "c-5": "A", "c-6": "C", "c-secret": "A"}
    await service.abc_runner.handle_batch(
        [changed(i + 1, cid, cls, customer=f"K-{cid}") for i, (cid, cls) in enumerate(classes.items())]
    )
    queries = service.queries
    page = await queries.list(ADMIN, Filters(abc_class="A"))
    assert [d["_id"] for d in page.items] == ["c-0", "c-2", "c-5", "c-secret"]

    seller = caller_of("maria", ["sales_manager"], groups=["general"])
    seen: list[str] = []
    cursor = None
    while True:
        page = await queries.list(seller, Filters(abc_class="A"), limit=2, cursor=cursor)
        assert len(page.items) <= 2
        seen += [str(d["_id"]) for d in page.items]
        if page.next_after is None:
            break
        cursor = encode_cursor(page.next_after)
    assert seen == ["c-0", "c-2", "c-5"]
    assert [d["_id"] for d in (await queries.list(seller, Filters(abc_class="C"))).items] == ["c-6"]
    assert (await queries.abc_of(["c-3", "c-1"])).keys() == {"c-3"}
    with pytest.raises(DomainError) as raised:
        await queries.list(ADMIN, Filters(abc_class="D"))
    assert raised.value.field == "abc_class"
