"""Generated, seeded data for the contact effectiveness and attribution tests, fed for real (contract
events through the feed, facts and rates through the writers), and the plain-Python reading of it
that both tests' expectations are computed from (no SQL, Decimal money).

The story: counterparties in two access groups with ERP codes and dated information sources (one
source with an actuality period), a counterparty without touches and a customer code no
counterparty carries; completed interactions of three kinds and three managers, some ending late in
the evening UTC (the next day in Sofia), several on one day, planned and cancelled ones (never
touches), one completed only after the moment the report is asked as of; sales and returns in
EUR, USD (rates changing) and GBP (no rate).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from crm_analytics.domain.currency_rate import Rate
from crm_analytics.domain.trade_fact import TradeFact
from crm_analytics.projections.crm_events import CrmEventsFeed
from crm_analytics.projections.tables import write_facts, write_rates
from crm_shared.analytics import AnalyticsStore
from crm_shared.bus import Message
from crm_shared.contracts.contacts import counterparty as cp
from crm_shared.contracts.contacts import reference as ref
from crm_shared.contracts.interactions import interaction as ix
from crm_shared.identity import Caller

from .test_crm_events import message, registered

TZ = "Europe/Sofia"
FIRST, LAST = date(2026, 2, 1), date(2026, 3, 31)
"""The period the tests ask for."""
KINDS = ("call", "meeting", "email")
MANAGERS = ("ana", "boris", "vera")
SOURCES = {"fair": 20, "web": 0, "ad": 10}
"""Source code -> actuality_days (0: no limit)."""
RATES = {"USD": [(date(2025, 12, 1), Decimal("0.912345")), (date(2026, 2, 20), Decimal("0.935"))]}
CENT = Decimal("0.01")


def caller(*roles: str, groups: tuple[str, ...] = ()) -> Caller:
    return Caller("u", frozenset(roles), frozenset(groups))  # type: ignore[arg-type]


ADMIN = caller("administrator")
NORTH = caller("sales_manager", groups=("north",))


_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Touch:
    id: str
    counterparty: str
    kind: str
    manager: str
    end: datetime
    state: str
    known_at: datetime
    """When the CRM learnt its state."""

    @property
    def day(self) -> date:
        return self.end.astimezone(ZoneInfo(TZ)).date()


@dataclass
class World:
    groups: dict[str, str] = field(default_factory=dict)
    """counterparty -> access group"""
    codes: dict[str, str] = field(default_factory=dict)
    """customer code -> counterparty"""
    sources: dict[str, list[tuple[date, str]]] = field(default_factory=dict)
    touches: list[Touch] = field(default_factory=list)
    facts: list[TradeFact] = field(default_factory=list)
    before_correction: dict[str, TradeFact] = field(default_factory=dict)
    """Facts as they were before a correction received after ``between``."""
    between: datetime = _NEVER
    """A moment after the first facts and before the corrections were received."""
    late: datetime = _NEVER
    """When the late interaction's completion happened (in the future of the test's clock)."""

    # -- the plain reading -------------------------------------------------------------------

    def touches_known(self, as_of: datetime) -> list[Touch]:
        """Completed touches as known at ``as_of`` (the latest state known then)."""
        latest: dict[str, Touch] = {}
        for t in sorted(self.touches, key=lambda t: t.known_at):
            if t.known_at <= as_of:
                latest[t.id] = t
        return [t for t in latest.values() if t.state == "completed"]

    def facts_known(self, as_of: datetime) -> list[TradeFact]:
        """The facts as known at ``as_of``: up to ``between``, as they were before the corrections."""
        return [self.before_correction.get(f.id, f) if as_of <= self.between else f for f in self.facts]

    def source_on(self, counterparty: str, day: date) -> str:
        """The counterparty's source on ``day``: its latest record on or before, while in force."""
        records = [r for r in self.sources.get(counterparty, []) if r[0] <= day]
        if not records:
            return ""
        on, source = max(records)
        days = SOURCES[source]
        return "" if days and (day - on).days >= days else source

    def in_scope(self, counterparty: str | None, groups: tuple[str, ...] | None) -> bool:
        return groups is None or (counterparty is not None and self.groups.get(counterparty) in groups)


def converted(fact: TradeFact) -> tuple[Decimal, Decimal] | None:
    """The fact's signed revenue and profit in EUR (amounts times the rate, each rounded half-up to
    cents), None without a rate."""
    if fact.currency == "EUR":
        rate = Decimal(1)
    else:
        found = [r for d, r in RATES.get(fact.currency, []) if d <= fact.date]
        if not found:
            return None
        rate = found[-1]

    def rc(amount: Decimal) -> Decimal:
        return (amount * rate).quantize(CENT, rounding=ROUND_HALF_UP)

    sign = -1 if fact.kind == "return" else 1
    return sign * rc(fact.revenue), sign * (rc(fact.revenue_without_vat) - rc(fact.cost))


def key_of(touch: Touch, by: str, world: World) -> str:
    if by == "kind":
        return touch.kind
    if by == "manager":
        return touch.manager
    return world.source_on(touch.counterparty, touch.day)


def _interaction(
    touch_id: str, counterparty: str, kind: str, manager: str, end: datetime, state: str
) -> dict[str, Any]:
    return {
        "interaction_id": touch_id,
        "state": state,
        "kind": kind,
        "direction": "outgoing",
        "importance": "medium",
        "subject": "",
        "counterparty_id": counterparty,
        "contact_person_id": None,
        "responsible": manager,
        "start": end - timedelta(minutes=30),
        "end": end,
        "thread_id": touch_id,
    }


