"""Which domain events become public, and how: the translation the relay uses, and the private one
this service's own view follows.

The public form withholds every free text (ADR 15): it carries the empty value in each text field,
leaves the texts out of ``changes`` and names them in ``text_changed``. Texts are stored sealed, so
the relay never needs (and never gets) a key.
"""

from __future__ import annotations

from typing import Any

from crm_interactions.domain import interaction as it
from crm_shared.contracts import interactions as public
from crm_shared.eventstore import RecordedEvent
from crm_shared.integration import Envelope

STREAM_PREFIX = "interaction-"
_EMPTY: dict[str, Any] = {name: [] if name == "third_parties" else "" for name in it.TEXT_FIELDS}


def _withheld(data: dict[str, Any]) -> dict[str, Any]:
    """Event data with every free text replaced by its empty value."""
    shown = {k: _EMPTY.get(k, v) for k, v in data.items()}
    if isinstance(shown.get("basis"), dict):
        shown["basis"] = {**shown["basis"], "title": ""}
    if isinstance(shown.get("changes"), dict):
        changes = shown["changes"]
        shown["text_changed"] = sorted(k for k in changes if k in it.TEXT_FIELDS)
        shown["changes"] = _withheld({k: v for k, v in changes.items() if k not in it.TEXT_FIELDS})
    return shown


def _envelope(recorded: RecordedEvent, ce_type: str, data: dict[str, Any]) -> Envelope:
    return Envelope.of(
        recorded,
        type=ce_type,
        source=public.SOURCE,
        subject=str(data["interaction_id"]),
        topic=public.INTERACTION_TOPIC,
        data=data,
    )


def translate(recorded: RecordedEvent) -> list[Envelope]:
    """The integration event of one stored event, free text withheld; none for other services'
    streams (a shared KurrentDB log holds them too)."""
    if not recorded.stream.startswith(STREAM_PREFIX):
        return []
    event = it.catalog.decode(recorded)
    ce_type = "crm." + it.catalog.name_of(event)
    contract = public.EVENT_TYPES[ce_type]
    data = contract.model_validate(_withheld(event.model_dump(mode="json"))).model_dump(mode="json")
    return [_envelope(recorded, ce_type, data)]


def stored(recorded: RecordedEvent) -> list[Envelope]:
    """What this service's own view takes from its log: each event under its public type and topic,
    with its data as stored (texts sealed, opened when read). Never published."""
    if not recorded.stream.startswith(STREAM_PREFIX):
        return []
    event = it.catalog.decode(recorded)
    return [_envelope(recorded, "crm." + it.catalog.name_of(event), event.model_dump(mode="json"))]
