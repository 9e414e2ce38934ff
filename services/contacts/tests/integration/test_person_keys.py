"""The persons' key store on the real embedded state store: one key per person, erasure for good, and
the one-time move of keys that earlier versions kept in the read store."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from crm_contacts.application.keys import COLLECTION, PersonKeys
from crm_shared.readstore import Delete, Put
from crm_shared.readstore.sqlite import SqliteReadStore
from crm_shared.statestore.sqlite import SqliteStateStore


@pytest.fixture
async def keys(tmp_path: Path) -> AsyncIterator[PersonKeys]:
    state = await SqliteStateStore.open(tmp_path / "state.db")
    yield PersonKeys(state)
    await state.close()


async def test_a_person_has_one_key_even_when_registrations_race(keys: PersonKeys) -> None:
    made = await asyncio.gather(*(keys.create("p1") for _ in range(5)))
    assert len(set(made)) == 1 and len(made[0]) == 32
    assert await keys.key_of("p1") == made[0]
    assert await keys.key_of("nobody") is None


async def test_a_deleted_key_is_gone_for_good(keys: PersonKeys, tmp_path: Path) -> None:
    key = await keys.create("p1")
    await keys.delete("p1")
    assert await keys.key_of("p1") is None
    with pytest.raises(RuntimeError, match="erased"):
        await keys.create("p1")  # a retried registration cannot bring a new key
    assert base64.b64encode(key) not in (tmp_path / "state.db").read_bytes()


async def test_keys_kept_in_the_read_store_move_here_once_and_leave_no_copy(keys: PersonKeys, tmp_path: Path) -> None:
    views = await SqliteReadStore.open(tmp_path / "views.db")
    try:
        old = base64.b64encode(b"k" * 32).decode()
        await views.apply(
            [
                Put(COLLECTION, {"_id": "kept", "_version": 1, "key": old, "created_at": "2026-01-01T00:00:00+00:00"}),
                Put(COLLECTION, {"_id": "erased", "_version": 1, "key": old}),
                Delete(COLLECTION, "erased", 2),
            ]
        )
        assert await keys.adopt_from(views) == 1
        assert await keys.key_of("kept") == b"k" * 32
        assert await keys.key_of("erased") is None
        assert await views.get(COLLECTION, "kept") is None  # the read store's copy is dropped
        assert await keys.adopt_from(views) == 0  # once
    finally:
        await views.close()
