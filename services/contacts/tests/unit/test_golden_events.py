"""Every past version of every stored contacts event still decodes (golden files, never edited:
a new schema version adds a new file and an upcaster)."""

from __future__ import annotations

import json
from pathlib import Path

from crm_contacts.domain import counterparty as cp

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def test_golden_events_decode_and_fold() -> None:
    files = sorted(GOLDEN.glob("*.json"))
    assert files
    seen_types = set()
    for file in files:
        events = [
            cp.catalog.decode_raw(stored["type"], stored["data"], stored["schema_version"])
            for stored in json.loads(file.read_text(encoding="utf-8"))
        ]
        seen_types.update(cp.catalog.name_of(e) for e in events)
        if file.name.startswith("counterparty_"):
            state: cp.State = None
            for event in events:
                state = cp.evolve(state, event)
            assert state is not None
        else:
            assert cp.holder_of(events) is None  # reserved, then released
    assert seen_types == set(cp.catalog.names()), "every event type needs a golden sample"


def test_version_1_registrations_are_upcast_into_the_default_access_group() -> None:
    [first, *_] = json.loads((GOLDEN / "counterparty_events_v1.json").read_text(encoding="utf-8"))
    event = cp.catalog.decode_raw(first["type"], first["data"], first["schema_version"])
    assert isinstance(event, cp.CounterpartyRegistered)
    assert event.access_group == cp.DEFAULT_ACCESS_GROUP
