"""The key store of personal data: one AES-256 key per data subject (a contact person), kept outside
the event log (ADR 12, 15).

Keys live in one collection of a service's **state store**: primary data, not a view, so no rebuild
touches it — **back it up together with the event store.** Losing it erases every subject's
personal data; the events alone cannot bring it back. A key is created once (compare-and-set on
"absent", so two racing writers share the first key). Erasing a subject replaces its record by a
tombstone without key material, so a later write cannot make a new key. Storage engines may keep
freed bytes until overwritten (the SQLite adapter zeroes them, but its WAL and MongoDB's journal keep
them for a while): run the stores on encrypted disks, and keep backups only as long as the erasure
policy allows.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from datetime import UTC, datetime

from crm_shared import sealing
from crm_shared.statestore import StateStore, VersionConflict


class SubjectErased(Exception):
    """The subject's key was deleted: nothing personal of it can be written again."""


class SubjectKeys:
    """Creates, reads and deletes the keys of data subjects in ``collection`` of a state store."""

    def __init__(self, state: StateStore, collection: str) -> None:
        self._state = state
        self.collection = collection

    async def create(self, subject: str) -> bytes:
        """The subject's key, made now if it has none (a retry keeps the first one); raises
        :class:`SubjectErased` when it was deleted."""
        key = sealing.new_key()
        value = {"key": base64.b64encode(key).decode("ascii"), "created_at": datetime.now(UTC).isoformat()}
        try:
            await self._state.put(self.collection, subject, value, expected_version=0)
            return key
        except VersionConflict:
            pass  # made before (a retry) or by a racing writer: use the stored one
        stored = await self.key_of(subject)
        if stored is None:
            raise SubjectErased(f"the key of {subject} was deleted (erased)")
        return stored

    async def key_of(self, subject: str) -> bytes | None:
        """The subject's key, or None if it never existed or was deleted (erased)."""
        record = await self._state.get(self.collection, subject)
        if record is None or "key" not in record.value:
            return None
        return base64.b64decode(record.value["key"])

    async def keys_of(self, subjects: Iterable[str]) -> dict[str, bytes | None]:
        """The keys of several subjects (None for each erased or unknown one)."""
        return {subject: await self.key_of(subject) for subject in dict.fromkeys(subjects)}

    async def erased(self, subject: str) -> bool:
        """Whether the subject's key was deleted (a tombstone is there)."""
        record = await self._state.get(self.collection, subject)
        return record is not None and "key" not in record.value

    async def delete(self, subject: str) -> None:
        """Delete the key for good: the subject's personal data can never be read again."""
        await self._state.put(self.collection, subject, {"erased_at": datetime.now(UTC).isoformat()})
