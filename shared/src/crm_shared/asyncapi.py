"""The public event contracts as documents: a JSON Schema (draft 2020-12) per event type and one
AsyncAPI 3.0 document for the whole CRM, generated from the pydantic contracts in
:mod:`crm_shared.contracts` (every package there exposing ``TOPICS`` and ``SOURCE``: what the CRM
publishes; or ``RECEIVED``: what other systems write for the CRM to read, e.g. the ERP's trade facts,
orders and payments).

    uv run python -m crm_shared.asyncapi write docs/events   # (re)generate the files
    uv run python -m crm_shared.asyncapi check docs/events   # exit 1, naming the files, when they drifted

The output is deterministic (sorted keys, two-space indent, a trailing newline), so a diff of the
committed files shows exactly what a contract change did to the public interface.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import inspect
import json
import pkgutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from crm_shared import contracts
from crm_shared.bus.port import (
    HEADER_DLT_GROUP,
    HEADER_DLT_REASON,
    HEADER_DLT_TOPIC,
    dead_letter_topic,
    topic_policy,
)
from crm_shared.bus.trust import SIGNATURE_HEADER
from crm_shared.integration import IntegrationEvent

ASYNCAPI_FILE = "asyncapi.json"
SCHEMAS_DIR = "schemas"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
KAFKA_BINDING_VERSION = "0.5.0"
DEAD_LETTER_MESSAGE = "DeadLetter"

# Written by the Kafka adapter only (crm_shared.bus.kafka); named here so this module stays free of aiokafka.
_HEADER_DLT_PARTITION = "x-dead-letter-partition"
_HEADER_DLT_OFFSET = "x-dead-letter-offset"


@dataclass(frozen=True, slots=True)
class PublicEvent:
    """One public event type: its CloudEvents type, topic, source, context and contract model."""

    event_type: str
    topic: str
    source: str
    context: str
    model: type[IntegrationEvent]


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    """A message another system writes on a topic it owns, for the CRM to read (``receive``)."""

    name: str
    """The message's name in the document and its schema's file name (``erp.TradeFact``)."""
    topic: str
    context: str
    """The contracts package, named after the writing system (``erp``)."""
    model: type[BaseModel]


def _packages() -> list[tuple[str, Any]]:
    """The context packages under :mod:`crm_shared.contracts`, by name."""
    return [
        (info.name, importlib.import_module(f"{contracts.__name__}.{info.name}"))
        for info in sorted(pkgutil.iter_modules(contracts.__path__), key=lambda i: i.name)
        if info.ispkg
    ]


def received_messages() -> list[ReceivedMessage]:
    """Every message of every package's ``RECEIVED`` (topic -> {name -> model}), sorted by package,
    topic and name."""
    found: list[ReceivedMessage] = []
    for name, package in _packages():
        received = getattr(package, "RECEIVED", None)
        if received is None:
            continue
        if not isinstance(received, Mapping):
            raise TypeError(f"{package.__name__}.RECEIVED must map topic -> {{message name -> model}}")
        for topic in sorted(received):
            for message in sorted(received[topic]):
                found.append(ReceivedMessage(message, topic, name, received[topic][message]))
    return found


def public_events() -> list[PublicEvent]:
    """Every public event type of every context package under :mod:`crm_shared.contracts`,
    sorted by context, topic and type."""
    found: list[PublicEvent] = []
    seen: dict[str, str] = {}
    for context, package in _packages():
        if not hasattr(package, "TOPICS") and hasattr(package, "RECEIVED"):
            continue  # a package of messages the CRM only reads
        topics = getattr(package, "TOPICS", None)
        source = getattr(package, "SOURCE", None)
        if not isinstance(topics, Mapping) or not isinstance(source, str):
            raise TypeError(f"{package.__name__} must expose TOPICS (topic -> {{type -> model}}) and SOURCE")
        for topic in sorted(topics):
            for event_type in sorted(topics[topic]):
                if event_type in seen:
                    raise ValueError(f"event type {event_type} is published on both {seen[event_type]} and {topic}")
                seen[event_type] = topic
                found.append(PublicEvent(event_type, topic, source, context, topics[topic][event_type]))
    return found


def _version() -> str:
    return metadata.version("crm-shared")


def _pointer(token: str) -> str:
    """``token`` escaped for a JSON Pointer (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")


def _doc(event: PublicEvent) -> str:
    return inspect.cleandoc(event.model.__doc__ or event.event_type)


def schema_path(event_type: str) -> str:
    """Where the schema of ``event_type`` lives, relative to the AsyncAPI document."""
    return f"{SCHEMAS_DIR}/{event_type}.json"


def _headers_schema(event: PublicEvent) -> dict[str, Any]:
    digits = {"type": "string", "pattern": "^[0-9]+$"}
    return {
        "type": "object",
        "description": (
            "Kafka record headers (UTF-8 strings): the CloudEvents 1.0 attributes in binary content mode, "
            "W3C trace context, and where the event sits in its source's log. Ignore headers you do not know."
        ),
        "required": [
            "ce_specversion",
            "ce_id",
            "ce_type",
            "ce_source",
            "ce_subject",
            "ce_time",
            "content-type",
            "crm_stream",
            "crm_stream_version",
            "crm_position",
            SIGNATURE_HEADER,
        ],
        "properties": {
            "ce_specversion": {"const": "1.0", "description": "CloudEvents `specversion`."},
            "ce_id": {
                "type": "string",
                "minLength": 1,
                "description": "CloudEvents `id`: unique per event and the same on every redelivery "
                "(the key for idempotent consumers).",
            },
            "ce_type": {"const": event.event_type, "description": "CloudEvents `type`: the event type."},
            "ce_source": {"const": event.source, "description": "CloudEvents `source`: the publishing context."},
            "ce_subject": {
                "type": "string",
                "minLength": 1,
                "description": "CloudEvents `subject`: the id of the record the event is about; also the record key.",
            },
            "ce_time": {
                "type": "string",
                "format": "date-time",
                "description": "CloudEvents `time`: when the change happened (RFC 3339).",
            },
            "content-type": {
                "const": "application/json",
                "description": "CloudEvents `datacontenttype` (the Kafka binding's header for it): the value is JSON.",
            },
            "traceparent": {
                "type": "string",
                "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
                "description": "W3C Trace Context of the request that made the change, when it was traced "
                "(a plain header, not a CloudEvents attribute).",
            },
            "crm_stream": {
                "type": "string",
                "minLength": 1,
                "description": "The event stream (one per record) in the source's event store.",
            },
            "crm_stream_version": {
                **digits,
                "description": "The event's version within `crm_stream`, one higher per event: "
                "apply an event only when it is newer than what you hold for that record.",
            },
            "crm_position": {**digits, "description": "The event's position in the source's global log."},
            SIGNATURE_HEADER: {
                "type": "string",
                "pattern": "^[A-Za-z0-9_-]{86}$",
                "description": "Ed25519 signature (base64url, no padding) by the topic's owner over the topic, key, "
                "ce_id, ce_type, ce_source, ce_subject and the SHA-256 of the value; see 'Trust' above.",
            },
        },
        "additionalProperties": {"type": "string"},
    }


def event_schema(event: PublicEvent) -> dict[str, Any]:
    """The JSON Schema of one published Kafka record of ``event``: ``{topic, key, headers, value}``."""
    value = _closed(event.model.model_json_schema(mode="serialization"))
    defs = value.pop("$defs", None)
    schema: dict[str, Any] = {
        "$schema": JSON_SCHEMA_DIALECT,
        "title": event.event_type,
        "description": (
            f"{_doc(event)}\n\n"
            f"One Kafka record on `{event.topic}` in CloudEvents 1.0 binary content mode: the CloudEvents "
            "attributes are `ce_*` headers, `key` is the CloudEvents `subject`, `value` is the event data (JSON)."
        ),
        "type": "object",
        "required": ["topic", "key", "headers", "value"],
        "properties": {
            "topic": {"const": event.topic, "description": "The Kafka topic."},
            "key": {
                "type": "string",
                "minLength": 1,
                "description": "The record key, equal to `ce_subject`: every event of one record has the same key, "
                "so it lands on one partition, in the order the changes were committed.",
            },
            "headers": _headers_schema(event),
            "value": value,
        },
    }
    if defs:
        schema["$defs"] = defs
    return schema


def received_schema(message: ReceivedMessage) -> dict[str, Any]:
    """The JSON Schema of one Kafka record of a received message: ``{topic, key, headers, value}``."""
    value = _closed(message.model.model_json_schema(mode="validation"))
    defs = value.pop("$defs", None)
    doc = inspect.cleandoc(message.model.__doc__ or message.name)
    key: dict[str, Any] = {"type": "string", "minLength": 1, "description": "The record key (see the description)."}
    key_field = getattr(message.model, "KAFKA_KEY", None)
    if isinstance(key_field, str):
        field_schema = {k: v for k, v in value["properties"][key_field].items() if k not in ("title", "description")}
        key = {
            **field_schema,
            "description": f"The record key: the value's `{key_field}`, so every version of one "
            "record lands on one partition, in the order it was written.",
        }
    schema: dict[str, Any] = {
        "$schema": JSON_SCHEMA_DIALECT,
        "title": message.name,
        "description": f"{doc}\n\nOne Kafka record on `{message.topic}`, written by {message.context}, read by "
        "the CRM: `key` as described, `value` the message (JSON). A record that does not match is dead-lettered.",
        "type": "object",
        "required": ["topic", "key", "value"],
        "properties": {
            "topic": {"const": message.topic, "description": "The Kafka topic."},
            "key": key,
            "headers": {
                "type": "object",
                "description": "Kafka record headers (UTF-8 strings): none is required, and the CRM reads none.",
                "additionalProperties": {"type": "string"},
            },
            "value": value,
        },
    }
    if defs:
        schema["$defs"] = defs
    return schema


def _closed(schema: Any) -> Any:
    """``schema`` with every object of named fields closed (``additionalProperties: false``): the
    schema of a topic version lists exactly what its events may carry, so a field that should not be
    there (a leak) fails validation. Maps (``dict`` fields) stay open."""
    if isinstance(schema, dict):
        closed = {k: _closed(v) for k, v in schema.items()}
        if "properties" in closed and "additionalProperties" not in closed:
            closed["additionalProperties"] = False
        return closed
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    return schema


_DESCRIPTION = """\
The public event stream of the CRM: what other systems (ERP, BI, data platforms) may consume.
Generated from the pydantic contracts in `crm_shared.contracts` by `python -m crm_shared.asyncapi`
(`make events`); do not edit by hand. Each `schemas/<event type>.json` describes one Kafka record
of that type as `{topic, key, headers, value}` (JSON Schema draft 2020-12).

## On the wire

One event is one Kafka record in CloudEvents 1.0 *binary content mode*:

- **key**: the CloudEvents `subject`, the id of the record the event is about (e.g. the counterparty id).
- **headers** (UTF-8): `ce_specversion` (`1.0`), `ce_id`, `ce_type`, `ce_source`, `ce_subject`,
  `ce_time` (RFC 3339) and `content-type: application/json` (the CloudEvents `datacontenttype`);
  `traceparent` (W3C Trace Context) when the change came from a traced request; and, not CloudEvents
  attributes, `crm_stream`, `crm_stream_version` and `crm_position`: the event's stream (one per
  record), its version within that stream and its position in the source's global log.
- **value**: the event data, a UTF-8 JSON object (the message payload).

## Delivery guarantees

- **At least once.** The event store is the outbox: a relay reads committed events in log order,
  publishes them (Kafka `acks=all`, idempotent producer) and only then moves its checkpoint. A crash
  or a broker outage in between publishes some events again, always with the same `ce_id`.
- **Ordered per subject.** The record key is the subject, so all events of one record go to one
  partition, in commit order. There is no order between different subjects.

## Consumer rules

- **Be idempotent**: the same `ce_id` may arrive more than once; remember what you applied (or keep
  `crm_stream_version` per subject and skip what is not newer).
- **Ignore what you do not know**: unknown fields, unknown headers and unknown event types on a topic.
  Within a topic version fields are only ever added. Each schema lists exactly the fields its event
  carries now (objects are closed: `additionalProperties: false`), so a field that is not documented
  is a defect to report; a field added later comes with a new schema here before it is sent.
- **A new major version is a new topic**: an incompatible change (a field removed, renamed or retyped,
  a meaning changed) is published on `crm.<context>.<aggregate>.v<N+1>`; a topic never changes
  incompatibly.

## Personal data

Topics are kept forever and copied by consumers beyond the CRM's reach, so a public event carries
nothing that would have to be erased (ADR 12, ADR 15). Contact persons' events carry ids, the owner,
the private flag, links (counterparty and role code), property values, category codes, which kinds
of details changed and the erasure, never a name, birth date, gender, description, contact detail
or position. Interaction events carry ids, kinds, states, times, user ids and codes (`outcome_code`,
`source`), never the free text people write (subject, description, content, third parties, project,
outcome, cancel reason, the title of the basis). Such fields are *withheld*: they keep their place in
their topic version for consumers written before, always with the empty value (`""`, `[]` or
`null`), and each schema allows only that value and says so in the field's description. Read the
texts through the API under the caller's rights. Inside the CRM they are sealed with the person's key,
so after `crm.contacts.PersonErased` nothing of the person is readable there either: drop your copy
of whatever you hold about that person. Events published before 2026-12 may still carry positions
and interaction texts; operators who must remove them recreate the topic and run `crm republish`.

## Dead letters

Each topic `T` has a dead-letter topic `T.dlt`. A CRM consumer sends there, unchanged (same key, value
and headers), a message it cannot decode (at once) or whose handling keeps failing (after its retries),
adding `x-dead-letter-reason`, `x-dead-letter-topic` and `x-dead-letter-group` (on Kafka also
`x-dead-letter-partition` and `x-dead-letter-offset`), and goes on with the next message. A
dead-letter topic holds one copy per consumer group that gave up on a message (the group is in
`x-dead-letter-group`). Each dead letter is also logged (topic, group, key and `ce_id`; never the
payload) and counted in the metric `crm.bus.dead_letters` by topic and group.

## Trust

Only the owner of a topic publishes on it: the context in its name (`crm.contacts.*` is the contacts
service's). Each event carries the owner's Ed25519 signature in header `crm_signature` (base64url).
The signature covers, one per line in this order: the topic, the record key, `ce_id`, `ce_type`,
`ce_source`, `ce_subject` and the hex SHA-256 of the value, UTF-8 encoded. Verify it with the owner's
public key (`<context>.pub`, PEM, in the CRM's signing keys folder, which operators hand out). CRM
consumers take only messages that carry their owner's valid signature. Any other message is
dead-lettered with the reason `untrusted: ...` and changes nothing. A service's own views are built
from its own event store, never from its topics. In a deployment, Kafka ACLs with one principal per
service let only the owner write its topics.

## Received from other systems

Channels with a `receive` operation are topics another system owns and writes, and the CRM reads:
`erp.*` is the ERP's: `erp.trade-facts.v1` (sales and returns, one fact per record; schema
`schemas/erp.TradeFact.json`), `erp.orders.v1` (orders issued to customers, with the amount and the
due date; `schemas/erp.Order.json`) and `erp.payments.v1` (payments received, naming the order they
pay, if any; `schemas/erp.Payment.json`). One record per fact, order or payment, key = its `id`,
amounts as decimal strings. The CRM's signature is not asked of them (header `crm_signature` is
not checked on these topics; ADR 17).
Instead, Kafka ACLs let only the writing system's principal write the topic (and the CRM's analytics
principal read it), and the CRM validates every record against the published schema: a record that
does not match (not JSON, a field missing or wrong, the key not the record's id) changes nothing and
goes to `<topic>.dlt` with the reason naming the field (`x-dead-letter-reason`, never the value), is
logged and counted like every dead letter. Each record counts once: the CRM keeps the latest record it
received under an `id`, so a record sent again changes nothing and a corrected one replaces it.
The CRM creates such a topic (with the retention below) if it does not exist when it starts reading.
With a bus namespace (`CRM_BUS_NAMESPACE`) the topics are `<namespace>.erp.trade-facts.v1` and so on.

## Retention and replay

Event topics are kept forever and never compacted (`retention.ms=-1`, `cleanup.policy=delete`; see
each channel's Kafka binding): a consumer that starts next year reads every event from the beginning
of each topic. Compaction is not used because it would keep only the last event of each record.
Dead-letter topics are kept 90 days. The CRM sets this retention when it creates a topic and on
topics that exist already. An operator can also publish a service's whole history again from its
event store with `crm republish <service>` (for example after a topic was lost). The messages are
the same as the first time, with the same `ce_id`, so a consumer that dedupes takes nothing twice.
"""


def _message(event: PublicEvent) -> dict[str, Any]:
    ref = schema_path(event.event_type)
    doc = _doc(event)
    return {
        "name": event.event_type,
        "title": event.model.__name__,
        "summary": doc.splitlines()[0],
        "description": doc,
        "contentType": "application/json",
        "tags": [{"name": event.context}],
        "headers": {"$ref": f"{ref}#/properties/headers"},
        "payload": {"$ref": f"{ref}#/properties/value"},
        "bindings": {"kafka": {"key": {"$ref": f"{ref}#/properties/key"}, "bindingVersion": KAFKA_BINDING_VERSION}},
    }


def _dead_letter_message() -> dict[str, Any]:
    string = {"type": "string"}
    return {
        "name": DEAD_LETTER_MESSAGE,
        "title": "Dead letter",
        "summary": "A message a consumer could not process, unchanged, with where and why it failed.",
        "headers": {
            "type": "object",
            "required": [HEADER_DLT_REASON, HEADER_DLT_TOPIC, HEADER_DLT_GROUP],
            "properties": {
                HEADER_DLT_REASON: {**string, "description": "Why it failed (at most 2000 characters)."},
                HEADER_DLT_TOPIC: {**string, "description": "The topic the message came from."},
                HEADER_DLT_GROUP: {**string, "description": "The consumer group that gave up on it."},
                _HEADER_DLT_PARTITION: {**string, "description": "Kafka only: its partition in that topic."},
                _HEADER_DLT_OFFSET: {**string, "description": "Kafka only: its offset in that partition."},
            },
            "additionalProperties": {**string, "description": "The original message's headers."},
        },
        "payload": {"description": "The original message's value, unchanged (it may not be valid JSON)."},
    }


def _kafka_channel_binding(topic: str) -> dict[str, Any]:
    """The topic's retention as the Kafka adapter sets it (:func:`~crm_shared.bus.port.topic_policy`)."""
    config = topic_policy(topic).kafka_config()
    return {
        "kafka": {
            "topic": topic,
            "topicConfiguration": {
                "cleanup.policy": [config["cleanup.policy"]],
                "retention.ms": int(config["retention.ms"]),
                "retention.bytes": int(config["retention.bytes"]),
            },
            "bindingVersion": KAFKA_BINDING_VERSION,
        }
    }


def _kept(topic: str) -> str:
    days = topic_policy(topic).retention_days
    return (
        "Kept forever and never compacted: a new consumer reads every event from the beginning."
        if days is None
        else f"Kept {days} days."
    )


def _dead_letter_channel(channels: dict[str, Any], operations: dict[str, Any], topic: str) -> None:
    dlt = dead_letter_topic(topic)
    channels[dlt] = {
        "address": dlt,
        "title": dlt,
        "description": f"Dead letters of `{topic}`: messages a consumer group could not process, one copy "
        f"per consumer group that gave up on it (header `{HEADER_DLT_GROUP}` names the group). {_kept(dlt)}",
        "bindings": _kafka_channel_binding(dlt),
        "messages": {DEAD_LETTER_MESSAGE: {"$ref": f"#/components/messages/{DEAD_LETTER_MESSAGE}"}},
    }
    operations[f"send.{dlt}"] = {
        "action": "send",
        "title": f"Dead-letter {topic}",
        "summary": "A CRM consumer gives up on a message of the topic and moves on.",
        "channel": {"$ref": f"#/channels/{_pointer(dlt)}"},
        "messages": [{"$ref": f"#/channels/{_pointer(dlt)}/messages/{DEAD_LETTER_MESSAGE}"}],
    }


def _received_message(message: ReceivedMessage) -> dict[str, Any]:
    ref = schema_path(message.name)
    doc = inspect.cleandoc(message.model.__doc__ or message.name)
    return {
        "name": message.name,
        "title": message.model.__name__,
        "summary": doc.splitlines()[0],
        "description": doc,
        "contentType": "application/json",
        "tags": [{"name": message.context}],
        "headers": {"$ref": f"{ref}#/properties/headers"},
        "payload": {"$ref": f"{ref}#/properties/value"},
        "bindings": {"kafka": {"key": {"$ref": f"{ref}#/properties/key"}, "bindingVersion": KAFKA_BINDING_VERSION}},
    }


def asyncapi_document(events: Sequence[PublicEvent], received: Sequence[ReceivedMessage] = ()) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of ``events`` and ``received``: a channel per topic and per
    dead-letter topic, the CRM's ``send`` operations on its topics and the dead-letter topics, and its
    ``receive`` operations on the topics other systems write."""
    by_topic: dict[str, list[PublicEvent]] = {}
    for event in events:
        by_topic.setdefault(event.topic, []).append(event)
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic, published in sorted(by_topic.items()):
        first = published[0]
        channels[topic] = {
            "address": topic,
            "title": topic,
            "description": f"Public events of context `{first.context}` (CloudEvents source `{first.source}`), "
            f"keyed by the CloudEvents subject: one record's events stay in order. {_kept(topic)}",
            "bindings": _kafka_channel_binding(topic),
            "messages": {e.event_type: {"$ref": f"#/components/messages/{_pointer(e.event_type)}"} for e in published},
        }
        operations[f"send.{topic}"] = {
            "action": "send",
            "title": f"Publish {topic}",
            "summary": "The CRM's relay publishes each committed change, at least once, in order per subject.",
            "channel": {"$ref": f"#/channels/{_pointer(topic)}"},
            "messages": [
                {"$ref": f"#/channels/{_pointer(topic)}/messages/{_pointer(e.event_type)}"} for e in published
            ],
        }
        _dead_letter_channel(channels, operations, topic)
    by_received: dict[str, list[ReceivedMessage]] = {}
    for message in received:
        by_received.setdefault(message.topic, []).append(message)
    for topic, taken in sorted(by_received.items()):
        channels[topic] = {
            "address": topic,
            "title": topic,
            "description": f"Owned and written by `{taken[0].context}`, read by the CRM (see 'Received from other "
            f"systems' above). {_kept(topic)}",
            "bindings": _kafka_channel_binding(topic),
            "messages": {m.name: {"$ref": f"#/components/messages/{_pointer(m.name)}"} for m in taken},
        }
        operations[f"receive.{topic}"] = {
            "action": "receive",
            "title": f"Read {topic}",
            "summary": "The CRM validates each record against its schema and takes it, at least once; "
            "a record that does not match is dead-lettered with the reason.",
            "channel": {"$ref": f"#/channels/{_pointer(topic)}"},
            "messages": [{"$ref": f"#/channels/{_pointer(topic)}/messages/{_pointer(m.name)}"} for m in taken],
        }
        _dead_letter_channel(channels, operations, topic)
    messages = {e.event_type: _message(e) for e in events}
    messages.update({m.name: _received_message(m) for m in received})
    messages[DEAD_LETTER_MESSAGE] = _dead_letter_message()
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "CRM public events", "version": _version(), "description": _DESCRIPTION},
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def _dump(document: Mapping[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def generate() -> dict[str, str]:
    """Every document, by path relative to the output folder: ``asyncapi.json`` and
    ``schemas/<event type>.json``."""
    events = public_events()
    received = received_messages()
    files = {ASYNCAPI_FILE: _dump(asyncapi_document(events, received))}
    for event in events:
        files[schema_path(event.event_type)] = _dump(event_schema(event))
    for message in received:
        files[schema_path(message.name)] = _dump(received_schema(message))
    return files


def _on_disk(directory: Path) -> dict[str, str]:
    """The files of a generated folder (``asyncapi.json`` and ``schemas/*.json``) that exist."""
    found = {}
    if (directory / ASYNCAPI_FILE).is_file():
        found[ASYNCAPI_FILE] = (directory / ASYNCAPI_FILE).read_text(encoding="utf-8")
    schemas = directory / SCHEMAS_DIR
    if schemas.is_dir():
        for path in sorted(schemas.glob("*.json")):
            found[f"{SCHEMAS_DIR}/{path.name}"] = path.read_text(encoding="utf-8")
    return found


def write(directory: Path) -> list[str]:
    """Write every document into ``directory`` and remove schemas of types that no longer exist;
    returns what changed (``wrote …`` / ``removed …``)."""
    files = generate()
    existing = _on_disk(directory)
    done = []
    for name, text in files.items():
        if existing.get(name) != text:
            path = directory / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            done.append(f"wrote {name}")
    for name in sorted(set(existing) - set(files)):
        (directory / name).unlink()
        done.append(f"removed {name}")
    return done


def check(directory: Path, *, diff_lines: int = 30) -> list[str]:
    """What in ``directory`` differs from freshly generated documents (empty when nothing does):
    one line per missing, changed or stale file, each changed file followed by the start of its diff."""
    files = generate()
    existing = _on_disk(directory)
    problems = []
    for name, text in files.items():
        if name not in existing:
            problems.append(f"missing: {name}")
        elif existing[name] != text:
            problems.append(f"changed: {name}")
            diff = difflib.unified_diff(
                existing[name].splitlines(), text.splitlines(), f"{name} (on disk)", f"{name} (generated)", lineterm=""
            )
            problems.extend(f"    {line}" for line in list(diff)[:diff_lines])
    problems.extend(f"stale: {name} (no such event type any more)" for name in sorted(set(existing) - set(files)))
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: ``write DIR`` or ``check DIR``."""
    parser = argparse.ArgumentParser(
        prog="python -m crm_shared.asyncapi", description="Generate or check the public event documents."
    )
    parser.add_argument("command", choices=["write", "check"])
    parser.add_argument("directory", type=Path)
    args = parser.parse_args(argv)
    directory: Path = args.directory
    if args.command == "write":
        done = write(directory)
        print(f"{directory}: " + (", ".join(done) if done else "up to date"))
        return 0
    problems = check(directory)
    if not problems:
        print(f"{directory}: the event documents match the contracts")
        return 0
    print(f"{directory} does not match the public event contracts in crm_shared.contracts:", file=sys.stderr)
    for line in problems:
        print(f"  {line}", file=sys.stderr)
    print(f"Regenerate with `make events` (python -m crm_shared.asyncapi write {directory}).", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
