"""One counterparty per tax id and per external code, across streams and without transactions:
reservation streams. Both keys follow the same rules (one :class:`KeyRegistry`, told by a
:class:`ReservedKind` how to name, read and record its key); described here for tax ids.

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

External codes (``extcode-<system>:<code>``, compared exactly as written) take the same path with
``ExternalCodeReserved``, ``ExternalCodeClaimedUnconfirmed`` and ``ExternalCodeReleased``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from crm_contacts.domain import counterparty as cp
from crm_shared.errors import AlreadyExists
from crm_shared.events import DomainEvent
from crm_shared.eventstore import NO_STREAM, EventStore, WrongExpectedVersion

STALE_AFTER = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class ReservedKind:
    """A key at most one counterparty holds: how it is named, compared, carried and recorded."""

    noun: str
    """What the key is called in answers (``tax id``)."""
    review_field: str
    """The ``field`` of a duplicate review about it (``tax``)."""
    stream: Callable[[str], str]
    normalise: Callable[[str], str]
    carried: Callable[[cp.Counterparty], Iterable[str]]
    """The (normalised) keys of this kind a counterparty carries now."""
    reserved: Callable[[str, str, str | None], DomainEvent]
    """(key, counterparty, access group) -> the event of a confirmed hold."""
    unconfirmed: Callable[[str, str, str], DomainEvent]
    released: Callable[[str, str], DomainEvent]


def _tax_ids(state: cp.Counterparty) -> Iterable[str]:
    return () if state.tax_id is None else (cp.normalise_tax_id(state.tax_id),)


TAX_ID = ReservedKind(
    noun="tax id",
    review_field="tax",
    stream=cp.tax_id_stream,
    normalise=cp.normalise_tax_id,
    carried=_tax_ids,
    reserved=lambda key, cid, group: cp.TaxIdReserved(tax_id=key, counterparty_id=cid, access_group=group),
    unconfirmed=lambda key, cid, group: cp.TaxIdClaimedUnconfirmed(tax_id=key, counterparty_id=cid, access_group=group),
    released=lambda key, cid: cp.TaxIdReleased(tax_id=key, counterparty_id=cid),
)


def _codes(state: cp.Counterparty) -> Iterable[str]:
    return (c.key for c in state.external_codes)


def _code(key: str) -> dict[str, str]:
    code = cp.external_code_of_key(key)
    return {"system": code.system, "code": code.code}


EXTERNAL_CODE = ReservedKind(
    noun="external code",
    review_field="external_code",
    stream=cp.external_code_stream,
    normalise=lambda key: key,
    carried=_codes,
    reserved=lambda key, cid, group: cp.ExternalCodeReserved(**_code(key), counterparty_id=cid, access_group=group),
    unconfirmed=lambda key, cid, group: cp.ExternalCodeClaimedUnconfirmed(
        **_code(key), counterparty_id=cid, access_group=group
    ),
    released=lambda key, cid: cp.ExternalCodeReleased(**_code(key), counterparty_id=cid),
)
"""Keys are :attr:`~crm_contacts.domain.counterparty.ExternalCode.key` (``system:code``)."""


class KeyRegistry:
    """Reserves and releases the keys of one :class:`ReservedKind` for counterparties."""

    def __init__(self, store: EventStore, kind: ReservedKind = TAX_ID, *, enabled: bool) -> None:
        self._store = store
        self.kind = kind
        self.enabled = enabled

    async def reserve(
        self,
        key: str,
        counterparty_id: str,
        actor: str,
        *,
        access_group: str | None = None,
        sees: Callable[[str], bool] = lambda group: True,
        field: str = "tax_id",
    ) -> str | None:
        """Reserve ``key`` for the counterparty (in ``access_group``), or raise :class:`AlreadyExists`
        naming ``field`` when a counterparty the caller ``sees`` carries it. Returns None when the
        counterparty holds it, or the holder's id when it is held by one the caller cannot see: the
        claim is then recorded unconfirmed (see the module docstring)."""
        if not self.enabled:
            return None
        kind = self.kind
        normalised = kind.normalise(key)
        stream = kind.stream(key)
        for _ in range(5):
            recorded = await self._store.read_stream(stream)
            events = [cp.catalog.decode(r) for r in recorded]
            holder, claims = cp.holder_of(events), cp.claims_of(events)
            if counterparty_id in claims:
                return None if holder in (None, counterparty_id) else holder
            # A fresh claim is respected even if its counterparty has not appended yet: it may be in
            # flight. Only an old one whose counterparty does not carry the key is stale.
            fresh = bool(recorded) and datetime.now(UTC) - recorded[-1].recorded_at < STALE_AFTER
            live_holder = None
            for claimant, group in claims.items():
                state = await self._state_of(claimant)
                if state is not None:
                    if normalised not in set(kind.carried(state)):
                        continue
                    group = state.access_group
                elif not fresh:
                    continue
                if group is None or sees(group):
                    raise AlreadyExists(f"counterparty {claimant} already has this {kind.noun}", field=field)
                if claimant == holder:
                    live_holder = holder
            claim: DomainEvent
            if live_holder is None:
                claim = kind.reserved(normalised, counterparty_id, access_group)
            else:
                claim = kind.unconfirmed(normalised, counterparty_id, access_group or "")
            event = cp.catalog.encode(claim, metadata={"actor": actor})
            expected = recorded[-1].stream_version if recorded else NO_STREAM
            try:
                await self._store.append(stream, [event], expected)
                return live_holder
            except WrongExpectedVersion:
                continue  # someone claimed it meanwhile: look again
        raise AlreadyExists(f"this {kind.noun} is being claimed by others right now; retry", field=field)

    async def release(self, key: str, counterparty_id: str, actor: str) -> None:
        """Free ``key`` if the counterparty holds or claims it (best effort: a stale hold is taken over later)."""
        if not self.enabled:
            return
        stream = self.kind.stream(key)
        recorded = await self._store.read_stream(stream)
        if not recorded or counterparty_id not in cp.claims_of([cp.catalog.decode(r) for r in recorded]):
            return
        event = cp.catalog.encode(
            self.kind.released(self.kind.normalise(key), counterparty_id), metadata={"actor": actor}
        )
        with contextlib.suppress(WrongExpectedVersion):
            await self._store.append(stream, [event], recorded[-1].stream_version)

    async def holder(self, key: str) -> str | None:
        """The counterparty holding ``key`` now and still carrying it (a stale reservation counts as none)."""
        recorded = await self._store.read_stream(self.kind.stream(key))
        holder = cp.holder_of([cp.catalog.decode(r) for r in recorded])
        if holder is None:
            return None
        state = await self._state_of(holder)
        carries = state is not None and self.kind.normalise(key) in set(self.kind.carried(state))
        return holder if carries else None

    async def _state_of(self, counterparty_id: str) -> cp.State:
        state: cp.State = None
        for recorded in await self._store.read_stream(cp.stream_of(counterparty_id)):
            state = cp.evolve(state, cp.catalog.decode(recorded))
        return state
