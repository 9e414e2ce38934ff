"""Integration events on the wire: the envelope every published message has.

The envelope follows CloudEvents' Kafka binary mode: attributes go in headers (``ce_id``,
``ce_type``, ``ce_source``, ``ce_time``, ``ce_subject``, ``ce_specversion``), W3C trace context in
``traceparent``, and the event's data is the JSON value. Three ``crm_*`` headers say where the
event sits in its source's log, so consumers can guard their effects per entity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from crm_shared import jsoncodec
from crm_shared.bus.port import Message, PoisonMessage
from crm_shared.eventstore.port import RecordedEvent

_REQUIRED = ("ce_id", "ce_type", "ce_source", "ce_time", "ce_subject")


class IntegrationEvent(BaseModel):
    """Base of public event contracts: within a topic version fields may only be added, and
    consumers ignore fields they do not know."""

    model_config = ConfigDict(frozen=True, extra="ignore")


@dataclass(frozen=True, slots=True)
class Envelope:
    """One published integration event with its CloudEvents attributes and source position."""

    id: str
    type: str
    source: str
    subject: str
    time: datetime
    topic: str
    data: Mapping[str, Any]
    stream: str
    stream_version: int
    position: int
    traceparent: str | None = None
    extra_headers: Mapping[str, str] = field(default_factory=dict)
    contract: IntegrationEvent | None = field(default=None, compare=False, repr=False)
    """The validated contract ``data`` was dumped from, when this process's own translation made the
    envelope (views of the service's own log take it instead of validating ``data`` again); None for
    a message from the bus, whose data is validated by whoever consumes it. Never sent."""

    @classmethod
    def of(
        cls,
        recorded: RecordedEvent,
        *,
        type: str,
        source: str,
        subject: str,
        topic: str,
        data: Mapping[str, Any],
        extra_headers: Mapping[str, str] | None = None,
        contract: IntegrationEvent | None = None,
    ) -> Envelope:
        """The envelope of a stored event: its id, when it occurred (``occurred_at`` in its metadata,
        else when it was recorded), its place in its stream and the log, and its trace; ``contract``
        is the validated contract ``data`` is the JSON form of (see :attr:`contract`)."""
        occurred = recorded.metadata.get("occurred_at")
        return cls(
            id=str(recorded.id),
            type=type,
            source=source,
            subject=subject,
            time=datetime.fromisoformat(occurred) if isinstance(occurred, str) else recorded.recorded_at,
            topic=topic,
            data=data,
            stream=recorded.stream,
            stream_version=recorded.stream_version,
            position=recorded.position,
            traceparent=recorded.metadata.get("traceparent"),
            extra_headers=extra_headers or {},
            contract=contract,
        )

    def to_message(self) -> Message:
        """The Kafka message: key = subject (the aggregate id), CloudEvents in headers."""
        headers = {
            "ce_specversion": "1.0",
            "ce_id": self.id,
            "ce_type": self.type,
            "ce_source": self.source,
            "ce_time": self.time.isoformat(),
            "ce_subject": self.subject,
            "content-type": "application/json",
            "crm_stream": self.stream,
            "crm_stream_version": str(self.stream_version),
            "crm_position": str(self.position),
            **self.extra_headers,
        }
        if self.traceparent:
            headers["traceparent"] = self.traceparent
        return Message(self.topic, self.subject, jsoncodec.dumps(dict(self.data)), headers)

    @classmethod
    def from_message(cls, message: Message) -> Envelope:
        """Decode a consumed message; raises :class:`PoisonMessage` naming what is wrong."""
        headers = message.headers
        missing = [h for h in _REQUIRED if not headers.get(h)]
        if missing:
            raise PoisonMessage(f"missing CloudEvents headers: {', '.join(missing)}")
        try:
            data = jsoncodec.loads(message.value)
        except ValueError as exc:
            raise PoisonMessage(f"value is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise PoisonMessage("value is not a JSON object")
        try:
            time = datetime.fromisoformat(headers["ce_time"])
            stream_version = int(headers.get("crm_stream_version", "0"))
            position = int(headers.get("crm_position", "0"))
        except ValueError as exc:
            raise PoisonMessage(f"bad header value: {exc}") from exc
        return cls(
            id=headers["ce_id"],
            type=headers["ce_type"],
            source=headers["ce_source"],
            subject=headers["ce_subject"],
            time=time,
            topic=message.topic,
            data=data,
            stream=headers.get("crm_stream", ""),
            stream_version=stream_version,
            position=position,
            traceparent=headers.get("traceparent"),
        )
