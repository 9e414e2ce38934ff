"""The views of classification runs (ABC, and stage runs), built from this service's own event log
(never its topics):

- ``abc_runs``: one document per run (parameters, status, summary, how many overrides), listed
  newest first;
- ``abc_rows``: one document per customer of a confirmed run (``<run id>:<customer>``): value,
  share, cumulative share, the computed class, the class in force, the previous class, the marker and
  the last override — paged by place within a run, filtered by class or marker, and by customer for
  the history of its classes;
- ``stage_runs``, ``stage_rows``: the same for stage runs (relationship stages and XYZ classes), rows
  in customer code order within a run, and by customer for its history.

The service's private translation (``application.runs.publishing.stored``) hands each stored row
over as an envelope of its own, so every document here has one effect per event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from crm_shared.projections import Fact, On, View
from crm_shared.readstore import Document, Index

RUNS = "abc_runs"
ROWS = "abc_rows"
RUNS_TOPIC = "analytics.private.abc-runs"
"""What this service's own views take from its log about runs; never published."""
ROWS_TOPIC = "analytics.private.abc-rows"
"""One envelope per row of a confirmed run; never published."""

CREATED = "analytics.AbcRunCreated"
CONFIRMED = "analytics.AbcRunConfirmed"
ROW = "analytics.AbcRunRow"
OVERRIDDEN = "analytics.AbcClassOverridden"

STAGE_RUNS = "stage_runs"
STAGE_ROWS = "stage_rows"
STAGE_RUNS_TOPIC = "analytics.private.stage-runs"
STAGE_ROWS_TOPIC = "analytics.private.stage-rows"
STAGE_RECORDED = "analytics.StageRunRecorded"
STAGE_ROW = "analytics.StageRunRow"

_FAR = 10**13


def newest_first(created_at: str) -> str:
    """A sort key that lists later runs first (keyset pages sort ascending)."""
    millis = int(datetime.fromisoformat(created_at).timestamp() * 1000)
    return f"{_FAR - millis:014d}"


def order_of(period_to: str, confirmed_at: str) -> str:
    """Runs of a scheme in the order they follow each other (``domain.abc_run.previous_order``)."""
    return f"{period_to}|{confirmed_at}"


def row_id(run_id: str, customer: str) -> str:
    """The id of a customer's row in a run."""
    return f"{run_id}:{customer}"


class Stored(BaseModel):
    """The data of the private envelopes, as the service's translation made it."""

    model_config = ConfigDict(extra="allow", frozen=True)


def _created(before: Document | None, fact: Fact[Any]) -> Document | None:
    data = fact.data
    return {
        "run_id": data["run_id"],
        "scheme": data["scheme"],
        "period_from": data["period_from"],
        "period_to": data["period_to"],
        "measure": data["measure"],
        "shares": data["shares"],
        "currency": data["currency"],
        "schedule": data.get("schedule"),
        "created_by": data["created_by"],
        "created_at": data["created_at"],
        "newest": newest_first(data["created_at"]),
        "status": "draft",
        "order": "",
        "confirmed_by": None,
        "confirmed_at": None,
        "previous_run_id": None,
        "customers": None,
        "total": None,
        "classes": None,
        "overrides": 0,
    }


def _confirmed(before: Document | None, fact: Fact[Any]) -> Document | None:
    if before is None:
        return None
    data = fact.data
    return {
        **before,
        "status": "confirmed",
        "order": order_of(data["period_to"], data["confirmed_at"]),
        "confirmed_by": data["confirmed_by"],
        "confirmed_at": data["confirmed_at"],
        "previous_run_id": data.get("previous_run_id"),
        "customers": data["customers"],
        "total": data["total"],
        "classes": data["classes"],
    }


def _counted(before: Document | None, fact: Fact[Any]) -> Document | None:
    if before is None:
        return None
    return {**before, "overrides": int(before.get("overrides") or 0) + 1}


def _row(before: Document | None, fact: Fact[Any]) -> Document | None:
    data = fact.data
    return {
        "run_id": data["run_id"],
        "scheme": data["scheme"],
        "period_from": data["period_from"],
        "period_to": data["period_to"],
        "confirmed_at": data["confirmed_at"],
        "order": order_of(data["period_to"], data["confirmed_at"]),
        "customer": data["customer"],
        "counterparty_id": data.get("counterparty_id"),
        "place": data["place"],
        "value": data["value"],
        "share": data.get("share"),
        "cumulative_value": data["cumulative_value"],
        "cumulative_share": data.get("cumulative_share"),
        "computed_class": data["abc_class"],
        "abc_class": data["abc_class"],
        "previous_class": data.get("previous_class"),
        "marker": data["marker"],
        "override": None,
    }


def _overridden(before: Document | None, fact: Fact[Any]) -> Document | None:
    if before is None:
        return None
    data = fact.data
    return {
        **before,
        "abc_class": data["abc_class"],
        "marker": data["marker"],
        "override": {
            "abc_class": data["abc_class"],
            "class_before": data["class_before"],
            "reason": data["reason"],
            "by": data["overridden_by"],
            "at": data["overridden_at"],
        },
    }


def _stage_run(before: Document | None, fact: Fact[Any]) -> Document | None:
    data = fact.data
    return {
        **{k: v for k, v in data.items() if k != "rows"},
        "newest": newest_first(data["recorded_at"]),
        "order": order_of(data["as_of"], data["recorded_at"]),
    }


def _stage_row(before: Document | None, fact: Fact[Any]) -> Document | None:
    data = fact.data
    return {**data, "order": order_of(data["as_of"], data["recorded_at"])}


def _run_key(fact: Fact[Any]) -> str:
    return str(fact.data["run_id"])


def _row_key(fact: Fact[Any]) -> str:
    return row_id(str(fact.data["run_id"]), str(fact.data["customer"]))


class RunsView(View):
    """Projection of the service's run events into ``abc_runs``, ``abc_rows``, ``stage_runs`` and
    ``stage_rows``."""

    name = "abc_runs"
    version = 2
    topics: Sequence[str] = (RUNS_TOPIC, ROWS_TOPIC, STAGE_RUNS_TOPIC, STAGE_ROWS_TOPIC)
    collections: Mapping[str, Sequence[Index]] = {
        RUNS: (Index(("newest",)), Index(("scheme", "status", "order"))),
        ROWS: (
            Index(("run_id", "place")),
            Index(("run_id", "abc_class", "place")),
            Index(("run_id", "marker", "place")),
            Index(("run_id", "abc_class", "marker", "place")),
            Index(("customer", "order")),
        ),
        STAGE_RUNS: (Index(("newest",)), Index(("scheme", "order"))),
        STAGE_ROWS: (Index(("run_id", "customer")), Index(("customer", "order"))),
    }
    contracts: Mapping[str, type[BaseModel]] = {
        t: Stored for t in (CREATED, CONFIRMED, ROW, OVERRIDDEN, STAGE_RECORDED, STAGE_ROW)
    }
    handlers: Mapping[str, Sequence[On]] = {
        CREATED: (On(RUNS, _run_key, _created),),
        CONFIRMED: (On(RUNS, _run_key, _confirmed),),
        ROW: (On(ROWS, _row_key, _row),),
        OVERRIDDEN: (On(RUNS, _run_key, _counted), On(ROWS, _row_key, _overridden)),
        STAGE_RECORDED: (On(STAGE_RUNS, _run_key, _stage_run),),
        STAGE_ROW: (On(STAGE_ROWS, _row_key, _stage_row),),
    }
