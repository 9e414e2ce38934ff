"""Every past version of every stored contacts event still decodes (golden files, never edited:
a new schema version adds a new file and an upcaster)."""

from __future__ import annotations

import json
from pathlib import Path

from crm_contacts.domain import counterparty as cp
from crm_contacts.domain import person as pe

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def test_golden_events_decode_and_fold() -> None:
    files = sorted(f for f in GOLDEN.glob("*.json") if not f.name.startswith("person_"))
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


def _person_events(key: bytes | None) -> tuple[list[pe.DomainEvent], list[list[str]]]:
    golden = json.loads((GOLDEN / "person_events_v1.json").read_text(encoding="utf-8"))
    events, erased = [], []
    for stored in golden["events"]:
        data, shut = pe.open_data(stored["data"], key, golden["person_id"])
        events.append(pe.catalog.decode_raw(stored["type"], data, stored["schema_version"]))
        erased.append(shut)
    return events, erased


def test_stored_person_events_open_with_their_key_and_fold() -> None:
    golden = json.loads((GOLDEN / "person_events_v1.json").read_text(encoding="utf-8"))
    events, erased = _person_events(bytes.fromhex(golden["key_hex"]))
    assert {pe.catalog.name_of(e) for e in events} == set(pe.catalog.names()), "every event type needs a sample"
    assert not any(erased)
    first = events[0]
    assert isinstance(first, pe.PersonRegistered) and first.last_name == "Фандъкова"
    state: pe.State = None
    for event in events:
        state = pe.evolve(state, event)
    assert state is not None and state.erased


def test_without_the_key_the_personal_fields_of_stored_events_are_gone() -> None:
    events, erased = _person_events(None)
    first = events[0]
    assert isinstance(first, pe.PersonRegistered)
    assert (first.first_name, first.last_name, first.owner) == (None, None, "ivan")
    assert "last_name" in erased[0]
