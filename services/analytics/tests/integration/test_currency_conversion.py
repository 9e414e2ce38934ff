"""Facts in several currencies converted to the reporting currency at the rate of the fact's date
(view ``facts_converted``), checked against a plain Python calculation with Decimal over the facts and
rates generated here: rates changing inside the period, a fact dated before its currency's first rate
(no rate: NULL), a rate corrected (sent again for its currency and date), returns in a foreign currency."""

from __future__ import annotations

import bisect
import random
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from crm_analytics.domain.currency_rate import CurrencyRate
from crm_analytics.domain.trade_fact import TradeFact
from crm_analytics.projections.tables import prepare, write_facts, write_rates
from crm_shared.analytics import AnalyticsStore

CENT = Decimal("0.01")
START = date(2026, 1, 1)


def rate_on(rates: list[CurrencyRate], currency: str, day: date, reporting: str = "EUR") -> Decimal | None:
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


def generate_rates(rng: random.Random) -> list[CurrencyRate]:
    """USD from the start (changing every ~10 days), BGN only from day 30 on (earlier BGN facts have
    no rate), GBP never (no rate at all); then a few USD rates corrected (sent again)."""
    rates = []
    for currency, first, every in (("USD", 0, 10), ("BGN", 30, 25)):
        day = START + timedelta(days=first)
        while day <= START + timedelta(days=100):
            rates.append(CurrencyRate(currency, day, Decimal(rng.randint(400_000, 1_200_000)) / 1_000_000))
            day += timedelta(days=rng.randint(1, every))
    corrections = [CurrencyRate(r.currency, r.date, r.rate + Decimal("0.012345")) for r in rng.sample(rates, 3)]
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
    await write_rates(tables, [CurrencyRate("CHF", date(2026, 2, 1), Decimal("1.5"))])
    one, zero = Decimal(1), Decimal(0)
    hand = [
        TradeFact("H1", date(2026, 2, 1), "C99", one, Decimal("0.01"), Decimal("0.01"), zero, "CHF"),
        TradeFact("H2", date(2026, 1, 31), "C99", one, Decimal("5.00"), Decimal("4"), one, "CHF", "return"),
        TradeFact("H3", date(2026, 3, 1), "C99", one, Decimal("0.03"), Decimal("0.03"), zero, "CHF", "return"),
    ]
    await write_facts(tables, hand)
    facts += hand
    rates.append(CurrencyRate("CHF", date(2026, 2, 1), Decimal("1.5")))

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
    await write_rates(tables, [CurrencyRate("USD", date(2026, 1, 1), Decimal("0.9"))])
    [row] = await tables.query("SELECT rate, revenue_rc FROM facts_converted")
    assert row == {"rate": Decimal("0.900000"), "revenue_rc": Decimal("90.00")}
    await write_rates(tables, [CurrencyRate("USD", date(2026, 1, 1), Decimal("0.95"))])
    [row] = await tables.query("SELECT rate, revenue_rc FROM facts_converted")
    assert row == {"rate": Decimal("0.950000"), "revenue_rc": Decimal("95.00")}
    # A rate dated after the fact does not apply to it.
    await write_rates(tables, [CurrencyRate("USD", date(2026, 1, 11), Decimal("2"))])
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
