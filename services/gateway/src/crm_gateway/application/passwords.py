"""Password hashing with Argon2id (argon2-cffi), off the event loop and with bounded concurrency."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Passwords:
    """Hashes and verifies passwords.

    Each hash costs tens of milliseconds and (by default) 64 MiB, so hashing runs in worker threads
    and at most ``concurrency`` at a time: a flood of sign-ins queues instead of exhausting memory.
    """

    def __init__(self, hasher: PasswordHasher | None = None, concurrency: int = 4) -> None:
        self._hasher = hasher or PasswordHasher()
        self._slots = asyncio.Semaphore(concurrency)
        # Verified against when the user is unknown, so that case takes as long as a wrong password.
        self._dummy = self._hasher.hash("not a password of anyone")

    async def hash(self, password: str) -> str:
        """The Argon2id hash of ``password`` (salted, with its parameters)."""
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether ``password`` matches; with ``password_hash`` None, spends the same time and says no."""
        async with self._slots:
            return await asyncio.to_thread(self._verify, password_hash, password)

    def _verify(self, password_hash: str | None, password: str) -> bool:
        try:
            self._hasher.verify(password_hash or self._dummy, password)
        except (VerificationError, InvalidHashError):
            return False
        return password_hash is not None
