"""The bus on Apache Kafka: consuming through FastStream, producing and topic admin through aiokafka.

Why the split:

- Consuming runs on FastStream's ``KafkaBroker`` (the project's messaging framework, and where its
  OpenTelemetry and Prometheus middlewares hook in) with ``AckPolicy.MANUAL``: FastStream's default
  policy is ``ACK_FIRST``, which turns on aiokafka's auto-commit and so commits before the handler
  has stored its effect. Here :class:`_KafkaSubscription` commits offsets itself, only up to
  messages whose handler returned or that were dead-lettered, batched in the background.
- Producing uses an ``AIOKafkaProducer`` of our own (``acks="all"``, idempotent), because
  FastStream's publish adds ``content-type`` and ``correlation_id`` headers of its own, and the
  bus promises to hand back exactly the headers the publisher set (CloudEvents ``ce_*``,
  ``traceparent``).
- Topics are created by an ``AIOKafkaAdminClient`` with the broker's own defaults
  (``num.partitions``, ``default.replication.factor``), so consumers that join before the first
  publish work and nothing depends on ``auto.create.topics.enable``. FastStream's own topic
  creation is off: it would create every missing topic with one partition and one replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

from aiokafka import AIOKafkaProducer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code
from faststream.kafka import KafkaBroker
from faststream.kafka.message import KafkaMessage
from faststream.middlewares import AckPolicy

from crm_shared.bus.port import (
    DEAD_LETTER_SUFFIX,
    BatchHandler,
    BusUnavailable,
    Handler,
    Message,
    PoisonMessage,
    dead_letter,
    dead_letter_topic,
    one_by_one,
    report_dead_letter,
    topic_policy,
)

log = logging.getLogger(__name__)

HEADER_DLT_PARTITION = "x-dead-letter-partition"
"""Dead letters from Kafka also say which partition of the original topic they came from..."""
HEADER_DLT_OFFSET = "x-dead-letter-offset"
"""...and at which offset, so the original can be found and replayed."""


class _Abandoned(enum.Enum):
    """Outcome of a delivery that stop() interrupted: neither handled nor dead-lettered."""

    ABANDONED = enum.auto()


_ABANDONED = _Abandoned.ABANDONED

_COMMIT_INTERVAL = 0.2
"""Seconds between background commits of handled offsets."""

_MAX_BATCH = 500
"""Most records a batch subscription hands over at once."""

_ASSIGNMENT_TIMEOUT = 30.0
"""How long ``subscribe`` waits for the group to hand this member its partitions."""


class _DropFastStreamNoise(logging.Filter):
    """Drops FastStream's per-subscriber notices that say nothing here: that it does not create
    topics (this adapter does) and that its consume task's done-callback ran (at every stop)."""

    _NOISE = ("Topic creation is skipped", "Auto create topics is disabled", "is being executed...")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(noise in message for noise in self._NOISE)


# FastStream logs through this child logger: its per-message access lines at DEBUG, its errors
# (a failed fetch, say) at their own level.
_faststream_log = logging.getLogger(f"{__name__}.faststream")
_faststream_log.addFilter(_DropFastStreamNoise())


def _text(raw: bytes | None) -> str:
    # Our publishers write UTF-8; a foreign producer's odd bytes must not stop the subscription.
    return raw.decode("utf-8", errors="replace") if raw is not None else ""


def _headers_to_kafka(headers: Iterable[tuple[str, str]]) -> list[tuple[str, bytes]]:
    return [(name, value.encode()) for name, value in headers]


