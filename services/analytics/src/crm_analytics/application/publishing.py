"""Domain event -> public event. Analytics publishes none yet: its first public events (``crm.analytics.*``:
a classification run, a customer's new class) come with scheduled runs; until then its log is empty
and its relay has nothing to send."""

from __future__ import annotations

from crm_shared.eventstore import RecordedEvent
from crm_shared.integration import Envelope


def translate(recorded: RecordedEvent) -> list[Envelope]:
    """No public event for anything yet."""
    return []
