"""A source told at an interaction lands in the counterparty's dated source history, once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from crm_contacts import bootstrap
from crm_contacts.application.counterparties.consumers import SOURCE_PROVIDED, SourcesFromInteractions
from crm_contacts.domain import counterparty as cp
from crm_contacts.domain import reference as ref
from crm_shared.bus import Message, PoisonMessage
from crm_shared.contracts.interactions import INTERACTION_TOPIC
from crm_shared.directory import directory_messages
from crm_shared.identity import caller_of
from crm_shared.integration import Envelope
from crm_shared.settings import KernelSettings

ADMIN = caller_of("admin", ["administrator"])


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[bootstrap.ContactsService]:
    wired = await bootstrap.build(KernelSettings(data_dir=tmp_path))
    await wired.directory.runner.handle_batch(directory_messages({"ivan": "Иван Петров"}))  # no gateway here
    yield wired
    await wired.close()


def told(event_id: str, counterparty_id: str, source: str, *, type_: str = SOURCE_PROVIDED) -> Message:
    return Envelope(
        id=event_id,
        type=type_,
        source="crm/interactions",
        subject="i-1",
        time=datetime.now(UTC),
        topic=INTERACTION_TOPIC,
        data={"interaction_id": "i-1", "counterparty_id": counterparty_id, "source": source, "on": "2026-11-20"},
        stream="interaction-i-1",
        stream_version=3,
        position=10,
    ).to_message()


async def test_a_told_source_is_recorded_once_and_a_bad_one_is_dead_lettered(
    service: bootstrap.ContactsService,
) -> None:
    await service.reference_commands.handle(ref.DefineEntry("sources", "radio", "Радио", {"actuality_days": 30}), ADMIN)
    now = service.commands.now()
    await service.commands.handle(cp.RegisterCounterparty("c-1", "Слушател ООД", ("buyer",), None, "ivan", now), ADMIN)
    consumer = SourcesFromInteractions(service.commands)
    message = told("e-1", "c-1", "radio")
    await consumer.handle(message)
    await consumer.handle(message)  # redelivered
    loaded = await service.commands.load(cp.stream_of("c-1"))
    state, events = loaded.state, loaded.events
    assert state is not None and state.sources == (cp.SourceRecord("radio", date(2026, 11, 20)),)
    assert [e.type for e in events].count("contacts.InformationSourceRecorded") == 1
    assert events[-1].metadata["interaction_id"] == "i-1"

    await consumer.handle(told("e-2", "c-1", "radio", type_="crm.interactions.InteractionPlanned"))  # not ours
    with pytest.raises(PoisonMessage, match="tv"):
        await consumer.handle(told("e-3", "c-1", "tv"))
    with pytest.raises(PoisonMessage):
        await consumer.handle(told("e-4", "nobody", "radio"))
