"""The reservation streams of external codes: one holder per (system, code) under concurrency, and a
holder the caller cannot see answers as a free code while the pair goes to the review (ADR 0013)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crm_contacts.application.counterparties.commands import CounterpartyCommands
from crm_contacts.domain import counterparty as cp
from crm_shared.errors import AlreadyExists
from crm_shared.eventstore.sqlite import SqliteEventStore
from crm_shared.identity import Caller

NOW = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
ERP = cp.ExternalCode("erp", "C-000123")
SAP = cp.ExternalCode("sap-bg", "0000104711")


def register(cid: str, **overrides: object) -> cp.RegisterCounterparty:
    fields: dict[str, object] = {
        "counterparty_id": cid,
        "name": f"Фирма {cid}",
        "relations": ("buyer",),
        "tax_id": None,
        "main_manager": "ivan",
        "now": NOW,
    }
    fields.update(overrides)
    return cp.RegisterCounterparty(**fields)  # type: ignore[arg-type]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteEventStore]:
    opened = await SqliteEventStore.open(tmp_path / "events.db")
    yield opened
    await opened.close()


def caller(*groups: str) -> Caller:
    return Caller(user_id="ivan", roles=frozenset({"sales_manager"}), groups=frozenset(groups))


async def test_concurrent_registrations_with_one_code_make_exactly_one_holder(store: SqliteEventStore) -> None:
    commands = CounterpartyCommands(store)
    outcomes = await asyncio.gather(
        *(commands.handle(register(f"c-{n}", external_codes=(ERP,)), caller("general")) for n in range(12)),
        return_exceptions=True,
    )
    made = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(made) == 1
    assert all(isinstance(e, AlreadyExists) and e.field == "external_codes[0].code" for e in refused), refused
    assert await commands.external_codes.holder(ERP.key) == made[0].state.id
    # Another system's code with the same text is another code.
    other_system = (cp.ExternalCode("sap", ERP.code),)
    assert await commands.handle(register("c-sap", external_codes=other_system), caller("general"))


async def test_a_code_held_in_a_hidden_group_answers_as_free_and_goes_to_review(store: SqliteEventStore) -> None:
    commands = CounterpartyCommands(store)
    reviewed: list[tuple[str, str, str, str]] = []

    async def review(cid: str, other: str, field: str, key: str, _: Caller) -> None:
        reviewed.append((cid, other, field, key))

    commands.on_hidden_duplicate = review
    await commands.handle(register("south-1", access_group="south", external_codes=(ERP,)), caller("south"))
    north = caller("north")
    claimed = await commands.handle(register("north-1", access_group="north", external_codes=(ERP,)), north)
    assert claimed.state.external_codes == (ERP,)
    assert reviewed == [("north-1", "south-1", "external_code", "erp:C-000123")]
    assert await commands.external_codes.holder(ERP.key) == "south-1"  # the holder keeps it
    # Now one the caller sees carries it: refused, naming the code's place in the list.
    with pytest.raises(AlreadyExists) as refused:
        await commands.handle(register("north-2", access_group="north", external_codes=(SAP, ERP)), north)
    assert refused.value.field == "external_codes[1].code"
    # A changed list gives up the codes it drops; another may then take them.
    await commands.handle(cp.UpdateCounterparty("south-1", {"external_codes": ()}), caller("south"))
    await commands.handle(cp.UpdateCounterparty("north-1", {"external_codes": ()}), north)
    assert await commands.external_codes.holder(ERP.key) is None
    await commands.handle(register("north-3", access_group="north", external_codes=(ERP,)), north)
    assert await commands.external_codes.holder(ERP.key) == "north-3"
