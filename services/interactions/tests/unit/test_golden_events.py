"""Every past version of every stored interactions event still decodes (golden files, never edited:
a new schema version adds a new file and an upcaster)."""

from __future__ import annotations

import json
from itertools import groupby
from pathlib import Path

from crm_interactions.domain import interaction as it

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def test_golden_events_decode_and_fold() -> None:
    files = sorted(GOLDEN.glob("*.json"))
    assert files
    seen_types = set()
    for file in files:
        events = [
            it.catalog.decode_raw(stored["type"], stored["data"], stored["schema_version"])
            for stored in json.loads(file.read_text(encoding="utf-8"))
        ]
        seen_types.update(it.catalog.name_of(e) for e in events)
        for _, stream in groupby(events, key=lambda e: getattr(e, "interaction_id", None)):
            state: it.State = None
            for event in stream:
                state = it.evolve(state, event)
            assert state is not None
    assert seen_types == set(it.catalog.names()), "every event type needs a golden sample"
