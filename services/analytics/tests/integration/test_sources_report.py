"""The report "Analysis of interactions and information sources" (``application.sources``) on chDB
against a plain Python calculation over data generated here (seeded): counterparties whose source
changes and expires (actuality days), returns, facts in three currencies with rates changing (and
one currency without a rate early in the period), unlinked customers, incoming interactions (one
naming its own source, cancelled and outgoing ones that do not count, starts near midnight cut in
Sofia's time zone), and as_of cutting a late fact, a late correction and a late source record. A
sales manager sees only their groups' rows; a caller without counterparty:read gets 403."""

from __future__ import annotations

import asyncio
import csv
import io
import random
import uuid
import zipfile
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI

from crm_analytics import bootstrap
from crm_analytics.application.sources import CounterpartyRow, SourcesQuery, SourcesReport, SourcesResult
from crm_analytics.bootstrap import AnalyticsService
from crm_analytics.domain.currency_rate import Rate
from crm_analytics.domain.trade_fact import TradeFact
from crm_analytics.projections.crm_events import CrmEventsFeed
from crm_analytics.projections.tables import write_facts, write_rates
from crm_analytics.settings import AnalyticsSettings
from crm_shared.analytics import AnalyticsStore
from crm_shared.bus import Message
from crm_shared.contracts.contacts import counterparty as cp
from crm_shared.contracts.contacts import reference as ref
from crm_shared.contracts.interactions import interaction as ix
from crm_shared.errors import Forbidden
from crm_shared.identity import CALLER_HEADER, Caller, CallerTokens, caller_of
from crm_shared.settings import KernelSettings

from .test_crm_events import message, registered

TZ = "Europe/Sofia"
START, END = date(2026, 2, 1), date(2026, 5, 31)
CATALOG = {"fair": ("Trade fair", 30), "web": ("Website", 0), "ad": ("Newspaper ad", 10), "radio": ("Radio", 0)}
ADMIN = caller_of("admin", ["administrator"])
NORTH_MANAGER = caller_of("maria", ["sales_manager"], ["north"])
CENT, MILLI = Decimal("0.01"), Decimal("0.001")


def known_at(as_of: datetime) -> int:
    """The last nanosecond of as_of's microsecond, since the epoch."""
    return ((as_of - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)) * 1000 + 999


@dataclass
class Sums:
    """The measures of a row, summed the plain way."""

    revenue: Decimal = Decimal("0.00")
    revenue_without_vat: Decimal = Decimal("0.00")
    profit: Decimal = Decimal("0.00")
    sales: int = 0
    quantity: Decimal = Decimal("0.000")
    incoming: int | None = 0
    facts: int = 0  # converted facts summed (not a measure: whether a source has any in a month)

    def values(self) -> tuple[Any, ...]:
        return (self.revenue, self.revenue_without_vat, self.profit, self.sales, self.quantity, self.incoming)


@dataclass
class World:
    """What the test generated, as the CRM knows it at each moment."""

    links: dict[str, str]  # customer code -> counterparty id
    groups: dict[str, str]  # counterparty id -> access group
    records: list[tuple[datetime, str, date, str]] = field(default_factory=list)  # time, cid, on, source
    rates: dict[str, list[tuple[date, Decimal]]] = field(default_factory=dict)
    facts: list[tuple[int, TradeFact]] = field(default_factory=list)  # (received ns, fact)
    incoming: list[tuple[str, datetime, str]] = field(default_factory=list)  # cid, start, named source

    def rate(self, fact: TradeFact) -> Decimal | None:
        if fact.currency == "EUR":
            return Decimal(1)
        found = [r for d, r in sorted(self.rates.get(fact.currency, [])) if d <= fact.date]
        return found[-1] if found else None

    def source(self, cid: str, day: date, as_of: datetime) -> str:
        known = sorted((on, s) for t, c, on, s in self.records if c == cid and t <= as_of and on <= day)
        if not known:
            return ""
        on, source = known[-1]
        days = CATALOG[source][1]
        return source if days == 0 or (day - on).days < days else ""

    def known_facts(self, as_of: datetime) -> list[TradeFact]:
        """Per id the fact received last up to as_of's microsecond."""
        cut = known_at(as_of)
        latest: dict[str, TradeFact] = {}
        for received, fact in sorted(self.facts, key=lambda pair: pair[0]):
            if received <= cut:
                latest[fact.id] = fact
        return list(latest.values())


