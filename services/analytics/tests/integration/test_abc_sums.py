"""The sums the ABC report reads for the facts as they are now (``trade_sums_month``, ``trade_lines``;
ADR 21) against every fact read through ``facts_converted``, and against the plain
calculation of the rule over the latest version of each fact: generated facts in several currencies with
returns and rates that change, then corrections sent again under their ids that move facts to another
customer, day, currency or kind (some twice in one batch, some in batches written at the same time),
over periods whose edges fall inside months, on months' first and last days, within one month and
across years. The sums must never count a replaced version."""

from __future__ import annotations

import asyncio
import functools
import random
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from crm_analytics.application.abc import CLASSIFIED, AbcQuery, AbcReport, facts_without_rate
from crm_analytics.domain.abc import Measure, Period, Shares
from crm_analytics.domain.trade_fact import TradeFact
from crm_analytics.projections.tables import TRADE_SUMS, prepare, rebuild_trade_sums, write_facts, write_rates
from crm_shared.analytics import AnalyticsStore

from .test_abc_rule import ADMIN, START, expected, fact_rate, generate_facts, generate_rates

MEASURES: tuple[Measure, ...] = ("revenue", "revenue_without_vat", "profit")


def corrected(rng: random.Random, fact: TradeFact) -> TradeFact:
    """``fact`` sent again with one or more of its customer, day, currency, kind and amounts changed."""
    changes: dict[str, Any] = {}
    if rng.random() < 0.5:
        changes["customer"] = f"C{rng.randrange(15):02d}"
    if rng.random() < 0.5:
        changes["date"] = fact.date + timedelta(days=rng.randint(-45, 45))
    if rng.random() < 0.4:
        changes["currency"] = rng.choice(["EUR", "USD", "BGN", "GBP"])
    if rng.random() < 0.3:
        changes["kind"] = "sale" if fact.kind == "return" else "return"
    if rng.random() < 0.5 or not changes:
        changes["revenue"] = fact.revenue + Decimal(rng.randint(1, 50_000)) / 100
    return replace(fact, **changes)


def periods(rng: random.Random) -> list[Period]:
    """Hand-picked edges (months' first and last days, one day, one month, across a year's end) and random ones."""
    hand = [
        Period(date(2026, 1, 1), date(2026, 3, 31)),
        Period(date(2026, 1, 15), date(2026, 3, 14)),
        Period(date(2026, 2, 1), date(2026, 2, 28)),
        Period(date(2026, 2, 10), date(2026, 2, 20)),
        Period(date(2026, 2, 10), date(2026, 2, 28)),
        Period(date(2026, 2, 1), date(2026, 2, 10)),
        Period(date(2026, 3, 5), date(2026, 3, 5)),
        Period(date(2025, 12, 20), date(2026, 1, 10)),
        Period(date(2025, 11, 1), date(2026, 6, 30)),
    ]
    drawn = []
    for _ in range(6):
        start = START + timedelta(days=rng.randint(-60, 120))
        drawn.append(Period(start, start + timedelta(days=rng.randint(0, 120))))
    return hand + drawn


def latest(facts: list[TradeFact]) -> list[TradeFact]:
    """The latest fact sent under each id (what trade_facts FINAL holds)."""
    return list({f.id: f for f in facts}.values())


async def rows_of(store: AnalyticsStore, source: str, asked: AbcQuery) -> list[dict[str, Any]]:
    return sorted(await store.query(CLASSIFIED[source], asked.parameters()), key=lambda r: r["place"])


async def assert_sums_match(store: AnalyticsStore, sent: list[TradeFact], rng: random.Random, rates: list[Any]) -> None:
    now = latest(sent)
    for period in periods(rng):
        without_rate = await facts_without_rate(store, period.start, period.end, from_sums=True)
        assert without_rate == await facts_without_rate(store, period.start, period.end), period
        for measure in MEASURES:
            asked = AbcQuery(period, measure, Shares(), "EUR")
            sums = await rows_of(store, "sums", asked)
            assert sums == await rows_of(store, "facts", asked), (period, measure)
            want = expected(now, asked, functools.partial(fact_rate, rates))
            assert [(r["customer"], r["value"], r["class"]) for r in sums] == want, (period, measure)


