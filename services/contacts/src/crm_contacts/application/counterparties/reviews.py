"""Possible duplicates to review: pairs of counterparties sharing a tax id, an e-mail or a phone where
the one who registered (or changed, or imported) the first could not see the second (ADR 0013).

Such a caller is answered exactly as if the hidden counterparty did not exist, so nobody learns of it
by probing; the pair is recorded here instead, in the service's state store (primary data, not a
view), and shown only to callers who see every access group, who merge the two (the merge route) or
dismiss the pair. A pair whose counterparty was merged since leaves the list by itself.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from crm_shared.errors import Forbidden, NotFound
from crm_shared.identity import Caller, Permission
from crm_shared.readstore import ReadStore
from crm_shared.statestore import StateStore, VersionConflict

COLLECTION = "duplicate_reviews"


@dataclass(frozen=True, slots=True)
class ReviewSide:
    """One counterparty of a pair, as the reviewer sees it now."""

    counterparty_id: str
    name: str
    access_group: str


@dataclass(frozen=True, slots=True)
class Review:
    """A pair to review: ``counterparty`` was written by someone who could not see ``other``."""

    id: str
    field: str
    key: str
    counterparty: ReviewSide
    other: ReviewSide
    reported_by: str
    reported_at: str


def review_id(counterparty_id: str, other_id: str, field: str, key: str) -> str:
    """The id of a pair (the same pair reported twice is one review)."""
    return hashlib.sha256(f"{counterparty_id}|{other_id}|{field}|{key}".encode()).hexdigest()[:32]


class DuplicateReviews:
    """Records pairs for review and lists or dismisses them for callers who see every access group."""

    def __init__(self, state: StateStore, views: ReadStore, cards: str) -> None:
        self._state = state
        self._views = views
        self._cards = cards

    async def add(self, counterparty_id: str, other_id: str, field: str, key: str, caller: Caller) -> None:
        """Record that ``counterparty_id`` shares ``key`` of ``field`` with ``other_id``, which ``caller``
        could not see (once per pair)."""
        value = {
            "counterparty_id": counterparty_id,
            "other_id": other_id,
            "field": field,
            "key": key,
            "reported_by": caller.user_id,
            "reported_at": datetime.now(UTC).isoformat(),
        }
        with contextlib.suppress(VersionConflict):  # reported before
            pair = review_id(counterparty_id, other_id, field, key)
            await self._state.put(COLLECTION, pair, value, expected_version=0)

    @staticmethod
    def _check(caller: Caller, *, write: bool = False) -> None:
        if not caller.can(Permission.COUNTERPARTY_READ) or (write and not caller.can(Permission.COUNTERPARTY_WRITE)):
            raise Forbidden("your roles do not allow reviewing duplicates")
        if caller.visible_groups() is not None:
            raise Forbidden("only those who see every access group review these duplicates")

    async def list(
        self, caller: Caller, *, after: str | None = None, limit: int = 50
    ) -> tuple[list[Review], str | None]:
        """A page of pairs still to review, and where the next page starts (None at the end)."""
        self._check(caller)
        page = await self._state.list(COLLECTION, after=after, limit=limit)
        ids = {r.value[k] for r in page.items for k in ("counterparty_id", "other_id")}
        cards = await self._views.get_many(self._cards, sorted(ids))
        found = []
        for record in page.items:
            one, other = (cards.get(record.value[k]) for k in ("counterparty_id", "other_id"))
            if any(card is not None and card.get("merged_into") for card in (one, other)):
                await self._state.delete(COLLECTION, record.key)  # merged since: nothing left to review
                continue
            value = record.value
            found.append(
                Review(
                    record.key,
                    value["field"],
                    value["key"],
                    _side(value["counterparty_id"], one),
                    _side(value["other_id"], other),
                    value["reported_by"],
                    value["reported_at"],
                )
            )
        return found, page.next_after

    async def dismiss(self, id_: str, caller: Caller) -> None:
        """The pair is no duplicate (or was handled otherwise): it leaves the list."""
        self._check(caller, write=True)
        if not await self._state.delete(COLLECTION, id_):
            raise NotFound(f"no review {id_}")


def _side(counterparty_id: str, card: dict[str, object] | None) -> ReviewSide:
    if card is None:  # the view has not caught up yet
        return ReviewSide(counterparty_id, "", "")
    return ReviewSide(counterparty_id, str(card.get("name", "")), str(card.get("access_group", "")))