def expected(
    world: World,
    as_of: datetime,
    groups: set[str] | None = None,
    by: str | None = "item",
    period: tuple[date, date] = (START, END),
    tz: str = TZ,
) -> dict[str, Any]:
    """{source: (sums, {(cid, customer): (sums, {detail: sums})})}, the facts without a rate and the
    sources with facts in the period."""
    rows: dict[str, Sums] = defaultdict(Sums)
    children: dict[str, dict[tuple[str, str], Sums]] = defaultdict(lambda: defaultdict(Sums))
    details: dict[tuple[str, str, str], dict[str, Sums]] = defaultdict(lambda: defaultdict(lambda: Sums(incoming=None)))
    without: dict[str, list[date]] = defaultdict(list)

    def visible(cid: str) -> bool:
        return groups is None or (cid != "" and world.groups.get(cid) in groups)

    for fact in world.known_facts(as_of):
        if not period[0] <= fact.date <= period[1]:
            continue
        cid = world.links.get(fact.customer, "")
        if not visible(cid):
            continue
        rate = world.rate(fact)
        if rate is None:
            without[fact.currency].append(fact.date)
            continue
        sign = -1 if fact.kind == "return" else 1
        source = world.source(cid, fact.date, as_of) if cid else ""
        customer = "" if cid else fact.customer

        def conv(amount: Decimal, rate: Decimal = rate) -> Decimal:
            return (amount * rate).quantize(CENT, ROUND_HALF_UP)

        revenue, without_vat, cost = conv(fact.revenue), conv(fact.revenue_without_vat), conv(fact.cost)
        targets = [rows[source], children[source][(cid, customer)]]
        if by:
            targets.append(details[(source, cid, customer)][getattr(fact, by)])
        for sums in targets:
            sums.revenue += sign * revenue
            sums.revenue_without_vat += sign * without_vat
            sums.profit += sign * (without_vat - cost)
            sums.sales += fact.kind == "sale"
            sums.quantity += sign * fact.quantity
            sums.facts += 1
    for cid, start, named in world.incoming:
        day = start.astimezone(ZoneInfo(tz)).date()
        if not period[0] <= day <= period[1] or not visible(cid):
            continue
        source = named or (world.source(cid, day, as_of) if cid else "")
        for sums in (rows[source], children[source][(cid, "")]):
            assert sums.incoming is not None
            sums.incoming += 1
    return {
        "rows": {
            s: (
                rows[s].values(),
                {k: (v.values(), {d: x.values() for d, x in details[(s, *k)].items()}) for k, v in c.items()},
            )
            for s, c in children.items()
        },
        "without_rate": {c: (len(days), min(days)) for c, days in without.items()},
        "with_facts": {s: rows[s].revenue for s in rows if rows[s].facts},
    }


def measures(m: Any) -> tuple[Any, ...]:
    return (m.revenue, m.revenue_without_vat, m.profit, m.sales, m.quantity, m.incoming)


def found(result: SourcesResult) -> dict[str, Any]:
    def child(c: CounterpartyRow) -> tuple[tuple[str, str], Any]:
        return (c.counterparty_id or "", c.customer or ""), (
            measures(c.measures),
            {d.detail: measures(d.measures) for d in c.details},
        )

    return {
        "rows": {r.source: (measures(r.measures), dict(map(child, r.counterparty_rows))) for r in result.rows},
        "without_rate": {w.currency: (w.facts, w.earliest) for w in result.without_rate},
    }


def without_history(want: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in want.items() if k != "with_facts"}


def percent(value: Any, parent: Any) -> Decimal | None:
    if value is None or parent is None or parent <= 0:
        return None
    return (Decimal(value) * 100 / Decimal(parent)).quantize(CENT)


def check_shares(result: SourcesResult) -> None:
    names = ("revenue", "revenue_without_vat", "profit", "sales", "quantity", "incoming")
    for row in result.rows:
        assert row.shares == {n: percent(getattr(row.measures, n), getattr(result.total, n)) for n in names}
        for c in row.counterparty_rows:
            assert c.shares == {n: percent(getattr(c.measures, n), getattr(row.measures, n)) for n in names}
            for d in c.details:
                assert d.shares == {n: percent(getattr(d.measures, n), getattr(c.measures, n)) for n in names}


