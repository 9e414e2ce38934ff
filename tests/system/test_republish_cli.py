"""``crm republish``: a service's history onto its topics again, for a consumer that starts late."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from crm.cli import main
from crm_shared.adapters import open_bus
from crm_shared.bus import Message
from crm_shared.contracts.contacts.counterparty import TOPIC
from crm_shared.settings import KernelSettings


async def everything_on(data: Path, topic: str) -> list[Message]:
    """What a brand-new consumer group reads from the beginning of ``topic``."""
    bus = await open_bus(KernelSettings(data_dir=data), "late-consumer")
    seen: list[Message] = []

    async def collect(message: Message) -> None:
        seen.append(message)

    try:
        subscription = await bus.subscribe([topic], f"late-{uuid.uuid4().hex[:8]}", collect)
        await asyncio.sleep(0.5)
        await subscription.stop()
    finally:
        await bus.stop()
    return seen


def test_a_late_consumer_gets_the_whole_history_and_nothing_new_under_a_seen_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "var"
    file = tmp_path / "clients.csv"
    file.write_text("name;tax_id\nАлфа;BG201\nБета;BG202\nГама;BG203\n", encoding="utf-8")
    assert main(["import", "counterparties", str(file), "--data-dir", str(data)]) == 0
    capsys.readouterr()
    # The import ran without `crm up`: no relay published anything yet.
    assert asyncio.run(everything_on(data, TOPIC)) == []

    assert main(["republish", "contacts", "--data-dir", str(data)]) == 0
    err = capsys.readouterr().err
    assert "crm republish: position" in err and "messages of contacts published again" in err
    first = asyncio.run(everything_on(data, TOPIC))
    registered = [m for m in first if m.headers["ce_type"] == "crm.contacts.CounterpartyRegistered"]
    assert len(registered) == 3

    assert main(["republish", "contacts", "--data-dir", str(data)]) == 0
    twice = asyncio.run(everything_on(data, TOPIC))
    assert len(twice) == 2 * len(first)
    assert {m.headers["ce_id"] for m in twice} == {m.headers["ce_id"] for m in first}, "same events, same ids"
