"""The bus port and its adapters: a durable embedded log, and Kafka through FastStream/aiokafka."""

from crm_shared.bus.port import (
    HEADER_DLT_GROUP,
    HEADER_DLT_REASON,
    HEADER_DLT_TOPIC,
    BatchHandler,
    Bus,
    BusUnavailable,
    Handler,
    Message,
    PoisonMessage,
    Subscription,
    dead_letter,
    dead_letter_topic,
)

__all__ = [
    "HEADER_DLT_GROUP",
    "HEADER_DLT_REASON",
    "HEADER_DLT_TOPIC",
    "BatchHandler",
    "Bus",
    "BusUnavailable",
    "Handler",
    "Message",
    "PoisonMessage",
    "Subscription",
    "dead_letter",
    "dead_letter_topic",
]
