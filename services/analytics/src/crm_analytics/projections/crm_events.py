"""The other services' public events in the analytics store (table ``crm_events``, ``sql/crm_events.sql``).

Reports join the ERP's facts with what the CRM knows about each customer, at the moment that
matters: the manager who owned the counterparty on the day of a sale, the information source valid
then, its access group, its interactions. The events of contacts' counterparty and reference topics
and of interactions' topic are kept here as they arrived (time, position, the fields reports read),
and the parameterized views of ``crm_events.sql`` read the dated histories from them, **as of** any
moment: a view passed ``as_of`` sees only the events that had happened by then.

Only what reports use is kept: codes, ids, kinds, dates and amounts of time, never names of
persons, free text or contact values (ADR 15); a contact-information change keeps which types of
contact a counterparty has (for the completeness of contact data), not their values.

One fetched batch of the bus is one insert, and the live feed inserts at most once per ``pace``
seconds (:data:`PACE`): an insert costs chDB about 6 ms of CPU whatever its size (a new part, the
table's description, merges later), while the embedded bus wakes a consumer at every publish: at 100
commands/s it inserted 22–33 times a second, ~4 events each (1–2 ms of CPU per command). Waiting
lets the next fetch bring what arrived meanwhile (up to the bus's batch size); nothing is
acknowledged before it is stored, so a crash or a stop while waiting redelivers the batch, and a
redelivered event replaces itself (readers use ``FINAL``). When events come seldom the last insert
is long past and nothing waits.

A message that is not a CloudEvent of these topics is poison (dead-lettered with the reason); an
event of a type reports do not read is skipped.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crm_shared.analytics import AnalyticsStore
from crm_shared.bus import Bus, Message, PoisonMessage, Subscription
from crm_shared.contracts.contacts import counterparty, reference
from crm_shared.contracts.interactions import interaction
from crm_shared.integration import Envelope

SCRIPT = Path(__file__).parent / "sql" / "crm_events.sql"
"""The table and its views, run by :func:`~crm_analytics.projections.tables.prepare`."""
TABLE = "crm_events"
COLUMNS = ("id", "topic", "type", "time", "position", "counterparty_id", "subject", "fields", "items")
TOPICS = (counterparty.TOPIC, reference.TOPIC, interaction.TOPIC)
GROUP = "analytics.crm_events.v1"
"""The consumer group of the analytics service on those topics."""
PACE = 0.5
"""Seconds the live feed leaves at least between two inserts (see the module docstring): what a
report sees of the CRM is at most this much later than it would be otherwise."""

Sink = Callable[[Sequence[Message]], Awaitable[None]]
Replay = Callable[[Sink], Awaitable[object]]
"""Hands one service's history of messages to a sink (``Relay.replay`` bound to a service)."""
Row = tuple[str, dict[str, str], list[str]]
"""What one event gives: the record it is about, its fields as text, its list."""


