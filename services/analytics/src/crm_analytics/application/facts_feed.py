"""The ERP's records in from its Kafka topics (issue 14): ``erp.trade-facts.v1``, ``erp.orders.v1``,
``erp.payments.v1``, one :class:`FactFeed` per kind (:class:`~crm_analytics.domain.records.RecordKind`).

One message is one record: key = the record's ``id``, value = the record as JSON, checked by the same
published contract as the HTTP batch (e.g. :class:`crm_shared.contracts.erp.trade_fact.TradeFact`) and
written by the same code (:func:`~crm_analytics.projections.tables.write_records`), so a record counts
once however often it arrives and the latest under an ``id`` wins.

What one fetch of the bus brought is written in one insert. A message that is not a valid fact is
poison: the batch it came in is refused before anything of it is written, the bus hands its messages
over one at a time (its rule), the good ones are written and the bad one goes to ``<topic>.dlt``
(``erp.trade-facts.v1.dlt``…) with the reason naming the field (never its value); the bus logs and
counts the dead letter (``crm.bus.dead_letters``) and the consumer goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry import metrics
from pydantic import ValidationError

from crm_analytics.domain.records import TRADE_FACTS, RecordKind
from crm_analytics.domain.trade_fact import FactRejected
from crm_analytics.projections.tables import write_records
from crm_shared.analytics import AnalyticsStore
from crm_shared.bus import Bus, Message, PoisonMessage, Subscription

MAX_REASONS = 3
"""How many wrong fields a dead letter's reason names at most."""

_METER = metrics.get_meter("crm")
_RECEIVED: dict[str, metrics.Counter] = {}


def _received(kind: RecordKind[Any]) -> metrics.Counter:
    """The counter ``crm.analytics.<table>.received`` of ``kind`` (one instrument per kind)."""
    if kind.table not in _RECEIVED:
        _RECEIVED[kind.table] = _METER.create_counter(
            f"crm.analytics.{kind.table}.received",
            unit="{record}",
            description=f"Records of {kind.what} written from the ERP's topic (a redelivered one counts again; "
            "it replaces itself)",
        )
    return _RECEIVED[kind.table]


def _reason(exc: ValidationError) -> str:
    """The wrong fields and why, without the values the message carried."""
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    parts = []
    for error in errors[:MAX_REASONS]:
        if error["type"] == "json_invalid":
            return "value: not a JSON document"
        field = ".".join(str(part) for part in error["loc"]) or "value"
        parts.append(f"{field}: {error['msg']}")
    more = len(errors) - MAX_REASONS
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def decode(message: Message, default_currency: str, kind: RecordKind[Any] = TRADE_FACTS) -> Any:
    """The record of one message, or :class:`PoisonMessage` naming what is wrong (``invalid <kind>:
    <field>: <why>``, e.g. ``invalid trade fact: revenue: …``)."""
    try:
        body = kind.contract.model_validate_json(message.value)
        key = getattr(kind.contract, "KAFKA_KEY", "id")
        if message.key != getattr(body, key):
            raise PoisonMessage(f"invalid {kind.name}: key: must be the {kind.noun}'s {key}")
        return kind.of_message(body, default_currency)
    except ValidationError as exc:
        raise PoisonMessage(f"invalid {kind.name}: {_reason(exc)}") from None
    except FactRejected as exc:  # not expected after the contract's checks; the same rules
        raise PoisonMessage(f"invalid {kind.name}: {exc.column}: {exc.reason}") from None


class FactFeed:
    """The consumer of the ERP's topic of one kind: each fetched batch of records written in one insert."""

    def __init__(
        self,
        store: AnalyticsStore,
        default_currency: str,
        *,
        kind: RecordKind[Any] = TRADE_FACTS,
        group: str | None = None,
    ) -> None:
        if kind.topic is None:
            raise ValueError(f"{kind.what} have no topic")
        self._store = store
        self._currency = default_currency
        self.kind = kind
        self.topic = kind.topic
        self.group = group or kind.group
        self._subscription: Subscription | None = None

    async def handle(self, messages: Sequence[Message]) -> None:
        """Bus batch handler: decode every message, then write them all (nothing when one is wrong,
        see the module docstring). Returns once the records are stored, so the bus commits after."""
        records: list[Any] = []
        refused: list[PoisonMessage] = []
        for message in messages:
            try:
                records.append(decode(message, self._currency, self.kind))
            except PoisonMessage as exc:
                refused.append(exc)
        if refused:
            if len(messages) == 1:
                raise refused[0]
            raise PoisonMessage(f"{len(refused)} of {len(messages)} {self.kind.what} invalid: handed over one by one")
        written = await write_records(self._store, self.kind, records)
        _received(self.kind).add(written)

    async def follow(self, bus: Bus) -> None:
        """Consume the kind's topic as the group (``analytics.<table>.v1``) from where it left off (from
        the beginning the first time), until :meth:`stop`."""
        self._subscription = await bus.subscribe_batches([self.topic], self.group, self.handle)

    async def stop(self) -> None:
        """Stop consuming; records fetched but not written are redelivered later."""
        if self._subscription is not None:
            await self._subscription.stop()
            self._subscription = None
