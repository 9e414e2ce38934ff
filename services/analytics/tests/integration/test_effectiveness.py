"""Contact effectiveness over generated data, against the plain reading of the same data
(``touches_data``): every grouping, window lengths, as of a moment before a late interaction and
before corrections of facts, a sales manager's scope, paging."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from crm_analytics.application.effectiveness import EffectivenessReport, EffectivenessRow
from crm_analytics.domain.abc import Period
from crm_analytics.domain.attribution import EffectivenessQuery
from crm_shared.analytics import AnalyticsStore
from crm_shared.errors import DomainError, Forbidden

from .touches_data import ADMIN, FIRST, LAST, NORTH, TZ, World, caller, converted, generate, key_of


def expected(
    world: World, by: str, window: int, as_of: datetime, groups: tuple[str, ...] | None = None
) -> dict[str, EffectivenessRow]:
    """The report by the rule, read from the generated world in plain Python."""
    facts = world.facts_known(as_of)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    money: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for touch in world.touches_known(as_of):
        if not (FIRST <= touch.day <= LAST) or not world.in_scope(touch.counterparty, groups):
            continue
        key = key_of(touch, by, world)
        counts[key][0] += 1
        after = [
            f
            for f in facts
            if world.codes.get(f.customer) == touch.counterparty
            and touch.day <= f.date <= touch.day + timedelta(days=window)
        ]
        if any(f.kind == "sale" for f in after):
            counts[key][1] += 1
        for f in after:
            amounts = converted(f)
            if amounts is not None:
                money[key][0] += amounts[0]
                money[key][1] += amounts[1]
    return {
        key: EffectivenessRow(key, n, followed, money[key][0], money[key][1]) for key, (n, followed) in counts.items()
    }


@pytest.mark.parametrize("seed", [1, 2])
async def test_effectiveness_against_the_plain_rule(tables: AnalyticsStore, seed: int) -> None:
    world = await generate(tables, seed)
    report = EffectivenessReport(tables, tz=TZ)
    period = Period(FIRST, LAST)
    later = world.late + timedelta(days=1)
    cases = [
        ("kind", 30, later, None, ADMIN),
        ("manager", 0, later, None, ADMIN),
        ("source", 7, later, None, ADMIN),
        ("kind", 30, world.between, None, ADMIN),  # before the late touch and the corrections
        ("manager", 30, later, ("north",), NORTH),
    ]
    for by, window, as_of, groups, who in cases:
        asked = EffectivenessQuery(period, window, by)  # type: ignore[arg-type]
        result = await report.report(who, asked, as_of=as_of, limit=1000)
        want = expected(world, by, window, as_of, groups)
        assert {r.key: r for r in result.rows} == want, (by, window, as_of, groups)
        assert result.total.interactions == sum(r.interactions for r in want.values())
        assert result.total.revenue == sum((r.revenue for r in want.values()), Decimal(0))
        assert result.groups == len(want)
    # The late interaction is unknown as of `between` and known after it.
    asked = EffectivenessQuery(period, 30, "kind")
    before = await report.report(ADMIN, asked, as_of=world.between)
    after = await report.report(ADMIN, asked, as_of=later)
    assert after.total.interactions == before.total.interactions + 1
    # Today (no as_of): the late completion has not happened yet.
    assert (await report.report(ADMIN, asked)).total.interactions == before.total.interactions


async def test_pages_and_access(tables: AnalyticsStore) -> None:
    world = await generate(tables, 3)
    report = EffectivenessReport(tables, tz=TZ)
    asked = EffectivenessQuery(Period(FIRST, LAST), 30, "manager")
    later = world.late + timedelta(days=1)
    whole = await report.report(ADMIN, asked, as_of=later)
    seen: list[EffectivenessRow] = []
    after: str | None = None
    while True:
        page = await report.report(ADMIN, asked, as_of=later, after=after, limit=1)
        seen += page.rows
        if page.last_key is None:
            break
        after = page.last_key
    assert seen == whole.rows and [r.key for r in seen] == sorted(r.key for r in seen)
    assert whole.rows[0].conversion == (Decimal(whole.rows[0].followed * 100) / whole.rows[0].interactions).quantize(
        Decimal("0.01")
    )
    with pytest.raises(Forbidden):
        await report.report(caller(), asked)
    with pytest.raises(DomainError) as bad:
        EffectivenessQuery(Period(FIRST, LAST), -1)
    assert bad.value.field == "window_days"
