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

import base64
import logging
from datetime import UTC, datetime

from crm_contacts.domain import crypto
from crm_shared.readstore import Query, ReadStore
from crm_shared.statestore import StateStore, VersionConflict

COLLECTION = "person_keys"
_MIGRATIONS = "migrations"
_FROM_READ_STORE = "person_keys_from_read_store"
log = logging.getLogger(__name__)


class PersonKeys:
    """Creates, reads and deletes persons' keys."""

    def __init__(self, state: StateStore) -> None:
        self._state = state

    async def create(self, person_id: str) -> bytes:
        """The person's key, made now if it has none (a retried registration keeps the first one)."""
        key = crypto.new_key()
        value = {"key": base64.b64encode(key).decode("ascii"), "created_at": datetime.now(UTC).isoformat()}
        try:
            await self._state.put(COLLECTION, person_id, value, expected_version=0)
            return key
        except VersionConflict:
            pass  # made before (a retry) or by a racing registration: use the stored one
        stored = await self.key_of(person_id)
        if stored is None:
            raise RuntimeError(f"the key of person {person_id} was deleted (the person is erased)")
        return stored

    async def key_of(self, person_id: str) -> bytes | None:
        """The person's key, or None if it never existed or was deleted (erased)."""
        record = await self._state.get(COLLECTION, person_id)
        if record is None or "key" not in record.value:
            return None
        return base64.b64decode(record.value["key"])

    async def delete(self, person_id: str) -> None:
        """Delete the key for good: the person's personal data can never be read again."""
        await self._state.put(COLLECTION, person_id, {"erased_at": datetime.now(UTC).isoformat()})

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