def interaction(
    cid: str | None, start: datetime, *, direction: str = "incoming", source: str | None = None
) -> dict[str, Any]:
    iid = str(uuid.uuid4())
    return {
        "interaction_id": iid,
        "state": "completed",
        "kind": "call",
        "direction": direction,
        "importance": "medium",
        "subject": "",
        "counterparty_id": cid,
        "contact_person_id": None,
        "responsible": "ana",
        "start": start,
        "end": start + timedelta(minutes=20),
        "thread_id": iid,
        "source": source,
        "created_by": "ana",
        "created_at": start,
    }


async def generate(store: AnalyticsStore, seed: int = 14) -> tuple[World, datetime]:
    """The generated story, written to the store; returns the world and the moment between the
    early records and the late ones (as_of of the early knowledge)."""
    rng = random.Random(seed)
    cids = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(10)]
    world = World(
        links={f"C{i}": cid for i, cid in enumerate(cids)},
        groups={cid: ("north" if i % 2 == 0 else "south") for i, cid in enumerate(cids)},
    )
    t0 = datetime(2025, 12, 1, 8, tzinfo=UTC)
    events: list[Message] = []
    for code, (name, days) in CATALOG.items():
        events.append(
            message(
                ref.ReferenceEntryDefined(catalog="sources", code=code, name=name, attributes={"actuality_days": days}),
                t0,
            )
        )
    for i, cid in enumerate(cids):
        events.append(registered(cid, "ana", group=world.groups[cid], at=t0))
        events.append(
            message(
                cp.CounterpartyExternalCodesChanged(
                    counterparty_id=cid, external_codes=[cp.ExternalCode(system="erp", code=f"C{i}")]
                ),
                t0,
            )
        )
        for on in sorted(rng.sample(range(0, 150), rng.randint(0, 3))):
            day = date(2026, 1, 1) + timedelta(days=on)
            source = rng.choice(list(CATALOG))
            at = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=9)
            world.records.append((at, cid, day, source))
            events.append(message(cp.InformationSourceRecorded(counterparty_id=cid, source=source, on=day), at))
    # Incoming interactions (some at 23:30 UTC: the next day in Sofia), one naming its source; an
    # outgoing one, a cancelled one and one of no counterparty.
    for _ in range(25):
        cid = rng.choice(cids)
        start = datetime(2026, 1, 25, tzinfo=UTC) + timedelta(days=rng.randint(0, 130), hours=rng.choice([10, 23.5]))
        named = rng.choice([None, None, None, "radio"])
        events.append(message(ix.InteractionRecorded(**interaction(cid, start, source=named)), start))
        world.incoming.append((cid, start, named or ""))
    nobody = datetime(2026, 3, 3, 10, tzinfo=UTC)
    events.append(message(ix.InteractionRecorded(**interaction(None, nobody)), nobody))
    world.incoming.append(("", nobody, ""))
    out = datetime(2026, 3, 4, 10, tzinfo=UTC)
    events.append(message(ix.InteractionRecorded(**interaction(cids[0], out, direction="outgoing")), out))
    planned = interaction(cids[0], datetime(2026, 3, 5, 10, tzinfo=UTC))
    del planned["source"]
    events.append(message(ix.InteractionPlanned(**planned), out))
    cancelled = {**planned, "state": "cancelled", "reason": "", "cancelled_at": out}
    for key in ("created_by", "created_at"):
        del cancelled[key]
    events.append(message(ix.InteractionCancelled(**cancelled), out + timedelta(hours=1)))
    await CrmEventsFeed(store).handle(events)

    rates = [
        Rate("USD", date(2026, 1, 1) + timedelta(days=d), Decimal(rng.randint(850_000, 950_000)) / 1_000_000)
        for d in (0, 40, 75, 110)
    ]
    rates += [Rate("GBP", date(2026, 4, 1), Decimal("1.171234")), Rate("GBP", date(2026, 5, 10), Decimal("1.165555"))]
    await write_rates(store, rates)
    for r in rates:
        world.rates.setdefault(r.currency, []).append((r.date, r.rate))

    customers = [*world.links, "U1", "U2"]
    facts = []
    for n in range(240):
        revenue = Decimal(rng.randint(100, 500_000)) / 100
        without_vat = (revenue / Decimal("1.2")).quantize(CENT)
        facts.append(
            TradeFact(
                id=f"F{n}",
                date=date(2026, 1, 15) + timedelta(days=rng.randint(0, 150)),
                customer=rng.choice(customers),
                quantity=Decimal(rng.randint(1, 20_000)) / 1000,
                revenue=revenue,
                revenue_without_vat=without_vat,
                cost=(without_vat * Decimal(rng.randint(30, 110)) / 100).quantize(CENT),
                currency=rng.choices(["EUR", "USD", "GBP"], [6, 3, 2])[0],
                kind="return" if rng.random() < 0.2 else "sale",
                item=rng.choice(["I1", "I2", "I3"]),
                division=rng.choice(["D1", "D2"]),
            )
        )
    await write_facts(store, facts)
    world.facts += [(0, f) for f in facts]
    await asyncio.sleep(0.001)
    early = datetime.now(UTC)
    await asyncio.sleep(0.001)
    # Late: a new fact, a correction (another customer and amount), a source record.
    late = [
        TradeFact(
            "F-late", date(2026, 3, 10), "C1", Decimal(1), Decimal("777.00"), Decimal("700.00"), Decimal(0), "EUR"
        ),
        TradeFact(
            "F0", date(2026, 3, 11), "C2", Decimal(2), Decimal("999.99"), Decimal("900.00"), Decimal("100.00"), "EUR"
        ),
    ]
    await write_facts(store, late)
    world.facts += [(known_at(early) + 1, f) for f in late]  # received just after early
    late_at = early + timedelta(seconds=1)
    await CrmEventsFeed(store).handle(
        [message(cp.InformationSourceRecorded(counterparty_id=cids[1], source="web", on=date(2026, 2, 1)), late_at)]
    )
    world.records.append((late_at, cids[1], date(2026, 2, 1), "web"))
    return world, early


