"""``crm rebuild analytics [--data-dir DIR]``: rebuild every analytics table that is not primary data
from the event logs, with one command, giving the same results.

The ERP's facts and the currency rates are primary data (ADR 16): nothing rebuilds them, and every
report is computed from them and from ``crm_events``. The sums the ABC report keeps of the facts
(ADR 21) are counted again from ``trade_facts``. ``crm_events`` (the other services' public
events) is refilled from the producing services' own event logs, read through their relays exactly
as they publish (:meth:`crm_shared.relay.Relay.replay`), into a twin table that then replaces the
live one in one step. Safe while the CRM runs: the live feed keeps adding events, and every event it
adds is also in the logs.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from crm import services
from crm_analytics.projections import crm_events
from crm_analytics.projections.tables import rebuild_trade_sums
from crm_analytics.service import ANALYTICS
from crm_shared.adapters import open_bus
from crm_shared.settings import KernelSettings


async def rebuild_analytics(settings: KernelSettings) -> int:
    """Rebuild the analytics tables on ``settings``' stores; returns how many events were kept."""
    started = time.monotonic()
    bus = await open_bus(settings, "crm-rebuild")  # the relays are built over a bus; nothing is published
    producers = [service for service in services.BEHIND if service is not ANALYTICS]
    wired: list[Any] = []
    try:
        analytics = await ANALYTICS.build(settings)
        wired.append(analytics)
        for service in producers:
            wired.append(await service.build(settings))

        def history(producer: Any) -> crm_events.Replay:
            relay = producer.relay(bus)

            async def replay(sink: crm_events.Sink) -> int:
                def progress(position: int, head: int, handed: int) -> None:
                    elapsed = time.monotonic() - started
                    print(
                        f"\rcrm rebuild analytics: {relay.name} {position:,} of {head:,}, {elapsed:.0f} s",
                        end="",
                        file=sys.stderr,
                        flush=True,
                    )

                count: int = await relay.replay(sink, on_progress=progress)
                return count

            return replay

        await rebuild_trade_sums(analytics.analytics)
        print(
            f"crm rebuild analytics: the ABC sums rebuilt from trade_facts in {time.monotonic() - started:.1f} s",
            file=sys.stderr,
        )
        kept = await crm_events.rebuild(analytics.analytics, [history(p) for p in wired[1:]])
        print(
            f"\ncrm rebuild analytics: crm_events rebuilt with {kept:,} events in {time.monotonic() - started:.1f} s",
            file=sys.stderr,
        )
        return kept
    finally:
        for done in reversed(wired):
            await done.close()
        await bus.stop()
