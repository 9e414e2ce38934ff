"""Multi-touch attribution over generated data, against the plain reading of the same data
(``touches_data``) with every model split exactly in rational numbers: the rows per model and
grouping, the no-touch row (unlinked customers included), the sum of the rows equal to the revenue
of the period for every model, as of a moment before a late interaction and before corrections, a
sales manager's scope, paging; and the splitting rule on hand cases."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, localcontext
from fractions import Fraction

import pytest

from crm_analytics.application.attribution import AttributionReport, AttributionRow
from crm_analytics.domain.abc import Period
from crm_analytics.domain.attribution import MODELS, AttributionQuery, split, weights
from crm_shared.analytics import AnalyticsStore
from crm_shared.errors import DomainError

from .touches_data import ADMIN, FIRST, LAST, NORTH, TZ, Touch, World, converted, generate, key_of


def plain_weights(model: str, ages: list[int], half_life: int) -> list[Fraction]:
    n = len(ages)
    if model == "first":
        return [Fraction(1 if i == 0 else 0) for i in range(n)]
    if model == "last":
        return [Fraction(1 if i == n - 1 else 0) for i in range(n)]
    if model == "linear":
        return [Fraction(1, n)] * n
    if model == "position":
        if n == 1:
            return [Fraction(1)]
        if n == 2:
            return [Fraction(1, 2)] * 2
        return [Fraction(2, 5)] + [Fraction(1, 5) / (n - 2)] * (n - 2) + [Fraction(2, 5)]
    with localcontext() as context:  # 2^(-age / half-life), to 50 digits
        context.prec = 50
        raw = [Fraction(Decimal(2) ** (Decimal(-age) / half_life)) for age in ages]
    return [w / sum(raw) for w in raw]


def plain_split(amount: Decimal, parts: list[Fraction]) -> list[Decimal]:
    """In whole cents: each part's exact share rounded down, the cents left to the largest remainders
    (ties: the earlier), a negative amount split as its magnitude and negated."""
    cents = int(abs(amount) * 100)
    exact = [cents * p for p in parts]
    whole = [int(e) for e in exact]  # exact >= 0: int() floors
    order = sorted(range(len(parts)), key=lambda i: (-(exact[i] - whole[i]), i))
    for i in order[: cents - sum(whole)]:
        whole[i] += 1
    sign = -1 if amount < 0 else 1
    return [Decimal(sign * c) / 100 for c in whole]


def expected(
    world: World, model: str, by: str, lookback: int, half_life: int, as_of: datetime, groups: tuple[str, ...] | None
) -> tuple[dict[str | None, AttributionRow], Decimal, int]:
    """The rows by the rule, the revenue of the period and its facts (in scope, with a rate)."""
    touches = world.touches_known(as_of)
    rows: dict[str | None, AttributionRow] = {}
    total, count = Decimal(0), 0
    for fact in world.facts_known(as_of):
        counterparty = world.codes.get(fact.customer)
        amounts = converted(fact)
        if not (FIRST <= fact.date <= LAST) or amounts is None or not world.in_scope(counterparty, groups):
            continue
        total += amounts[0]
        count += 1
        before: list[Touch] = sorted(
            (
                t
                for t in touches
                if t.counterparty == counterparty and fact.date - timedelta(days=lookback) <= t.day <= fact.date
            ),
            key=lambda t: (t.end, t.id),
        )
        if not before:
            row = rows.setdefault(None, AttributionRow(None))
            row.revenue += amounts[0]
            row.profit += amounts[1]
            row.sales += 1
            continue
        parts = plain_weights(model, [(fact.date - t.day).days for t in before], half_life)
        credited: set[str] = set()
        for touch, part, revenue, profit in zip(
            before, parts, plain_split(amounts[0], parts), plain_split(amounts[1], parts), strict=True
        ):
            key = key_of(touch, by, world)
            row = rows.setdefault(key, AttributionRow(key))
            row.revenue += revenue
            row.profit += profit
            if part > 0 and key not in credited:
                credited.add(key)
                row.sales += 1
    return rows, total, count


@pytest.mark.parametrize("seed", [11, 12])
async def test_attribution_against_the_plain_rule(tables: AnalyticsStore, seed: int) -> None:
    world = await generate(tables, seed)
    report = AttributionReport(tables, tz=TZ)
    period = Period(FIRST, LAST)
    later = world.late + timedelta(days=1)
    cases = [(model, "kind", 30, 7, later, None) for model in MODELS] + [
        ("position", "manager", 90, 7, later, None),
        ("time_decay", "source", 90, 3, later, None),
        ("linear", "kind", 0, 7, later, None),  # touches of the sale's own day only
        ("last", "manager", 30, 7, world.between, None),  # before the late touch and the corrections
        ("time_decay", "kind", 60, 7, later, ("north",)),
    ]
    for model, by, lookback, half_life, as_of, groups in cases:
        asked = AttributionQuery(period, model, lookback, half_life, by)  # type: ignore[arg-type]
        result = await report.groups(NORTH if groups else ADMIN, asked, as_of=as_of)
        want, total, count = expected(world, model, by, lookback, half_life, as_of, groups)
        case = (model, by, lookback, half_life, as_of, groups)
        assert {r.key: r for r in result.rows} == want, case
        # The rows always sum to the revenue of the period.
        assert sum((r.revenue for r in result.rows), Decimal(0)) == result.revenue == total, case
        assert result.sales == count, case
        assert [r.key for r in result.rows] == sorted(k for k in want if k is not None) + (
            [None] if None in want else []
        )
    # An unlinked customer's sales are in the no-touch row for the whole, outside a manager's scope.
    asked = AttributionQuery(period, "linear", 30)
    whole = await report.groups(ADMIN, asked, as_of=later)
    north = await report.groups(NORTH, asked, as_of=later)
    assert whole.unlinked > 0 and north.unlinked == 0
    assert north.revenue != whole.revenue


async def test_pages(tables: AnalyticsStore) -> None:
    world = await generate(tables, 13)
    report = AttributionReport(tables, tz=TZ)
    asked = AttributionQuery(Period(FIRST, LAST), "position", 90, by="manager")
    later = world.late + timedelta(days=1)
    whole = await report.report(ADMIN, asked, as_of=later)
    seen: list[AttributionRow] = []
    after: str | None = None
    while True:
        page = await report.report(ADMIN, asked, as_of=later, after=after, limit=2)
        seen += page.rows
        if page.last_key is None:
            break
        after = page.last_key
    assert seen == whole.rows and seen[-1].key is None


def test_the_split_is_exact_to_the_cent() -> None:
    assert split(Decimal("100.00"), weights("linear", [0, 0, 0])) == [
        Decimal("33.34"),
        Decimal("33.33"),
        Decimal("33.33"),
    ]
    assert split(Decimal("-0.05"), weights("position", [5, 3, 2, 0])) == [
        Decimal("-0.02"),
        Decimal("-0.01"),
        Decimal("0.00"),
        Decimal("-0.02"),
    ]
    assert weights("position", [3]) == [Decimal(1)] and len(set(weights("position", [3, 1]))) == 1
    assert split(Decimal("10.00"), weights("time_decay", [7, 0], 7)) == [Decimal("3.33"), Decimal("6.67")]
    with pytest.raises(DomainError) as bad:
        AttributionQuery(Period(FIRST, LAST), half_life_days=0)
    assert bad.value.field == "half_life_days"
