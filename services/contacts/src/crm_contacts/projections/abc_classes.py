"""The local copy of each counterparty's ABC class (ADR 11), fed from analytics' public topic
``crm.analytics.customer-class.v1`` through the bus only (those events are not in this service's log).

``abc_classes``: one document per counterparty (the event's ``counterparty_id``; events of a
customer code no counterparty carried when the run was confirmed are ignored) with the class in
force, the previous class, the marker, whether it was set by hand, the run, its scheme and period,
and the customer code it came from. Never written into the counterparty document: that one is
guarded by the counterparty's stream version, this one by analytics' log position.

Which event is in force: the one with the latest ``(period_to, confirmed_at)`` (the contract's rule),
then the later in analytics' log (an override of a customer in a run comes after the run's rows).
An older event arriving late (a past period run again after a later one was confirmed) changes
nothing, and a redelivered one is skipped by the position guard, so the effect is idempotent.

Limits: every scheme counts (a counterparty classified by revenue and by profit shows the latest of
either; the scheme is shown with it); the events of one customer code arrive in order (the Kafka key
is the code), but a counterparty carrying two ERP codes may see the codes' events interleaved, and
an event older in analytics' log than the one applied is then skipped by the guard even when its
period is later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from crm_shared.contracts import analytics as public
from crm_shared.integration import Envelope
from crm_shared.projections import Fact, On, View
from crm_shared.readstore import Document, Index

ABC_CLASSES = "abc_classes"
CLASSES = ("A", "B", "C")
_CHANGED = "crm.analytics.CustomerClassChanged"


def position_of(envelope: Envelope) -> int:
    """The guard of a copy of analytics' data: analytics' log position."""
    return int(envelope.position)


def counterparty_of(fact: Fact[Any]) -> str | None:
    """The counterparty an analytics event is about (None: unlinked, ignored)."""
    cid = fact.data.get("counterparty_id")
    return str(cid) if cid else None


def in_force(
    before: Document | None, after: Document, order: Callable[[Mapping[str, Any]], tuple[str, str, int]]
) -> Document | None:
    """``after`` unless ``before`` comes later in ``order`` (an older run arriving late: no change)."""
    if before is not None and order(before) >= order(after):
        return None
    return after


def order_of(doc: Mapping[str, Any]) -> tuple[str, str, int]:
    """Which of two classifications is in force: the greater ``(period_to, confirmed_at, position)``."""
    return (str(doc["period_to"]), str(doc["confirmed_at"]), int(doc["position"]))


def _classified(before: Document | None, fact: Fact[Any]) -> Document | None:
    data = fact.data
    after: Document = {
        "counterparty_id": data["counterparty_id"],
        "abc_class": data["abc_class"],
        "previous_class": data["previous_class"],
        "marker": data["marker"],
        "computed_class": data["computed_class"],
        "overridden": data["overridden"],
        "customer": data["customer"],
        "run_id": data["run_id"],
        "scheme": data["scheme"],
        "period_from": data["period_from"],
        "period_to": data["period_to"],
        "confirmed_at": data["confirmed_at"],
        "position": fact.envelope.position,
    }
    return in_force(before, after, order_of)


class AbcClassesView(View):
    """Projection of analytics' customer classes into ``abc_classes`` (by counterparty)."""

    name = "abc_classes"
    version = 1
    topics: Sequence[str] = (public.CUSTOMER_CLASS_TOPIC,)
    collections: Mapping[str, Sequence[Index]] = {ABC_CLASSES: (Index(("abc_class",)),)}
    contracts = public.EVENT_TYPES
    tracks_streams = False  # analytics' events: positions of this service's log never point at them
    handlers: Mapping[str, Sequence[On]] = {
        _CHANGED: (On(ABC_CLASSES, counterparty_of, _classified, version=position_of),)
    }
