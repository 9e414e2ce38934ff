"""Which domain events become public, and how: the translation the relay and projections use."""

from __future__ import annotations

from crm_interactions.domain import interaction as it
from crm_shared.contracts import interactions as public
from crm_shared.eventstore import RecordedEvent
from crm_shared.integration import Envelope

STREAM_PREFIX = "interaction-"


def translate(recorded: RecordedEvent) -> list[Envelope]:
    """The integration event of one stored event; none for other services' streams (a shared
    KurrentDB log holds them too)."""
    if not recorded.stream.startswith(STREAM_PREFIX):
        return []
    event = it.catalog.decode(recorded)
    ce_type = "crm." + it.catalog.name_of(event)
    contract = public.EVENT_TYPES[ce_type]
    data = contract.model_validate(event.model_dump()).model_dump(mode="json")
    return [
        Envelope.of(
            recorded,
            type=ce_type,
            source=public.SOURCE,
            subject=str(data["interaction_id"]),
            topic=public.INTERACTION_TOPIC,
            data=data,
        )
    ]
