"""The movement between classes of an ABC run (``GET /abc/runs/{id}/movement``): how many customers
went from each previous class (or none: new) to each class in force. Checked against a count done
here over the run's rows as the rows route lists them (a confirmed run) and over the preview (a draft),
after generated facts in two months; an override moves its customer; the run's access rules and 404s."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from crm_analytics import bootstrap
from crm_analytics.application.publishing import stored
from crm_analytics.bootstrap import AnalyticsService
from crm_analytics.entrypoints.api import build_router
from crm_analytics.settings import AnalyticsSettings
from crm_shared.http import install
from crm_shared.identity import CALLER_HEADER, CallerTokens, caller_of
from crm_shared.settings import KernelSettings

TOKENS = CallerTokens(b"0123456789abcdef0123456789abcdef")
RUNS = "/api/v1/analytics/abc/runs"
PAIRS = [(before, now) for before in ("A", "B", "C", None) for now in ("A", "B", "C")]


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    service: AnalyticsService = await bootstrap.build(
        KernelSettings(data_dir=tmp_path), AnalyticsSettings(abc_schedule="off")
    )
    await service.runner.follow_log(service.store, stored)
    app = FastAPI()
    install(app)
    app.include_router(build_router(service, TOKENS))
    try:
        yield app
    finally:
        await service.close()


def client(app: FastAPI, role: str = "administrator") -> httpx.AsyncClient:
    token = TOKENS.issue(caller_of("ana", [role], ["general"]))  # type: ignore[list-item]
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://crm", headers={CALLER_HEADER: token}
    )


def generate(rng: random.Random) -> list[dict[str, Any]]:
    """Sales of 30 customers in March and April 2025; some buy in one month only, so some are new."""
    facts = []
    for n in range(300):
        day = date(2025, 3, 1) + timedelta(days=rng.randint(0, 60))
        customer = f"M{rng.randint(0, 24):02d}" if day.month == 3 else f"M{rng.randint(5, 29):02d}"
        revenue = rng.choice(["5.00", "20.00", "75.50", "300.00", "1200.00"])
        fact = {"id": f"F{n}", "date": day.isoformat(), "customer": customer, "quantity": "1", "revenue": revenue}
        facts.append(fact)
    return facts


def counted(rows: list[dict[str, Any]]) -> list[tuple[str | None, str, int]]:
    """The movement counted here: (previous class, class, customers) over every pair, zeros included."""
    seen = Counter((row["previous_class"], row["class"]) for row in rows)
    return [(before, now, seen[(before, now)]) for before, now in PAIRS]


def moves(answer: httpx.Response) -> list[tuple[str | None, str, int]]:
    assert answer.status_code == 200, answer.text
    return [(m["previous_class"], m["class"], m["customers"]) for m in answer.json()["moves"]]


async def every_row(http: httpx.AsyncClient, run_id: str, position: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"limit": "9", "min_position": position, **({"cursor": cursor} if cursor else {})}
        answer = await http.get(f"{RUNS}/{run_id}/rows", params=params)
        assert answer.status_code == 200, answer.text
        rows += answer.json()["items"]
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            return rows


async def test_movement_counts_the_runs_rows(app: FastAPI) -> None:
    async with client(app) as http:
        assert (await http.post("/api/v1/analytics/trade-facts", json={"facts": generate(random.Random(7))})).is_success
        march = (await http.post(RUNS, json={"from": "2025-03-01", "to": "2025-03-31"})).json()["run_id"]
        first = await http.post(f"{RUNS}/{march}/confirm")
        march_rows = await every_row(http, march, first.headers["X-Commit-Position"])
        # The first run of a scheme: everyone is new.
        assert moves(await http.get(f"{RUNS}/{march}/movement")) == counted(march_rows)
        assert all(before is None for before, _, n in counted(march_rows) if n)

        april = (await http.post(RUNS, json={"from": "2025-04-01", "to": "2025-04-30"})).json()["run_id"]
        # A draft: what confirming it now would record, as the preview shows it.
        preview = (await http.get(f"{RUNS}/{april}/preview", params={"limit": "1000"})).json()
        draft = await http.get(f"{RUNS}/{april}/movement")
        assert draft.json()["run"]["status"] == "draft" and draft.json()["previous_run_id"] == march
        assert moves(draft) == counted(preview["rows"])
        assert draft.json()["customers"] == preview["customers"] == len(preview["rows"])

        confirmed = await http.post(f"{RUNS}/{april}/confirm")
        april_rows = await every_row(http, april, confirmed.headers["X-Commit-Position"])
        expected = counted(april_rows)
        assert moves(await http.get(f"{RUNS}/{april}/movement")) == expected == moves(draft)
        # The generated months give new customers and ones that kept and changed their class.
        assert sum(n for before, _, n in expected if before is None) > 0
        assert sum(n for before, now, n in expected if before == now) > 0
        assert sum(n for before, now, n in expected if before not in (None, now)) > 0

        # An override moves its customer to the class in force.
        row = next(r for r in april_rows if r["class"] == "C")
        done = await http.post(
            f"{RUNS}/{april}/overrides", json={"customer": row["customer"], "class": "A", "reason": "key account"}
        )
        assert done.status_code == 200, done.text
        after = moves(await http.get(f"{RUNS}/{april}/movement"))
        changed = {(b, c): n for b, c, n in after}
        before = {(b, c): n for b, c, n in expected}
        assert changed[(row["previous_class"], "C")] == before[(row["previous_class"], "C")] - 1
        assert changed[(row["previous_class"], "A")] == before[(row["previous_class"], "A")] + 1
        assert after == counted(await every_row(http, april, done.headers["X-Commit-Position"]))


async def test_movement_has_the_runs_access_and_404(app: FastAPI) -> None:
    async with client(app) as http:
        run_id = (await http.post(RUNS, json={"from": "2025-03-01", "to": "2025-03-31"})).json()["run_id"]
        empty = await http.get(f"{RUNS}/{run_id}/movement")
        assert moves(empty) == [(before, now, 0) for before, now in PAIRS] and empty.json()["customers"] == 0
        missing = await http.get(f"{RUNS}/00000000-0000-4000-8000-000000000000/movement")
        assert missing.status_code == 404, missing.text
        assert (await http.get(f"{RUNS}/not-a-run/movement")).status_code == 422
    async with client(app, "marketer") as http:
        assert (await http.get(f"{RUNS}/{run_id}/movement")).status_code == 200
    for role in ("sales_manager", "read_only"):
        async with client(app, role) as http:
            assert (await http.get(f"{RUNS}/{run_id}/movement")).status_code == 403
