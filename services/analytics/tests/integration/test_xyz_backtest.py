"""Back-testing the stage and XYZ rule (issue 14) against the plain calculation of
``test_xyz_rule.expected`` at each evaluation date: stages and classes per run, the movement of
customers between standings and the kept share from the run before, and which part of the next run's
window value came from each standing; 1C's transitions over the runs (without activity potential and
one-time customers stay, regular ones become lost); as known now and as known at the end of each
evaluation date (a late fact changes "now" but not "then"); a sales manager's scope; the route's
parameters and its 422s naming the field."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from crm_analytics.application.backtest import end_of_day
from crm_analytics.application.xyz import XyzReport
from crm_analytics.application.xyz_backtest import XyzBacktestQuery, xyz_backtest
from crm_analytics.bootstrap import AnalyticsService
from crm_analytics.domain.trade_fact import TradeFact
from crm_analytics.domain.xyz import XyzParameters
from crm_analytics.projections.tables import FACT_COLUMNS, TRADE_FACTS, write_facts
from crm_shared.analytics import AnalyticsStore
from crm_shared.errors import DomainError
from crm_shared.identity import CALLER_HEADER, caller_of

from .test_crm_events import registered
from .test_xyz_http import FACTS, TOKENS, client, codes
from .test_xyz_rule import ADMIN, amount, expected, generate, start_of, window

BACKTEST = "/api/v1/analytics/xyz/backtest"
STANDINGS = ("potential", "one-time", "X", "Y", "Z", "lost")
PREVIOUS = (*STANDINGS, "new")


def percent(part: Decimal, whole: Decimal) -> Decimal | None:
    return None if whole <= 0 else (part * 100 / whole).quantize(Decimal("0.01"), ROUND_HALF_UP)


def plain(facts: list[TradeFact], asked: XyzParameters) -> dict[str, tuple[str, Decimal]]:
    """customer → (standing, window value), the plain way."""
    starts = set(window(asked.to, asked.periodicity, asked.periods))
    found = {}
    for customer, (stage, grade, _, _) in expected(facts, asked).items():
        value = sum(
            (
                amount(f, asked)
                for f in facts
                if f.customer == customer and f.date <= asked.to and start_of(f.date, asked.periodicity) in starts
            ),
            Decimal(0),
        )
        found[customer] = (grade or stage, value)
    return found


@pytest.mark.parametrize(("seed", "step"), [(1, "month"), (4, "quarter")])
async def test_each_run_and_its_comparisons_match_the_plain_calculation(
    tables: AnalyticsStore, seed: int, step: str
) -> None:
    rng = random.Random(seed)
    to = date(2026, 5, 20)
    facts = generate(rng, to)
    await write_facts(tables, facts)
    rule = XyzParameters(to=to, periodicity="month", periods=4, measure="profit", x=Decimal(30), y=Decimal(60))
    asked = XyzBacktestQuery(rule, step=step, runs=4)  # type: ignore[arg-type]
    found = await xyz_backtest(XyzReport(tables), ADMIN, asked, "UTC")

    ends = (
        [date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30), date(2026, 5, 31)]
        if step == "month"
        else [date(2025, 9, 30), date(2025, 12, 31), date(2026, 3, 31), date(2026, 6, 30)]
    )
    assert [run.to for run in found] == ends
    runs = [plain(facts, XyzParameters(**{**rule_fields(rule), "to": end})) for end in ends]
    seen: set[str] = set()
    for i, got in enumerate(found):
        now = runs[i]
        seen |= {s for s, _ in now.values()}
        assert got.as_of is None
        assert got.first_day == window(got.to, "month", 4)[0]
        by_standing = Counter(s for s, _ in now.values())
        assert got.classes == {c: by_standing[c] for c in "XYZ"}
        assert got.stages == {
            "potential": by_standing["potential"],
            "one-time": by_standing["one-time"],
            "regular": sum(by_standing[c] for c in "XYZ"),
            "lost": by_standing["lost"],
        }
        assert got.values == {s: sum((v for k, v in now.values() if k == s), Decimal(0)) for s in STANDINGS}
        if i == 0:
            assert (got.comparison.movement, got.comparison.kept_share) == (None, None)
        else:
            before = runs[i - 1]
            moves = Counter((before[c][0] if c in before else "new", s) for c, (s, _) in now.items())
            assert got.comparison.movement == {(p, s): moves[(p, s)] for p in PREVIOUS for s in STANDINGS}
            both = [c for c in now if c in before]
            kept = sum(1 for c in both if before[c][0] == now[c][0])
            assert got.comparison.kept_share == percent(Decimal(kept), Decimal(len(both)))
        if i == len(found) - 1:
            assert got.comparison.next_share is None
        else:
            after = runs[i + 1]
            total = sum((v for _, v in after.values()), Decimal(0))
            by = dict.fromkeys(PREVIOUS, Decimal(0))
            for c, (_, v) in after.items():
                by[now[c][0] if c in now else "new"] += v
            assert got.comparison.next_share == {p: percent(v, total) for p, v in by.items()}
    assert {"potential", "one-time", "lost"} <= seen and seen & {"X", "Y", "Z"}


def rule_fields(rule: XyzParameters) -> dict[str, Any]:
    return {name: getattr(rule, name) for name in XyzParameters.__dataclass_fields__}


def fact(n: int, customer: str, day: date, revenue: str, kind: str = "sale") -> TradeFact:
    value = Decimal(revenue)
    return TradeFact(f"T{n}", day, customer, Decimal(1), value, value, Decimal(0), "EUR", kind=kind)  # type: ignore[arg-type]


async def test_without_activity_potential_and_one_time_stay_and_the_others_become_lost(tables: AnalyticsStore) -> None:
    facts = [
        # REG buys every month from January to March, then nothing: regular, one-time in April (one
        # active month of the window), then lost (it was regular at its last sale).
        *(fact(n, "REG", date(2026, n, 10), "100.00") for n in (1, 2, 3)),
        fact(4, "ONE", date(2026, 1, 20), "50.00"),  # one sale: one-time, and stays one-time
        fact(5, "POT", date(2026, 1, 5), "5.00", kind="return"),  # only a return: potential, and stays
        fact(6, "NEW", date(2026, 6, 3), "70.00"),  # new in June
    ]
    await write_facts(tables, facts)
    rule = XyzParameters(to=date(2026, 8, 31), periodicity="month", periods=2)
    found = await xyz_backtest(XyzReport(tables), ADMIN, XyzBacktestQuery(rule, runs=8), "UTC")
    standings: dict[str, list[str | None]] = {code: [] for code in ("REG", "ONE", "POT", "NEW")}
    for month in range(1, 9):
        plain_run = plain(facts, XyzParameters(to=found[month - 1].to, periodicity="month", periods=2))
        for code, seen in standings.items():
            seen.append(plain_run[code][0] if code in plain_run else None)
    assert standings == {
        "REG": ["one-time", "X", "X", "one-time", "lost", "lost", "lost", "lost"],
        "ONE": ["one-time"] * 8,
        "POT": ["potential"] * 8,
        "NEW": [None] * 5 + ["one-time", "one-time", "one-time"],
    }
    assert [run.stages for run in found] == [
        {"potential": 1, "one-time": 2, "regular": 0, "lost": 0},
        {"potential": 1, "one-time": 1, "regular": 1, "lost": 0},
        {"potential": 1, "one-time": 1, "regular": 1, "lost": 0},
        {"potential": 1, "one-time": 2, "regular": 0, "lost": 0},
        {"potential": 1, "one-time": 1, "regular": 0, "lost": 1},
        {"potential": 1, "one-time": 2, "regular": 0, "lost": 1},
        {"potential": 1, "one-time": 2, "regular": 0, "lost": 1},
        {"potential": 1, "one-time": 2, "regular": 0, "lost": 1},
    ]
    may = found[4].comparison.movement
    assert may is not None and may[("one-time", "lost")] == 1 and may[("one-time", "one-time")] == 1
    assert sum(may.values()) == 3
    assert found[4].comparison.kept_share == Decimal("66.67")  # ONE and POT kept, REG one-time -> lost
    # June's window value (NEW's 70.00) came from a customer May did not know.
    assert found[4].comparison.next_share == {**dict.fromkeys(STANDINGS, Decimal("0.00")), "new": Decimal("100.00")}
    # Which of March's customers brought April's money (REG's 100.00 of April's window: all of it).
    assert found[2].comparison.next_share == {**dict.fromkeys(PREVIOUS, Decimal("0.00")), "X": Decimal("100.00")}


async def test_as_known_then_a_late_fact_changes_now_but_not_then(tables: AnalyticsStore) -> None:
    def received(f: TradeFact, at: datetime) -> tuple[object, ...]:
        values = {name: getattr(f, name, None) for name in FACT_COLUMNS}
        values["version"] = int(at.timestamp() * 1_000_000) * 1000
        return tuple(values[name] for name in FACT_COLUMNS)

    on_time = datetime(2026, 1, 11, tzinfo=UTC)
    rows = [
        received(fact(1, "K1", date(2026, 1, 10), "100.00"), on_time),
        received(fact(2, "K1", date(2026, 2, 10), "100.00"), datetime(2026, 2, 11, tzinfo=UTC)),
        # K2's January sale reached the CRM on 1 February in Sofia (still 31 January in UTC).
        received(fact(3, "K2", date(2026, 1, 15), "300.00"), datetime(2026, 1, 31, 22, 30, tzinfo=UTC)),
        # K1's January sale corrected in March: February as known then still has 100.00.
        received(fact(1, "K1", date(2026, 1, 10), "40.00"), datetime(2026, 3, 2, tzinfo=UTC)),
    ]
    await tables.insert(TRADE_FACTS, FACT_COLUMNS, rows)
    report = XyzReport(tables)
    rule = XyzParameters(to=date(2026, 2, 10), periodicity="month", periods=2)
    then = await xyz_backtest(report, ADMIN, XyzBacktestQuery(rule, runs=2, as_known="then"), "Europe/Sofia")
    now = await xyz_backtest(report, ADMIN, XyzBacktestQuery(rule, runs=2), "Europe/Sofia")
    assert [run.as_of for run in then] == [
        end_of_day(date(2026, 1, 31), "Europe/Sofia"),
        end_of_day(date(2026, 2, 28), "Europe/Sofia"),
    ]
    assert then[0].as_of == datetime(2026, 1, 31, 21, 59, 59, 999999, tzinfo=UTC)
    assert [run.as_of for run in now] == [None, None]
    # January then: K1 alone (one-time, 100.00); now K2's late sale counts too.
    assert (then[0].customers, then[0].values["one-time"]) == (1, Decimal("100.00"))
    assert (now[0].customers, now[0].values["one-time"]) == (2, Decimal("340.00"))
    # February then: K1 regular with 100 + 100 (X), K2 known by then; now K1's January is 40.00 (Z).
    assert then[1].classes == {"X": 1, "Y": 0, "Z": 0}
    assert now[1].classes == {"X": 0, "Y": 0, "Z": 1}
    assert then[1].comparison.movement is not None and then[1].comparison.movement[("new", "one-time")] == 1
    assert now[1].comparison.movement is not None and now[1].comparison.movement[("new", "one-time")] == 0
    # Of February's window value then (500.00), January then foretold K1's 200.00; K2's 300.00 was new.
    assert then[0].comparison.next_share is not None
    assert (then[0].comparison.next_share["one-time"], then[0].comparison.next_share["new"]) == (
        Decimal("40.00"),
        Decimal("60.00"),
    )


def test_the_number_of_runs_and_the_first_window_are_checked() -> None:
    rule = XyzParameters(to=date(2026, 3, 31))
    for wrong in (1, 37):
        with pytest.raises(DomainError) as refused:
            XyzBacktestQuery(rule, runs=wrong)
        assert refused.value.field == "runs"
    early = XyzParameters(to=date(1970, 12, 31), periods=6)
    with pytest.raises(DomainError) as refused:
        XyzBacktestQuery(early, runs=12)  # the first run's window would start in 1969
    assert refused.value.field == "runs"
    assert XyzBacktestQuery(rule, step="half-year", runs=2).dates() == [date(2025, 12, 31), date(2026, 6, 30)]


ROWS = [
    {"id": f"S-{n}", "date": day, "customer": code, "quantity": "1", "revenue": revenue}
    for n, (code, day, revenue) in enumerate(
        [
            ("K1", "2026-01-05", "100.00"),
            ("K1", "2026-02-05", "100.00"),
            ("K2", "2026-01-07", "50.00"),
            ("K2", "2026-02-07", "250.00"),
            ("K3", "2026-02-09", "20.00"),
        ]
    )
]


async def test_the_route_answers_in_the_callers_scope(app: FastAPI, service: AnalyticsService) -> None:
    params = {"to": "2026-02-15", "runs": "2", "periods": "2"}
    async with client(app) as http:
        assert (await http.post(FACTS, json={"facts": ROWS})).status_code == 200
        answer = await http.get(BACKTEST, params=params)
        assert answer.status_code == 200, answer.text
        whole = answer.json()
        assert {k: v for k, v in whole.items() if k != "items"} == {
            "to": "2026-02-15",
            "step": "month",
            "runs": 2,
            "periodicity": "month",
            "periods": 2,
            "by": "revenue",
            "x": "10",
            "y": "25",
            "regular_periods": 2,
            "currency": "EUR",
            "as_known": "now",
            "time_zone": "UTC",
            "without_rate": [],
        }
        january, february = whole["items"]
        assert (january["to"], january["from"], january["as_of"]) == ("2026-01-31", "2025-12-01", None)
        assert january["stages"] == {"potential": 0, "one-time": 2, "regular": 0, "lost": 0}
        assert january["values"]["one-time"] == "150.00"
        assert (january["movement"], january["kept_share"]) == (None, None)
        # February's 520.00: K1's 200 and K2's 300 from January's one-time customers, K3's 20 new.
        assert january["next_share"] == {**dict.fromkeys(STANDINGS, "0.00"), "one-time": "96.15", "new": "3.85"}
        assert february["stages"] == {"potential": 0, "one-time": 1, "regular": 2, "lost": 0}
        assert february["classes"] == {"X": 1, "Y": 0, "Z": 1}
        moves = {(m["previous"], m["current"]): m["customers"] for m in february["movement"]}
        assert len(moves) == 7 * 6 and sum(moves.values()) == 3
        assert (moves[("one-time", "X")], moves[("one-time", "Z")], moves[("new", "one-time")]) == (1, 1, 1)
        assert february["kept_share"] == "0.00" and february["next_share"] is None
        then = (await http.get(BACKTEST, params={**params, "as_known": "then"})).json()
        assert then["as_known"] == "then" and then["items"][0]["as_of"] is not None

    await service.events.handle([registered("cp-1", "ana", group="general"), codes(2, "cp-1", "K1")])
    await service.events.handle([registered("cp-2", "ana", group="south"), codes(3, "cp-2", "K2")])
    async with client(app, "sales_manager") as http:  # of the general group: K1 only
        mine = (await http.get(BACKTEST, params=params)).json()
        january, february = mine["items"]
        assert [run["customers"] for run in mine["items"]] == [1, 1]
        assert january["values"]["one-time"] == "100.00"
        assert january["next_share"]["one-time"] == "100.00" and january["next_share"]["new"] == "0.00"
        assert february["classes"] == {"X": 1, "Y": 0, "Z": 0}
        assert february["kept_share"] == "0.00"
    token = TOKENS.issue(caller_of("nobody", [], []))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://crm", headers={CALLER_HEADER: token}
    ) as http:
        assert (await http.get(BACKTEST, params=params)).status_code == 403


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"runs": "1"}, "runs"),
        ({"runs": "37"}, "runs"),
        ({"step": "week"}, "step"),
        ({"as_known": "later"}, "as_known"),
        ({"to": "1900-01-31"}, "to"),
        ({"to": None}, "to"),
        ({"periodicity": "fortnight"}, "periodicity"),
        ({"x": "30"}, "y"),
        ({"by": "margin"}, "by"),
        ({"currency": "USD"}, "currency"),
        ({"regular_periods": "7"}, "regular_periods"),
        ({"to": "1970-12-31", "periods": "6", "runs": "12"}, "runs"),  # the first window before 1970
    ],
)
async def test_bad_parameters_are_422_naming_the_field(app: FastAPI, params: dict[str, str | None], field: str) -> None:
    query = {k: v for k, v in {"to": "2026-03-31", **params}.items() if v is not None}
    async with client(app) as http:
        answer = await http.get(BACKTEST, params=query)
    assert answer.status_code == 422, answer.text
    assert field in [e["field"] for e in answer.json()["errors"]], answer.text
