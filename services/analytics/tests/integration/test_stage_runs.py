"""Stage runs on the embedded adapters, through the HTTP API: a run records every customer's stage and
XYZ class as the XYZ report gives them, with the previous run's; only new and changed customers are
published; recording the same parameters again records nothing; the list, the run and its rows;
403 without ``analytics:classify``; 422 naming the field. The schedule: the stage run of the last
completed month recorded by the service's scheduler (beside the ABC run), exactly once across two
schedulers at once and restarts, and published; its settings checked."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from crm_analytics import bootstrap
from crm_analytics.application.links import CounterpartyLinks
from crm_analytics.application.publishing import stored, translate
from crm_analytics.application.schedule import Scheduler, stage_job
from crm_analytics.application.stage_runs import StageRuns
from crm_analytics.application.xyz import XyzReport
from crm_analytics.bootstrap import AnalyticsService
from crm_analytics.domain import stage_run
from crm_analytics.domain.xyz import XyzParameters
from crm_analytics.entrypoints.api import build_router
from crm_analytics.settings import AnalyticsSettings
from crm_shared.contracts.analytics import CUSTOMER_STAGE_TOPIC
from crm_shared.http import install
from crm_shared.identity import CALLER_HEADER, CallerTokens, caller_of
from crm_shared.integration import Envelope
from crm_shared.settings import KernelSettings

TOKENS = CallerTokens(b"0123456789abcdef0123456789abcdef")
RUNS = "/api/v1/analytics/xyz/runs"
FACTS = "/api/v1/analytics/trade-facts"
WINDOW: dict[str, Any] = {"periodicity": "month", "periods": 3, "regular_periods": 2}


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[AnalyticsService]:
    wired = await bootstrap.build(
        KernelSettings(data_dir=tmp_path), AnalyticsSettings(abc_schedule="off", stage_schedule="off")
    )
    await wired.runner.follow_log(wired.store, stored)
    try:
        yield wired
    finally:
        await wired.close()


def client(service: AnalyticsService, role: str = "administrator") -> httpx.AsyncClient:
    app = FastAPI()
    install(app)
    app.include_router(build_router(service, TOKENS))
    token = TOKENS.issue(caller_of("ana", [role], ["general"]))  # type: ignore[list-item]
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://crm", headers={CALLER_HEADER: token}
    )


def fact(n: str, day: str, customer: str, revenue: str, kind: str = "sale") -> dict[str, Any]:
    return {"id": n, "kind": kind, "date": day, "customer": customer, "quantity": "1", "revenue": revenue}


async def published(service: AnalyticsService) -> list[Envelope]:
    return [e for recorded in await service.store.read_all(after=0, limit=10_000) for e in translate(recorded)]


async def report(http: httpx.AsyncClient, to: str) -> dict[str, tuple[str, str | None]]:
    body = (await http.get("/api/v1/analytics/xyz", params={"to": to, **WINDOW, "limit": 1000})).json()
    return {r["customer"]: (r["stage"], r["class"]) for r in body["rows"]}


async def test_a_run_records_stages_publishes_changes_only_and_a_repeat_records_nothing(
    service: AnalyticsService,
) -> None:
    first_facts = [
        fact("R1-1", "2026-01-10", "R1", "100.00"),
        fact("R1-2", "2026-02-10", "R1", "100.00"),
        fact("R1-3", "2026-03-10", "R1", "100.00"),
        fact("R2-1", "2026-01-15", "R2", "10.00"),
        fact("R2-3", "2026-03-15", "R2", "300.00"),
        fact("O1-2", "2026-02-20", "O1", "50.00"),
        fact("P1-x", "2026-02-01", "P1", "5.00", kind="return"),
    ]
    async with client(service) as http:
        assert (await http.post(FACTS, json={"facts": first_facts})).status_code == 200
        expected_march = await report(http, "2026-03-31")
        assert expected_march == {
            "R1": ("regular", "X"),
            "R2": ("regular", "Z"),
            "O1": ("one-time", None),
            "P1": ("potential", None),
        }
        made = await http.post(RUNS, json={"to": "2026-03-31", **WINDOW})
        assert made.status_code == 201, made.text
        march = made.json()
        assert made.headers["Location"] == f"{RUNS}/{march['run_id']}"
        assert (march["customers"], march["changed"], march["previous_run_id"]) == (4, 4, None)
        assert march["stages"] == {"potential": 1, "one-time": 1, "regular": 2, "lost": 0}
        assert march["classes"] == {"X": 1, "Y": 0, "Z": 1}
        assert march["scheme"] == "month:3:revenue:10/25:2:EUR"
        after_march = await published(service)
        assert [(e.type, e.subject) for e in after_march] == [
            ("crm.analytics.StageRunRecorded", march["run_id"]),
            *(("crm.analytics.CustomerStageChanged", code) for code in ("O1", "P1", "R1", "R2")),
        ]
        assert {e.topic for e in after_march} == {CUSTOMER_STAGE_TOPIC}
        assert len({e.id for e in after_march}) == len(after_march)

        # The same parameters again: the same run, nothing recorded.
        position = (await service.store.read_all(after=0, limit=10_000))[-1].position
        again = await http.post(RUNS, json={"to": "2026-03-31", **WINDOW})
        assert again.status_code == 200 and again.json()["run_id"] == march["run_id"]
        assert (await service.store.read_all(after=0, limit=10_000))[-1].position == position

        # April: R2 buys nothing more (one sale in the window: one-time), N1 is new, R1 stays regular X.
        april_facts = [fact("R1-4", "2026-04-10", "R1", "100.00"), fact("N1-4", "2026-04-11", "N1", "70.00")]
        assert (await http.post(FACTS, json={"facts": april_facts})).status_code == 200
        expected_april = await report(http, "2026-04-30")
        made = await http.post(RUNS, json={"to": "2026-04-30", **WINDOW})
        assert made.status_code == 201, made.text
        april = made.json()
        assert (april["previous_run_id"], april["customers"], april["changed"]) == (march["run_id"], 5, 2)
        changes = [e.data for e in await published(service) if e not in after_march]
        assert [c["customer"] for c in changes if "customer" in c] == ["N1", "R2"]
        by_code = {c["customer"]: c for c in changes if "customer" in c}
        assert (by_code["R2"]["stage"], by_code["R2"]["xyz_class"]) == expected_april["R2"] == ("one-time", None)
        assert (by_code["R2"]["previous_stage"], by_code["R2"]["previous_class"]) == ("regular", "Z")
        assert (by_code["N1"]["previous_stage"], by_code["N1"]["previous_class"]) == (None, None)
        assert by_code["N1"]["as_of"] == "2026-04-30" and by_code["N1"]["run_id"] == april["run_id"]
        assert by_code["N1"]["scheme"] == march["scheme"]

        # Reads: newest first; the run; its rows with the previous ones.
        commit = made.headers["X-Commit-Position"]
        listed = (await http.get(RUNS, params={"min_position": commit})).json()
        assert [r["run_id"] for r in listed["items"]] == [april["run_id"], march["run_id"]]
        assert (await http.get(f"{RUNS}/{april['run_id']}")).json() == april
        rows = (await http.get(f"{RUNS}/{april['run_id']}/rows", params={"min_position": commit})).json()["items"]
        assert {r["customer"]: (r["stage"], r["class"]) for r in rows} == expected_april
        assert [r["customer"] for r in rows if r["changed"]] == ["N1", "R2"]
        assert {r["customer"]: r["previous_stage"] for r in rows}["R1"] == "regular"

        # Another scheme does not compare with this one.
        other = (await http.post(RUNS, json={"to": "2026-04-30", **WINDOW, "x": "5"})).json()
        assert (other["previous_run_id"], other["changed"]) == (None, 5)
        assert other["scheme"] == "month:3:revenue:5/25:2:EUR"


async def test_the_counterparty_known_when_recorded_is_in_the_event(service: AnalyticsService) -> None:
    codes = Envelope(
        id="e1",
        type="crm.contacts.CounterpartyExternalCodesChanged",
        source="crm/contacts",
        subject="cp-1",
        time=datetime(2026, 3, 1, tzinfo=UTC),
        topic="crm.contacts.counterparty.v1",
        data={"counterparty_id": "cp-1", "external_codes": [{"system": "erp", "code": "K1"}]},
        stream="counterparty-cp-1",
        stream_version=1,
        position=1,
    )
    await service.events.handle([codes.to_message()])
    async with client(service) as http:
        facts = [fact("a", "2026-03-01", "K1", "10.00"), fact("b", "2026-03-02", "K2", "10.00")]
        assert (await http.post(FACTS, json={"facts": facts})).status_code == 200
        assert (await http.post(RUNS, json={"to": "2026-03-31"})).status_code == 201
    changes = {e.subject: e.data for e in await published(service) if e.type == "crm.analytics.CustomerStageChanged"}
    assert (changes["K1"]["counterparty_id"], changes["K2"]["counterparty_id"]) == ("cp-1", None)


async def test_roles_and_bad_input(service: AnalyticsService) -> None:
    for role in ("marketer", "sales_manager", "read_only"):
        async with client(service, role) as http:
            refused = await http.post(RUNS, json={"to": "2026-03-31"})
            assert refused.status_code == 403, role
    assert await service.store.read_all(after=0, limit=10) == []
    async with client(service, "marketer") as http:  # reading needs analytics:read only
        assert (await http.get(RUNS)).status_code == 200
    async with client(service, "sales_manager") as http:
        assert (await http.get(RUNS)).status_code == 403
    async with client(service) as http:
        missing = await http.get(f"{RUNS}/00000000-0000-4000-8000-000000000000")
        assert missing.status_code == 404
        for body, field in (
            ({"to": "2026-13-01"}, "to"),
            ({"to": "2026-03-31", "periods": 1}, "periods"),
            ({"to": "2026-03-31", "periodicity": "fortnight"}, "periodicity"),
            ({"to": "2026-03-31", "by": "mood"}, "by"),
            ({"to": "2026-03-31", "x": "30", "y": "20"}, "y"),
            ({"to": "2026-03-31", "periods": 3, "regular_periods": 4}, "regular_periods"),
            ({"to": "2026-03-31", "currency": "USD"}, "currency"),
            ({"to": "2026-03-31", "colour": "red"}, "colour"),
        ):
            answer = await http.post(RUNS, json=body)
            assert answer.status_code == 422, (body, answer.text)
            assert [e["field"] for e in answer.json()["errors"]][-1].split(".")[-1] == field, answer.json()


# -- the schedule ----------------------------------------------------------------------------------

SCHEDULED = AnalyticsSettings(
    abc_schedule="monthly", abc_schedule_day=2, stage_schedule="monthly", stage_schedule_periods=3, stage_schedule_day=2
)


def on(day: int) -> Callable[[], datetime]:
    return lambda: datetime(2026, 4, day, 6, tzinfo=UTC)


async def test_the_schedule_records_one_stage_run_per_period_across_schedulers_and_restarts(tmp_path: Path) -> None:
    settings = KernelSettings(data_dir=tmp_path)
    wired = await bootstrap.build(settings, SCHEDULED)
    try:
        march = [fact("R1-1", "2026-02-10", "R1", "100.00"), fact("R1-2", "2026-03-10", "R1", "100.00")]
        march.append(fact("O1-1", "2026-03-20", "O1", "50.00"))
        async with client(wired) as http:
            assert (await http.post(FACTS, json={"facts": march})).status_code == 200
        # The service's own jobs (ABC and stage, from its settings), on 1 April: not due before the 2nd.
        assert await Scheduler(wired.scheduler.jobs, clock=on(1)).run_due() == [None, None]
        # Two schedulers at once, the second with its own stage runs (as another process would have).
        other = StageRuns(
            wired.store, wired.views, wired.runner, XyzReport(wired.analytics), CounterpartyLinks(wired.analytics)
        )
        rule = SCHEDULED.stage_rule
        second = Scheduler([stage_job(other, schedule="monthly", rule=rule, day=2)], clock=on(2))
        first, (again,) = await asyncio.gather(Scheduler(wired.scheduler.jobs, clock=on(2)).run_due(), second.run_due())
    finally:
        await wired.close()
    stage_id = stage_run.run_id_of(XyzParameters(to=date(2026, 3, 31), periods=3))
    assert first[1] == again == stage_id and first[0] is not None
    for day in (9, 30):  # restarts later in April
        wired = await bootstrap.build(settings, SCHEDULED)
        try:
            assert await Scheduler(wired.scheduler.jobs, clock=on(day)).run_due() == first
        finally:
            await wired.close()
    wired = await bootstrap.build(settings, SCHEDULED)
    try:
        recorded = [r for r in await wired.store.read_all(after=0, limit=10_000)]
        assert [r.type for r in recorded].count("analytics.StageRunRecorded") == 1
        assert [r.type for r in recorded].count("analytics.AbcRunConfirmed") == 1
        events = [(e.type, e.subject) for e in await published(wired)]
        assert [e for e in events if e[0].endswith("StageRunRecorded") or e[0].endswith("StageChanged")] == [
            ("crm.analytics.StageRunRecorded", stage_id),
            ("crm.analytics.CustomerStageChanged", "O1"),
            ("crm.analytics.CustomerStageChanged", "R1"),
        ]
        await wired.runner.sync(wired.store, stored)
        run = await wired.stage_runs.get(caller_of("x", ["marketer"]), stage_id)
        assert (run["as_of"], run["period_from"], run["recorded_by"]) == ("2026-03-31", "2026-01-01", "system")
        assert (run["stages"]["regular"], run["stages"]["one-time"]) == (1, 1)
    finally:
        await wired.close()


async def test_the_stage_schedule_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_ANALYTICS_STAGE_SCHEDULE", "quarterly")
    monkeypatch.setenv("CRM_ANALYTICS_STAGE_SCHEDULE_BY", "profit")
    monkeypatch.setenv("CRM_ANALYTICS_STAGE_SCHEDULE_X", "12.5")
    found = AnalyticsSettings()
    assert (found.stage_schedule, found.abc_schedule) == ("quarterly", "monthly")
    assert found.stage_rule(date(2026, 3, 31)) == XyzParameters(
        to=date(2026, 3, 31), measure="profit", x=Decimal("12.5"), y=Decimal(25)
    )
    assert AnalyticsSettings().stage_schedule_periods == 6
    monkeypatch.setenv("CRM_ANALYTICS_STAGE_SCHEDULE_X", "30")  # above Y
    with pytest.raises(ValueError, match="CRM_ANALYTICS_STAGE_SCHEDULE_Y"):
        AnalyticsSettings()
    monkeypatch.delenv("CRM_ANALYTICS_STAGE_SCHEDULE_X")
    monkeypatch.setenv("CRM_ANALYTICS_STAGE_SCHEDULE_REGULAR_PERIODS", "7")  # more than the 6 periods
    with pytest.raises(ValueError, match="CRM_ANALYTICS_STAGE_SCHEDULE_REGULAR_PERIODS"):
        AnalyticsSettings()
    monkeypatch.setenv("CRM_ANALYTICS_STAGE_SCHEDULE", "weekly")
    with pytest.raises(ValueError):
        AnalyticsSettings()