class KafkaBus:
    """The :class:`~crm_shared.bus.port.Bus` on Apache Kafka (see the module docstring).

    ``request_timeout_ms`` bounds every broker request, so a publish to an unreachable cluster
    raises :class:`BusUnavailable` instead of hanging. ``graceful_timeout`` is how long stopping a
    subscription waits for a running handler before cancelling it (its message is then redelivered).
    """

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        client_id: str = "crm",
        request_timeout_ms: int = 10_000,
        graceful_timeout: float = 3.0,
    ) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._client_id = client_id
        self._request_timeout_ms = request_timeout_ms
        self._graceful_timeout = graceful_timeout
        self._started = False
        self._broker: KafkaBroker | None = None
        self._producer: AIOKafkaProducer | None = None
        self._admin: AIOKafkaAdminClient | None = None
        self._connect_lock = asyncio.Lock()
        self._known_topics: set[str] = set()
        self._subscriptions: list[_KafkaSubscription] = []

    @property
    def _timeout(self) -> float:
        """Seconds for one broker round trip (a bounded wait around aiokafka's own timeouts)."""
        return self._request_timeout_ms / 1000

    async def start(self) -> None:
        """Connect the producer and the admin client; raises :class:`BusUnavailable` if the
        cluster cannot be reached (calling again, or publishing, retries)."""
        self._started = True
        if self._broker is None:
            # consumer_only: FastStream must not open a producer and admin client of its own.
            self._broker = KafkaBroker(
                self._bootstrap_servers,
                client_id=self._client_id,
                request_timeout_ms=self._request_timeout_ms,
                consumer_only=True,
                allow_auto_create_topics=False,
                ack_policy=AckPolicy.MANUAL,
                # No graceful wait in FastStream: a subscription waits for its handler itself,
                # then commits, then lets FastStream cancel and leave the group.
                graceful_timeout=None,
                logger=_faststream_log,
                log_level=logging.DEBUG,
                # Handlers get the message from the decoder (see _decode_raw), not through DI.
                apply_types=False,
            )
            await self._broker.start()
        await self._connect()

    async def _connect(self) -> tuple[AIOKafkaProducer, AIOKafkaAdminClient]:
        if not self._started:
            raise RuntimeError("KafkaBus.start() must be called first")
        async with self._connect_lock:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self._bootstrap_servers,
                    client_id=self._client_id,
                    acks="all",
                    enable_idempotence=True,
                    request_timeout_ms=self._request_timeout_ms,
                )
                await self._start_client(producer.start(), producer.stop)
                self._producer = producer
            if self._admin is None:
                admin = AIOKafkaAdminClient(
                    bootstrap_servers=self._bootstrap_servers,
                    client_id=f"{self._client_id}-admin",
                    request_timeout_ms=self._request_timeout_ms,
                )
                await self._start_client(admin.start(), admin.close)
                self._admin = admin
            return self._producer, self._admin

    async def _start_client(self, starting: Awaitable[None], close: Callable[[], Awaitable[None]]) -> None:
        """Start an aiokafka client within the request timeout, or clean it up and say why."""
        try:
            async with asyncio.timeout(self._timeout):  # not wait_for: on 3.11 it can swallow a cancel
                await starting
        except BaseException as exc:
            # Also when cancelled: a half-started client keeps connections and tasks.
            await _quietly(close())
            if isinstance(exc, KafkaError | OSError | TimeoutError):
                raise BusUnavailable(f"Kafka at {self._bootstrap_servers} is unreachable: {exc!r}") from exc
            raise

    async def publish(self, messages: Sequence[Message]) -> None:
        """Send the messages in order and return once the cluster acknowledged every one
        (``acks=all``, idempotent producer); raises :class:`BusUnavailable` when that does not
        happen within one request timeout."""
        if not messages:
            return
        try:
            # One deadline for the whole call: connecting, creating a new topic, metadata waits,
            # a full buffer and delivery each have their own aiokafka timeouts, but these must
            # not add up. (Messages still queued when it passes may yet be delivered later: a
            # retrying caller then publishes them twice, which at-least-once allows.)
            async with asyncio.timeout(self._timeout):
                producer, _ = await self._connect()
                await self.ensure_topics(m.topic for m in messages)
                deliveries = [
                    await producer.send(
                        m.topic,
                        m.value,
                        key=m.key.encode(),
                        headers=_headers_to_kafka(m.headers.items()),
                    )
                    for m in messages
                ]
                await asyncio.gather(*deliveries)
        except (KafkaError, OSError, TimeoutError) as exc:
            # After a failed send the idempotent producer's sequence numbers no longer match the
            # broker's (a restarted broker answers OutOfOrderSequenceNumber forever), so the next
            # publish starts over with a fresh producer id. A resend may duplicate: consumers guard.
            await self._drop_producer()
            raise BusUnavailable(f"Kafka did not acknowledge the messages: {exc!r}") from exc

    async def _drop_producer(self) -> None:
        async with self._connect_lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            await _quietly(producer.stop(), within=self._timeout)

    async def ensure_topics(self, topics: Iterable[str]) -> None:
        """Create the topics that do not exist yet, with the broker's default partition count
        and replication factor and the retention of :func:`topic_policy`; set that retention on
        topics that exist already (made by an earlier version, or by the broker's auto-creation);
        raises :class:`BusUnavailable` when the cluster cannot answer."""
        missing = set(topics) - self._known_topics
        if not missing:
            return
        _, admin = await self._connect()
        try:
            async with asyncio.timeout(2 * self._timeout):
                described = await admin.describe_topics(sorted(missing))
                existing = {t["topic"] for t in described if t["error_code"] == 0 and t["partitions"]}
                if existing:
                    await self._keep_as_policy_says(admin, sorted(existing))
                self._known_topics |= existing
                to_create = sorted(missing - existing)
                if not to_create:
                    return
                # -1/-1 asks the controller for its defaults; NewTopic only accepts -1 together
                # with an (empty) replica assignment.
                response = await admin.create_topics(
                    [
                        NewTopic(name, -1, -1, replica_assignments={}, topic_configs=topic_policy(name).kafka_config())
                        for name in to_create
                    ]
                )
                raced = []  # made meanwhile, e.g. by the broker's auto-creation on our metadata request
                for result in response.to_object()["topic_errors"]:
                    if result["error_code"] and for_code(result["error_code"]) is TopicAlreadyExistsError:
                        raced.append(result["topic"])
                    elif result["error_code"]:
                        # Not fatal here: with auto-creation on, the producer or consumer still
                        # gets the topic; without it, publishing fails with BusUnavailable.
                        log.warning("could not create topic %s: %s", result["topic"], result["error_message"])
                if raced:
                    await self._keep_as_policy_says(admin, raced)
                # Creation is asynchronous in the controller; wait until every partition has a
                # leader, so a consumer subscribing now sees the topic at its first metadata fetch.
                while True:
                    described = await admin.describe_topics(to_create)
                    ready = {
                        t["topic"]
                        for t in described
                        if t["error_code"] == 0 and t["partitions"] and all(p["leader"] >= 0 for p in t["partitions"])
                    }
                    self._known_topics |= ready
                    if ready >= set(to_create):
                        return
                    await asyncio.sleep(0.05)
        except (KafkaError, OSError, TimeoutError) as exc:
            raise BusUnavailable(f"Kafka could not create topics {sorted(missing)}: {exc!r}") from exc

    @staticmethod
    async def _keep_as_policy_says(admin: AIOKafkaAdminClient, topics: list[str]) -> None:
        # AlterConfigs sets a topic's whole dynamic configuration: the policy is all of it. Refused
        # (e.g. no ALTER_CONFIGS right for this principal) is logged, not fatal: operators then
        # set the retention themselves, as the AsyncAPI document states it.
        resources = [ConfigResource(ConfigResourceType.TOPIC, t, topic_policy(t).kafka_config()) for t in topics]
        for response in await admin.alter_configs(resources):
            for error_code, error_message, _, name in response.resources:
                if error_code:
                    log.warning("could not set the retention of topic %s: %s", name, error_message)

    async def subscribe(
        self,
        topics: Sequence[str],
        group: str,
        handler: Handler,
        *,
        max_attempts: int = 5,
        from_beginning: bool = True,
    ) -> _KafkaSubscription:
        """Join consumer group ``group`` on ``topics`` and hand each message to ``handler`` (see
        the port's rules). Returns once this member has its partitions, so a message published
        after this returns is seen even with ``from_beginning=False``."""

        return await self._subscribe(topics, group, one_by_one(handler), max_attempts, from_beginning, batches=False)

    async def subscribe_batches(
        self,
        topics: Sequence[str],
        group: str,
        handler: BatchHandler,
        *,
        max_attempts: int = 5,
        from_beginning: bool = True,
    ) -> _KafkaSubscription:
        """As :meth:`subscribe`, handing over what each poll fetched at once (see the port's rules)."""
        return await self._subscribe(topics, group, handler, max_attempts, from_beginning, batches=True)

    async def _subscribe(
        self,
        topics: Sequence[str],
        group: str,
        handler: BatchHandler,
        max_attempts: int,
        from_beginning: bool,
        *,
        batches: bool,
    ) -> _KafkaSubscription:
        await self._connect()
        if self._broker is None:
            raise RuntimeError("KafkaBus.start() must be called first")
        # Dead-letter topics too: a dead letter must not depend on auto-creation. A dead-letter
        # topic's own dead-letter topic is created only if ever needed.
        await self.ensure_topics(
            [*topics, *(dead_letter_topic(t) for t in topics if not t.endswith(DEAD_LETTER_SUFFIX))]
        )
        subscription = _KafkaSubscription(
            self, self._broker, list(topics), group, handler, max_attempts, from_beginning, batches
        )
        self._subscriptions.append(subscription)
        try:
            await subscription.begin()
        except BaseException:
            await subscription.stop()
            raise
        return subscription

    async def stop(self) -> None:
        """Stop every subscription (uncommitted messages are redelivered later) and disconnect."""
        for subscription in list(self._subscriptions):
            try:
                await subscription.stop()
            except Exception:
                # Keep going: the other subscriptions and the clients must still be closed.
                log.exception("stopping a subscription failed")
        if self._broker is not None:
            await self._broker.stop()
            self._broker = None
        if self._producer is not None:
            # stop() flushes what is still queued; bounded, since nothing waits for it any more.
            await _quietly(self._producer.stop(), within=self._timeout)
            self._producer = None
        if self._admin is not None:
            await _quietly(self._admin.close(), within=self._timeout)
            self._admin = None
        self._started = False

    async def _publish_dead_letter(self, letter: Message) -> None:
        await self.publish([letter])
        report_dead_letter(letter)

    def _forget(self, subscription: _KafkaSubscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)


