"""Every past version of every stored gateway event still decodes (golden files, never edited:
a new schema version adds a new file and an upcaster)."""

from __future__ import annotations

import json
from pathlib import Path

from crm_gateway.domain import user as u

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def test_golden_events_decode_and_fold() -> None:
    files = sorted(GOLDEN.glob("*.json"))
    assert files
    seen_types = set()
    for file in files:
        state: u.State = None
        for stored in json.loads(file.read_text(encoding="utf-8")):
            event = u.catalog.decode_raw(stored["type"], stored["data"], stored["schema_version"])
            seen_types.add(stored["type"])
            state = u.evolve(state, event)
        assert state is not None
    assert seen_types == set(u.catalog.names()), "every event type needs a golden sample"
