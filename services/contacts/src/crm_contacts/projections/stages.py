"""The local copy of each counterparty's relationship stage and XYZ class (ADR 11), fed from analytics'
public topic ``crm.analytics.customer-stage.v1`` through the bus only (as ``abc_classes``).

``stages``: one document per counterparty (the event's ``counterparty_id``; events of a customer code
no counterparty carried when the run was recorded are ignored) with the stage and class in force, the
previous ones, the run, its scheme, its day (``as_of``) and the customer code they came from.

Which event is in force: the latest ``(as_of, recorded_at)`` (the contract's rule), then the later in
analytics' log; an older run arriving late changes nothing and a redelivered event is skipped by the
position guard, so the effect is idempotent. The run events on the topic (``StageRunRecorded``) are
not kept. Limits: those of ``abc_classes`` (every scheme counts; a counterparty with two ERP codes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from crm_contacts.projections.abc_classes import counterparty_of, in_force, position_of
from crm_shared.contracts.analytics import CUSTOMER_STAGE_TOPIC, customer_stage
from crm_shared.projections import Fact, On, View
from crm_shared.readstore import Document, Index

STAGES_COLLECTION = "stages"
STAGES = ("potential", "one-time", "regular", "lost")
XYZ_CLASSES = ("X", "Y", "Z")
_CHANGED = "crm.analytics.CustomerStageChanged"


def order_of(doc: Mapping[str, Any]) -> tuple[str, str, int]:
    """Which of two stage runs is in force: the greater ``(as_of, recorded_at, position)``."""
    return (str(doc["as_of"]), str(doc["recorded_at"]), int(doc["position"]))


def _staged(before: Document | None, fact: Fact[Any]) -> Document | None:
    data = fact.data
    after: Document = {
        "counterparty_id": data["counterparty_id"],
        "stage": data["stage"],
        "xyz_class": data["xyz_class"],
        "previous_stage": data["previous_stage"],
        "previous_class": data["previous_class"],
        "customer": data["customer"],
        "run_id": data["run_id"],
        "scheme": data["scheme"],
        "as_of": data["as_of"],
        "recorded_at": data["recorded_at"],
        "position": fact.envelope.position,
    }
    return in_force(before, after, order_of)


class StagesView(View):
    """Projection of analytics' customer stages into ``stages`` (by counterparty)."""

    name = "stages"
    version = 1
    topics: Sequence[str] = (CUSTOMER_STAGE_TOPIC,)
    collections: Mapping[str, Sequence[Index]] = {STAGES_COLLECTION: (Index(("stage",)), Index(("xyz_class",)))}
    contracts = customer_stage.EVENT_TYPES
    tracks_streams = False  # analytics' events: positions of this service's log never point at them
    handlers: Mapping[str, Sequence[On]] = {
        _CHANGED: (On(STAGES_COLLECTION, counterparty_of, _staged, version=position_of),)
    }
