"""The event documents: generated from the contracts, valid for what the relay really sends,
deterministic, checked for drift, and the committed copy in docs/events up to date."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs  # installed with schemathesis (dev group): a real draft 2020-12 validator
import pytest

from crm_contacts.application.publishing import translate
from crm_contacts.domain.counterparty import stream_of
from crm_shared import asyncapi, contracts
from crm_shared.bus import Message
from crm_shared.bus.trust import Keys
from crm_shared.contracts import contacts, erp
from crm_shared.events import SCHEMA_VERSION
from crm_shared.eventstore import NO_STREAM, NewEvent
from crm_shared.eventstore.sqlite import SqliteEventStore

ROOT = Path(__file__).resolve().parents[3]
GOLDEN = ROOT / "services" / "contacts" / "tests" / "golden"
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def record_of(message: Message) -> dict[str, Any]:
    """A Kafka record as the schemas describe it."""
    return {
        "topic": message.topic,
        "key": message.key,
        "headers": dict(message.headers),
        "value": json.loads(message.value),
    }


def validator(event_type: str) -> jsonschema_rs.Draft202012Validator:
    schema = json.loads(asyncapi.generate()[asyncapi.schema_path(event_type)])
    return jsonschema_rs.Draft202012Validator(schema, validate_formats=True)


def resolve(files: dict[str, str], base: str, ref: str) -> Any:
    """The target of ``ref`` written in file ``base``: ``#/pointer`` or ``other.json#/pointer``."""
    path, _, pointer = ref.partition("#")
    target: Any = json.loads(files[path or base])
    for token in filter(None, pointer.split("/")):
        target = target[token.replace("~1", "/").replace("~0", "~")]
    return target


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def keywords(schema: Any) -> Iterator[str]:
    """Every keyword used in ``schema`` (not the names of its properties)."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            yield key
            if key in ("properties", "$defs", "patternProperties") and isinstance(value, dict):
                for sub in value.values():
                    yield from keywords(sub)
            else:
                yield from keywords(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from keywords(item)


async def envelopes_of_golden_counterparties(tmp_path: Path) -> list[Message]:
    """Every stored counterparty event of the golden files (every event type has one there), put
    in a real event store and turned into Kafka messages by the contacts relay's translation, signed."""
    store = await SqliteEventStore.open(tmp_path / "events.db")
    try:
        for file in sorted(GOLDEN.glob("counterparty_*.json")):
            stored = json.loads(file.read_text(encoding="utf-8"))
            events = [
                NewEvent(
                    uuid.uuid4(),
                    s["type"],
                    s["data"],
                    {
                        SCHEMA_VERSION: s["schema_version"],
                        "occurred_at": "2026-11-27T10:00:00+00:00",
                        "traceparent": TRACEPARENT,
                    },
                )
                for s in stored
            ]
            await store.append(stream_of(stored[0]["data"]["counterparty_id"]), events, NO_STREAM)
        keys = Keys(tmp_path / "keys")  # signed as the bus signs them on the way out
        return [keys.sign(envelope.to_message()) for e in await store.read_all(after=0) for envelope in translate(e)]
    finally:
        await store.close()


def test_every_public_event_type_has_a_schema_a_message_and_a_send_operation() -> None:
    files = asyncapi.generate()
    document = json.loads(files[asyncapi.ASYNCAPI_FILE])
    assert contacts.EVENT_TYPES, "no public events found"
    for event_type, topic in contacts.TOPIC_OF.items():
        schema = json.loads(files[asyncapi.schema_path(event_type)])
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["properties"]["headers"]["properties"]["ce_type"]["const"] == event_type
        assert schema["properties"]["topic"]["const"] == topic
        assert jsonschema_rs.meta.is_valid(schema), event_type
        channel = document["channels"][topic]
        assert channel["address"] == topic
        assert event_type in channel["messages"]
        send = document["operations"][f"send.{topic}"]
        assert send["action"] == "send"
        assert {"$ref": f"#/channels/{topic}/messages/{event_type}"} in send["messages"]
        message = document["components"]["messages"][event_type]
        assert message["payload"] == {"$ref": f"schemas/{event_type}.json#/properties/value"}
    every_type = {e.event_type for e in asyncapi.public_events()}
    assert every_type >= set(contacts.EVENT_TYPES)
    received = {m.name for m in asyncapi.received_messages()}
    assert set(document["components"]["messages"]) == {*every_type, *received, asyncapi.DEAD_LETTER_MESSAGE}
    for topic in contacts.TOPICS:
        assert document["channels"][f"{topic}.dlt"]["address"] == f"{topic}.dlt"
    assert set(files) == {asyncapi.ASYNCAPI_FILE, *map(asyncapi.schema_path, every_type | received)}


