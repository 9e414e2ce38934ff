"""One counterparty per tax id, across streams and without transactions: reservation streams.

Before a counterparty takes a tax id, ``taxid-<normalised>`` gets a ``TaxIdReserved`` appended with
the version the check was made on, so of two concurrent claims exactly one wins. The counterparty's
own append follows; if it fails the reservation is released. A crash between the two leaves a
reservation whose holder never took (or no longer has) the tax id: the next claimant checks the
holder's stream and takes such a stale reservation over.

A counterparty the claimant cannot see never answers for itself (ADR 0009, ADR 0013): when every
counterparty carrying the tax id is in access groups the caller does not see, the claim is accepted
as **unconfirmed** (``TaxIdClaimedUnconfirmed``, appended with the same expected version, so
concurrent claims are still ordered) and the caller gets the same answer as for a free tax id; the
holder keeps it, and the pair goes to the review of someone who sees both. One the caller sees, held
or claimed, refuses it (409 naming it). So at most one counterparty *holds* each tax id, and what a
caller is told depends only on the counterparties it can see.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from crm_contacts.domain import counterparty as cp
from crm_shared.errors import AlreadyExists
from crm_shared.events import DomainEvent
from crm_shared.eventstore import NO_STREAM, EventStore, WrongExpectedVersion

STALE_AFTER = timedelta(seconds=30)


class TaxIdRegistry:
    """Reserves and releases tax ids for counterparties."""

    def __init__(self, store: EventStore, *, enabled: bool) -> None:
        self._store = store
        self.enabled = enabled

    async def reserve(
        self,
        tax_id: str,
        counterparty_id: str,
        actor: str,
        *,
        access_group: str | None = None,
        sees: Callable[[str], bool] = lambda group: True,
    ) -> str | None:
        """Reserve ``tax_id`` for the counterparty (in ``access_group``), or raise :class:`AlreadyExists`
        naming the field when a counterparty the caller ``sees`` carries it. Returns None when the
        counterparty holds it, or the holder's id when it is held by one the caller cannot see: the
        claim is then recorded unconfirmed (see the module docstring)."""
        if not self.enabled:
            return None
        stream = cp.tax_id_stream(tax_id)
        for _ in range(5):
            recorded = await self._store.read_stream(stream)
            events = [cp.catalog.decode(r) for r in recorded]
            holder, claims = cp.holder_of(events), cp.claims_of(events)
            if counterparty_id in claims:
                return None if holder in (None, counterparty_id) else holder
            # A fresh claim is respected even if its counterparty has not appended yet: it may be in
            # flight. Only an old one whose counterparty does not carry the tax id is stale.
            fresh = bool(recorded) and datetime.now(UTC) - recorded[-1].recorded_at < STALE_AFTER
            live_holder = None
            for claimant, group in claims.items():
                state = await self._state_of(claimant)
                if state is not None:
                    if state.tax_id is None or cp.normalise_tax_id(state.tax_id) != cp.normalise_tax_id(tax_id):
                        continue
                    group = state.access_group
                elif not fresh:
                    continue
                if group is None or sees(group):
                    raise AlreadyExists(f"counterparty {claimant} already has this tax id", field="tax_id")
                if claimant == holder:
                    live_holder = holder
            normalised = cp.normalise_tax_id(tax_id)
            claim: DomainEvent
            if live_holder is None:
                claim = cp.TaxIdReserved(tax_id=normalised, counterparty_id=counterparty_id, access_group=access_group)
            else:
                claim = cp.TaxIdClaimedUnconfirmed(
                    tax_id=normalised, counterparty_id=counterparty_id, access_group=access_group or ""
                )
            event = cp.catalog.encode(claim, metadata={"actor": actor})
            expected = recorded[-1].stream_version if recorded else NO_STREAM
            try:
                await self._store.append(stream, [event], expected)
                return live_holder
            except WrongExpectedVersion:
                continue  # someone claimed it meanwhile: look again
        raise AlreadyExists("this tax id is being claimed by others right now; retry", field="tax_id")

    async def release(self, tax_id: str, counterparty_id: str, actor: str) -> None:
        """Free ``tax_id`` if the counterparty holds or claims it (best effort: a stale hold is taken over later)."""
        if not self.enabled:
            return
        stream = cp.tax_id_stream(tax_id)
        recorded = await self._store.read_stream(stream)
        if not recorded or counterparty_id not in cp.claims_of([cp.catalog.decode(r) for r in recorded]):
            return
        event = cp.catalog.encode(
            cp.TaxIdReleased(tax_id=cp.normalise_tax_id(tax_id), counterparty_id=counterparty_id),
            metadata={"actor": actor},
        )
        with contextlib.suppress(WrongExpectedVersion):
            await self._store.append(stream, [event], recorded[-1].stream_version)

    async def _state_of(self, counterparty_id: str) -> cp.State:
        state: cp.State = None
        for recorded in await self._store.read_stream(cp.stream_of(counterparty_id)):
            state = cp.evolve(state, cp.catalog.decode(recorded))
        return state
