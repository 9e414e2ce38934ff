"""The stage run decider (given/when/then) and its golden events: every stored version decodes, folds
and translates into its public events — the run, and only the customers whose stage or class changed."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from crm_analytics.application import publishing
from crm_analytics.domain import stage_run as sr
from crm_analytics.domain.xyz import XyzParameters
from crm_shared.errors import DomainError
from crm_shared.eventstore import RecordedEvent
from crm_shared.testing import DeciderSpec

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
ASKED = XyzParameters(to=date(2026, 3, 31), periods=3)
AT = datetime(2026, 4, 1, 8, tzinfo=UTC)


def _stored(file: Path) -> list[dict[str, Any]]:
    stored: list[dict[str, Any]] = json.loads(file.read_text(encoding="utf-8"))
    return stored


def row(
    customer: str, stage: str, xyz_class: str | None = None, previous: tuple[Any, Any] = (None, None)
) -> sr.StageRow:
    return sr.StageRow.model_validate(
        {
            "customer": customer,
            "stage": stage,
            "xyz_class": xyz_class,
            "previous_stage": previous[0],
            "previous_class": previous[1],
        }
    )


def test_golden_events_decode_fold_and_translate() -> None:
    files = sorted(GOLDEN.glob("stage_run_events_v*.json"))
    assert files
    seen = set()
    for file in files:
        state: sr.State = None
        published = []
        for position, stored in enumerate(_stored(file), start=1):
            event = sr.catalog.decode_raw(stored["type"], stored["data"], stored["schema_version"])
            seen.add(sr.catalog.name_of(event))
            state = sr.evolve(state, event)
            recorded = RecordedEvent(
                id=uuid.UUID(int=position),
                stream=sr.stream_of(stored["data"]["run_id"]),
                stream_version=position,
                position=position,
                type=stored["type"],
                data=stored["data"],
                metadata={"schema_version": stored["schema_version"]},
                recorded_at=AT,
            )
            published += publishing.translate(recorded)
        assert state is not None and state.customers == len(state.standings) == 4
        assert (state.scheme, state.asked.to, state.changed) == ("month:3:revenue:10/25:2:EUR", date(2026, 3, 31), 2)
        assert [(e.type, e.subject) for e in published] == [
            ("crm.analytics.StageRunRecorded", state.id),
            ("crm.analytics.CustomerStageChanged", "K-0002"),  # regular Z → one-time
            ("crm.analytics.CustomerStageChanged", "K-0003"),  # new
        ]
        changed = published[1].data
        assert (changed["stage"], changed["previous_stage"], changed["previous_class"]) == ("one-time", "regular", "Z")
    assert seen == set(sr.catalog.names()), "every event type needs a golden sample"


def test_a_run_is_recorded_once_and_its_rows_are_checked() -> None:
    spec = DeciderSpec(sr.decide, sr.evolve, None)
    run_id = sr.run_id_of(ASKED)
    rows = (row("A", "regular", "X", ("regular", "X")), row("B", "lost"))
    record = sr.RecordStageRun(run_id, ASKED, rows, None, "ana", AT)
    events = sr.decide(record, None)
    assert isinstance(events[0], sr.StageRunRecorded) and events[0].changed == 1
    spec.given(*events).when(record).then()  # a repeat records nothing
    assert sr.run_id_of(XyzParameters(to=date(2026, 3, 31), periods=3, x=Decimal("10.00"))) == run_id
    assert sr.run_id_of(XyzParameters(to=date(2026, 4, 30), periods=3)) != run_id
    for bad in (
        sr.RecordStageRun(str(uuid.uuid4()), ASKED, rows, None, "ana", AT),
        sr.RecordStageRun(run_id, ASKED, tuple(reversed(rows)), None, "ana", AT),
        sr.RecordStageRun(run_id, ASKED, (row("A", "one-time", "X"),), None, "ana", AT),
        sr.RecordStageRun(run_id, ASKED, (row("A", "regular"),), None, "ana", AT),
    ):
        with pytest.raises(DomainError):
            sr.decide(bad, None)
