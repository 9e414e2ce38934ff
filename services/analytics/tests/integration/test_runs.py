"""ABC runs on the embedded adapters, through the HTTP API: two periods of generated facts, each run
confirmed, its classes, previous classes and markers checked against a plain calculation; overrides
(a reason required, both classes shown, in the history, published); the public events of a run; the
schedule making exactly one run per period across two starts; bad input answered 422 naming the
field; contacts' ERP codes (in crm_events) linking customers."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from crm_analytics import bootstrap
from crm_analytics.application.publishing import stored, translate
from crm_analytics.application.schedule import Scheduler, abc_job, due_period
from crm_analytics.bootstrap import AnalyticsService
from crm_analytics.domain.abc import Period, Shares
from crm_analytics.entrypoints.api import build_router
from crm_analytics.settings import AnalyticsSettings
from crm_shared.bus import Message
from crm_shared.http import install
from crm_shared.identity import CALLER_HEADER, CallerTokens, caller_of
from crm_shared.integration import Envelope
from crm_shared.settings import KernelSettings

TOKENS = CallerTokens(b"0123456789abcdef0123456789abcdef")
RUNS = "/api/v1/analytics/abc/runs"
FACTS = "/api/v1/analytics/trade-facts"
OFF = AnalyticsSettings(abc_schedule="off")


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[AnalyticsService]:
    wired = await bootstrap.build(KernelSettings(data_dir=tmp_path), OFF)
    await wired.runner.follow_log(wired.store, stored)  # the projector's part that these tests need
    try:
        yield wired
    finally:
        await wired.close()


def app_of(service: AnalyticsService) -> FastAPI:
    app = FastAPI()
    install(app)
    app.include_router(build_router(service, TOKENS))
    return app


def client(app: FastAPI, role: str = "administrator", user: str = "ana") -> httpx.AsyncClient:
    token = TOKENS.issue(caller_of(user, [role], ["general"]))  # type: ignore[list-item]
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://crm", headers={CALLER_HEADER: token}
    )


def generate(rng: random.Random) -> list[dict[str, Any]]:
    """Sales and returns of 40 customers over January and February 2026 (some only in one month)."""
    amounts = ["0.00", "10.00", "10.00", "25.50", "100.00", "100.00", "999.99"]
    facts = []
    for n in range(400):
        day = date(2026, 1, 1) + timedelta(days=rng.randint(0, 58))
        customer = f"K{rng.randint(0, 39):02d}" if day.month == 1 else f"K{rng.randint(5, 44):02d}"
        facts.append(
            {
                "id": f"F{n}",
                "kind": "return" if rng.random() < 0.15 else "sale",
                "date": day.isoformat(),
                "customer": customer,
                "quantity": "1",
                "revenue": rng.choice(amounts),
            }
        )
    return facts


def plain_classes(facts: list[dict[str, Any]], start: date, end: date) -> dict[str, str]:
    """1C's rule the plain way: each customer known by ``end`` and its class by revenue, 70/20/10."""
    values: dict[str, Decimal] = {}
    for f in facts:
        day = date.fromisoformat(f["date"])
        if day > end:
            continue
        values.setdefault(f["customer"], Decimal(0))
        if day >= start:
            values[f["customer"]] += Decimal(f["revenue"]) * (-1 if f["kind"] == "return" else 1)
    total = sum(values.values(), Decimal(0))
    running, classes = Decimal(0), {}
    for customer, value in sorted(values.items(), key=lambda item: (item[1], item[0])):
        running += value
        share = running * 100 / total if total > 0 else Decimal(0)
        classes[customer] = "C" if total <= 0 or share <= 10 else "B" if share <= 30 else "A"
    return classes


def plain_marker(now: str, before: str | None) -> str:
    if before is None:
        return "new"
    rank = {"A": 3, "B": 2, "C": 1}
    return "up" if rank[now] > rank[before] else "down" if rank[now] < rank[before] else "same"


