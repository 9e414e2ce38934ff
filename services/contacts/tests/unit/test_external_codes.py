"""External codes of counterparties (a customer's code in the ERP), given events, when a command."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crm_contacts.domain import counterparty as cp
from crm_shared.errors import DomainError
from crm_shared.testing import DeciderSpec, like

NOW = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
ID = "c-1"
spec = DeciderSpec(cp.decide, cp.evolve, None)
ERP = cp.ExternalCode("erp", "C-000123")
SAP = cp.ExternalCode("sap-bg", "0000104711")


def register(cid: str = ID, **overrides: object) -> cp.RegisterCounterparty:
    fields: dict[str, object] = {
        "counterparty_id": cid,
        "name": "Дунав Трейд",
        "relations": ("buyer",),
        "tax_id": None,
        "main_manager": "ivan",
        "now": NOW,
    }
    fields.update(overrides)
    return cp.RegisterCounterparty(**fields)  # type: ignore[arg-type]


def registered(cid: str = ID) -> cp.CounterpartyRegistered:
    return cp.CounterpartyRegistered(
        counterparty_id=cid,
        name="Дунав Трейд",
        relations=["buyer"],
        tax_id=None,
        main_manager="ivan",
        registered_at=NOW,
        access_group="general",
        managers=["ivan"],
    )


def codes_changed(*codes: cp.ExternalCode, cid: str = ID) -> cp.CounterpartyExternalCodesChanged:
    return cp.CounterpartyExternalCodesChanged(
        counterparty_id=cid, external_codes=[{"system": c.system, "code": c.code} for c in codes]
    )


def test_registration_brings_its_external_codes_each_once() -> None:
    spec.given().when(register(external_codes=(ERP, SAP, ERP))).then(registered(), codes_changed(ERP, SAP))
    spec.given().when(register()).then(registered())


def test_a_change_replaces_the_whole_list_and_nothing_happens_when_it_is_the_same() -> None:
    spec.given(registered(), codes_changed(ERP)).when(cp.UpdateCounterparty(ID, {"external_codes": (SAP, ERP)})).then(
        codes_changed(SAP, ERP)
    )
    spec.given(registered(), codes_changed(ERP)).when(
        cp.UpdateCounterparty(ID, {"external_codes": (ERP,)})
    ).then_nothing()
    spec.given(registered(), codes_changed(ERP)).when(cp.UpdateCounterparty(ID, {"external_codes": ()})).then(
        codes_changed()
    )


@pytest.mark.parametrize(
    ("code", "field"),
    [
        (cp.ExternalCode("erp", ""), "external_codes[0].code"),
        (cp.ExternalCode("erp", "   "), "external_codes[0].code"),
        (cp.ExternalCode("erp", "x" * 65), "external_codes[0].code"),
        (cp.ExternalCode("erp", "C\x00123"), "external_codes[0].code"),
        (cp.ExternalCode("erp", "C\t123"), "external_codes[0].code"),
        (cp.ExternalCode("erp", " C123"), "external_codes[0].code"),
        (cp.ExternalCode("erp", "C123\n"), "external_codes[0].code"),
        (cp.ExternalCode("ERP", "C123"), "external_codes[0].system"),
        (cp.ExternalCode("e:rp", "C123"), "external_codes[0].system"),
        (cp.ExternalCode("erp\n", "C123"), "external_codes[0].system"),
    ],
)
def test_a_bad_code_is_refused_naming_it(code: cp.ExternalCode, field: str) -> None:
    spec.given().when(register(external_codes=(code,))).then_raises(DomainError, field=field)
    spec.given(registered()).when(cp.UpdateCounterparty(ID, {"external_codes": (code,)})).then_raises(
        DomainError, field=field
    )


def test_codes_are_compared_exactly_and_may_hold_inner_spaces_and_colons() -> None:
    inner = cp.ExternalCode("erp", "Клиент 12:7")
    spec.given().when(register(external_codes=(inner, cp.ExternalCode("erp", "клиент 12:7")))).then(
        registered(), codes_changed(inner, cp.ExternalCode("erp", "клиент 12:7"))
    )
    assert cp.external_code_of_key(inner.key) == inner


def test_archive_keeps_the_codes_and_a_merge_moves_them_to_the_survivor() -> None:
    state = spec.given(registered(), codes_changed(ERP), cp.CounterpartyArchived(counterparty_id=ID)).state
    assert state is not None and state.external_codes == (ERP,)
    spec.given(registered(), codes_changed(ERP)).when(cp.MarkMerged(ID, "c-2")).then(
        cp.CounterpartyMerged(counterparty_id=ID, into="c-2"), codes_changed()
    )
    duplicate = spec.given(
        registered(), codes_changed(ERP), cp.CounterpartyMerged(counterparty_id=ID, into="c-2"), codes_changed()
    ).state
    assert duplicate is not None and duplicate.external_codes == () and duplicate.codes_moved == (ERP,)
    # The survivor takes them, also when the merge is retried after the duplicate was marked.
    spec.given(registered("c-2"), codes_changed(SAP, cid="c-2")).when(cp.Absorb("c-2", duplicate)).then(
        like(cp.DuplicateAbsorbed, merged=ID), codes_changed(SAP, ERP, cid="c-2")
    )


def test_the_holder_of_a_code_follows_its_reservations() -> None:
    def reserved(c: str) -> cp.ExternalCodeReserved:
        return cp.ExternalCodeReserved(system="erp", code="C1", counterparty_id=c)

    def unconfirmed(c: str) -> cp.ExternalCodeClaimedUnconfirmed:
        return cp.ExternalCodeClaimedUnconfirmed(system="erp", code="C1", counterparty_id=c, access_group="south")

    def released(c: str) -> cp.ExternalCodeReleased:
        return cp.ExternalCodeReleased(system="erp", code="C1", counterparty_id=c)

    assert cp.holder_of([reserved("a"), released("a")]) is None
    assert cp.holder_of([reserved("a"), unconfirmed("b"), released("a")]) == "b"
    assert cp.claims_of([reserved("a"), unconfirmed("b")]) == {"a": None, "b": "south"}
