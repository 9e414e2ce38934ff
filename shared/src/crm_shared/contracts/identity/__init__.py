"""Public events of the identity context (the gateway's directory of people and access groups): one
module per topic, each with ``TOPIC`` and ``EVENT_TYPES`` (CloudEvents type → contract model). Add a
topic's module to ``_MODULES``."""

from __future__ import annotations

from types import ModuleType

from crm_shared.contracts.identity import access_group, user
from crm_shared.contracts.identity.access_group import ACCESS_GROUP_TOPIC
from crm_shared.contracts.identity.user import SOURCE, USER_TOPIC
from crm_shared.integration import IntegrationEvent

_MODULES: tuple[ModuleType, ...] = (access_group, user)

TOPICS: dict[str, dict[str, type[IntegrationEvent]]] = {m.TOPIC: m.EVENT_TYPES for m in _MODULES}
"""Every topic of the context and the event types published on it."""

EVENT_TYPES: dict[str, type[IntegrationEvent]] = {t: model for types in TOPICS.values() for t, model in types.items()}
"""Every public event type of the context, by its CloudEvents type."""

TOPIC_OF: dict[str, str] = {t: topic for topic, types in TOPICS.items() for t in types}
"""The topic each event type is published on."""

__all__ = ["ACCESS_GROUP_TOPIC", "EVENT_TYPES", "SOURCE", "TOPICS", "TOPIC_OF", "USER_TOPIC"]
