"""Kafka topics keep what the topic policy says: event topics forever, dead letters for 90 days,
also on topics an earlier version (or the broker's defaults) created with a shorter retention."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from crm_shared.bus import Message, dead_letter_topic
from crm_shared.bus.kafka import KafkaBus
from crm_shared.bus.port import DEAD_LETTER_RETENTION_DAYS

pytestmark = pytest.mark.kafka

SEVEN_DAYS_MS = str(7 * 86_400_000)


@pytest.fixture
async def admin(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaAdminClient]:
    client = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await client.start()
    yield client
    await client.close()


async def retention_of(admin: AIOKafkaAdminClient, topic: str) -> dict[str, str]:
    [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    [(error_code, _, _, _, entries)] = response.resources
    assert error_code == 0
    wanted = {"retention.ms", "cleanup.policy"}
    return {entry[0]: entry[1] for entry in entries if entry[0] in wanted}


async def test_event_topics_are_kept_forever_and_dead_letters_for_ninety_days(
    kafka_bootstrap: str, admin: AIOKafkaAdminClient
) -> None:
    topic = f"crm.test.retention{uuid.uuid4().hex[:8]}.v1"
    bus = KafkaBus(kafka_bootstrap)
    await bus.start()
    try:
        await bus.publish([Message(topic, "k", b"{}")])

        async def nothing(message: Message) -> None:
            return None

        await bus.subscribe([topic], f"g-{uuid.uuid4().hex[:8]}", nothing)  # creates the dead-letter topic
    finally:
        await bus.stop()
    assert await retention_of(admin, topic) == {"retention.ms": "-1", "cleanup.policy": "delete"}
    dlt = await retention_of(admin, dead_letter_topic(topic))
    assert dlt == {"retention.ms": str(DEAD_LETTER_RETENTION_DAYS * 86_400_000), "cleanup.policy": "delete"}


async def test_a_topic_made_with_a_short_retention_is_set_to_keep_everything(
    kafka_bootstrap: str, admin: AIOKafkaAdminClient
) -> None:
    topic = f"crm.test.older{uuid.uuid4().hex[:8]}.v1"
    await admin.create_topics([NewTopic(topic, 1, 1, topic_configs={"retention.ms": SEVEN_DAYS_MS})])
    assert (await retention_of(admin, topic))["retention.ms"] == SEVEN_DAYS_MS
    bus = KafkaBus(kafka_bootstrap)
    await bus.start()
    try:
        await bus.publish([Message(topic, "k", b"{}")])
    finally:
        await bus.stop()
    assert (await retention_of(admin, topic))["retention.ms"] == "-1"
