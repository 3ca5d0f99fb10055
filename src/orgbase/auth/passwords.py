"""Password hashing with argon2id, off the event loop (it is deliberately slow and memory-hard)."""

from __future__ import annotations

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from orgbase.config import Settings


class Passwords:
    """Hashes and verifies passwords; a missing account is verified against a dummy hash (constant time)."""

    def __init__(self, settings: Settings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_kib, parallelism=1
        )
        self._dummy = self._hasher.hash("orgbase dummy password: nobody has it")

    async def hash(self, password: str) -> str:
        """The argon2id hash of ``password``."""
        return await anyio.to_thread.run_sync(self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        """Whether ``password`` matches ``stored``; the same work is done when there is no account."""
        try:
            return (
                await anyio.to_thread.run_sync(self._hasher.verify, stored or self._dummy, password)
                and stored is not None
            )
        except (VerificationError, InvalidHashError):
            return False