async def every_row(http: httpx.AsyncClient, run_id: str, **params: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        answer = await http.get(
            f"{RUNS}/{run_id}/rows", params={**params, "limit": "7", **({"cursor": cursor} if cursor else {})}
        )
        assert answer.status_code == 200, answer.text
        rows += answer.json()["items"]
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            return rows


async def run_for(http: httpx.AsyncClient, start: str, end: str) -> dict[str, Any]:
    created = await http.post(RUNS, json={"from": start, "to": end})
    assert created.status_code == 201, created.text
    run_id = created.json()["run_id"]
    assert created.headers["Location"] == f"{RUNS}/{run_id}"
    assert created.json()["status"] == "draft"
    preview = await http.get(f"{RUNS}/{run_id}/preview", params={"limit": "1000"})
    assert preview.status_code == 200, preview.text
    confirmed = await http.post(f"{RUNS}/{run_id}/confirm")
    assert confirmed.status_code == 200, confirmed.text
    body: dict[str, Any] = confirmed.json()
    assert body["status"] == "confirmed"
    # What the preview showed is what was recorded (no facts came in between).
    rows = await every_row(http, run_id, min_position=confirmed.headers["X-Commit-Position"])
    assert [(r["customer"], r["class"], r["previous_class"], r["marker"]) for r in rows] == [
        (r["customer"], r["class"], r["previous_class"], r["marker"]) for r in preview.json()["rows"]
    ]
    return body


async def test_two_periods_previous_classes_markers_overrides_and_history(service: AnalyticsService) -> None:
    facts = generate(random.Random(14))
    async with client(app_of(service)) as http:
        assert (await http.post(FACTS, json={"facts": facts})).status_code == 200
        january = await run_for(http, "2026-01-01", "2026-01-31")
        february = await run_for(http, "2026-02-01", "2026-02-28")
        assert january["previous_run_id"] is None and february["previous_run_id"] == january["run_id"]

        jan = plain_classes(facts, date(2026, 1, 1), date(2026, 1, 31))
        feb = plain_classes(facts, date(2026, 2, 1), date(2026, 2, 28))
        rows = await every_row(http, february["run_id"])
        assert {r["customer"]: r["class"] for r in rows} == feb
        assert {r["customer"]: (r["previous_class"], r["marker"]) for r in rows} == {
            c: (jan.get(c), plain_marker(k, jan.get(c))) for c, k in feb.items()
        }
        assert february["customers"] == len(feb)
        assert {m for m in (plain_marker(k, jan.get(c)) for c, k in feb.items())} >= {"new", "same"}
        # Filters by class and marker.
        ups = await every_row(http, february["run_id"], marker="up", **{"class": "A"})
        assert sorted(r["customer"] for r in ups) == sorted(
            c for c, k in feb.items() if k == "A" and plain_marker(k, jan.get(c)) == "up"
        )
        # A confirmed run answers as it is when confirmed again: nothing recorded twice.
        again = await http.post(f"{RUNS}/{february['run_id']}/confirm")
        assert again.status_code == 200 and again.json() == february

        # Override: reason required; both classes shown; marker follows the class in force.
        target = next(r for r in rows if r["class"] == "C" and r["previous_class"] == "C")
        blank = await http.post(
            f"{RUNS}/{february['run_id']}/overrides", json={"customer": target["customer"], "class": "A", "reason": " "}
        )
        assert blank.status_code == 422 and blank.json()["errors"][0]["field"] == "reason", blank.text
        done = await http.post(
            f"{RUNS}/{february['run_id']}/overrides",
            json={"customer": target["customer"], "class": "A", "reason": "strategic account"},
        )
        assert done.status_code == 200, done.text
        assert done.json()["overrides"] == 1
        (row,) = [
            r
            for r in await every_row(http, february["run_id"], min_position=done.headers["X-Commit-Position"])
            if r["customer"] == target["customer"]
        ]
        assert (row["computed_class"], row["class"], row["marker"]) == ("C", "A", "up")
        assert row["override"]["reason"] == "strategic account" and row["override"]["class_before"] == "C"
        history = await http.get(f"/api/v1/analytics/abc/customers/{target['customer']}/history")
        assert [(h["run_id"], h["class"], h["computed_class"]) for h in history.json()["items"]] == [
            (january["run_id"], jan[target["customer"]], jan[target["customer"]]),
            (february["run_id"], "A", "C"),
        ]
        listed = await http.get(RUNS, params={"status": "confirmed"})
        assert [r["run_id"] for r in listed.json()["items"]] == [february["run_id"], january["run_id"]]

        # A third run of February follows the first one: its previous classes are February's in force.
        rerun = await run_for(http, "2026-02-01", "2026-02-28")
        assert rerun["previous_run_id"] == february["run_id"]
        (again_row,) = [r for r in await every_row(http, rerun["run_id"]) if r["customer"] == target["customer"]]
        assert (again_row["previous_class"], again_row["marker"]) == ("A", "down")

    # The public events: the run, each changed class (never the same ones), the override.
    published = [e for recorded in await service.store.read_all(after=0, limit=10_000) for e in translate(recorded)]
    runs_confirmed = [e for e in published if e.type == "crm.analytics.AbcRunConfirmed"]
    assert [e.subject for e in runs_confirmed] == [january["run_id"], february["run_id"], rerun["run_id"]]
    changed = [e.data for e in published if e.type == "crm.analytics.CustomerClassChanged"]
    feb_changes = {d["customer"]: d for d in changed if d["run_id"] == february["run_id"] and not d["overridden"]}
    assert set(feb_changes) == {c for c, k in feb.items() if plain_marker(k, jan.get(c)) != "same"}
    assert [d for d in changed if d["overridden"]] == [
        {**d, "customer": target["customer"], "abc_class": "A", "computed_class": "C", "marker": "up"}
        for d in changed
        if d["overridden"]
    ]
    assert len({e.id for e in published}) == len(published)


async def test_bad_input_is_422_naming_the_field_and_roles_are_checked(service: AnalyticsService) -> None:
    app = app_of(service)
    async with client(app) as http:
        for body, field in (
            ({"from": "2026-02-01", "to": "2026-01-01"}, "to"),
            ({"from": "2026-02-01", "to": "2026-02-28", "shares": "70/20/20"}, "shares"),
            ({"from": "2026-02-01", "to": "2026-02-28", "by": "margin"}, "by"),
            ({"from": "2026-02-30", "to": "2026-02-28"}, "from"),
            ({"from": "2026-02-01", "to": "2026-02-28", "currency": "eur"}, "currency"),
            ({"from": "2026-02-01", "to": "2026-02-28", "currency": "USD"}, "currency"),  # not the reporting one
            ({"from": "2026-02-01", "to": "2026-02-28", "extra": 1}, "extra"),
        ):
            answer = await http.post(RUNS, json=body)
            assert answer.status_code == 422, (body, answer.text)
            assert field in [e["field"] for e in answer.json()["errors"]], (body, answer.text)
        created = (await http.post(RUNS, json={"from": "2026-02-01", "to": "2026-02-28"})).json()
        draft = f"{RUNS}/{created['run_id']}"
        answer = await http.post(f"{draft}/overrides", json={"customer": "K1", "class": "A", "reason": "x"})
        assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "state"
        answer = await http.post(f"{draft}/overrides", json={"customer": "K1", "class": "D", "reason": "x"})
        assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "class"
        assert (await http.get(f"{RUNS}/00000000-0000-4000-8000-000000000000")).status_code == 404
        assert (await http.post(f"{RUNS}/00000000-0000-4000-8000-000000000000/confirm")).status_code == 404
        assert (await http.get(f"{RUNS}/not-a-uuid")).status_code == 422
        assert (await http.get(f"{draft}/rows", params={"marker": "sideways"})).status_code == 422
    async with client(app, role="marketer") as http:
        assert (await http.get(draft)).status_code == 200
        assert (await http.post(f"{draft}/confirm")).status_code == 403
    async with client(app, role="sales_manager") as http:
        assert (await http.get(draft)).status_code == 403


def test_the_due_period() -> None:
    assert due_period(date(2026, 3, 1), "monthly") == Period(date(2026, 2, 1), date(2026, 2, 28))
    assert due_period(date(2026, 1, 15), "monthly") == Period(date(2025, 12, 1), date(2025, 12, 31))
    assert due_period(date(2026, 3, 2), "monthly", day=3) is None
    assert due_period(date(2026, 5, 20), "quarterly") == Period(date(2026, 1, 1), date(2026, 3, 31))
    assert due_period(date(2026, 1, 2), "quarterly") == Period(date(2025, 10, 1), date(2025, 12, 31))
    assert due_period(date(2026, 5, 20), "off") is None


async def test_the_schedule_makes_one_run_per_period_across_restarts(tmp_path: Path) -> None:
    settings = KernelSettings(data_dir=tmp_path)
    ids = []
    for day in (2, 9):  # two starts in one month
        wired = await bootstrap.build(settings, OFF)
        try:
            scheduler = Scheduler(
                [abc_job(wired.runs, schedule="monthly", measure="revenue", shares=Shares(), currency="EUR")],
                clock=lambda day=day: datetime(2026, 3, day, 6, tzinfo=UTC),  # type: ignore[misc]
            )
            ids += await scheduler.run_due()
            await wired.runner.sync(wired.store, stored)
            page = await wired.runs.list(caller_of("x", ["marketer"]))
            assert [(d["status"], d["schedule"], d["period_from"]) for d in page.items] == [
                ("confirmed", "monthly", "2026-02-01")
            ]
        finally:
            await wired.close()
    assert ids[0] == ids[1]
    wired = await bootstrap.build(settings, OFF)
    try:
        confirmations = [
            r for r in await wired.store.read_all(after=0, limit=100) if r.type == "analytics.AbcRunConfirmed"
        ]
        assert len(confirmations) == 1
    finally:
        await wired.close()


async def test_the_schedules_today_is_the_organisations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 00:30 on 1 March in Sofia (UTC+2 in winter) is still 22:30 on 28 February in UTC.
    moment = datetime(2026, 2, 28, 22, 30, tzinfo=UTC)
    assert AnalyticsSettings(time_zone="Europe/Sofia").today(moment) == date(2026, 3, 1)
    assert AnalyticsSettings().today(moment) == date(2026, 2, 28)
    # In summer Sofia is UTC+3: 21:30 UTC on 30 June is already 1 July there (a new quarter).
    assert AnalyticsSettings(time_zone="Europe/Sofia").today(datetime(2026, 6, 30, 21, 30, tzinfo=UTC)) == date(
        2026, 7, 1
    )
    assert AnalyticsSettings(time_zone="Europe/Sofia").today(datetime(2026, 6, 30, 20, 59, tzinfo=UTC)) == date(
        2026, 6, 30
    )
    monkeypatch.setenv("CRM_ANALYTICS_TIME_ZONE", "Europe/Sofia")
    assert AnalyticsSettings().time_zone == "Europe/Sofia"
    for wrong in ("Europe/Sofa", "", "../../etc/passwd", "sofia", "+02:00"):
        monkeypatch.setenv("CRM_ANALYTICS_TIME_ZONE", wrong)
        with pytest.raises(ValueError, match="IANA"):
            AnalyticsSettings()
    monkeypatch.delenv("CRM_ANALYTICS_TIME_ZONE")

    wired = await bootstrap.build(KernelSettings(data_dir=tmp_path), OFF)
    try:
        due = {}
        for zone in ("UTC", "Europe/Sofia"):
            scheduler = Scheduler(
                [abc_job(wired.runs, schedule="monthly", measure="revenue", shares=Shares(), currency="EUR")],
                time_zone=zone,
                clock=lambda: moment,
            )
            [due[zone]] = await scheduler.run_due()
        await wired.runner.sync(wired.store, stored)
        page = await wired.runs.list(caller_of("x", ["marketer"]))
        periods = {d["run_id"]: (d["period_from"], d["period_to"]) for d in page.items}
        # In UTC February is not over yet: January is the last completed month; in Sofia it is February.
        assert periods[due["UTC"]] == ("2026-01-01", "2026-01-31")
        assert periods[due["Europe/Sofia"]] == ("2026-02-01", "2026-02-28")
        async with client(app_of(wired)) as http:
            assert (await http.get("/api/v1/analytics")).json()["time_zone"] == "UTC"
    finally:
        await wired.close()


async def test_customers_link_to_counterparties_by_their_erp_code(service: AnalyticsService) -> None:
    async with client(app_of(service)) as http:
        sale = {"date": "2026-02-10", "quantity": "1", "revenue": "10.00"}
        facts = [{**sale, "id": "S1", "customer": "K1"}, {**sale, "id": "S2", "customer": "K2"}]
        assert (await http.post(FACTS, json={"facts": facts})).status_code == 200
        unlinked = await http.get("/api/v1/analytics/abc/unlinked")
        assert [u["customer"] for u in unlinked.json()["items"]] == ["K1", "K2"]

        def codes(position: int, cid: str, *erp: str) -> Message:
            envelope = Envelope(
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
            )
            return envelope.to_message()

        # K1 on counterparty a, then moved to b by a merge (b's event delivered first).
        await service.events.handle([codes(1, "a", "K1")])
        await service.events.handle([codes(3, "b", "K1")])
        await service.events.handle([codes(2, "a")])
        body = (await http.get("/api/v1/analytics/abc", params={"from": "2026-02-01", "to": "2026-02-28"})).json()
        assert {r["customer"]: r["counterparty_id"] for r in body["rows"]} == {"K1": "b", "K2": None}
        unlinked = await http.get("/api/v1/analytics/abc/unlinked")
        assert [u["customer"] for u in unlinked.json()["items"]] == ["K2"]
        created = (await http.post(RUNS, json={"from": "2026-02-01", "to": "2026-02-28"})).json()
        confirmed = await http.post(f"{RUNS}/{created['run_id']}/confirm")
        # K2 links by itself once a counterparty carries its code, in the run's rows too.
        await service.events.handle([codes(4, "c", "K2")])
        rows = await every_row(http, created["run_id"], min_position=confirmed.headers["X-Commit-Position"])
        assert {r["customer"]: r["counterparty_id"] for r in rows} == {"K1": "b", "K2": "c"}