def _message_of(record: ConsumerRecord[bytes, bytes]) -> Message:
    return Message(
        topic=record.topic,
        key=_text(record.key),
        value=record.value or b"",
        headers={name: _text(value) for name, value in record.headers},
    )


async def _quietly(work: Awaitable[Any], within: float | None = None) -> None:
    """Await cleanup work, ignoring its failure: the caller is already failing or shutting down."""
    try:
        async with asyncio.timeout(within):  # not wait_for: on 3.11 it can swallow a cancel
            await work
    except Exception as exc:
        log.debug("cleanup failed: %r", exc)


class _RebalanceListener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Tells ``subscribe`` when the group gave this member its partitions (possibly none), and
    commits what was handled on partitions that are about to move to another member."""

    def __init__(self, on_revoked: Callable[[set[TopicPartition]], Awaitable[None]]) -> None:
        self.assigned = asyncio.Event()
        self.partitions: set[TopicPartition] = set()
        self._on_revoked = on_revoked

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Commit the handled offsets of ``revoked`` while this member still owns them."""
        await self._on_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        """Record the assignment and wake ``subscribe``."""
        self.partitions = set(assigned)
        self.assigned.set()


async def _parse_raw(
    record: ConsumerRecord[bytes, bytes],
    original: Callable[[ConsumerRecord[bytes, bytes]], Awaitable[KafkaMessage]],
) -> KafkaMessage:
    """FastStream's parser, fed headers it can always decode.

    FastStream decodes every header value as strict UTF-8 before the handler runs; a foreign
    producer's binary (or null) header would fail there, outside the handler, where no
    dead-lettering happens. The handler reads the untouched record anyway.
    """
    safe = tuple((name, _text(value).encode()) for name, value in record.headers)
    return await original(replace(record, headers=safe))