async def test_the_sums_give_what_every_fact_gives_through_corrections(tables: AnalyticsStore) -> None:
    rng = random.Random(19)
    rates = generate_rates(rng)
    await write_rates(tables, rates)
    facts = generate_facts(rng, 600, customers=15)
    for start in range(0, len(facts), 200):
        await write_facts(tables, facts[start : start + 200])
    sent = list(facts)
    await assert_sums_match(tables, sent, rng, rates)

    # Corrections: one batch with an id twice (the later wins), then two batches at the same time
    # correcting the same ids (each must take back only what it replaces), then a second correction.
    first = [corrected(rng, f) for f in rng.sample(facts, 120)]
    twice = [corrected(rng, f) for f in first[:20]]
    await write_facts(tables, first + twice)
    sent += first + twice
    one, other = [corrected(rng, f) for f in first[:60]], [corrected(rng, f) for f in first[30:90]]
    await asyncio.gather(write_facts(tables, one), write_facts(tables, other))
    # Which of the two batches won an id shared by both is the one written last: trade_facts knows.
    winners = {
        r["id"]: (r["customer"], r["date"], r["currency"], r["kind"], r["revenue"])
        for r in await tables.query(
            "SELECT id, customer, date, currency, kind, revenue FROM trade_facts FINAL WHERE id IN {ids:Array(String)}",
            {"ids": sorted({f.id for f in one + other})},
        )
    }
    sent += [f for f in one + other if (f.customer, f.date, f.currency, f.kind, f.revenue) == winners[f.id]]
    await assert_sums_match(tables, sent, rng, rates)
    # The facts sums count each fact once: as many as trade_facts holds.
    [counted] = await tables.query("SELECT sum(facts) AS facts FROM trade_sums_month")
    assert counted["facts"] == len(facts)

    # Rebuilt from trade_facts (crm rebuild analytics), and built by prepare when empty: the same rows.
    asked = AbcQuery(Period(date(2026, 1, 15), date(2026, 3, 14)), "profit", Shares(), "EUR")
    before = await rows_of(tables, "sums", asked)
    await rebuild_trade_sums(tables)
    assert await rows_of(tables, "sums", asked) == before
    for table in TRADE_SUMS:
        await tables.execute(f"TRUNCATE TABLE {table}")
    assert await rows_of(tables, "sums", asked) == []
    await prepare(tables)
    assert await rows_of(tables, "sums", asked) == before
    # And what classify answers (one classification: page and summary) is those rows.
    result = await AbcReport(tables).classify(ADMIN, asked, limit=len(before))
    assert [(r.customer, r.value, r.abc_class) for r in result.rows] == [
        (r["customer"], r["value"], r["class"]) for r in before
    ]
    assert result.total == sum((r["value"] for r in before), Decimal(0))


async def month_sums(store: AnalyticsStore) -> tuple[Decimal, Decimal, int]:
    """The month sums of EUR revenue and cost over every month, and of facts in every currency."""
    [row] = await store.query(
        "SELECT sumIf(revenue, currency = 'EUR') AS revenue, sumIf(cost, currency = 'EUR') AS cost,"
        " sum(facts) AS facts FROM trade_sums_month"
    )
    return row["revenue"], row["cost"], row["facts"]


def plain_sums(facts: list[TradeFact]) -> tuple[Decimal, Decimal, int]:
    """The same, by hand over the latest version of each id: a return subtracts."""
    now = latest(facts)
    eur = [f for f in now if f.currency == "EUR"]
    return (
        sum((f.sign * f.revenue for f in eur), Decimal(0)),
        sum((f.sign * f.cost for f in eur), Decimal(0)),
        len(now),
    )


async def test_new_resent_and_corrected_facts_in_one_batch_count_once(tables: AnalyticsStore) -> None:
    """P6's write path: a batch of ids never seen, the same batch sent again, and a batch mixing new ids
    with corrections of stored ones (one of them twice): the sums equal the plain Decimal calculation
    over the latest version of each id, and the history keeps every version sent."""
    rng = random.Random(14)
    rates = generate_rates(rng)
    await write_rates(tables, rates)
    facts = generate_facts(rng, 400, customers=15)
    new, later = facts[:300], facts[300:]
    sent: list[TradeFact] = []

    await write_facts(tables, new)  # every id new
    sent += new
    assert await month_sums(tables) == plain_sums(sent)

    await write_facts(tables, new)  # the same batch again: nothing counts twice
    sent += new
    assert await month_sums(tables) == plain_sums(sent)

    fixes = [corrected(rng, f) for f in rng.sample(new, 50)]
    mixed = later[:50] + fixes + later[50:] + [corrected(rng, fixes[0])]
    rng.shuffle(mixed)
    await write_facts(tables, mixed)
    # The last of the batch under an id wins: the shuffled order is the order sent.
    sent += mixed
    assert await month_sums(tables) == plain_sums(sent)
    await assert_sums_match(tables, sent, rng, rates)

    [versions] = await tables.query("SELECT count() AS rows FROM trade_fact_versions")
    assert versions["rows"] == len(sent)
    [stored] = await tables.query("SELECT count() AS rows FROM trade_facts FINAL")
    assert stored["rows"] == len(latest(sent)) == 400


async def test_a_fact_id_with_a_line_break_is_refused_before_anything_is_written(tables: AnalyticsStore) -> None:
    """The take-back sends a batch's ids as one text, one a line: an id with a line break (never a
    validated fact's) would split into two and miss its take-back, so the batch is refused whole."""
    [fact] = generate_facts(random.Random(3), 1)
    with pytest.raises(ValueError, match="control character"):
        await write_facts(tables, [fact, replace(fact, id="A\nB")])
    [stored] = await tables.query("SELECT count() AS rows FROM trade_facts")
    assert stored["rows"] == 0


async def test_ids_of_every_allowed_kind_of_character_are_taken_back(tables: AnalyticsStore) -> None:
    """The take-back reads a batch's ids as raw lines: backslashes, quotes, spaces inside and letters of
    any script are looked up as they are, so each corrected fact replaces its stored version in the sums."""
    rng = random.Random(21)
    ids = ["a\\b", "x'y", 'Ж"z', "in side", "end\\", "\\n", "`q`", "日本-1"]
    facts = [replace(f, id=i) for f, i in zip(generate_facts(rng, len(ids)), ids, strict=True)]
    await write_facts(tables, facts)
    fixes = [corrected(rng, f) for f in facts]
    await write_facts(tables, fixes)
    assert await month_sums(tables) == plain_sums(facts + fixes)
    stored = await tables.query("SELECT id FROM trade_facts FINAL ORDER BY id")
    assert sorted(r["id"] for r in stored) == sorted(ids)