def test_the_erps_topic_is_a_receive_operation_with_a_schema_that_checks_what_the_crm_checks() -> None:
    files = asyncapi.generate()
    document = json.loads(files[asyncapi.ASYNCAPI_FILE])
    topic, name = erp.TRADE_FACTS_TOPIC, "erp.TradeFact"
    assert [m.name for m in asyncapi.received_messages() if m.topic == topic] == [name]
    operation = document["operations"][f"receive.{topic}"]
    assert operation["action"] == "receive"
    assert operation["messages"] == [{"$ref": f"#/channels/{topic}/messages/{name}"}]
    assert f"send.{topic}" not in document["operations"]
    assert document["operations"][f"send.{topic}.dlt"]["action"] == "send"
    assert document["channels"][topic]["bindings"]["kafka"]["topicConfiguration"]["retention.ms"] == -1
    schema = json.loads(files[asyncapi.schema_path(name)])
    assert jsonschema_rs.meta.is_valid(schema)
    check = jsonschema_rs.Draft202012Validator(schema, validate_formats=True)
    fact = {"id": "S-1", "date": "2026-01-05", "customer": "C1", "quantity": "2.5", "revenue": "1200.50"}
    assert check.is_valid({"topic": topic, "key": "S-1", "value": fact})
    assert check.is_valid({"topic": topic, "key": "S-1", "headers": {"x": "y"}, "value": {**fact, "kind": "return"}})
    for wrong in (
        {**fact, "revenue": 1200.5},
        {**fact, "revenue": "1.234"},
        {**fact, "kind": "refund"},
        {**fact, "x": 1},
    ):
        assert not check.is_valid({"topic": topic, "key": "S-1", "value": wrong}), wrong
    assert not check.is_valid({"topic": topic, "key": "", "value": fact})


def test_every_reference_resolves_and_payloads_use_keywords_asyncapi_tools_read() -> None:
    files = asyncapi.generate()
    document = json.loads(files[asyncapi.ASYNCAPI_FILE])
    for ref in refs(document):
        target = resolve(files, asyncapi.ASYNCAPI_FILE, ref)
        assert isinstance(target, dict), ref
        if "schemas/" in ref:
            # AsyncAPI's default Schema Object is a draft-07 superset: keep to what both drafts share.
            used = set(keywords(target))
            assert not used & {"prefixItems", "$dynamicRef", "unevaluatedProperties", "dependentRequired"}, ref
            for inner in refs(target):
                assert isinstance(resolve(files, ref.partition("#")[0], inner), dict), inner


async def test_schemas_validate_what_the_relay_really_sends(tmp_path: Path) -> None:
    messages = await envelopes_of_golden_counterparties(tmp_path)
    assert {m.headers["ce_type"] for m in messages} >= {
        "crm.contacts.CounterpartyRegistered",
        "crm.contacts.CounterpartyRenamed",
    }
    for message in messages:
        record = record_of(message)
        errors = [e.message for e in validator(message.headers["ce_type"]).iter_errors(record)]
        assert errors == [], (message.headers["ce_type"], errors)
        assert record["key"] == record["headers"]["ce_subject"]
        assert record["headers"]["traceparent"] == TRACEPARENT

    registered = next(m for m in messages if m.headers["ce_type"] == "crm.contacts.CounterpartyRegistered")
    check = validator("crm.contacts.CounterpartyRegistered")
    record = record_of(registered)
    assert not check.is_valid({**record, "value": {**record["value"], "name": 42}})
    assert not check.is_valid({**record, "headers": {**record["headers"], "ce_type": "crm.contacts.Other"}})
    assert not check.is_valid({**record, "headers": {**record["headers"], "ce_time": "yesterday"}})
    missing_id = {k: v for k, v in record["headers"].items() if k != "ce_id"}
    assert not check.is_valid({**record, "headers": missing_id})
    # A schema lists exactly what an event carries: a field it does not name fails (a leak shows),
    # while headers stay open (brokers and tracing add their own).
    assert not check.is_valid({**record, "value": {**record["value"], "added_later": 1}})
    assert check.is_valid({**record, "headers": {**record["headers"], "x": "y"}})