async def _parse_raw_batch(
    records: tuple[ConsumerRecord[bytes, bytes], ...],
    original: Callable[[tuple[ConsumerRecord[bytes, bytes], ...]], Awaitable[KafkaMessage]],
) -> KafkaMessage:
    """:func:`_parse_raw` for the records of one poll."""
    safe = tuple(
        replace(record, headers=tuple((name, _text(value).encode()) for name, value in record.headers))
        for record in records
    )
    return await original(safe)


async def _decode_raw(message: KafkaMessage) -> KafkaMessage:
    """The "decoded body" handed to the handler is the message itself (with its record).

    So FastStream neither parses JSON by ``content-type`` (a CloudEvents header; a malformed
    body would fail outside the handler, where no dead-lettering happens) nor needs its
    dependency injection to give the handler the record (it resolves that in a worker thread,
    per message). Async on purpose: a plain function decoder also runs in a worker thread.
    """
    return message


class _KafkaSubscription:
    """One consumer-group member: a FastStream subscriber with manual acknowledgement.

    Offsets are committed in the background every :data:`_COMMIT_INTERVAL`, on revocation and on
    stop, and only ever up to messages whose handler returned (or that were dead-lettered). A
    commit per message would cost a broker round trip each (measured: ~120 messages/s against
    ~1,800 without), and a later commit only means a crash redelivers a little more.
    """

    def __init__(
        self,
        bus: KafkaBus,
        broker: KafkaBroker,
        topics: list[str],
        group: str,
        handler: BatchHandler,
        max_attempts: int,
        from_beginning: bool,
        batches: bool,
    ) -> None:
        self._bus = bus
        self._topics = topics
        self._group = group
        self._handler = handler
        self._batches = batches
        self._max_attempts = max(1, max_attempts)
        self._from_beginning = from_beginning
        self._stopping = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._handled: dict[TopicPartition, int] = {}
        """Per partition, the offset after the last message handled (what a commit stores)."""
        self._committed: dict[TopicPartition, int] = {}
        self._commit_lock = asyncio.Lock()
        self._committer: asyncio.Task[None] | None = None
        self._listener = _RebalanceListener(self._on_revoked)
        batching: dict[str, Any] = (
            # A poll returns at once when records are there; the timeout only bounds idle polls.
            {"batch": True, "max_records": _MAX_BATCH, "batch_timeout_ms": 250, "parser": _parse_raw_batch}
            if batches
            else {"parser": _parse_raw}
        )
        self._subscriber = broker.subscriber(
            *topics,
            **batching,
            group_id=group,
            # MANUAL: FastStream neither auto-commits (its default, ACK_FIRST, would) nor
            # commits the consumer's position on its own; this class commits what was handled.
            ack_policy=AckPolicy.MANUAL,
            auto_offset_reset="earliest" if from_beginning else "latest",
            listener=self._listener,
            decoder=_decode_raw,
            # A new or leaving member makes the others rejoin at their next heartbeat: keep it
            # short so group changes settle in well under a second on a healthy cluster.
            heartbeat_interval_ms=500,
            session_timeout_ms=10_000,
            # The broker answers a fetch as soon as data arrives; this only bounds idle polls.
            fetch_max_wait_ms=250,
            # Not kept by the broker object: this subscription owns it and stops it itself.
            persistent=False,
        )
        self._subscriber(self._on_message)

    async def begin(self) -> None:
        """Start consuming and wait until the group assigned this member its partitions."""
        started = time.monotonic()
        await self._subscriber.start()
        self._committer = asyncio.create_task(self._commit_periodically(), name=f"kafka-commit-{self._group}")
        try:
            async with asyncio.timeout(_ASSIGNMENT_TIMEOUT):  # not wait_for: on 3.11 it can swallow a cancel
                await self._listener.assigned.wait()
        except TimeoutError as exc:
            raise BusUnavailable(f"group {self._group} gave no assignment in {_ASSIGNMENT_TIMEOUT:.0f} s") from exc
        await self._resolve_positions()
        log.debug(
            "group %s joined %s with %s in %.2f s",
            self._group,
            self._topics,
            sorted(str(tp) for tp in self._listener.partitions),
            time.monotonic() - started,
        )

    async def _resolve_positions(self) -> None:
        """Wait until every assigned partition has its start position; with "latest", commit it
        where the group has no offset yet.

        Until a partition's position is resolved (its committed offset, or a reset by
        ``auto_offset_reset``), nothing is fetched from it; right after a topic was created the
        first attempt may also fail with NotLeaderForPartition and be retried later. Returning
        only after that keeps messages published once ``subscribe`` returned from being fetched
        late. For "latest" it also fixes what "latest" means: the end of the log now, even if
        this group stops before it handled anything.
        """
        consumer = self._subscriber.consumer
        if consumer is None:
            return
        pins: dict[TopicPartition, int] = {}
        for tp in self._listener.partitions:
            try:
                async with asyncio.timeout(self._bus._timeout):  # not wait_for: on 3.11 it can swallow a cancel
                    position = await consumer.position(tp)
                    committed = None if self._from_beginning else await consumer.committed(tp)
                if not self._from_beginning and committed is None:
                    pins[tp] = position
            except (KafkaError, TimeoutError) as exc:
                # A rebalance moved the partition away meanwhile: its new owner resolves it.
                log.debug("could not resolve %s for group %s: %r", tp, self._group, exc)
        for tp, position in pins.items():
            # setdefault: a message handled meanwhile has already moved the partition further.
            self._handled.setdefault(tp, position)
        await self._commit(set(pins))

    async def _on_message(self, message: KafkaMessage) -> None:
        """Deliver one record: handler, retries, dead letter; mark it handled after one of them."""
        if self._stopping.is_set():
            return  # fetched after stop() began: not handled, so not committed, so redelivered
        self._idle.clear()
        try:
            await self._deliver(message)
        finally:
            self._idle.set()

    async def _deliver(self, message: KafkaMessage) -> None:
        raw = message.raw_message
        records = raw if isinstance(raw, tuple) else (raw,)
        messages = [_message_of(record) for record in records]
        if self._batches and len(records) > 1:
            try:
                await self._handler(messages)
            except Exception as exc:
                if self._stopping.is_set():
                    return  # not handled, so not committed, so redelivered later
                log.info("batch handler of group %s failed, one by one now: %r", self._group, exc)
            else:
                for record in records:
                    self._handled[TopicPartition(record.topic, record.partition)] = record.offset + 1
                return
        for i, (record, bus_message) in enumerate(zip(records, messages, strict=True)):
            if not await self._deliver_one(record, bus_message):
                self._rewind(records[i:])
                return

    def _rewind(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        """Fetch ``records`` again (the earliest of each partition on): none of them was handled."""
        consumer = self._subscriber.consumer
        if consumer is None:
            return
        earliest: dict[TopicPartition, int] = {}
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            earliest[tp] = min(record.offset, earliest.get(tp, record.offset))
        for tp, offset in earliest.items():
            consumer.seek(tp, offset)

    async def _deliver_one(self, record: ConsumerRecord[bytes, bytes], bus_message: Message) -> bool:
        """Handler (with retries) or dead letter for one record; False when neither happened."""
        reason = await self._handle(bus_message)
        if reason is _ABANDONED:
            return False  # retries cut short by stop(): not committed, so redelivered later
        if reason is not None:
            letter = dead_letter(bus_message, self._group, reason)
            letter = replace(
                letter,
                headers={
                    **letter.headers,
                    HEADER_DLT_PARTITION: str(record.partition),
                    HEADER_DLT_OFFSET: str(record.offset),
                },
            )
            try:
                await self._bus._publish_dead_letter(letter)
            except BusUnavailable as exc:
                # Not stored anywhere yet: rewind to this record so it is tried again.
                log.error("group %s could not dead-letter %s@%s: %s", self._group, record.topic, record.offset, exc)
                self._rewind([record])
                await self._pause()
                return False
        self._handled[TopicPartition(record.topic, record.partition)] = record.offset + 1
        return True

    async def _handle(self, message: Message) -> str | _Abandoned | None:
        """Run the handler with retries: ``None`` when it succeeded, :data:`_ABANDONED` when
        stop() cut the retries short, else the dead-letter reason."""
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._handler([message])
                return None
            except PoisonMessage as exc:
                return f"poison: {exc}"
            except Exception as exc:
                if self._stopping.is_set():
                    return _ABANDONED
                if attempt >= self._max_attempts:
                    return f"failed {attempt} times: {exc!r}"
                log.warning("handler of group %s failed (attempt %d): %r", self._group, attempt, exc)
                await self._pause(min(0.05 * 2**attempt, 2.0))

    async def _pause(self, seconds: float = 1.0) -> None:
        """Sleep, but wake at once when the subscription is stopping."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):  # not wait_for: on 3.11 it can swallow a cancel
                await self._stopping.wait()

    async def _commit_periodically(self) -> None:
        while not self._stopping.is_set():
            await self._pause(_COMMIT_INTERVAL)
            await self._commit()

    async def _commit(self, partitions: set[TopicPartition] | None = None) -> None:
        """Commit the handled offsets not committed yet (of ``partitions``, or of all), but only
        for partitions this member still owns: the broker would accept a commit for a partition
        that moved to another member, and overwrite that member's progress."""
        consumer = self._subscriber.consumer
        if consumer is None:
            return
        async with self._commit_lock:
            owned = consumer.assignment()
            due = {
                tp: offset
                for tp, offset in self._handled.items()
                if tp in owned and (partitions is None or tp in partitions) and self._committed.get(tp, -1) < offset
            }
            if not due:
                return
            try:
                async with asyncio.timeout(self._bus._timeout):  # not wait_for: on 3.11 it can swallow a cancel
                    await consumer.commit(due)
                self._committed.update(due)
            except (KafkaError, TimeoutError) as exc:
                # A rebalance or an outage: retried at the next interval; at worst the new
                # owner of the partition gets these messages again.
                log.warning("group %s could not commit %s: %r", self._group, due, exc)

    async def _on_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._commit(revoked)
        for tp in revoked:
            # The next owner (maybe this member again) starts from the committed offset.
            self._handled.pop(tp, None)
            self._committed.pop(tp, None)

    async def stop(self) -> None:
        """Stop consuming: a running handler gets ``graceful_timeout`` to finish, what was handled
        is committed, a handler still running is cancelled (its message is redelivered later),
        and the member leaves the group."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._bus._graceful_timeout):  # not wait_for: on 3.11 it can swallow a cancel
                await self._idle.wait()
        if self._committer is not None:
            await asyncio.gather(self._committer, return_exceptions=True)
        await self._commit()
        # FastStream cancels its consume task without awaiting it; await it so nothing of this
        # subscription runs after stop() returned.
        tasks = list(getattr(self._subscriber, "tasks", ()))
        consumer = self._subscriber.consumer
        try:
            await self._subscriber.stop()
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # stop() itself is being cancelled
            # aiokafka's consumer.stop() lets a CancelledError of its own fetcher tasks escape
            # when positions were still being resolved (e.g. while the broker is down), and
            # skips the rest of its cleanup (aio-libs/aiokafka#647).
            log.debug("aiokafka consumer of group %s stopped with a stray CancelledError", self._group)
            await _finish_closing(consumer)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._bus._forget(self)


async def _finish_closing(consumer: Any) -> None:
    """The rest of ``AIOKafkaConsumer.stop()`` after aio-libs/aiokafka#647 cut it short: cancel
    the fetcher's remaining tasks and close the connections (best effort, private attributes)."""
    fetcher = getattr(consumer, "_fetcher", None)
    pending = list(getattr(fetcher, "_pending_tasks", ()))
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    client = getattr(consumer, "_client", None)
    if client is not None:
        await _quietly(client.close())
