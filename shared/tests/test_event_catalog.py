"""Event typing: stable names, schema versions in metadata, upcasting at decode, deterministic ids."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from crm_shared import jsoncodec
from crm_shared.events import (
    DomainEvent,
    EventCatalog,
    UnknownEventType,
    deterministic_event_id,
    end_of_earlier_command,
    new_uuid,
)
from crm_shared.eventstore import RecordedEvent


def recorded(type_: str, data: dict[str, Any], version: int | None) -> RecordedEvent:
    metadata = {} if version is None else {"schema_version": version}
    return RecordedEvent(uuid.uuid4(), "s-1", type_, data, metadata, 0, 1, datetime.now(UTC))


def make_catalog() -> tuple[EventCatalog, type[DomainEvent]]:
    catalog = EventCatalog()

    @catalog.register("test.PersonRenamed", version=3)
    class PersonRenamed(DomainEvent):
        person_id: str
        first_name: str
        last_name: str

    @catalog.upcaster("test.PersonRenamed", from_version=1)
    def split_name(data: dict[str, Any]) -> dict[str, Any]:
        first, _, last = data.pop("name").partition(" ")
        return {**data, "first_name": first, "last_name": last}

    @catalog.upcaster("test.PersonRenamed", from_version=2)
    def rename_id(data: dict[str, Any]) -> dict[str, Any]:
        return {**{k: v for k, v in data.items() if k != "id"}, "person_id": data["id"]}

    return catalog, PersonRenamed


def test_encode_uses_the_stable_name_and_current_version() -> None:
    catalog, renamed = make_catalog()
    new = catalog.encode(renamed(person_id="p", first_name="Анна", last_name="Иванова"), metadata={"actor": "u1"})
    assert new.type == "test.PersonRenamed"
    assert new.metadata["schema_version"] == 3
    assert new.metadata["actor"] == "u1"
    assert dict(new.data) == {"person_id": "p", "first_name": "Анна", "last_name": "Иванова"}


def test_encode_json_stores_what_encode_stores_serialised_once() -> None:
    catalog, renamed = make_catalog()
    events = [renamed(person_id=f"p{i}", first_name="Анна", last_name="Иванова") for i in range(2)]
    ids = [uuid.uuid4() for _ in events]
    encoded = catalog.encode_json(events, ids, {"actor": "u1"})
    for event, event_id, new in zip(events, ids, encoded, strict=True):
        one = catalog.encode(event, event_id=event_id, metadata={"actor": "u1"})
        assert (new.id, new.type) == (one.id, one.type)
        assert isinstance(new.data, jsoncodec.Encoded) and isinstance(new.metadata, jsoncodec.Encoded)
        assert new.data.raw == jsoncodec.dumps(dict(one.data))
        assert {**new.metadata, "occurred_at": ""} == {**one.metadata, "occurred_at": ""}
    assert encoded[0].metadata is encoded[1].metadata  # one decision, one metadata


def test_old_versions_are_upcast_once_at_decode() -> None:
    catalog, renamed = make_catalog()
    v1 = catalog.decode(recorded("test.PersonRenamed", {"id": "p", "name": "Анна Иванова"}, 1))
    v2 = catalog.decode(recorded("test.PersonRenamed", {"id": "p", "first_name": "Анна", "last_name": "Иванова"}, 2))
    v3 = catalog.decode(
        recorded("test.PersonRenamed", {"person_id": "p", "first_name": "Анна", "last_name": "Иванова"}, 3)
    )
    assert v1 == v2 == v3 == renamed(person_id="p", first_name="Анна", last_name="Иванова")


def test_events_without_a_version_are_version_one() -> None:
    catalog, _ = make_catalog()
    event = catalog.decode(recorded("test.PersonRenamed", {"id": "p", "name": "A B"}, None))
    assert event.model_dump() == {"person_id": "p", "first_name": "A", "last_name": "B"}


def test_unknown_types_and_missing_upcasters_are_reported() -> None:
    catalog, _ = make_catalog()
    with pytest.raises(UnknownEventType):
        catalog.decode(recorded("test.Nope", {}, 1))
    bare = EventCatalog()

    @bare.register("test.Thing", version=2)
    class Thing(DomainEvent):
        x: int

    with pytest.raises(UnknownEventType, match="no upcaster"):
        bare.decode(recorded("test.Thing", {"x": 1}, 1))


def test_a_name_cannot_be_registered_twice() -> None:
    catalog, _ = make_catalog()
    with pytest.raises(ValueError, match="twice"):

        @catalog.register("test.PersonRenamed")
        class Again(DomainEvent):
            pass


def test_deterministic_ids_depend_on_key_and_index_only() -> None:
    assert deterministic_event_id("k", 0) == deterministic_event_id("k", 0)
    assert deterministic_event_id("k", 0) != deterministic_event_id("k", 1)
    assert deterministic_event_id("k", 0) != deterministic_event_id("j", 0)


def test_a_retried_command_finds_where_its_first_run_ended() -> None:
    def stored(i: int, key: str | None, index: int = 0) -> RecordedEvent:
        event_id = deterministic_event_id(f"s-1:{key}", index) if key else uuid.uuid4()
        metadata = {"idempotency_key": key} if key else {}
        return RecordedEvent(event_id, "s-1", "t", {}, metadata, i, i + 1, datetime.now(UTC))

    events = [stored(0, None), stored(1, "k", 0), stored(2, "k", 1), stored(3, "other", 0), stored(4, None)]
    assert end_of_earlier_command(events, "s-1", "k") == 2
    assert end_of_earlier_command(events, "s-1", "other") == 3
    assert end_of_earlier_command(events, "s-1", "never") is None
    assert end_of_earlier_command(events, "s-2", "k") is None  # the key belongs to another stream


def test_new_ids_are_time_ordered_version_7_and_unique() -> None:
    """New records' and events' ids sort by when they were made (the event store's indexes grow at
    one end), carry that time in their first 48 bits and stay unique within a millisecond."""
    before = time.time_ns() // 1_000_000
    first = [new_uuid() for _ in range(5000)]
    time.sleep(0.003)
    later = new_uuid()
    after = time.time_ns() // 1_000_000
    assert len({*first, later}) == 5001
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in [*first, later])
    assert all(before <= i.int >> 80 <= after for i in [*first, later])
    assert later > max(first) and str(later) > max(str(i) for i in first)
    catalog, renamed = make_catalog()
    encoded = catalog.encode(renamed(person_id="p-1", first_name="A", last_name="B"))
    assert encoded.id.version == 7 and encoded.id.int >> 80 >= later.int >> 80