async def every_row(report: SourcesReport, caller: Caller, asked: SourcesQuery) -> SourcesResult:
    return await report.report(caller, asked, limit=1000, counterparties=1000)


@pytest.fixture
async def story(tables: AnalyticsStore) -> tuple[AnalyticsStore, World, datetime]:
    world, early = await generate(tables)
    return tables, world, early


async def test_the_report_is_the_plain_calculation_now_and_as_of_before_the_late_records(
    story: tuple[AnalyticsStore, World, datetime],
) -> None:
    store, world, early = story
    report = SourcesReport(store, tz=TZ)
    now = datetime.now(UTC) + timedelta(seconds=5)
    for as_of in (now, early):
        asked = SourcesQuery(START, END, by="item", as_of=as_of)
        result = await every_row(report, ADMIN, asked)
        want = without_history(expected(world, as_of))
        assert found(result) == want
        check_shares(result)
        assert result.sources == len(want["rows"])
        assert measures(result.total) == tuple(
            sum((v[0][i] for v in want["rows"].values()), start=Decimal(0) if i not in (3, 5) else 0) for i in range(6)
        )
    # The story has what the test is for: an unlinked row, several sources, an expired source, the
    # facts left out for lack of a GBP rate, the late records changing the answer.
    assert any(c[1] for r in want["rows"].values() for c in r[1])  # an unlinked customer's row
    assert {"fair", "web", "radio", ""} <= set(want["rows"])
    assert "GBP" in want["without_rate"]
    assert expected(world, early) != expected(world, now)
    late = await every_row(report, ADMIN, SourcesQuery(START, END, as_of=now))
    assert all(not c.details for r in late.rows for c in r.counterparty_rows)  # no detail level asked
    named = {r.source: r.name for r in late.rows}
    assert named["fair"] == "Trade fair" and named[""] is None


async def test_pages_of_sources_and_of_counterparties_and_one_source(
    story: tuple[AnalyticsStore, World, datetime],
) -> None:
    store, _, _ = story
    report = SourcesReport(store, tz=TZ)
    asked = SourcesQuery(START, END, sort="profit")
    whole = await every_row(report, ADMIN, asked)
    profits = [r.measures.profit for r in whole.rows]
    assert profits == sorted(profits, reverse=True)
    pages, after = [], 0
    while True:
        page = await report.report(ADMIN, asked, after=after, limit=2, counterparties=3)
        pages += page.rows
        assert all(len(r.counterparty_rows) == min(3, r.counterparties) for r in page.rows)
        if page.last_place is None:
            break
        after = page.last_place
    assert [r.source for r in pages] == [r.source for r in whole.rows]
    # One source, its counterparties two at a time, as its "more" link reads them.
    biggest = max(whole.rows, key=lambda r: r.counterparties)
    one = SourcesQuery(START, END, source=biggest.source, sort="profit")
    seen: list[CounterpartyRow] = []
    while len(seen) < biggest.counterparties:
        page = await report.report(ADMIN, one, counterparties_after=len(seen), counterparties=2)
        [row] = page.rows
        assert measures(row.measures) == measures(biggest.measures)
        seen += row.counterparty_rows
    assert [(c.counterparty_id, c.customer) for c in seen] == [
        (c.counterparty_id, c.customer) for c in biggest.counterparty_rows
    ]


