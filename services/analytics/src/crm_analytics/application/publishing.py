"""Which domain events become public, and how: the translation the relay uses (``crm.analytics.*``),
and the private one this service's own views follow.

Public (``crm_shared.contracts.analytics``):

- a confirmed run → ``crm.analytics.AbcRunConfirmed`` on ``crm.analytics.abc-run.v1`` (key: the run);
- each row of a confirmed run whose class is not the same as in the previous run (``up``, ``down``,
  ``new``) → ``crm.analytics.CustomerClassChanged`` on ``crm.analytics.customer-class.v1`` (key: the
  customer code), one message per customer with a ``ce_id`` of its own;
- an override → ``CustomerClassChanged`` with the class now in force (``overridden``).

- a stage run → ``crm.analytics.StageRunRecorded`` on ``crm.analytics.customer-stage.v1`` (key: the
  run), and each of its rows whose stage or XYZ class differs from the previous run's (or is new) →
  ``crm.analytics.CustomerStageChanged`` on the same topic (key: the customer code).

Drafts are not published; the reason of an override is free text and stays out of the topic.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from crm_analytics.domain import abc_run as run
from crm_analytics.domain import stage_run
from crm_analytics.projections import runs as views
from crm_shared.contracts import analytics as public
from crm_shared.contracts.analytics import abc_run as run_contract
from crm_shared.contracts.analytics import customer_class, customer_stage
from crm_shared.eventstore import RecordedEvent
from crm_shared.integration import Envelope

STREAM_PREFIX = "abc-run-"
STAGE_STREAM_PREFIX = "stage-run-"
_CLASS_CHANGED = "crm.analytics.CustomerClassChanged"
_RUN_CONFIRMED = "crm.analytics.AbcRunConfirmed"


def _one_of(envelope: Envelope, recorded: RecordedEvent, part: str) -> Envelope:
    """One of several envelopes made from one stored event: a ``ce_id`` of its own, stable."""
    return replace(envelope, id=str(uuid.uuid5(recorded.id, part)))


def _class_changed(recorded: RecordedEvent, data: dict[str, Any]) -> Envelope:
    checked = customer_class.CustomerClassChanged.model_validate(data).model_dump(mode="json")
    envelope = Envelope.of(
        recorded,
        type=_CLASS_CHANGED,
        source=public.SOURCE,
        subject=str(data["customer"]),
        topic=public.CUSTOMER_CLASS_TOPIC,
        data=checked,
    )
    return _one_of(envelope, recorded, f"customer:{data['customer']}")


def _public(recorded: RecordedEvent, type: str, subject: str, data: dict[str, Any]) -> Envelope:
    """A public event of ``customer-stage.v1``, checked against its contract."""
    model = customer_stage.EVENT_TYPES[type]
    checked = model.model_validate(data).model_dump(mode="json")
    return Envelope.of(
        recorded, type=type, source=public.SOURCE, subject=subject, topic=public.CUSTOMER_STAGE_TOPIC, data=checked
    )


def _translate_stages(recorded: RecordedEvent) -> list[Envelope]:
    event = stage_run.catalog.decode(recorded)
    if isinstance(event, stage_run.StageRunRecorded):
        return [_public(recorded, "crm.analytics.StageRunRecorded", event.run_id, event.model_dump(mode="json"))]
    if isinstance(event, stage_run.StageRunRowsRecorded):
        placed = {
            "run_id": event.run_id,
            "scheme": event.scheme,
            "as_of": event.as_of,
            "recorded_at": event.recorded_at,
        }
        return [
            _one_of(
                _public(
                    recorded,
                    "crm.analytics.CustomerStageChanged",
                    row.customer,
                    {**placed, **row.model_dump(mode="json")},
                ),
                recorded,
                f"customer:{row.customer}",
            )
            for row in event.rows
            if stage_run.changed(row.stage, row.xyz_class, row.previous_stage, row.previous_class)
        ]
    return []


def translate(recorded: RecordedEvent) -> list[Envelope]:
    """The public events of one stored event (none for drafts, or for other services' streams)."""
    if recorded.stream.startswith(STAGE_STREAM_PREFIX):
        return _translate_stages(recorded)
    if not recorded.stream.startswith(STREAM_PREFIX):
        return []
    event = run.catalog.decode(recorded)
    if isinstance(event, run.AbcRunConfirmed):
        data = run_contract.AbcRunConfirmed.model_validate(event.model_dump(mode="json")).model_dump(mode="json")
        return [
            Envelope.of(
                recorded,
                type=_RUN_CONFIRMED,
                source=public.SOURCE,
                subject=event.run_id,
                topic=public.ABC_RUN_TOPIC,
                data=data,
            )
        ]
    if isinstance(event, run.AbcRunRowsRecorded):
        placed = {
            "run_id": event.run_id,
            "scheme": event.scheme,
            "period_from": event.period_from.isoformat(),
            "period_to": event.period_to.isoformat(),
            "confirmed_at": event.confirmed_at.isoformat(),
        }
        return [
            _class_changed(
                recorded,
                {
                    **placed,
                    "customer": row.customer,
                    "counterparty_id": row.counterparty_id,
                    "abc_class": row.abc_class,
                    "previous_class": row.previous_class,
                    "marker": row.marker,
                    "computed_class": row.abc_class,
                    "overridden": False,
                },
            )
            for row in event.rows
            if row.marker != "same"
        ]
    if isinstance(event, run.AbcClassOverridden):
        data = event.model_dump(mode="json")
        return [_class_changed(recorded, {**data, "overridden": True})]
    return []


def _private(recorded: RecordedEvent, type: str, topic: str, subject: str, data: dict[str, Any]) -> Envelope:
    return Envelope.of(recorded, type=type, source=public.SOURCE, subject=subject, topic=topic, data=data)


def stored(recorded: RecordedEvent) -> list[Envelope]:
    """What this service's own views take from its log: the run events, and one envelope per row of a
    confirmed ABC run or a stage run (never published)."""
    if recorded.stream.startswith(STAGE_STREAM_PREFIX):
        return _stored_stages(recorded)
    if not recorded.stream.startswith(STREAM_PREFIX):
        return []
    event = run.catalog.decode(recorded)
    data = event.model_dump(mode="json")
    if isinstance(event, run.AbcRunCreated):
        return [_private(recorded, views.CREATED, views.RUNS_TOPIC, event.run_id, data)]
    if isinstance(event, run.AbcRunConfirmed):
        return [_private(recorded, views.CONFIRMED, views.RUNS_TOPIC, event.run_id, data)]
    if isinstance(event, run.AbcRunRowsRecorded):
        placed = {k: v for k, v in data.items() if k != "rows"}
        return [
            _one_of(_private(recorded, views.ROW, views.ROWS_TOPIC, event.run_id, {**placed, **row}), recorded, str(i))
            for i, row in enumerate(data["rows"])
        ]
    if isinstance(event, run.AbcClassOverridden):
        return [_private(recorded, views.OVERRIDDEN, views.ROWS_TOPIC, event.run_id, data)]
    return []


def _stored_stages(recorded: RecordedEvent) -> list[Envelope]:
    event = stage_run.catalog.decode(recorded)
    data = event.model_dump(mode="json")
    if isinstance(event, stage_run.StageRunRecorded):
        return [_private(recorded, views.STAGE_RECORDED, views.STAGE_RUNS_TOPIC, event.run_id, data)]
    if isinstance(event, stage_run.StageRunRowsRecorded):
        placed = {k: v for k, v in data.items() if k != "rows"}
        return [
            _one_of(
                _private(recorded, views.STAGE_ROW, views.STAGE_ROWS_TOPIC, event.run_id, {**placed, **row}),
                recorded,
                str(i),
            )
            for i, row in enumerate(data["rows"])
        ]
    return []
