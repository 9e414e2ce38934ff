"""The ABC rule as the service runs it (SQL on chDB) against a straightforward Python calculation of
1C's rule, on data generated here: ties, returns, customers without sales in the period, negative and
zero totals, each measure, several shares."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from crm_analytics.application.abc import AbcQuery, AbcReport
from crm_analytics.domain.abc import Measure, Period, Shares
from crm_analytics.domain.trade_fact import TradeFact
from crm_analytics.projections.tables import write_facts
from crm_shared.analytics import AnalyticsStore
from crm_shared.errors import Forbidden
from crm_shared.identity import caller_of

ADMIN = caller_of("admin", ["administrator"])
PERIOD = Period(date(2026, 1, 1), date(2026, 3, 31))


def expected(facts: list[TradeFact], asked: AbcQuery) -> list[tuple[str, Decimal, str]]:
    """(customer, value, class) in place order, computed the plain way."""
    values: dict[str, Decimal] = {}
    for f in facts:
        if f.date > asked.period.end:
            continue
        values.setdefault(f.customer, Decimal(0))
        if f.date < asked.period.start or f.currency != asked.currency:
            continue
        amount = {
            "revenue": f.revenue,
            "revenue_without_vat": f.revenue_without_vat,
            "profit": f.revenue_without_vat - f.cost,
        }[asked.measure]
        values[f.customer] += amount if f.kind == "sale" else -amount
    ascending = sorted(values.items(), key=lambda item: (item[1], item[0]))
    total = sum(values.values(), Decimal(0))
    classes: list[tuple[str, Decimal, str]] = []
    running = Decimal(0)
    for customer, value in ascending:
        running += value
        if total <= 0 or running / total * 100 <= asked.shares.c:
            grade = "C"
        elif running / total * 100 <= asked.shares.c + asked.shares.b:
            grade = "B"
        else:
            grade = "A"
        classes.append((customer, value, grade))
    return list(reversed(classes))


def generate(rng: random.Random, customers: int, lines: int) -> list[TradeFact]:
    codes = [f"C{n:03d}" for n in range(customers)]
    # Amounts from a small set, so that equal values (ties) are frequent.
    amounts = [Decimal(a) for a in ("0.00", "10.00", "10.00", "25.50", "100.00", "100.00", "999.99")]
    facts = []
    for n in range(lines):
        revenue = rng.choice(amounts)
        facts.append(
            TradeFact(
                id=f"F{n}",
                kind="return" if rng.random() < 0.2 else "sale",
                date=PERIOD.start + timedelta(days=rng.randint(-40, 120)),
                customer=rng.choice(codes),
                quantity=Decimal(rng.randint(1, 5)),
                revenue=revenue,
                revenue_without_vat=(revenue / Decimal("1.2")).quantize(Decimal("0.01")),
                cost=rng.choice(amounts),
                currency="EUR" if rng.random() < 0.9 else "USD",
            )
        )
    return facts


async def classified(report: AbcReport, asked: AbcQuery, limit: int) -> list[tuple[str, Decimal, str]]:
    rows, after = [], 0
    while True:
        result = await report.classify(ADMIN, asked, after=after, limit=limit)
        rows += [(r.customer, r.value, r.abc_class) for r in result.rows]
        assert [r.place for r in result.rows] == list(range(after + 1, after + 1 + len(result.rows)))
        if result.last_place is None:
            return rows
        after = result.last_place


async def test_the_rule_matches_a_plain_calculation_on_generated_data(tables: AnalyticsStore) -> None:
    report = AbcReport(tables)
    shares_tried = [Shares(), Shares(Decimal(80), Decimal(15), Decimal(5)), Shares(Decimal("50.5"), Decimal("49.5"), 0)]
    for seed in range(6):
        rng = random.Random(seed)
        await tables.execute("TRUNCATE TABLE trade_facts")
        facts = generate(rng, customers=rng.randint(1, 40), lines=rng.randint(1, 300))
        await write_facts(tables, facts)
        for measure in ("revenue", "revenue_without_vat", "profit"):
            asked = AbcQuery(PERIOD, measure, shares_tried[(seed + len(measure)) % 3], "EUR")
            want = expected(facts, asked)
            result = await report.classify(ADMIN, asked, limit=1000)
            assert [(r.customer, r.value, r.abc_class) for r in result.rows] == want, (seed, measure)
            assert result.customers == len(want)
            assert result.total == sum((v for _, v, _ in want), Decimal(0))
            assert {c: s.customers for c, s in result.classes.items()} == {
                c: sum(1 for *_, g in want if g == c) for c in "ABC"
            }
        # Page by page gives the same rows.
        assert await classified(report, asked, limit=9) == want


def fact(n: int, customer: str, revenue: str, *, day: date = PERIOD.start, kind: str = "sale") -> TradeFact:
    amount = Decimal(revenue)
    return TradeFact(f"F{n}", day, customer, Decimal(1), amount, amount, Decimal(0), "EUR", kind)  # type: ignore[arg-type]


async def rows_of(tables: AnalyticsStore, measure: Measure = "revenue") -> list[tuple[str, str, str, str | None]]:
    result = await AbcReport(tables).classify(ADMIN, AbcQuery(PERIOD, measure), limit=1000)
    return [
        (r.customer, str(r.value), r.abc_class, None if r.cumulative_share is None else str(r.cumulative_share))
        for r in result.rows
    ]


async def test_ties_are_broken_by_customer_code_and_customers_without_sales_are_c(tables: AnalyticsStore) -> None:
    await write_facts(
        tables,
        [
            fact(1, "B", "35.00"),
            fact(2, "A", "35.00"),
            fact(3, "C", "20.00"),
            fact(4, "D", "10.00"),
            fact(5, "E", "99.00", day=PERIOD.start - timedelta(days=1)),  # known, no sale in the period
            fact(6, "F", "99.00", day=PERIOD.end + timedelta(days=1)),  # not a customer yet by the end
        ],
    )
    # Ascending: E 0 (0 %), D 10 (10 %), C 20 (30 %), A 35 (65 %), B 35 (100 %); B after A by code.
    # 70/20/10: up to 10 % C, up to 30 % B, else A.
    assert await rows_of(tables) == [
        ("B", "35.00", "A", "100.0000"),
        ("A", "35.00", "A", "65.0000"),
        ("C", "20.00", "B", "30.0000"),
        ("D", "10.00", "C", "10.0000"),
        ("E", "0.00", "C", "0.0000"),
    ]


async def test_returns_subtract_and_a_negative_total_makes_everyone_c(tables: AnalyticsStore) -> None:
    await write_facts(tables, [fact(1, "A", "50.00"), fact(2, "A", "80.00", kind="return"), fact(3, "B", "10.00")])
    assert await rows_of(tables) == [("B", "10.00", "C", None), ("A", "-30.00", "C", None)]
    await write_facts(tables, [fact(4, "B", "200.00")])
    # A's negative value comes first and pulls the running sum below zero: still C.
    assert await rows_of(tables) == [("B", "210.00", "A", "100.0000"), ("A", "-30.00", "C", "-16.6667")]


async def test_profit_is_revenue_without_vat_less_cost(tables: AnalyticsStore) -> None:
    base = fact(1, "A", "120.00")
    await write_facts(tables, [replace(base, revenue_without_vat=Decimal("100.00"), cost=Decimal("70.00"))])
    assert (await rows_of(tables, "profit"))[0][1] == "30.00"
    assert (await rows_of(tables, "revenue_without_vat"))[0][1] == "100.00"


async def test_only_callers_who_see_the_whole_read_it(tables: AnalyticsStore) -> None:
    report = AbcReport(tables)
    for role in ("head_of_sales", "marketer"):
        await report.classify(caller_of("u", [role]), AbcQuery(PERIOD))
    for role in ("sales_manager", "read_only"):
        try:
            await report.classify(caller_of("u", [role], ["general"]), AbcQuery(PERIOD))
        except Forbidden:
            continue
        raise AssertionError(f"{role} read the ABC classification")
