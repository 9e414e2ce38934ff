"""The bus port: topics of keyed messages, consumer groups, at-least-once delivery.

Rules every adapter keeps:

- ``publish`` returns only when the broker has durably accepted every message (Kafka: acks=all with
  the idempotent producer), in order per key.
- A subscription hands messages to its handler one at a time, in order per key, and commits a
  message's offset only after the handler returned: the handler's effect is stored first, so a crash
  redelivers instead of losing. Handlers must therefore be idempotent.
- A batch subscription (``subscribe_batches``) hands over what one fetch brought (in order per key)
  as one list, and commits after the handler returned for the whole list. When the batch handler
  raises, the same messages are handed over again one per call (``[message]``), each under the rules
  below, so one bad message is retried or dead-lettered alone and the others still take effect.
- A handler that raises :class:`PoisonMessage` (it cannot decode the message) sends the message to
  the dead-letter topic at once; a handler that keeps raising anything else is retried
  ``max_attempts`` times with backoff, then dead-lettered. Dead letters carry the original topic,
  partition/offset and the reason in headers, and the subscription goes on. Each dead letter is
  logged (topic, group, key, event id and the kind of failure: never the payload, nor the full
  reason, which may quote it) and counted in the metric ``crm.bus.dead_letters`` by topic and group
  (:func:`report_dead_letter`). A dead-letter topic holds one copy per consumer group that gave up.
- Topics are kept as :func:`topic_policy` says: event topics forever (a consumer that starts next
  year still reads every event from the beginning), dead-letter topics for 90 days.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from opentelemetry import metrics

log = logging.getLogger(__name__)

DEAD_LETTER_SUFFIX = ".dlt"
"""Dead letters of topic ``T`` go to ``T.dlt``."""

HEADER_DLT_REASON = "x-dead-letter-reason"
HEADER_DLT_TOPIC = "x-dead-letter-topic"
HEADER_DLT_GROUP = "x-dead-letter-group"


def dead_letter_topic(topic: str) -> str:
    """The dead-letter topic of ``topic``."""
    return topic + DEAD_LETTER_SUFFIX


DEAD_LETTER_RETENTION_DAYS = 90


@dataclass(frozen=True, slots=True)
class TopicPolicy:
    """How long a topic keeps its messages. Event topics are never compacted: compaction would keep
    only the last event of each record, and a consumer rebuilding from the beginning needs them all."""

    retention_days: int | None
    """None: forever."""

    def kafka_config(self) -> dict[str, str]:
        """The topic configuration that states the policy on Kafka."""
        ms = -1 if self.retention_days is None else self.retention_days * 86_400_000
        return {"cleanup.policy": "delete", "retention.ms": str(ms), "retention.bytes": "-1"}


def topic_policy(topic: str) -> TopicPolicy:
    """Event topics are kept forever; dead letters for :data:`DEAD_LETTER_RETENTION_DAYS` days."""
    return TopicPolicy(DEAD_LETTER_RETENTION_DAYS if topic.endswith(DEAD_LETTER_SUFFIX) else None)


@dataclass(frozen=True, slots=True)
class Message:
    """One message: a key (the aggregate id: it fixes the partition and so the order) and bytes."""

    topic: str
    key: str
    value: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


class PoisonMessage(Exception):
    """Raised by a handler for a message it can never process (undecodable, wrong schema)."""


Handler = Callable[[Message], Awaitable[None]]
BatchHandler = Callable[[Sequence[Message]], Awaitable[None]]


def one_by_one(handler: Handler) -> BatchHandler:
    """A batch handler that hands each message of a batch to ``handler`` in order (how the adapters
    serve :meth:`Bus.subscribe` with their batch machinery)."""

    async def each(messages: Sequence[Message]) -> None:
        for message in messages:
            await handler(message)

    return each


class Subscription(Protocol):
    """A running consumer-group subscription."""

    async def stop(self) -> None:
        """Stop consuming; offsets of handled messages are committed, others are redelivered."""
        ...


class Bus(Protocol):
    """A durable message bus."""

    async def start(self) -> None:
        """Connect; must be called before publishing or subscribing."""
        ...

    async def publish(self, messages: Sequence[Message]) -> None:
        """Publish durably; raises :class:`BusUnavailable` when the broker cannot take them."""
        ...

    async def subscribe(
        self,
        topics: Sequence[str],
        group: str,
        handler: Handler,
        *,
        max_attempts: int = 5,
        from_beginning: bool = True,
    ) -> Subscription:
        """Start consuming ``topics`` as consumer group ``group`` (see the module docstring)."""
        ...

    async def subscribe_batches(
        self,
        topics: Sequence[str],
        group: str,
        handler: BatchHandler,
        *,
        max_attempts: int = 5,
        from_beginning: bool = True,
    ) -> Subscription:
        """As :meth:`subscribe`, handing over each fetched batch at once (see the module docstring)."""
        ...

    async def stop(self) -> None:
        """Stop every subscription and disconnect."""
        ...


class BusUnavailable(Exception):
    """The broker could not durably take the messages; nothing may be assumed published."""


def dead_letter(message: Message, group: str, reason: str) -> Message:
    """The dead letter of ``message``: same key and value, its headers plus where and why it failed."""
    headers = {
        **message.headers,
        HEADER_DLT_REASON: reason[:2000],
        HEADER_DLT_TOPIC: message.topic,
        HEADER_DLT_GROUP: group,
    }
    return Message(dead_letter_topic(message.topic), message.key, message.value, headers)


DEAD_LETTERS = metrics.get_meter("crm").create_counter(
    "crm.bus.dead_letters", unit="{message}", description="Messages a consumer group gave up on, by topic and group"
)


def report_dead_letter(letter: Message) -> None:
    """Log and count a dead letter once it is published (see the module docstring)."""
    headers = letter.headers
    topic, group = headers.get(HEADER_DLT_TOPIC, ""), headers.get(HEADER_DLT_GROUP, "")
    kind = headers.get(HEADER_DLT_REASON, "").split(":", 1)[0][:60]
    log.warning(
        "dead letter: group %s gave up on a message of %s (key %s, event %s): %s; the reason is in header %s of %s",
        group,
        topic,
        letter.key,
        headers.get("ce_id", "-"),
        kind,
        HEADER_DLT_REASON,
        letter.topic,
    )
    DEAD_LETTERS.add(1, {"topic": topic, "group": group})