def _text(value: Any) -> str:
    """A field's value as text: dates and moments in ISO form (moments in UTC), None as ''."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and len(value) >= 19 and value[10:11] == "T":
        try:  # a moment: one form (UTC, microseconds) whatever offset the producer wrote
            return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        except ValueError:
            return value
    return str(value)


def _picked(data: Mapping[str, Any], names: Sequence[str]) -> dict[str, str]:
    return {name: _text(data[name]) for name in names if data.get(name) is not None}


Build = Callable[[Mapping[str, Any]], Row]


def _counterparty(names: Sequence[str], items: Callable[[Mapping[str, Any]], list[str]] | None = None) -> Build:
    def row(data: Mapping[str, Any]) -> Row:
        return str(data["counterparty_id"]), _picked(data, names), items(data) if items else []

    return row


def _erp_codes(data: Mapping[str, Any]) -> list[str]:
    return sorted({str(c["code"]) for c in data["external_codes"] if c.get("system", "erp") == "erp"})


def _contact_types(data: Mapping[str, Any]) -> list[str]:
    return sorted({str(e["type"]) for e in data["entries"]})


def _managers(data: Mapping[str, Any]) -> list[str]:
    return [str(m) for m in data.get("managers") or []]


def _reference(data: Mapping[str, Any]) -> Row:
    fields = _picked(data, ("catalog", "code", "name"))
    days = (data.get("attributes") or {}).get("actuality_days")
    if days is not None:
        fields["actuality_days"] = _text(days)
    return f"{data['catalog']}/{data['code']}", fields, []


_INTERACTION = (
    "interaction_id",
    "state",
    "kind",
    "direction",
    "responsible",
    "start",
    "end",
    "source",
    "outcome_code",
    "completed_at",
    "follow_up_of",
)


def _interaction(data: Mapping[str, Any]) -> Row:
    return str(data["interaction_id"]), _picked(data, _INTERACTION), []


_CP = "crm.contacts."
_IX = "crm.interactions."
ROWS: Mapping[str, Build] = {
    _CP + "CounterpartyRegistered": _counterparty(("main_manager", "access_group"), _managers),
    _CP + "MainManagerAssigned": _counterparty(("main_manager",)),
    _CP + "ManagersChanged": _counterparty((), _managers),
    _CP + "CounterpartyAccessGroupChanged": _counterparty(("access_group",)),
    _CP + "InformationSourceRecorded": _counterparty(("source", "on")),
    _CP + "CounterpartyMerged": _counterparty(("into",)),
    _CP + "CounterpartyArchived": _counterparty(()),
    _CP + "CounterpartyRestored": _counterparty(()),
    _CP + "CounterpartyExternalCodesChanged": _counterparty((), _erp_codes),
    _CP + "ContactInformationChanged": _counterparty((), _contact_types),
    _CP + "ReferenceEntryDefined": _reference,
    _CP + "ReferenceEntryChanged": _reference,
    _CP + "ReferenceEntryRetired": _reference,
    _CP + "ReferenceEntryRestored": _reference,
    _IX + "InteractionPlanned": _interaction,
    _IX + "InteractionRecorded": _interaction,
    _IX + "InteractionRescheduled": _interaction,
    _IX + "InteractionCompleted": _interaction,
    _IX + "InteractionCancelled": _interaction,
    _IX + "InteractionDetailsChanged": _interaction,
    _IX + "InformationSourceProvided": _counterparty(("interaction_id", "source", "on")),
}
"""Event type -> what its row keeps; types not here are not read by reports and are skipped."""


def row_of(message: Message) -> tuple[Any, ...] | None:
    """The row of one message (None: a type reports do not read), or :class:`PoisonMessage`."""
    envelope = Envelope.from_message(message)
    build = ROWS.get(envelope.type)
    if build is None:
        return None
    try:
        subject, fields, items = build(envelope.data)
    except (KeyError, TypeError, AttributeError) as exc:
        raise PoisonMessage(f"{envelope.type}: data lacks or mistypes {exc}") from None
    data = envelope.data
    cid = data.get("counterparty_id") if envelope.topic == interaction.TOPIC else subject
    if envelope.topic == reference.TOPIC:
        cid = ""
    return (
        envelope.id,
        envelope.topic,
        envelope.type,
        envelope.time.astimezone(UTC),
        envelope.position,
        str(cid or ""),
        subject,
        fields,
        items,
    )


def _rows(messages: Sequence[Message]) -> list[tuple[Any, ...]]:
    return [row for row in map(row_of, messages) if row is not None]


class CrmEventsFeed:
    """The consumer of the other services' topics into ``crm_events`` (or ``table``: a rebuild fills
    a new one from the producers' logs, see :func:`rebuild`)."""

    def __init__(
        self,
        store: AnalyticsStore,
        *,
        group: str = GROUP,
        table: str = TABLE,
        pace: float = PACE,
    ) -> None:
        self._store = store
        self.group = group
        self._table = table
        self._pace = pace
        self._inserted_at = -math.inf
        self._failed: set[str] = set()
        """The ids of the last batch that failed: the bus hands them over again one at a time, and
        those are not paced (a poison message would otherwise hold each of its neighbours up)."""
        self._subscription: Subscription | None = None

    async def handle(self, messages: Sequence[Message]) -> None:
        """Bus batch handler: the rows of the batch in one insert (none when one message is poison:
        the bus then hands them over one at a time)."""
        rows = _rows(messages)
        if rows:
            await self._store.insert(self._table, COLUMNS, rows)

    async def _paced(self, messages: Sequence[Message]) -> None:
        """The live feed's batch handler: :meth:`handle`, once at least ``pace`` seconds have passed
        since its last insert (a poison message is found before waiting)."""
        ids = {m.headers.get("ce_id", "") for m in messages}
        try:
            rows = _rows(messages)
            if not rows:
                return
            if not ids <= self._failed:
                self._failed = set()
                wait = self._inserted_at + self._pace - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            await self._store.insert(self._table, COLUMNS, rows)
        except Exception:
            self._failed |= ids
            raise
        self._inserted_at = time.monotonic()

    async def follow(self, bus: Bus) -> None:
        """Consume the topics as :data:`GROUP` from where it left off (the beginning the first time),
        inserting at most once per ``pace`` seconds."""
        self._subscription = await bus.subscribe_batches(TOPICS, self.group, self._paced)

    async def stop(self) -> None:
        """Stop consuming; what was fetched and not written is redelivered later."""
        if self._subscription is not None:
            await self._subscription.stop()
            self._subscription = None


REBUILT = TABLE + "_rebuilt"


async def rebuild(store: AnalyticsStore, histories: Sequence[Replay]) -> int:
    """Refill ``crm_events`` from the producers' own event logs: each of ``histories`` hands its
    service's whole history, as the messages its relay publishes, to the sink it is given. They fill
    an empty twin table, which then takes the live one's place in one step (``EXCHANGE TABLES``), so
    reports never see it half full; events the live feed added meanwhile are in the logs too.
    Returns how many events were kept."""
    await store.execute(f"DROP TABLE IF EXISTS {REBUILT}")
    await store.execute(f"CREATE TABLE {REBUILT} AS {TABLE}")
    feed = CrmEventsFeed(store, table=REBUILT)
    for replay in histories:
        await replay(feed.handle)
    await store.execute(f"EXCHANGE TABLES {TABLE} AND {REBUILT}")
    await store.execute(f"DROP TABLE {REBUILT}")
    [kept] = await store.query(f"SELECT count() AS n FROM {TABLE} FINAL")
    return int(kept["n"])
