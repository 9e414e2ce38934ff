"""Relationship stages and XYZ as the service runs them (SQL on chDB) against a straightforward Python
calculation on data generated here: every periodicity (decade boundaries, February, weeks across
years), every measure, periods without facts, returns, customers with one sale, lost customers,
other currencies; then exact band edges and the parameters' checks."""

from __future__ import annotations

import calendar
import itertools
import math
import random
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from crm_analytics.application.xyz import XyzReport
from crm_analytics.domain.trade_fact import TradeFact
from crm_analytics.domain.xyz import PERIODICITIES, XYZ_MEASURES, XyzParameters, bounds, ordinal
from crm_analytics.projections.tables import write_facts
from crm_shared.analytics import AnalyticsStore
from crm_shared.errors import DomainError, Forbidden
from crm_shared.identity import caller_of

ADMIN = caller_of("admin", ["administrator"])


def start_of(day: date, periodicity: str) -> date:
    """The first day of the period containing ``day``, by plain calendar arithmetic."""
    if periodicity == "day":
        return day
    if periodicity == "week":
        return day - timedelta(days=day.weekday())
    if periodicity == "decade":
        return day.replace(day=1 if day.day <= 10 else 11 if day.day <= 20 else 21)
    months = {"month": 1, "quarter": 3, "half-year": 6, "year": 12}[periodicity]
    return date(day.year, (day.month - 1) // months * months + 1, 1)


def window(last: date, periodicity: str, count: int) -> list[date]:
    """The first days of the ``count`` periods ending with the one containing ``last``, oldest first."""
    starts = [start_of(last, periodicity)]
    while len(starts) < count:
        starts.append(start_of(starts[-1] - timedelta(days=1), periodicity))
    return starts[::-1]


def amount(f: TradeFact, asked: XyzParameters) -> Decimal:
    sign = -1 if f.kind == "return" else 1
    if asked.measure == "sales":
        return Decimal(f.kind == "sale")
    if asked.measure == "quantity":
        return sign * f.quantity
    if f.currency != asked.currency:
        return Decimal(0)
    return (
        sign
        * {
            "revenue": f.revenue,
            "revenue_without_vat": f.revenue_without_vat,
            "profit": f.revenue_without_vat - f.cost,
        }[asked.measure]
    )


def expected(facts: list[TradeFact], asked: XyzParameters) -> dict[str, tuple[str, str | None, float | None, int]]:
    """customer → (stage, class, coefficient in percent, number of values), the plain way."""
    p, n = asked.periodicity, asked.periods
    known = sorted({f.customer for f in facts if f.date <= asked.to})
    starts = window(asked.to, p, n)
    answer = {}
    for customer in known:
        mine = [f for f in facts if f.customer == customer and f.date <= asked.to]
        sale_days = sorted({f.date for f in mine if f.kind == "sale"})
        active = {start_of(d, p) for d in sale_days} & set(starts)
        if not sale_days:
            stage = "potential"
        elif len(active) >= asked.regular_periods:
            stage = "regular"
        elif active:
            stage = "one-time"
        else:
            before = window(sale_days[-1], p, n)
            was = {start_of(d, p) for d in sale_days} & set(before)
            stage = "lost" if len(was) >= asked.regular_periods else "one-time"
        if asked.measure == "intervals":
            days = [d for d in sale_days if d >= starts[0]]
            values = [Fraction((b - a).days) for a, b in itertools.pairwise(days)]
        else:
            values = [
                Fraction(sum((amount(f, asked) for f in mine if start_of(f.date, p) == s), Decimal(0))) for s in starts
            ]
        cv: float | None = None
        grade = None
        if values:
            average = sum(values, Fraction(0)) / len(values)
            variance = sum(((v - average) ** 2 for v in values), Fraction(0)) / len(values)
            if average > 0:
                cv = math.sqrt(variance) / float(average) * 100
            if stage == "regular":
                x, y = Fraction(asked.x) / 100, Fraction(asked.y) / 100
                if average <= 0:
                    grade = "Z"
                elif variance <= x * x * average * average:
                    grade = "X"
                elif variance <= y * y * average * average:
                    grade = "Y"
                else:
                    grade = "Z"
        answer[customer] = (stage, grade, cv, len(values))
    return answer


def generate(rng: random.Random, to: date) -> list[TradeFact]:
    codes = [f"C{n:02d}" for n in range(rng.randint(5, 25))]
    facts: list[TradeFact] = []

    def add(customer: str, day: date, kind: str = "sale", revenue: Decimal | None = None) -> None:
        value = revenue if revenue is not None else Decimal(rng.choice(["0.00", "10.00", "10.00", "55.55", "999.99"]))
        facts.append(
            TradeFact(
                id=f"F{len(facts)}",
                kind=kind,  # type: ignore[arg-type]
                date=day,
                customer=customer,
                quantity=Decimal(rng.randint(1, 4000)) / 1000,
                revenue=value,
                revenue_without_vat=(value / Decimal("1.2")).quantize(Decimal("0.01")),
                cost=Decimal(rng.choice(["0.00", "5.00", "40.00"])),
                currency="EUR" if rng.random() < 0.9 else "USD",
            )
        )

    for customer in codes:
        # Busy customers buy often, others rarely; some stop long before `to`.
        busy, stop = rng.random(), to - timedelta(days=rng.choice([0, 0, 40, 400]))
        for _ in range(rng.randint(1, 40)):
            day = stop - timedelta(days=int(rng.random() ** (1 + 3 * busy) * 700))
            if rng.random() < 0.3:  # near decade and month boundaries
                last = calendar.monthrange(day.year, day.month)[1]
                day = day.replace(day=rng.choice([1, 10, 11, 20, 21, 28, last, last]))
            add(customer, day, "return" if rng.random() < 0.15 else "sale")
    for days in range(750):  # steady: the same sale every day
        add("STEADY", to - timedelta(days=days), revenue=Decimal("10.00"))
    add("ONE", to - timedelta(days=1))
    add("RET", to - timedelta(days=3), "return")  # only a return: potential
    add("LATE", to + timedelta(days=1))  # not known by `to`
    for months in range(12):  # lost: monthly for a year, three years ago
        add("GONE", to - timedelta(days=1100 + 30 * months))
    return facts


async def rows(report: XyzReport, asked: XyzParameters, limit: int = 1000) -> dict[str, tuple[object, ...]]:
    found: dict[str, tuple[object, ...]] = {}
    after = ""
    while True:
        result = await report.classify(ADMIN, asked, after=after, limit=limit)
        for r in result.rows:
            found[r.customer] = (r.stage, r.xyz_class, r.coefficient, r.values, r.mean, r.total)
        if result.last_customer is None:
            return found
        after = result.last_customer


async def test_stages_and_classes_match_a_plain_calculation_on_generated_data(tables: AnalyticsStore) -> None:
    report = XyzReport(tables)
    seen_stages: set[str] = set()
    seen_classes: set[str | None] = set()
    for seed in range(3):
        rng = random.Random(seed)
        to = date(2026, rng.choice([2, 3, 12]), rng.choice([10, 20, 28]))
        facts = generate(rng, to)
        await tables.execute("TRUNCATE TABLE trade_facts")
        await write_facts(tables, facts)
        for number, periodicity in enumerate(PERIODICITIES):
            for measure in (XYZ_MEASURES[(seed * 7 + number) % 6],):  # each measure 3 or 4 times
                periods = {"day": 40, "week": 12}.get(periodicity, rng.randint(2, 8))
                asked = XyzParameters(
                    to=to,
                    periodicity=periodicity,
                    periods=periods,
                    measure=measure,
                    x=Decimal(rng.choice(["10", "25.5", "40"])),
                    y=Decimal(rng.choice(["60", "80.25"])),
                    regular_periods=rng.randint(2, min(periods, 4)),
                )
                want = expected(facts, asked)
                summary = await report.classify(ADMIN, asked, limit=1000)
                got = {r.customer: r for r in summary.rows}
                assert sorted(got) == sorted(want), (seed, periodicity, measure)
                for customer, (stage, grade, cv, count) in want.items():
                    row, where = got[customer], (seed, periodicity, measure, customer)
                    assert (row.stage, row.xyz_class, row.values) == (stage, grade, count), where
                    assert (row.coefficient is None) == (cv is None), where
                    if cv is not None:
                        assert abs(float(row.coefficient or 0) - cv) < 0.0001, where
                assert summary.customers == len(want)
                assert summary.stages == {s: sum(1 for v in want.values() if v[0] == s) for s in summary.stages}
                assert summary.classes == {c: sum(1 for v in want.values() if v[1] == c) for c in summary.classes}
                assert summary.first_day == window(to, periodicity, periods)[0]
                if number == seed:  # page by page gives the same rows
                    paged = await rows(report, asked, limit=7)
                    fields = {
                        c: (r.stage, r.xyz_class, r.coefficient, r.values, r.mean, r.total) for c, r in got.items()
                    }
                    assert paged == fields
                seen_stages |= {stage for stage, *_ in want.values()}
                seen_classes |= {grade for _, grade, *_ in want.values()}
                summary = await report.classify(ADMIN, asked, limit=1)
                assert summary.customers == len(want)
                assert summary.stages == {s: sum(1 for v in want.values() if v[0] == s) for s in summary.stages}
                assert summary.classes == {c: sum(1 for v in want.values() if v[1] == c) for c in summary.classes}
                assert summary.first_day == window(to, periodicity, periods)[0]
    assert seen_stages == {"potential", "one-time", "regular", "lost"}
    assert seen_classes == {"X", "Y", "Z", None}


def sale(n: int, customer: str, day: date, revenue: str, kind: str = "sale") -> TradeFact:
    value = Decimal(revenue)
    return TradeFact(f"S{n}", day, customer, Decimal(1), value, value, Decimal(0), "EUR", kind)  # type: ignore[arg-type]


async def test_band_edges_are_exact_and_zero_periods_count(tables: AnalyticsStore) -> None:
    pairs = {"X": ("90.00", "110.00"), "Y": ("75.00", "125.00"), "Z": ("74.99", "125.01")}
    facts, n = [], 0
    for grade, (first, second) in pairs.items():  # CV exactly 10 %, exactly 25 %, just above 25 %
        for month, value in ((1, first), (2, second)):
            n += 1
            facts.append(sale(n, grade, date(2026, month, 15), value))
    # Sales in two of three months: the empty month counts as zero (values 100, 100, 0: CV 70.71 %).
    facts += [sale(90, "GAP", date(2026, 1, 2), "100.00"), sale(91, "GAP", date(2026, 3, 3), "100.00")]
    # A return outweighing the sales: mean below zero, no coefficient, Z.
    facts += [sale(92, "NEG", date(2026, 1, 2), "10.00"), sale(93, "NEG", date(2026, 2, 2), "10.00")]
    facts += [sale(94, "NEG", date(2026, 2, 3), "50.00", "return")]
    await write_facts(tables, facts)
    report = XyzReport(tables)
    got = await rows(report, XyzParameters(to=date(2026, 2, 28), periods=2))
    assert {c: (r[1], r[2]) for c, r in got.items() if c in pairs} == {
        "X": ("X", Decimal("10.0000")),
        "Y": ("Y", Decimal("25.0000")),
        "Z": ("Z", Decimal("25.0100")),
    }
    assert got["X"][4:] == (Decimal("100.0000"), Decimal("200.00"))
    got = await rows(report, XyzParameters(to=date(2026, 3, 31), periods=3))
    assert got["GAP"][:4] == ("regular", "Z", Decimal("70.7107"), 3)
    assert got["NEG"][:4] == ("regular", "Z", None, 3)
    assert got["X"][:2] == ("regular", "Z")  # 90, 110, 0


async def test_decades_cut_months_in_three(tables: AnalyticsStore) -> None:
    days = [date(2026, 2, 10), date(2026, 2, 11), date(2026, 2, 20), date(2026, 2, 21), date(2026, 2, 28)]
    await write_facts(tables, [sale(i, "D", day, "10.00") for i, day in enumerate(days)])
    got = await rows(XyzReport(tables), XyzParameters(to=date(2026, 2, 28), periodicity="decade", periods=3))
    # Values per decade: 1-10 → 10, 11-20 → 20, 21-28 → 20.
    assert got["D"][3:6] == (3, Decimal("16.6667"), Decimal("50.00"))
    assert bounds(ordinal(date(2026, 2, 25), "decade"), "decade") == (date(2026, 2, 21), date(2026, 2, 28))
    # The 31st belongs to its month's third decade, not to the next month's first.
    await write_facts(tables, [sale(10, "E", date(2026, 1, 31), "10.00"), sale(11, "E", date(2026, 2, 15), "10.00")])
    got = await rows(XyzReport(tables), XyzParameters(to=date(2026, 2, 20), periodicity="decade", periods=2))
    assert got["D"][3:6] == (2, Decimal("15.0000"), Decimal("30.00"))
    assert got["E"][:2] == ("one-time", None) and got["E"][5] == Decimal("10.00")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"periods": 1}, "periods"),
        ({"periods": 1001}, "periods"),
        ({"periods": 1000, "periodicity": "year"}, "periods"),
        ({"x": Decimal(30)}, "y"),
        ({"x": Decimal(-1)}, "x"),
        ({"regular_periods": 7}, "regular_periods"),
        ({"regular_periods": 1}, "regular_periods"),
    ],
)
def test_bad_parameters_name_their_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(DomainError) as raised:
        XyzParameters(to=date(2026, 1, 31), **changes)  # type: ignore[arg-type]
    assert raised.value.field == field


def test_period_numbers_and_bounds_agree_with_the_calendar() -> None:
    day = date(2023, 12, 25)
    while day < date(2025, 3, 10):
        for periodicity in PERIODICITIES:
            start, end = bounds(ordinal(day, periodicity), periodicity)
            assert start == start_of(day, periodicity) and start <= day <= end
            assert ordinal(end + timedelta(days=1), periodicity) == ordinal(day, periodicity) + 1
        day += timedelta(days=3)


async def test_the_whole_for_analytics_readers_their_groups_for_others_nothing_without_a_role(
    tables: AnalyticsStore,
) -> None:
    report = XyzReport(tables)
    await report.classify(caller_of("u", ["marketer"]), XyzParameters(to=date(2026, 1, 31)))
    mine = await report.classify(caller_of("u", ["sales_manager"], ["general"]), XyzParameters(to=date(2026, 1, 31)))
    assert (mine.rows, mine.customers) == ([], 0)
    with pytest.raises(Forbidden):
        await report.classify(caller_of("u", []), XyzParameters(to=date(2026, 1, 31)))
