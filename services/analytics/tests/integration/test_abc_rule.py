"""The ABC rule as the service runs it (SQL on chDB) against a straightforward Python calculation of
1C's rule, on data generated here: ties, returns, customers without sales in the period, negative and
zero totals, each measure, several shares. Then facts in several currencies converted to the reporting
currency at the rate of the fact's date (view ``facts_converted``), against the same calculation with
Decimal: rates changing inside the period, a fact dated before its currency's first rate (no rate: not
summed, reported), a rate corrected (sent again for its currency and date), returns in a foreign
currency."""

from __future__ import annotations

import bisect
import functools
import random
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest

from crm_analytics.application.abc import AbcQuery, AbcReport, WithoutRate
from crm_analytics.domain.abc import Measure, Period, Shares
from crm_analytics.domain.currency_rate import Rate
from crm_analytics.domain.order import Order
from crm_analytics.domain.payment import Payment
from crm_analytics.domain.records import ORDERS, PAYMENTS
from crm_analytics.domain.trade_fact import TradeFact
from crm_analytics.projections.tables import prepare, rebuild_trade_sums, write_facts, write_rates, write_records
from crm_shared.analytics import AnalyticsStore
from crm_shared.errors import Forbidden
from crm_shared.identity import caller_of

ADMIN = caller_of("admin", ["administrator"])
PERIOD = Period(date(2026, 1, 1), date(2026, 3, 31))


RateOf = Callable[[TradeFact], Decimal | None]


