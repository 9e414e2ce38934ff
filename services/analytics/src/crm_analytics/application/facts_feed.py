"""Trade facts in from the ERP's Kafka topic (``erp.trade-facts.v1``, issue 14).

One message is one fact: key = the fact's ``id``, value = the fact as JSON, checked by the same
published contract as the HTTP batch (:class:`crm_shared.contracts.erp.trade_fact.TradeFact`) and
written by the same code (:func:`~crm_analytics.projections.tables.write_facts`), so a fact counts
once however often it arrives and the latest under an ``id`` wins.

What one fetch of the bus brought is written in one insert. A message that is not a valid fact is
poison: the batch it came in is refused before anything of it is written, the bus hands its messages
over one at a time (its rule), the good ones are written and the bad one goes to
``erp.trade-facts.v1.dlt`` with the reason naming the field (never its value); the bus logs and
counts the dead letter (``crm.bus.dead_letters``) and the consumer goes on.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry import metrics
from pydantic import ValidationError

from crm_analytics.domain.trade_fact import FactRejected, TradeFact, fact_of_message
from crm_analytics.projections.tables import write_facts
from crm_shared.analytics import AnalyticsStore
from crm_shared.bus import Bus, Message, PoisonMessage, Subscription
from crm_shared.contracts.erp import trade_fact as contract

TOPIC = contract.TOPIC
GROUP = "analytics.trade_facts.v1"
"""The consumer group of the analytics service on the ERP's topic."""
MAX_REASONS = 3
"""How many wrong fields a dead letter's reason names at most."""

RECEIVED = metrics.get_meter("crm").create_counter(
    "crm.analytics.trade_facts.received",
    unit="{fact}",
    description="Trade facts written from the ERP's topic (a redelivered fact counts again; it replaces itself)",
)


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


def decode(message: Message, default_currency: str) -> TradeFact:
    """The fact of one message, or :class:`PoisonMessage` naming what is wrong (``invalid trade fact:
    <field>: <why>``)."""
    try:
        body = contract.TradeFact.model_validate_json(message.value)
        if message.key != body.id:
            raise PoisonMessage("invalid trade fact: key: must be the fact's id")
        return fact_of_message(body, default_currency)
    except ValidationError as exc:
        raise PoisonMessage(f"invalid trade fact: {_reason(exc)}") from None
    except FactRejected as exc:  # not expected after the contract's checks; the same rules
        raise PoisonMessage(f"invalid trade fact: {exc.column}: {exc.reason}") from None


class FactFeed:
    """The consumer of the ERP's topic: each fetched batch of facts written in one insert."""

    def __init__(self, store: AnalyticsStore, default_currency: str, *, group: str = GROUP) -> None:
        self._store = store
        self._currency = default_currency
        self.group = group
        self._subscription: Subscription | None = None

    async def handle(self, messages: Sequence[Message]) -> None:
        """Bus batch handler: decode every message, then write them all (nothing when one is wrong,
        see the module docstring). Returns once the facts are stored, so the bus commits after."""
        facts: list[TradeFact] = []
        refused: list[PoisonMessage] = []
        for message in messages:
            try:
                facts.append(decode(message, self._currency))
            except PoisonMessage as exc:
                refused.append(exc)
        if refused:
            if len(messages) == 1:
                raise refused[0]
            raise PoisonMessage(f"{len(refused)} of {len(messages)} trade facts invalid: handed over one by one")
        written = await write_facts(self._store, facts)
        RECEIVED.add(written)

    async def follow(self, bus: Bus) -> None:
        """Consume the topic as the group (:data:`GROUP`) from where it left off (from the beginning the
        first time), until :meth:`stop`."""
        self._subscription = await bus.subscribe_batches([TOPIC], self.group, self.handle)

    async def stop(self) -> None:
        """Stop consuming; facts fetched but not written are redelivered later."""
        if self._subscription is not None:
            await self._subscription.stop()
            self._subscription = None
