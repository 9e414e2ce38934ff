"""The local copy of which counterparty carries which ERP customer code (ADR 11), fed from contacts'
public topic ``crm.contacts.counterparty.v1`` through the bus only (those events are not in this
service's log):

- ``counterparty_codes``: per counterparty, its ERP codes (``external_codes`` of system ``erp``) and
  the contacts log position of the last change;
- ``erp_codes``: per ERP code, the counterparty carrying it (derived from the above: a code a
  counterparty gives up is deleted, one it gains is written), guarded by the contacts log position,
  so a code moving from one counterparty to another (a merge) ends on the later holder whatever the
  order the two counterparties' events arrive in.

Contacts keeps each (system, code) on one counterparty at a time (a reservation), so a code names
at most one counterparty here once the copy has caught up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from crm_shared.contracts import contacts as public
from crm_shared.projections import Derive, Fact, On, View
from crm_shared.readstore import Change, Delete, Document, Index, Put

CODES = "counterparty_codes"
ERP_CODES = "erp_codes"
ERP = "erp"
_CHANGED = "crm.contacts.CounterpartyExternalCodesChanged"


def _position(envelope: Any) -> int:
    return int(envelope.position)


def _codes(before: Document | None, fact: Fact[Any]) -> Document | None:
    codes = sorted({str(c["code"]) for c in fact.data["external_codes"] if c.get("system", ERP) == ERP})
    return {"counterparty_id": fact.data["counterparty_id"], "erp_codes": codes}


def _erp_codes(cid: str, versions: Sequence[Document | None], collection: Callable[[str], str]) -> list[Change]:
    before, after = versions[0], versions[-1]
    if after is None:
        return []
    target = collection(ERP_CODES)
    version = int(after["_version"])
    old = set(before["erp_codes"]) if before else set()
    new = set(after["erp_codes"])
    changes: list[Change] = [Delete(target, code, version) for code in sorted(old - new)]
    changes += [Put(target, {"_id": code, "_version": version, "counterparty_id": cid}) for code in sorted(new)]
    return changes


class CounterpartyCodesView(View):
    """Projection of contacts' external codes into ``counterparty_codes`` and ``erp_codes``."""

    name = "counterparty_codes"
    version = 1
    topics: Sequence[str] = (public.COUNTERPARTY_TOPIC,)
    collections: Mapping[str, Sequence[Index]] = {CODES: (), ERP_CODES: (Index(("counterparty_id",)),)}
    contracts = public.EVENT_TYPES
    tracks_streams = False  # contacts' events: positions of this service's log never point at them
    handlers: Mapping[str, Sequence[On]] = {
        _CHANGED: (On(CODES, lambda fact: str(fact.data["counterparty_id"]), _codes, version=_position),)
    }
    derived: Mapping[str, Derive] = {CODES: _erp_codes}