def test_output_is_deterministic_across_processes(tmp_path: Path) -> None:
    files = asyncapi.generate()
    assert files == asyncapi.generate()
    for name, text in files.items():
        assert text.endswith("}\n"), name
        assert text == json.dumps(json.loads(text), sort_keys=True, indent=2, ensure_ascii=False) + "\n", name
    out = tmp_path / "events"
    subprocess.run(
        [sys.executable, "-m", "crm_shared.asyncapi", "write", str(out)],
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        capture_output=True,
    )
    written = {str(p.relative_to(out)): p.read_text(encoding="utf-8") for p in out.rglob("*.json")}
    assert written == files


def test_check_names_changed_missing_and_stale_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "events"
    assert asyncapi.check(out) == [f"missing: {name}" for name in asyncapi.generate()]
    asyncapi.write(out)
    assert asyncapi.check(out) == []
    assert asyncapi.main(["check", str(out)]) == 0

    changed = out / "schemas" / "crm.contacts.CounterpartyRenamed.json"
    changed.write_text(changed.read_text(encoding="utf-8").replace('"name"', '"title_name"'), encoding="utf-8")
    (out / "schemas" / "crm.contacts.CounterpartyRegistered.json").unlink()
    (out / "schemas" / "crm.contacts.Gone.json").write_text("{}\n", encoding="utf-8")
    capsys.readouterr()
    assert asyncapi.main(["check", str(out)]) == 1
    report = capsys.readouterr().err
    assert "changed: schemas/crm.contacts.CounterpartyRenamed.json" in report
    diff = [" ".join(line.split()) for line in report.splitlines()]
    assert '- "title_name": {' in diff and '+ "name": {' in diff  # the start of the diff is shown
    assert "missing: schemas/crm.contacts.CounterpartyRegistered.json" in report
    assert "stale: schemas/crm.contacts.Gone.json" in report
    assert "make events" in report

    asyncapi.write(out)
    assert asyncapi.check(out) == []
    assert not (out / "schemas" / "crm.contacts.Gone.json").exists()


def test_a_new_context_package_is_discovered_without_being_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "zz_test_context"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from crm_shared.integration import IntegrationEvent\n"
        "SOURCE = 'crm/zz'\n"
        "class ThingHappened(IntegrationEvent):\n"
        "    '''A thing happened.'''\n"
        "    thing_id: str\n"
        "TOPICS = {'crm.zz.thing.v1': {'crm.zz.ThingHappened': ThingHappened}}\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(contracts, "__path__", [*contracts.__path__, str(tmp_path)])
    monkeypatch.delitem(sys.modules, "crm_shared.contracts.zz_test_context", raising=False)
    try:
        events = asyncapi.public_events()
        assert events[-1].event_type == "crm.zz.ThingHappened"
        assert (events[-1].context, events[-1].source, events[-1].topic) == (
            "zz_test_context",
            "crm/zz",
            "crm.zz.thing.v1",
        )
        document = json.loads(asyncapi.generate()[asyncapi.ASYNCAPI_FILE])
        assert "crm.zz.thing.v1" in document["channels"]
        assert "crm.zz.thing.v1.dlt" in document["channels"]
    finally:
        sys.modules.pop("crm_shared.contracts.zz_test_context", None)


def test_dead_letter_headers_are_the_ones_the_kafka_adapter_writes() -> None:
    from crm_shared.bus import kafka

    document = json.loads(asyncapi.generate()[asyncapi.ASYNCAPI_FILE])
    headers = document["components"]["messages"][asyncapi.DEAD_LETTER_MESSAGE]["headers"]["properties"]
    assert {kafka.HEADER_DLT_PARTITION, kafka.HEADER_DLT_OFFSET} <= set(headers)


def test_the_committed_documents_match_the_contracts() -> None:
    """Fails whenever a contract changed without ``make events``: regenerate and commit docs/events."""
    problems = asyncapi.check(ROOT / "docs" / "events")
    assert problems == [], "docs/events is out of date; run `make events`:\n" + "\n".join(problems)
