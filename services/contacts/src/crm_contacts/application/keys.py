"""The key store of personal data: one AES-256 key per contact person, kept outside the event log.

Keys live in the ``person_keys`` collection of the service's read store. No projection owns it, so
no rebuild ever drops it — and it is **primary data, not a view: back it up together with the event
store.** Losing it erases every person's personal data; the events alone cannot bring it back.
Erasing a person deletes its key (a tombstone with no key material remains, so a replayed write
cannot bring it back). A restored older backup may still hold the key of a person erased since;
readers ignore it, because the person's stream records the erasure.
Storage engines may keep freed bytes until overwritten (SQLite pages, WAL; MongoDB journal): run the
stores on encrypted disks, and keep backups only as long as the erasure policy allows.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from crm_contacts.domain import crypto
from crm_shared.readstore import Delete, Put, ReadStore

COLLECTION = "person_keys"
_KEPT, _DELETED = 1, 2  # document versions: a deleted key's tombstone outranks any re-put


class PersonKeys:
    """Creates, reads and deletes persons' keys."""

    def __init__(self, views: ReadStore) -> None:
        self._views = views

    async def create(self, person_id: str) -> bytes:
        """The person's key, made now if it has none (a retried registration keeps the first one)."""
        existing = await self.key_of(person_id)
        if existing is not None:
            return existing
        key = crypto.new_key()
        document = {
            "_id": person_id,
            "_version": _KEPT,
            "key": base64.b64encode(key).decode("ascii"),
            "created_at": datetime.now(UTC).isoformat(),
        }
        await self._views.apply([Put(COLLECTION, document)])
        # Two registrations racing with one id: both must use the stored key.
        stored = await self.key_of(person_id)
        if stored is None:
            raise RuntimeError(f"the key of person {person_id} was deleted while it was being made")
        return stored

    async def key_of(self, person_id: str) -> bytes | None:
        """The person's key, or None if it never existed or was deleted (erased)."""
        document = await self._views.get(COLLECTION, person_id)
        return None if document is None else base64.b64decode(document["key"])

    async def delete(self, person_id: str) -> None:
        """Delete the key for good: the person's personal data can never be read again."""
        await self._views.apply([Delete(COLLECTION, person_id, _DELETED)])
