"""Back-testing the ABC rule over past periods (issue 14), against the plain calculation of
``test_abc_rule.expected`` for each period: classes per period, the movement and the kept share from
the period before, and which part of the next period's value came from each class; as known now, and
as known at the end of each period (facts received later are not seen, nor corrections). Also the
route: parameters, 422s naming the field, the caller's scope."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
from fastapi import FastAPI

from crm_analytics.application.abc import AbcQuery, AbcReport
from crm_analytics.application.backtest import BacktestQuery, backtest, end_of_day
from crm_analytics.domain.abc import Period, Shares
from crm_analytics.domain.trade_fact import TradeFact
from crm_analytics.projections.tables import FACT_COLUMNS, TRADE_FACTS, write_facts
from crm_shared.analytics import AnalyticsStore
from crm_shared.errors import DomainError

from .test_abc_rule import ADMIN, expected, generate
from .test_http import client, sale


def percent(part: Decimal, whole: Decimal) -> Decimal | None:
    return None if whole <= 0 else (part * 100 / whole).quantize(Decimal("0.01"), ROUND_HALF_UP)


@pytest.mark.parametrize("seed", [3, 11])
async def test_each_period_and_its_comparisons_match_the_plain_calculation(tables: AnalyticsStore, seed: int) -> None:
    facts = generate(random.Random(seed), customers=25, lines=400)
    await write_facts(tables, facts)
    shares = Shares.parse("60/25/15")
    asked = BacktestQuery(to=date(2026, 3, 17), periods=3, measure="profit", shares=shares)
    found = await backtest(AbcReport(tables), ADMIN, asked, "Europe/Sofia")

    periods = [Period(date(2026, 1, 1), date(2026, 1, 31)), Period(date(2026, 2, 1), date(2026, 2, 28))]
    periods.append(Period(date(2026, 3, 1), date(2026, 3, 31)))
    plain = [{c: (v, k) for c, v, k in expected(facts, AbcQuery(p, "profit", shares))} for p in periods]
    assert [p.period for p in found] == periods
    for i, got in enumerate(found):
        now = plain[i]
        assert got.customers == {k: sum(1 for _, g in now.values() if g == k) for k in "ABC"}
        assert got.values == {k: sum((v for v, g in now.values() if g == k), Decimal(0)) for k in "ABC"}
        if i == 0:
            assert (got.movement, got.kept_share) == (None, None)
        else:
            before = plain[i - 1]
            moves = Counter((before[c][1] if c in before else "new", g) for c, (_, g) in now.items())
            assert got.movement == {(p, k): moves[(p, k)] for p in ("A", "B", "C", "new") for k in "ABC"}
            both = [c for c in now if c in before]
            kept = sum(1 for c in both if before[c][1] == now[c][1])
            assert got.kept_share == percent(Decimal(kept), Decimal(len(both)))
        if i == len(found) - 1:
            assert got.next_share is None
        else:
            after = plain[i + 1]
            total = sum((v for v, _ in after.values()), Decimal(0))
            by = {p: Decimal(0) for p in ("A", "B", "C", "new")}
            for c, (v, _) in after.items():
                by[now[c][1] if c in now else "new"] += v
            assert got.next_share == {p: percent(v, total) for p, v in by.items()}


async def test_as_known_then_each_period_sees_only_the_facts_received_by_its_end(tables: AnalyticsStore) -> None:
    def received(fact: TradeFact, at: datetime) -> tuple[object, ...]:
        values = {name: getattr(fact, name, None) for name in FACT_COLUMNS}
        values["version"] = int(at.timestamp() * 1_000_000) * 1000
        return tuple(values[name] for name in FACT_COLUMNS)

    def fact(n: int, customer: str, day: date, revenue: str) -> TradeFact:
        amount = Decimal(revenue)
        return TradeFact(f"T{n}", day, customer, Decimal(1), amount, amount, Decimal(0), "EUR")

    jan, feb = date(2026, 1, 15), date(2026, 2, 15)
    rows = [
        received(fact(1, "K1", jan, "100.00"), datetime(2026, 1, 16, tzinfo=UTC)),
        received(fact(2, "K2", jan, "900.00"), datetime(2026, 1, 16, tzinfo=UTC)),
        # K2's January sale corrected in March: known then in February's view, not in January's.
        received(fact(2, "K2", jan, "10.00"), datetime(2026, 3, 2, tzinfo=UTC)),
        # A January sale of K3 that reached the CRM only on 1 February (Sofia), after January's end.
        received(fact(3, "K3", jan, "5000.00"), datetime(2026, 1, 31, 22, 30, tzinfo=UTC)),
        received(fact(4, "K1", feb, "50.00"), datetime(2026, 2, 16, tzinfo=UTC)),
    ]
    await tables.insert(TRADE_FACTS, FACT_COLUMNS, rows)
    report = AbcReport(tables)
    then = await backtest(report, ADMIN, BacktestQuery(to=feb, periods=2, as_known="then"), "Europe/Sofia")
    assert [p.as_of for p in then] == [
        end_of_day(date(2026, 1, 31), "Europe/Sofia"),
        end_of_day(date(2026, 2, 28), "Europe/Sofia"),
    ]
    assert then[0].as_of == datetime(2026, 1, 31, 21, 59, 59, 999999, tzinfo=UTC)
    # January then: K1 100, K2 900 (K3 not received yet): K1's 100 is 10 % of 1000 -> C, K2 -> A.
    assert then[0].values == {"A": Decimal("900.00"), "B": Decimal("0.00"), "C": Decimal("100.00")}
    assert sum(then[0].customers.values()) == 2
    # February then: K3 is known now (a customer with a fact before the period), new to January's view.
    assert then[1].movement is not None and then[1].movement[("new", "C")] == 1
    now = await backtest(report, ADMIN, BacktestQuery(to=feb, periods=2), "Europe/Sofia")
    assert now[0].as_of is None
    assert now[0].values["A"] == Decimal("5000.00")  # K3, and K2's corrected 10.00 among the others
    assert sum(now[0].customers.values()) == 3


def test_the_number_of_periods_is_bounded() -> None:
    for wrong in (1, 37):
        with pytest.raises(DomainError) as refused:
            BacktestQuery(to=date(2026, 3, 1), periods=wrong)
        assert refused.value.field == "periods"
    quarters = BacktestQuery(to=date(2026, 5, 2), periodicity="quarter", periods=2).windows()
    assert quarters == [Period(date(2026, 1, 1), date(2026, 3, 31)), Period(date(2026, 4, 1), date(2026, 6, 30))]


async def test_the_route_answers_and_names_wrong_parameters(app: FastAPI) -> None:
    async with client(app) as http:
        facts = [sale(1, "K1", "100.00", date="2026-01-10"), sale(2, "K1", "80.00", date="2026-02-10")]
        facts.append(sale(3, "K2", "300.00", date="2026-02-11"))
        assert (await http.post("/api/v1/analytics/trade-facts", json={"facts": facts})).status_code == 200
        answer = await http.get("/api/v1/analytics/abc/backtest", params={"to": "2026-02-28", "periods": "2"})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert [(p["from"], p["to"]) for p in body["items"]] == [
            ("2026-01-01", "2026-01-31"),
            ("2026-02-01", "2026-02-28"),
        ]
        first, second = body["items"]
        assert first["classes"]["A"] == {"customers": 1, "value": "100.00"}
        assert (
            first["next_share"] == {"A": "21.05", "B": None, "C": None, "new": "78.95"}
            or first["next_share"]["new"] == "78.95"
        )
        assert {(m["previous"], m["class"]): m["customers"] for m in second["movement"]}[("new", "A")] == 1
        for params, field in (
            ({"to": "2026-02-28", "periods": "1"}, "periods"),
            ({"to": "2026-02-28", "periodicity": "week"}, "periodicity"),
            ({"to": "2026-02-28", "shares": "50/50/50"}, "shares"),
            ({"periods": "3"}, "to"),
        ):
            refused = await http.get("/api/v1/analytics/abc/backtest", params=params)
            assert refused.status_code == 422, params
            assert refused.json()["errors"][0]["field"] == field
    async with client(app, "sales_manager") as http:  # no counterparty of their groups: no rows
        mine = await http.get("/api/v1/analytics/abc/backtest", params={"to": "2026-02-28", "periods": "2"})
        assert mine.status_code == 200
        assert all(sum(c["customers"] for c in p["classes"].values()) == 0 for p in mine.json()["items"])
