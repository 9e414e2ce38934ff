"""The key store of personal data: one AES-256 key per contact person, kept outside the event log.

Keys live in the ``person_keys`` collection of the service's **state store**: primary data, not a
view, so no rebuild touches it — **back it up together with the event store.** Losing it erases
every person's personal data; the events alone cannot bring it back. A key is created once
(compare-and-set on "absent", so two racing registrations share the first key). Erasing a person
replaces its record by a tombstone without key material, so a retried registration cannot make a
new key. A restored older backup may still hold the key of a person erased since; readers ignore
it, because the person's stream records the erasure. Storage engines may keep freed bytes until
overwritten (the SQLite adapter zeroes them, but its WAL and MongoDB's journal keep them for a
while): run the stores on encrypted disks, and keep backups only as long as the erasure policy allows.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from crm_shared.keys import SubjectErased, SubjectKeys
from crm_shared.readstore import Query, ReadStore
from crm_shared.statestore import StateStore, VersionConflict

COLLECTION = "person_keys"
_MIGRATIONS = "migrations"
_FROM_READ_STORE = "person_keys_from_read_store"
log = logging.getLogger(__name__)


class PersonKeys(SubjectKeys):
    """Creates, reads and deletes persons' keys (the kernel's key store, collection ``person_keys``)."""

    def __init__(self, state: StateStore) -> None:
        super().__init__(state, COLLECTION)

    async def create(self, person_id: str) -> bytes:
        """The person's key, made now if it has none (a retried registration keeps the first one)."""
        try:
            return await super().create(person_id)
        except SubjectErased as exc:
            raise RuntimeError(f"the key of person {person_id} was deleted (the person is erased)") from exc

    async def adopt_from(self, views: ReadStore) -> int:
        """Move the keys that earlier versions kept in the read store's ``person_keys`` collection
        here, then drop that collection (so an erasure leaves no copy behind); once. Returns how many."""
        if await self._state.get(_MIGRATIONS, _FROM_READ_STORE) is not None:
            return 0
        moved, after = 0, None
        while True:
            page = await views.find(COLLECTION, Query(after=after, limit=500))
            for doc in page.items:
                if "key" in doc:
                    value = {"key": doc["key"], "created_at": doc.get("created_at")}
                    try:
                        await self._state.put(COLLECTION, str(doc["_id"]), value, expected_version=0)
                        moved += 1
                    except VersionConflict:
                        pass  # already here (an earlier, interrupted run)
            if page.next_after is None:
                break
            after = page.next_after
        await views.drop(COLLECTION)
        await self._state.put(_MIGRATIONS, _FROM_READ_STORE, {"moved": moved, "at": datetime.now(UTC).isoformat()})
        if moved:
            log.info("contacts: moved %d person keys from the read store to the state store", moved)
        return moved