async def generate(store: AnalyticsStore, seed: int) -> World:
    """Write a generated world into ``store`` and return it."""
    rng = random.Random(seed)
    world = World()
    now = datetime.now(UTC)
    known = now - timedelta(days=1)
    world.late = now + timedelta(days=2)
    events: list[Message] = []
    for code, days in SOURCES.items():
        entry = ref.ReferenceEntryDefined(catalog="sources", code=code, name=code, attributes={"actuality_days": days})
        events.append(message(entry, known))
    ids = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(6)]
    for i, cid in enumerate(ids):
        world.groups[cid] = "north" if i < 3 else "south"
        world.codes[f"C{i}"] = cid
        events.append(registered(cid, "ana", group=world.groups[cid], at=known))
        codes = [cp.ExternalCode(system="erp", code=f"C{i}")]
        events.append(message(cp.CounterpartyExternalCodesChanged(counterparty_id=cid, external_codes=codes), known))
        records = sorted(
            {
                (date(2026, 1, 1) + timedelta(days=rng.randrange(80)), rng.choice(list(SOURCES)))
                for _ in range(rng.randint(1, 3))
            }
        )
        records = list({on: (on, s) for on, s in records}.values())
        world.sources[cid] = records
        for on, source in records:
            events.append(message(cp.InformationSourceRecorded(counterparty_id=cid, source=source, on=on), known))
    touched = ids[:5]  # ids[5]: a counterparty without touches
    for n in range(70):
        cid = rng.choice(touched)
        day = date(2026, 1, 1) + timedelta(days=rng.randrange(95))
        end = datetime(day.year, day.month, day.day, rng.choice((7, 9, 13, 21, 22, 23)), rng.randrange(60), tzinfo=UTC)
        state = rng.choices(("completed", "planned", "cancelled"), (8, 1, 1))[0]
        touch = Touch(
            str(uuid.UUID(int=rng.getrandbits(128))), cid, rng.choice(KINDS), rng.choice(MANAGERS), end, state, known
        )
        world.touches.append(touch)
        if n % 9 == 0:  # a second touch of the same counterparty on the same day
            world.touches.append(
                Touch(
                    str(uuid.UUID(int=rng.getrandbits(128))),
                    cid,
                    rng.choice(KINDS),
                    rng.choice(MANAGERS),
                    end + timedelta(minutes=20),
                    "completed",
                    known,
                )
            )
    # The late one: planned when known, completed only at `late`; it ends inside the period.
    late_id = str(uuid.uuid4())
    late_end = datetime(2026, 3, 10, 10, tzinfo=UTC)
    world.touches.append(Touch(late_id, ids[0], "meeting", "vera", late_end, "planned", known))
    world.touches.append(Touch(late_id, ids[0], "meeting", "vera", late_end, "completed", world.late))
    for t in world.touches:
        facts = _interaction(t.id, t.counterparty, t.kind, t.manager, t.end, t.state)
        if t.known_at == world.late:
            events.append(message(ix.InteractionCompleted(**facts, outcome="", completed_at=t.end), t.known_at))
        elif t.state == "completed":
            events.append(message(ix.InteractionRecorded(**facts, created_by=t.manager, created_at=t.end), t.known_at))
        elif t.state == "planned":
            events.append(message(ix.InteractionPlanned(**facts, created_by=t.manager, created_at=known), t.known_at))
        else:
            planned = _interaction(t.id, t.counterparty, t.kind, t.manager, t.end, "planned")
            events.append(message(ix.InteractionPlanned(**planned, created_by=t.manager, created_at=known), t.known_at))
            events.append(message(ix.InteractionCancelled(**facts, reason="", cancelled_at=known), t.known_at))
    await CrmEventsFeed(store).handle(events)

    customers = [f"C{i}" for i in range(6)] + ["C9"]  # C9: no counterparty carries it
    touch_days = [(t.counterparty, t.day) for t in world.touches if t.state == "completed"]
    for n in range(150):
        if n % 5 == 0:  # on the day of a touch, or a few days after it
            cid, day = rng.choice(touch_days)
            customer = next(c for c, x in world.codes.items() if x == cid)
            day += timedelta(days=rng.choice((0, 0, 1, 3)))
        else:
            customer = rng.choice(customers)
            day = date(2026, 1, 1) + timedelta(days=rng.randrange(130))
        revenue = Decimal(rng.randrange(1, 500_000)) / 100
        world.facts.append(
            TradeFact(
                id=f"F{n}",
                date=day,
                customer=customer,
                quantity=Decimal(1),
                revenue=revenue,
                revenue_without_vat=(revenue / Decimal("1.2")).quantize(CENT),
                cost=(revenue * Decimal(rng.randrange(20, 90)) / 100).quantize(CENT),
                currency=rng.choices(("EUR", "USD", "GBP"), (6, 3, 1))[0],
                kind=rng.choices(("sale", "return"), (5, 1))[0],
            )
        )
    await write_rates(store, [Rate(c, d, r) for c, rs in RATES.items() for d, r in rs])
    await write_facts(store, world.facts)
    world.between = datetime.now(UTC)
    # Corrections received later: another amount, another date.
    corrected = []
    for fact in world.facts[:150:15]:
        world.before_correction[fact.id] = fact
        corrected.append(replace(fact, revenue=fact.revenue + 1, date=fact.date + timedelta(days=2)))
    await write_facts(store, corrected)
    corrections = {f.id: f for f in corrected}
    world.facts = [corrections.get(f.id, f) for f in world.facts]
    return world
