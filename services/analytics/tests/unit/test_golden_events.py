"""Every past version of every stored analytics event still decodes, folds into a run and translates
into its public events (golden files, never edited: a new schema version adds a new file and an
upcaster)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from crm_analytics.application import publishing
from crm_analytics.domain import abc_run as run
from crm_shared.eventstore import RecordedEvent

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def _stored(file: Path) -> list[dict[str, Any]]:
    stored: list[dict[str, Any]] = json.loads(file.read_text(encoding="utf-8"))
    return stored


def test_golden_events_decode_and_fold() -> None:
    files = sorted(GOLDEN.glob("abc_run_events_v*.json"))
    assert files
    seen_types = set()
    for file in files:
        events = [run.catalog.decode_raw(s["type"], s["data"], s["schema_version"]) for s in _stored(file)]
        seen_types.update(run.catalog.name_of(e) for e in events)
        state: run.State = None
        for event in events:
            state = run.evolve(state, event)
        assert state is not None and state.confirmed
    assert seen_types == set(run.catalog.names()), "every event type needs a golden sample"


def test_the_version_1_run_folds_into_its_result() -> None:
    state: run.State = None
    for stored in _stored(GOLDEN / "abc_run_events_v1.json"):
        state = run.evolve(state, run.catalog.decode_raw(stored["type"], stored["data"], stored["schema_version"]))
    assert state is not None
    assert (state.scheme, state.period.start, state.period.end) == (
        "revenue:70/20/10:EUR",
        date(2026, 1, 1),
        date(2026, 1, 31),
    )
    assert state.total == Decimal("1000.00") and state.customers == 3
    assert state.previous_run_id == "1a2b3c4d-0000-4000-8000-00000000abcd"
    assert {code: (s.computed, s.current, s.previous) for code, s in state.standings.items()} == {
        "K-0001": ("A", "A", "B"),
        "K-0002": ("B", "B", None),
        "K-0003": ("C", "B", "C"),
    }
    assert state.overrides == 1


def test_the_stored_events_translate_into_their_public_events() -> None:
    published = []
    for position, stored in enumerate(_stored(GOLDEN / "abc_run_events_v1.json"), start=1):
        recorded = RecordedEvent(
            id=uuid.UUID(int=position),
            stream=run.stream_of(stored["data"]["run_id"]),
            stream_version=position,
            position=position,
            type=stored["type"],
            data=stored["data"],
            metadata={"schema_version": stored["schema_version"]},
            recorded_at=datetime(2026, 2, 1, tzinfo=UTC),
        )
        published += publishing.translate(recorded)
    assert [(e.type, e.subject) for e in published] == [
        ("crm.analytics.AbcRunConfirmed", "5d0f3c2e-8a41-4b6f-9e27-1c3a5b7d9f10"),
        ("crm.analytics.CustomerClassChanged", "K-0001"),
        ("crm.analytics.CustomerClassChanged", "K-0002"),
        ("crm.analytics.CustomerClassChanged", "K-0003"),  # the override; "same" rows are not published
    ]
    override = published[-1].data
    assert (override["abc_class"], override["computed_class"], override["overridden"]) == ("B", "C", True)
    assert "reason" not in override
