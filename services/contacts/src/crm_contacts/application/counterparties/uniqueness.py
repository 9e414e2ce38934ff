"""One counterparty per tax id, across streams and without transactions: reservation streams.

Before a counterparty takes a tax id, ``taxid-<normalised>`` gets a ``TaxIdReserved`` appended with
the version the check was made on, so of two concurrent claims exactly one wins. The counterparty's
own append follows; if it fails the reservation is released. A crash between the two leaves a
reservation whose holder never took (or no longer has) the tax id: the next claimant checks the
holder's stream and takes such a stale reservation over.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

from crm_contacts.domain import counterparty as cp
from crm_shared.errors import AlreadyExists
from crm_shared.eventstore import NO_STREAM, EventStore, WrongExpectedVersion

STALE_AFTER = timedelta(seconds=30)


class TaxIdRegistry:
    """Reserves and releases tax ids for counterparties."""

    def __init__(self, store: EventStore, *, enabled: bool) -> None:
        self._store = store
        self.enabled = enabled

    async def reserve(self, tax_id: str, counterparty_id: str, actor: str) -> None:
        """Reserve ``tax_id`` for the counterparty, or raise :class:`AlreadyExists` naming the field."""
        if not self.enabled:
            return
        stream = cp.tax_id_stream(tax_id)
        for _ in range(5):
            recorded = await self._store.read_stream(stream)
            holder = cp.holder_of([cp.catalog.decode(r) for r in recorded])
            if holder == counterparty_id:
                return
            # A fresh reservation is respected even if its holder has not appended yet: it may be
            # in flight. Only an old one whose holder does not have the tax id is stale.
            fresh = bool(recorded) and datetime.now(UTC) - recorded[-1].recorded_at < STALE_AFTER
            if holder is not None and (fresh or await self._still_holds(holder, tax_id)):
                raise AlreadyExists("another counterparty already has this tax id", field="tax_id")
            event = cp.catalog.encode(
                cp.TaxIdReserved(tax_id=cp.normalise_tax_id(tax_id), counterparty_id=counterparty_id),
                metadata={"actor": actor},
            )
            expected = recorded[-1].stream_version if recorded else NO_STREAM
            try:
                await self._store.append(stream, [event], expected)
                return
            except WrongExpectedVersion:
                continue  # someone claimed it meanwhile: look again
        raise AlreadyExists("this tax id is being claimed by others right now; retry", field="tax_id")

    async def release(self, tax_id: str, counterparty_id: str, actor: str) -> None:
        """Free ``tax_id`` if the counterparty holds it (best effort: a stale hold is taken over later)."""
        if not self.enabled:
            return
        stream = cp.tax_id_stream(tax_id)
        recorded = await self._store.read_stream(stream)
        if not recorded or cp.holder_of([cp.catalog.decode(r) for r in recorded]) != counterparty_id:
            return
        event = cp.catalog.encode(
            cp.TaxIdReleased(tax_id=cp.normalise_tax_id(tax_id), counterparty_id=counterparty_id),
            metadata={"actor": actor},
        )
        with contextlib.suppress(WrongExpectedVersion):
            await self._store.append(stream, [event], recorded[-1].stream_version)

    async def _still_holds(self, holder: str, tax_id: str) -> bool:
        state: cp.State = None
        for recorded in await self._store.read_stream(cp.stream_of(holder)):
            state = cp.evolve(state, cp.catalog.decode(recorded))
        return (
            state is not None
            and state.tax_id is not None
            and cp.normalise_tax_id(state.tax_id) == cp.normalise_tax_id(tax_id)
        )
