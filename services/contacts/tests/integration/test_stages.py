"""Analytics' customer stages land in contacts' own copy, by counterparty: the latest day (then the
recording, then the log) wins whatever the order of arrival, redeliveries change nothing, run events
and events without a counterparty are ignored; the list filters by stage and XYZ class, with the ABC
class, and keeps hidden counterparties hidden; a bad value is refused naming its filter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from crm_contacts import bootstrap
from crm_contacts.application.counterparties.queries import Filters
from crm_contacts.domain import counterparty as cp
from crm_contacts.projections.stages import STAGES_COLLECTION
from crm_shared.bus import Message
from crm_shared.contracts.analytics import CUSTOMER_CLASS_TOPIC, CUSTOMER_STAGE_TOPIC
from crm_shared.directory import directory_messages
from crm_shared.errors import DomainError
from crm_shared.identity import caller_of
from crm_shared.integration import Envelope
from crm_shared.settings import KernelSettings

ADMIN = caller_of("admin", ["administrator"])


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[bootstrap.ContactsService]:
    wired = await bootstrap.build(KernelSettings(data_dir=tmp_path))
    await wired.directory.runner.handle_batch(directory_messages({"ivan": "Иван Петров"}, ("general", "secret")))
    yield wired
    await wired.close()


def staged(
    position: int,
    counterparty_id: str | None,
    stage: str,
    xyz_class: str | None = None,
    *,
    as_of: str = "2026-01-31",
    recorded_at: str = "2026-02-01T08:00:00+00:00",
    previous: tuple[str | None, str | None] = (None, None),
    run_id: str = "run-1",
    customer: str = "K-1",
) -> Message:
    data: dict[str, Any] = {
        "customer": customer,
        "counterparty_id": counterparty_id,
        "stage": stage,
        "xyz_class": xyz_class,
        "previous_stage": previous[0],
        "previous_class": previous[1],
        "run_id": run_id,
        "scheme": "month:6:revenue:10/25:2:EUR",
        "as_of": as_of,
        "recorded_at": recorded_at,
    }
    return Envelope(
        id=f"e-{position}-{customer}",
        type="crm.analytics.CustomerStageChanged",
        source="crm/analytics",
        subject=customer,
        time=datetime.now(UTC),
        topic=CUSTOMER_STAGE_TOPIC,
        data=data,
        stream=f"stage-run-{run_id}",
        stream_version=position,
        position=position,
    ).to_message()


async def stage_of(service: bootstrap.ContactsService, cid: str) -> dict[str, Any] | None:
    return await service.views.get(service.stage_runner.collection(STAGES_COLLECTION), cid)


async def register(service: bootstrap.ContactsService, cid: str, name: str, group: str = "general") -> None:
    command = cp.RegisterCounterparty(cid, name, ("buyer",), None, "ivan", service.commands.now(), access_group=group)
    await service.commands.handle(command, ADMIN)


async def test_the_latest_run_wins_in_any_order_and_redeliveries_change_nothing(
    service: bootstrap.ContactsService,
) -> None:
    runner = service.stage_runner
    january = staged(10, "c-1", "regular", "Y")
    february = staged(20, "c-1", "lost", as_of="2026-02-28", previous=("regular", "Y"), run_id="run-2")
    january_again = staged(30, "c-1", "regular", "X", run_id="run-3", recorded_at="2026-03-05T08:00:00+00:00")
    await runner.handle_batch([january])
    doc = await stage_of(service, "c-1")
    assert doc is not None and (doc["stage"], doc["xyz_class"]) == ("regular", "Y")
    await runner.handle_batch([february])
    await runner.handle_batch([january_again])  # January recorded again after February: older
    await runner.handle_batch([february, january])  # redelivered
    doc = await stage_of(service, "c-1")
    assert doc is not None
    assert (doc["stage"], doc["xyz_class"], doc["previous_stage"], doc["previous_class"], doc["run_id"]) == (
        "lost",
        None,
        "regular",
        "Y",
        "run-2",
    )
    # Two runs of one day: the one recorded later, whichever arrives first.
    await runner.handle_batch(
        [
            staged(60, "c-2", "one-time", recorded_at="2026-02-02T08:00:00+00:00", customer="K-2"),
            staged(50, "c-2", "regular", "Z", customer="K-2"),
        ]
    )
    doc = await stage_of(service, "c-2")
    assert doc is not None and doc["stage"] == "one-time"


async def test_run_events_and_unlinked_customers_are_not_kept(service: bootstrap.ContactsService) -> None:
    run = Envelope(
        id="run-event",
        type="crm.analytics.StageRunRecorded",
        source="crm/analytics",
        subject="run-1",
        time=datetime.now(UTC),
        topic=CUSTOMER_STAGE_TOPIC,
        data={"run_id": "run-1"},
        stream="stage-run-run-1",
        stream_version=1,
        position=1,
    ).to_message()
    await service.stage_runner.handle_batch([run, staged(2, None, "regular", "X", customer="UNLINKED")])
    assert await service.views.count(service.stage_runner.collection(STAGES_COLLECTION)) == 0


async def test_the_list_filters_by_stage_and_class_and_keeps_hidden_counterparties_hidden(
    service: bootstrap.ContactsService,
) -> None:
    for i in range(5):
        await register(service, f"c-{i}", f"Фирма {i}")
    await register(service, "c-secret", "Фирма тайна", group="secret")
    await service.catch_up_views()
    stages = {
        "c-0": ("regular", "X"),
        "c-1": ("regular", "Z"),
        "c-2": ("one-time", None),
        "c-3": ("regular", "X"),
        "c-secret": ("regular", "X"),
    }
    await service.stage_runner.handle_batch(
        [staged(i + 1, cid, s, c, customer=f"K-{cid}") for i, (cid, (s, c)) in enumerate(stages.items())]
    )
    abc = Envelope(
        id="abc-1",
        type="crm.analytics.CustomerClassChanged",
        source="crm/analytics",
        subject="K-c-3",
        time=datetime.now(UTC),
        topic=CUSTOMER_CLASS_TOPIC,
        data={
            "customer": "K-c-3",
            "counterparty_id": "c-3",
            "abc_class": "A",
            "previous_class": None,
            "marker": "new",
            "computed_class": "A",
            "overridden": False,
            "run_id": "abc-run",
            "scheme": "revenue:70/20/10:EUR",
            "period_from": "2026-01-01",
            "period_to": "2026-01-31",
            "confirmed_at": "2026-02-01T08:00:00+00:00",
        },
        stream="abc-run-abc-run",
        stream_version=1,
        position=100,
    ).to_message()
    await service.abc_runner.handle_batch([abc])
    queries = service.queries

    async def ids(caller: Any = ADMIN, **filters: Any) -> list[str]:
        return [str(d["_id"]) for d in (await queries.list(caller, Filters(**filters))).items]

    assert await ids(stage="regular") == ["c-0", "c-1", "c-3", "c-secret"]
    assert await ids(stage="regular", xyz_class="X") == ["c-0", "c-3", "c-secret"]
    assert await ids(xyz_class="X", abc_class="A") == ["c-3"]
    assert await ids(stage="one-time") == ["c-2"]
    assert await ids(stage="lost") == []
    seller = caller_of("maria", ["sales_manager"], groups=["general"])
    assert await ids(seller, stage="regular", xyz_class="X") == ["c-0", "c-3"]
    assert (await queries.stage_of(["c-2", "c-4"])).keys() == {"c-2"}
    for name, value in (("stage", "dormant"), ("xyz_class", "W")):
        with pytest.raises(DomainError) as raised:
            await queries.list(ADMIN, Filters(stage=value) if name == "stage" else Filters(xyz_class=value))
        assert raised.value.field == name
