"""Namespaced buses on one log do not see each other's messages, and handlers see plain topics."""

from __future__ import annotations

import asyncio
from pathlib import Path

from crm_shared.bus import Message
from crm_shared.bus.embedded import EmbeddedBus
from crm_shared.bus.namespace import NamespacedBus


async def test_namespaces_isolate_topics_and_groups(tmp_path: Path) -> None:
    inner = EmbeddedBus(tmp_path / "bus.db")
    staging, production = NamespacedBus(inner, "staging"), NamespacedBus(inner, "prod")
    await staging.start()
    seen: dict[str, list[Message]] = {"staging": [], "prod": []}

    async def to(name: str, message: Message) -> None:
        seen[name].append(message)

    await staging.subscribe(["crm.t.v1"], "g", lambda m: to("staging", m))
    await production.subscribe(["crm.t.v1"], "g", lambda m: to("prod", m))
    await staging.publish([Message("crm.t.v1", "k", b"{}")])
    for _ in range(200):
        if seen["staging"]:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)
    assert [m.topic for m in seen["staging"]] == ["crm.t.v1"]
    assert seen["prod"] == []
    await inner.stop()
