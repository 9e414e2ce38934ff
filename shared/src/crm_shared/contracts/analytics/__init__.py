"""Public events of the analytics context: one module per topic, each with ``TOPIC`` and
``EVENT_TYPES`` (CloudEvents type → contract model). Add a topic's module to ``_MODULES``."""

from __future__ import annotations

from types import ModuleType

from crm_shared.contracts.analytics import abc_run, customer_class, customer_stage
from crm_shared.contracts.analytics.abc_run import SOURCE
from crm_shared.contracts.analytics.abc_run import TOPIC as ABC_RUN_TOPIC
from crm_shared.contracts.analytics.customer_class import TOPIC as CUSTOMER_CLASS_TOPIC
from crm_shared.contracts.analytics.customer_stage import TOPIC as CUSTOMER_STAGE_TOPIC
from crm_shared.integration import IntegrationEvent

_MODULES: tuple[ModuleType, ...] = (abc_run, customer_class, customer_stage)

TOPICS: dict[str, dict[str, type[IntegrationEvent]]] = {m.TOPIC: m.EVENT_TYPES for m in _MODULES}
"""Every topic of the context and the event types published on it."""

EVENT_TYPES: dict[str, type[IntegrationEvent]] = {t: model for types in TOPICS.values() for t, model in types.items()}
"""Every public event type of the context, by its CloudEvents type."""

TOPIC_OF: dict[str, str] = {t: topic for topic, types in TOPICS.items() for t in types}
"""The topic each event type is published on."""

__all__ = [
    "ABC_RUN_TOPIC",
    "CUSTOMER_CLASS_TOPIC",
    "CUSTOMER_STAGE_TOPIC",
    "EVENT_TYPES",
    "SOURCE",
    "TOPICS",
    "TOPIC_OF",
]