def expected(facts: list[TradeFact], asked: AbcQuery, rate_of: RateOf | None = None) -> list[tuple[str, Decimal, str]]:
    """(customer, value, class) in place order, computed the plain way. ``rate_of`` gives a fact's
    rate to the reporting currency (None: no rate, not summed); by default 1 in ``asked.currency``
    and none in others. Each amount is converted and rounded to cents half-up on its own."""
    rate_of = rate_of or (lambda f: Decimal(1) if f.currency == asked.currency else None)
    values: dict[str, Decimal] = {}
    for f in facts:
        if f.date > asked.period.end:
            continue
        values.setdefault(f.customer, Decimal(0))
        rate = rate_of(f)
        if f.date < asked.period.start or rate is None:
            continue
        revenue, without_vat, cost = (
            (a * rate).quantize(Decimal("0.01"), ROUND_HALF_UP) for a in (f.revenue, f.revenue_without_vat, f.cost)
        )
        amount = {
            "revenue": revenue,
            "revenue_without_vat": without_vat,
            "profit": without_vat - cost,
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
        await rebuild_trade_sums(tables)  # the sums follow (empty)
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


async def test_the_whole_for_analytics_readers_their_groups_for_others_nothing_without_a_role(
    tables: AnalyticsStore,
) -> None:
    await write_facts(tables, [fact(1, "A", "120.00")])  # no counterparty carries A
    report = AbcReport(tables)
    for role in ("head_of_sales", "marketer"):
        assert len((await report.classify(caller_of("u", [role]), AbcQuery(PERIOD))).rows) == 1
    for role in ("sales_manager", "read_only"):
        mine = await report.classify(caller_of("u", [role], ["general"]), AbcQuery(PERIOD))
        assert (mine.rows, mine.customers, mine.total) == ([], 0, Decimal("0.00"))
    with pytest.raises(Forbidden):
        await report.classify(caller_of("u", []), AbcQuery(PERIOD))


# -- Conversion to the reporting currency -----------------------------------------------------------

CENT = Decimal("0.01")
START = date(2026, 1, 1)


def rate_on(rates: list[Rate], currency: str, day: date, reporting: str = "EUR") -> Decimal | None:
    """The rate in force on ``day``: the latest of ``currency`` dated on or before it (the last sent wins)."""
    if currency == reporting:
        return Decimal(1)
    latest: dict[date, Decimal] = {}
    for r in rates:
        if r.currency == currency:
            latest[r.date] = r.rate
    days = sorted(latest)
    at = bisect.bisect_right(days, day)
    return latest[days[at - 1]] if at else None


def fact_rate(rates: list[Rate], f: TradeFact) -> Decimal | None:
    return rate_on(rates, f.currency, f.date)


def converted(amount: Decimal, rate: Decimal | None) -> Decimal | None:
    return None if rate is None else (amount * rate).quantize(CENT, rounding=ROUND_HALF_UP)


def generate_facts(rng: random.Random, count: int, customers: int = 12) -> list[TradeFact]:
    facts = []
    for n in range(count):
        revenue = Decimal(rng.randint(0, 2_000_000)) / 100
        without_vat = (revenue / Decimal("1.2")).quantize(CENT)
        facts.append(
            TradeFact(
                id=f"F{n}",
                kind="return" if rng.random() < 0.25 else "sale",
                date=START + timedelta(days=rng.randint(-20, 100)),
                customer=f"C{rng.randrange(customers):02d}",
                quantity=Decimal(rng.randint(1, 9)),
                revenue=revenue,
                revenue_without_vat=without_vat,
                cost=(without_vat * Decimal(rng.randint(0, 90)) / 100).quantize(CENT),
                currency=rng.choice(["EUR", "EUR", "USD", "BGN", "GBP"]),
            )
        )
    return facts


def generate_rates(rng: random.Random) -> list[Rate]:
    """USD from the start (changing every ~10 days), BGN only from day 30 on (earlier BGN facts have
    no rate), GBP never (no rate at all); then a few USD rates corrected (sent again)."""
    rates = []
    for currency, first, every in (("USD", 0, 10), ("BGN", 30, 25)):
        day = START + timedelta(days=first)
        while day <= START + timedelta(days=100):
            rates.append(Rate(currency, day, Decimal(rng.randint(400_000, 1_200_000)) / 1_000_000))
            day += timedelta(days=rng.randint(1, every))
    corrections = [Rate(r.currency, r.date, r.rate + Decimal("0.012345")) for r in rng.sample(rates, 3)]
    return rates + corrections


async def test_facts_converted_matches_a_plain_calculation(tables: AnalyticsStore) -> None:
    rng = random.Random(14)
    facts = generate_facts(rng, 400)
    rates = generate_rates(rng)
    # Rates arrive in two writes; the corrections come last, so they replace the earlier ones.
    await write_rates(tables, rates[:-3])
    await write_rates(tables, rates[-3:])
    await write_facts(tables, facts)
    # Hand cases: exactly on a rate's day, half a cent (rounded half-up), a return dated before any rate.
    await write_rates(tables, [Rate("CHF", date(2026, 2, 1), Decimal("1.5"))])
    one, zero = Decimal(1), Decimal(0)
    hand = [
        TradeFact("H1", date(2026, 2, 1), "C99", one, Decimal("0.01"), Decimal("0.01"), zero, "CHF"),
        TradeFact("H2", date(2026, 1, 31), "C99", one, Decimal("5.00"), Decimal("4"), one, "CHF", "return"),
        TradeFact("H3", date(2026, 3, 1), "C99", one, Decimal("0.03"), Decimal("0.03"), zero, "CHF", "return"),
    ]
    await write_facts(tables, hand)
    facts += hand
    rates.append(Rate("CHF", date(2026, 2, 1), Decimal("1.5")))

    rows = {row["id"]: row for row in await tables.query("SELECT * FROM facts_converted")}
    assert len(rows) == len(facts)
    for f in facts:
        row = rows[f.id]
        rate = rate_on(rates, f.currency, f.date)
        assert row["rate"] == rate, f
        assert row["sign"] == f.sign
        assert row["revenue_rc"] == converted(f.revenue, rate)
        assert row["revenue_without_vat_rc"] == converted(f.revenue_without_vat, rate)
        assert row["cost_rc"] == converted(f.cost, rate)
        for column in ("kind", "date", "customer", "quantity", "revenue", "revenue_without_vat", "cost", "currency"):
            assert row[column] == getattr(f, column)
    assert rows["H1"]["revenue_rc"] == Decimal("0.02")  # 0.015 rounds half-up
    assert rows["H2"]["rate"] is None and rows["H2"]["revenue_rc"] is None
    assert rows["H3"]["sign"] == -1 and rows["H3"]["revenue_rc"] == Decimal("0.05")  # 0.045 → 0.05
    # Every case occurred: converted foreign facts, foreign facts without a rate, foreign returns.
    assert any(f.currency == "BGN" and rows[f.id]["rate"] is None for f in facts)
    assert any(f.currency == "BGN" and rows[f.id]["rate"] is not None for f in facts)
    assert any(f.currency == "USD" and f.kind == "return" for f in facts)
    assert all(rows[f.id]["rate"] is None for f in facts if f.currency == "GBP")


async def test_a_corrected_rate_changes_the_conversion(tables: AnalyticsStore) -> None:
    fact = TradeFact("F", date(2026, 1, 10), "C", Decimal(1), Decimal("100.00"), Decimal("100.00"), Decimal(0), "USD")
    await write_facts(tables, [fact])
    await write_rates(tables, [Rate("USD", date(2026, 1, 1), Decimal("0.9"))])
    [row] = await tables.query("SELECT rate, revenue_rc FROM facts_converted")
    assert row == {"rate": Decimal("0.900000"), "revenue_rc": Decimal("90.00")}
    await write_rates(tables, [Rate("USD", date(2026, 1, 1), Decimal("0.95"))])
    [row] = await tables.query("SELECT rate, revenue_rc FROM facts_converted")
    assert row == {"rate": Decimal("0.950000"), "revenue_rc": Decimal("95.00")}
    # A rate dated after the fact does not apply to it.
    await write_rates(tables, [Rate("USD", date(2026, 1, 11), Decimal("2"))])
    [row] = await tables.query("SELECT rate, revenue_rc FROM facts_converted")
    assert row["revenue_rc"] == Decimal("95.00")


async def test_the_view_follows_the_reporting_currency_of_the_settings(tables: AnalyticsStore) -> None:
    fact = TradeFact("F", date(2026, 1, 10), "C", Decimal(1), Decimal("10.00"), Decimal("10.00"), Decimal(0), "USD")
    await write_facts(tables, [fact])
    [row] = await tables.query("SELECT rate FROM facts_converted")
    assert row["rate"] is None  # EUR reporting, no USD rate
    await prepare(tables, "USD")  # the next start with CRM_ANALYTICS_REPORTING_CURRENCY=USD
    [row] = await tables.query("SELECT rate, revenue_rc FROM facts_converted")
    assert row == {"rate": Decimal("1.000000"), "revenue_rc": Decimal("10.00")}


async def test_abc_sums_converted_facts_and_reports_those_without_a_rate(tables: AnalyticsStore) -> None:
    report = AbcReport(tables)
    for seed in range(4):
        rng = random.Random(seed)
        await tables.execute("TRUNCATE TABLE trade_facts")
        await rebuild_trade_sums(tables)  # the sums follow (empty)
        await tables.execute("TRUNCATE TABLE currency_rates")
        facts = generate_facts(rng, rng.randint(20, 300), customers=rng.randint(2, 30))
        rates = generate_rates(rng)
        await write_rates(tables, rates[:-3])
        await write_rates(tables, rates[-3:])
        await write_facts(tables, facts)
        # The period starts after the first USD rates and before the first BGN one, with USD rates
        # changing inside it.
        period = Period(START + timedelta(days=rng.randint(5, 25)), START + timedelta(days=rng.randint(40, 90)))
        for measure in ("revenue", "revenue_without_vat", "profit"):
            asked = AbcQuery(period, measure, Shares(), "EUR")
            want = expected(facts, asked, functools.partial(fact_rate, rates))
            result = await report.classify(ADMIN, asked, limit=1000)
            assert [(r.customer, r.value, r.abc_class) for r in result.rows] == want, (seed, measure)
            assert result.total == sum((v for _, v, _ in want), Decimal(0))
        unconverted: dict[str, list[date]] = {}
        for f in facts:
            if period.start <= f.date <= period.end and rate_on(rates, f.currency, f.date) is None:
                unconverted.setdefault(f.currency, []).append(f.date)
        assert result.without_rate == [
            WithoutRate(c, len(days), min(days)) for c, days in sorted(unconverted.items())
        ], seed
        assert "GBP" in unconverted  # GBP never has a rate: always reported, never summed


async def test_a_fact_before_the_first_rate_is_reported_not_summed(tables: AnalyticsStore) -> None:
    def fact(n: int, day: date, revenue: str, currency: str, kind: str = "sale") -> TradeFact:
        a = Decimal(revenue)
        return TradeFact(f"F{n}", day, "K", Decimal(1), a, a, Decimal(0), currency, kind)  # type: ignore[arg-type]

    await write_rates(tables, [Rate("USD", date(2026, 1, 10), Decimal("0.5"))])
    await write_facts(
        tables,
        [
            fact(1, date(2026, 1, 9), "1000.00", "USD"),  # the day before USD's first rate
            fact(2, date(2026, 1, 10), "100.00", "USD"),  # 50.00
            fact(3, date(2026, 1, 20), "30.00", "USD", "return"),  # -15.00
            fact(4, date(2026, 1, 5), "7.00", "EUR"),
        ],
    )
    result = await AbcReport(tables).classify(ADMIN, AbcQuery(Period(date(2026, 1, 1), date(2026, 1, 31))))
    assert [(r.customer, r.value) for r in result.rows] == [("K", Decimal("42.00"))]
    assert result.without_rate == [WithoutRate("USD", 1, date(2026, 1, 9))]
    # The rate that was missing arrives: the fact is converted and summed, nothing is reported.
    await write_rates(tables, [Rate("USD", date(2026, 1, 1), Decimal("0.4"))])
    result = await AbcReport(tables).classify(ADMIN, AbcQuery(Period(date(2026, 1, 1), date(2026, 1, 31))))
    assert [(r.customer, r.value) for r in result.rows] == [("K", Decimal("442.00"))]
    assert result.without_rate == []


async def test_orders_and_payments_converted_match_a_plain_calculation(tables: AnalyticsStore) -> None:
    rng = random.Random(18)
    rates = generate_rates(rng)
    await write_rates(tables, rates)
    orders, payments = [], []
    for n in range(150):
        day = START + timedelta(days=rng.randint(-20, 100))
        amount = Decimal(rng.randint(0, 10_000_000)) / 100
        currency = rng.choice(["EUR", "USD", "BGN", "GBP"])
        orders.append(Order(f"O{n}", day, f"C{n % 7}", amount, currency, day + timedelta(days=30)))
        payments.append(Payment(f"P{n}", day, f"C{n % 7}", amount, currency, f"O{n}" if n % 2 else ""))
    await write_records(tables, ORDERS, orders)
    await write_records(tables, PAYMENTS, payments)
    for view, records in (("orders_converted", orders), ("payments_converted", payments)):
        rows = {r["id"]: r for r in await tables.query(f"SELECT id, amount, rate, amount_rc FROM {view}")}
        assert len(rows) == len(records)
        for record in records:
            rate = rate_on(rates, record.currency, record.date)
            assert (rows[record.id]["rate"], rows[record.id]["amount_rc"]) == (rate, converted(record.amount, rate))
        assert any(r["rate"] is None for r in rows.values()) and any(r["rate"] not in (None, 1) for r in rows.values())