async def test_a_sales_manager_sees_their_groups_rows_only(story: tuple[AnalyticsStore, World, datetime]) -> None:
    store, world, _ = story
    report = SourcesReport(store, tz=TZ)
    as_of = datetime.now(UTC) + timedelta(seconds=5)
    result = await every_row(report, NORTH_MANAGER, SourcesQuery(START, END, by="item", as_of=as_of))
    assert found(result) == without_history(expected(world, as_of, groups={"north"}))
    check_shares(result)
    north = {cid for cid, group in world.groups.items() if group == "north"}
    assert {c.counterparty_id for r in result.rows for c in r.counterparty_rows} <= north
    with pytest.raises(Forbidden):
        await report.report(Caller("nobody", frozenset(), frozenset()), SourcesQuery(START, END))


async def test_revenue_by_source_per_month_and_quarter(story: tuple[AnalyticsStore, World, datetime]) -> None:
    store, world, _ = story
    report = SourcesReport(store, tz=TZ)
    as_of = datetime.now(UTC) + timedelta(seconds=5)
    history = await report.history(ADMIN, SourcesQuery(START, END, as_of=as_of), "month")
    assert history.buckets == [date(2026, m, 1) for m in range(2, 6)]
    per_month: dict[str, list[Decimal]] = {}
    for month in history.buckets:
        last = (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        rows = expected(world, as_of, by=None, period=(max(month, START), min(last, END)))["with_facts"]
        for source, revenue in rows.items():
            per_month.setdefault(source, [Decimal(0)] * len(history.buckets))[history.buckets.index(month)] = revenue
    assert {s.source: s.values for s in history.series} == per_month
    totals = [sum(s.values) for s in history.series]
    assert totals == sorted(totals, reverse=True)
    quarters = await report.history(ADMIN, SourcesQuery(START, END, as_of=as_of), "quarter")
    assert quarters.buckets == [date(2026, 1, 1), date(2026, 4, 1)]
    assert {s.source: sum(s.values) for s in quarters.series} == {s.source: sum(s.values) for s in history.series}


# --- over HTTP ---------------------------------------------------------------------------------

TOKENS = CallerTokens(b"0123456789abcdef0123456789abcdef")
SOURCES = "/api/v1/analytics/sources"
PERIOD = {"from": START.isoformat(), "to": END.isoformat()}


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[AnalyticsService]:
    wired = await bootstrap.build(KernelSettings(data_dir=tmp_path), AnalyticsSettings(time_zone=TZ))
    try:
        yield wired
    finally:
        await wired.close()


def client(
    app: FastAPI, roles: tuple[str, ...] = ("administrator",), groups: tuple[str, ...] = ()
) -> httpx.AsyncClient:
    token = TOKENS.issue(caller_of("ana", roles, groups))  # type: ignore[arg-type]
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://crm", headers={CALLER_HEADER: token}
    )


def measures_of(body: dict[str, Any]) -> tuple[Any, ...]:
    return (
        Decimal(body["revenue"]),
        Decimal(body["revenue_without_vat"]),
        Decimal(body["profit"]),
        body["sales"],
        Decimal(body["quantity"]),
        body["incoming"],
    )


def found_json(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "rows": {
            r["source"]: (
                measures_of(r["measures"]),
                {
                    (c["counterparty_id"] or "", c["customer"] or ""): (
                        measures_of(c["measures"]),
                        {d["detail"]: measures_of(d["measures"]) for d in c["details"]},
                    )
                    for c in r["counterparty_rows"]
                },
            )
            for r in body["rows"]
        },
        "without_rate": {w["currency"]: (w["facts"], date.fromisoformat(w["earliest"])) for w in body["without_rate"]},
    }


