"""``GET /api/v1/analytics/effectiveness`` and ``/attribution`` (and ``.csv``) on the embedded adapters:
the answers agree with the application's reports, pages join up, CSV files, 422 naming the field,
400 for a foreign cursor, 403 without a role."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

from fastapi import FastAPI

from crm_analytics.bootstrap import AnalyticsService

from .test_xyz_http import client
from .touches_data import generate

EFFECTIVENESS = "/api/v1/analytics/effectiveness"
ATTRIBUTION = "/api/v1/analytics/attribution"


async def test_the_reports_over_http(service: AnalyticsService, app: FastAPI) -> None:
    world = await generate(service.analytics, 21)
    as_of = (world.late + timedelta(days=1)).isoformat()
    period = {"from": "2026-02-01", "to": "2026-03-31", "as_of": as_of}
    async with client(app) as http:
        index = (await http.get("/api/v1/analytics")).json()
        assert {"effectiveness", "attribution"} <= set(index["reports"])
        for model in ("first", "position", "time_decay"):
            answer = await http.get(ATTRIBUTION, params={**period, "model": model, "by": "manager", "limit": 2})
            assert answer.status_code == 200, answer.text
            body = answer.json()
            rows = body["rows"]
            while body["next_cursor"]:
                body = (
                    await http.get(
                        ATTRIBUTION,
                        params={**period, "model": model, "by": "manager", "limit": 2, "cursor": body["next_cursor"]},
                    )
                ).json()
                rows += body["rows"]
            assert len(rows) == body["groups"] and rows[-1]["no_touch"]
            assert sum(Decimal(r["revenue"]) for r in rows) == Decimal(body["revenue"])
            file = await http.get(ATTRIBUTION + ".csv", params={**period, "model": model, "by": "manager"})
            lines = list(csv.DictReader(io.StringIO(file.text.lstrip("\ufeff"))))
            assert [(line["key"] or None, line["revenue"]) for line in lines] == [
                (r["key"], r["revenue"]) for r in rows
            ]
        answer = await http.get(EFFECTIVENESS, params={**period, "window_days": 14, "by": "source"})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["total"]["interactions"] == sum(r["interactions"] for r in body["rows"])
        file = await http.get(EFFECTIVENESS + ".csv", params={**period, "window_days": 14, "by": "source"})
        assert file.text.startswith("\ufeffkey,interactions,followed,conversion,revenue,profit")
        assert len(file.text.strip().splitlines()) == len(body["rows"]) + 1

        cases: list[tuple[str, dict[str, str | int], str]] = [
            (ATTRIBUTION, {"model": "u_shaped"}, "model"),
            (ATTRIBUTION, {"lookback_days": 731}, "lookback_days"),
            (ATTRIBUTION, {"half_life_days": 0}, "half_life_days"),
            (ATTRIBUTION, {"to": "2026-01-01"}, "to"),
            (EFFECTIVENESS, {"window_days": -1}, "window_days"),
            (EFFECTIVENESS, {"by": "region"}, "by"),
            (EFFECTIVENESS, {"from": "1970-01-01", "to": "2148-12-31"}, "to"),
            (EFFECTIVENESS, {"as_of": "yesterday"}, "as_of"),
            (EFFECTIVENESS, {"as_of": "2300-01-01T00:00:00Z"}, "as_of"),
            # The bounds every report shares (entrypoints/reports.AsOf): the facts' years, and an offset.
            (EFFECTIVENESS, {"as_of": "2200-01-01T00:00:00Z"}, "as_of"),
            (ATTRIBUTION, {"as_of": "2149-01-01T00:00:00+00:00"}, "as_of"),
            (ATTRIBUTION, {"as_of": "2026-04-01T00:00:00"}, "as_of"),
        ]
        for path, params, field in cases:
            bad = await http.get(path, params={**period, **params})
            assert bad.status_code == 422, (path, params, bad.text)
            assert field in bad.text, (path, params, bad.text)
        wrong = await http.get(
            ATTRIBUTION, params={**period, "cursor": body["next_cursor"] or "WyJlZmZlY3RpdmVuZXNzIiwiIl0"}
        )
        assert wrong.status_code == 400
    async with client(app, role="nobody") as http:
        assert (await http.get(ATTRIBUTION, params=period)).status_code == 403
