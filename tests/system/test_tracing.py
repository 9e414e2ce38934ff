"""One trace follows a command from the HTTP request into the stored event and onto the bus."""

from __future__ import annotations

import asyncio

import httpx

from crm_shared.bus import Message
from crm_shared.bus.embedded import EmbeddedBus
from crm_shared.contracts.contacts import COUNTERPARTY_TOPIC

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


async def test_traceparent_is_carried_into_event_metadata_and_message_headers(crm: httpx.AsyncClient) -> None:
    response = await crm.post(
        "/api/v1/counterparties",
        json={"name": "Следа ООД", "relations": ["buyer"], "main_manager": "ivan"},
        headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"},
    )
    assert response.status_code == 201
    service = crm._transport.app.state.contacts  # type: ignore[attr-defined]
    [event] = [e for e in await service.store.read_all(after=0) if e.stream.startswith("counterparty-")]
    assert event.metadata["traceparent"].split("-")[1] == TRACE_ID

    # A second reader of the same embedded log, as another service on this machine would be.
    data_dir = crm._transport.app.state.settings.data_dir  # type: ignore[attr-defined]
    bus = EmbeddedBus(data_dir / "bus.db")
    await bus.start()
    seen: list[Message] = []

    async def collect(message: Message) -> None:
        seen.append(message)

    await bus.subscribe([COUNTERPARTY_TOPIC], "trace-test", collect)
    for _ in range(300):
        if seen:
            break
        await asyncio.sleep(0.01)
    await bus.stop()
    assert seen and seen[0].headers["traceparent"].split("-")[1] == TRACE_ID
    assert seen[0].headers["ce_type"] == "crm.contacts.CounterpartyRegistered"
    assert seen[0].headers["ce_source"] == "crm/contacts"
    assert seen[0].headers["ce_id"] == str(event.id)