async def test_the_route_its_more_links_files_and_history(app: FastAPI, service: AnalyticsService) -> None:
    world, _ = await generate(service.analytics)
    as_of = (datetime.now(UTC) + timedelta(seconds=5)).isoformat()
    tz = service.settings.time_zone
    want = without_history(expected(world, datetime.fromisoformat(as_of), tz=tz))
    async with client(app) as http:
        answer = await http.get(SOURCES, params={**PERIOD, "by": "item", "as_of": as_of, "counterparties": 1000})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert found_json(body) == want
        assert body["next_after"] is None and all(r["more"] is None for r in body["rows"])
        # Two counterparties at a time: each source's "more" link reads the rest.
        answer = await http.get(SOURCES, params={**PERIOD, "as_of": as_of, "counterparties": 2})
        for row in answer.json()["rows"]:
            seen = [(c["counterparty_id"], c["customer"]) for c in row["counterparty_rows"]]
            more = row["more"]
            while more:
                [next_row] = (await http.get(more)).json()["rows"]
                seen += [(c["counterparty_id"], c["customer"]) for c in next_row["counterparty_rows"]]
                more = next_row["more"]
            assert len(seen) == row["counterparties"] == len(want["rows"][row["source"]][1])
        # The CSV: every row of the JSON, each source then its counterparties.
        answer = await http.get(SOURCES + ".csv", params={**PERIOD, "as_of": as_of})
        assert answer.status_code == 200
        lines = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
        by_source = {r["source"]: r for r in lines if r["level"] == "source"}
        assert {s: Decimal(r["revenue"]) for s, r in by_source.items()} == {s: v[0][0] for s, v in want["rows"].items()}
        assert len([r for r in lines if r["level"] == "counterparty"]) == sum(len(v[1]) for v in want["rows"].values())
        # The workbook: a header row and the same lines.
        answer = await http.get(SOURCES + ".xlsx", params={**PERIOD, "as_of": as_of, "lang": "bg"})
        assert answer.status_code == 200
        with zipfile.ZipFile(io.BytesIO(answer.content)) as book:
            rows = ElementTree.fromstring(book.read("xl/worksheets/sheet1.xml")).iter(
                "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}row"
            )
            assert len(list(rows)) == 1 + len(lines)
        answer = await http.get(SOURCES + "/history", params={**PERIOD, "as_of": as_of, "bucket": "quarter"})
        assert answer.status_code == 200, answer.text
        history = answer.json()
        assert history["buckets"] == ["2026-01-01", "2026-04-01"]
        total = sum(Decimal(v) for s in history["series"] for v in s["values"])
        assert total == sum(v[0][0] for v in want["rows"].values())


async def test_parameters_are_checked_and_roles(app: FastAPI, service: AnalyticsService) -> None:
    async with client(app) as http:
        for params, field in (
            ({"from": "2026-06-01"}, "to"),
            ({"as_of": "1900-01-01T00:00:00Z"}, "as_of"),
            ({"as_of": "yesterday"}, "as_of"),
            ({"by": "manager"}, "by"),
            ({"sort": "name"}, "sort"),
            ({"limit": "0"}, "limit"),
            ({"after": "-1"}, "after"),
            ({"counterparties": "1001"}, "counterparties"),
        ):
            answer = await http.get(SOURCES, params={**PERIOD, **params})
            assert answer.status_code == 422, (params, answer.text)
            assert field in [e["field"] for e in answer.json()["errors"]], (params, answer.text)
        for moment in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2149-01-01T00:00:00Z"):
            answer = await http.get(SOURCES, params={**PERIOD, "as_of": moment})
            assert answer.status_code == 422, (moment, answer.text)
        # Edges of what the schema allows answer, never a 5xx.
        widest = {"from": "1970-01-01", "to": "2148-12-31", "as_of": "2148-12-31T00:00:00Z"}
        for path, extra in ((SOURCES, {"source": "\x00'\\\"`", "counterparties": "0"}), (SOURCES + "/history", {})):
            answer = await http.get(path, params={**widest, **extra})
            assert answer.status_code == 200, answer.text
    await generate(service.analytics)
    async with client(app, ("sales_manager",), ("north",)) as http:
        answer = await http.get(SOURCES, params={**PERIOD, "counterparties": 1000})
        assert answer.status_code == 200
        rows = answer.json()["rows"]
        assert rows and all(c["counterparty_id"] for r in rows for c in r["counterparty_rows"])  # no unlinked
    async with client(app, ()) as http:
        for path in (SOURCES, SOURCES + ".csv", SOURCES + ".xlsx", SOURCES + "/history"):
            assert (await http.get(path, params=PERIOD)).status_code == 403
