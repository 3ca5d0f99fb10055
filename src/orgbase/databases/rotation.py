"""Key rotation: re-encrypt every stored connection string that is not on the current key.

A service-role job, and the one place in this package that ends transactions: each batch is its own
transaction, so a long rotation holds row locks for one batch at a time and an interruption loses at most
one batch. Rows already on the current key are skipped, so running it again resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus

from orgbase.databases.crypto import CredentialsError, Keyring

Progress = Callable[[int, int], None]
"""Called after each batch with (rows re-encrypted so far, rows that needed it when the run began)."""

_USAGE = "select encryption_key_id, count(*) from platform.databases group by 1 order by 1"
_PENDING = "select count(*) from platform.databases where encryption_key_id <> %(current)s"
# Keyset pagination by id: each batch starts after the last id seen, so no batch rescans done rows.
# FOR UPDATE: an API write to the same row waits for the batch instead of being overwritten by it.
_BATCH = """
    select id, organization_id, connection_string_encrypted, encryption_key_id
      from platform.databases
     where encryption_key_id <> %(current)s {after}
     order by id
     limit %(limit)s
       for update
"""
# The key id in the WHERE makes the write conditional on what was decrypted, whatever happened meanwhile.
_UPDATE = """
    update platform.databases
       set connection_string_encrypted = %(blob)s, encryption_key_id = %(new_key)s
     where id = %(id)s and encryption_key_id = %(old_key)s
"""
_FIRST_BATCH = sql.SQL(_BATCH).format(after=sql.SQL(""))
_NEXT_BATCH = sql.SQL(_BATCH).format(after=sql.SQL("and id > %(after)s"))


@dataclass(frozen=True)
class RotationResult:
    """What a rotation did: rows re-encrypted, and how many rows use each key afterwards."""

    current_key_id: str
    rotated: int
    usage: dict[str, int]

    @property
    def remaining(self) -> int:
        """Rows still on another key: written with an old key while the run went on; run again."""
        return sum(n for kid, n in self.usage.items() if kid != self.current_key_id)

    def retired_key_ids(self, keyring: Keyring) -> list[str]:
        """Keys of the keyring that no row uses any more (still needed for backups made before)."""
        return [kid for kid in keyring.ids[1:] if kid not in self.usage]


def key_usage(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """How many rows of platform.databases each key id encrypts."""
    return {str(kid): int(n) for kid, n in conn.execute(_USAGE).fetchall()}


def check_keys_known(conn: psycopg.Connection[Any], key_ids: Collection[str]) -> None:
    """CredentialsError if some row uses a key id not in ``key_ids`` (rotation could not decrypt it)."""
    missing = sorted(set(key_usage(conn)) - set(key_ids))
    if missing:
        raise CredentialsError(
            f"rows are encrypted with key id(s) {', '.join(missing)}, which the configured keys "
            f"({', '.join(key_ids) or 'none'}) lack: add them back first"
        )


def pending(conn: psycopg.Connection[Any], keyring: Keyring) -> int:
    """How many rows are not on the keyring's current key."""
    row = conn.execute(_PENDING, {"current": keyring.current_id}).fetchone()
    return int(row[0]) if row else 0


def rotate(
    conn: psycopg.Connection[Any],
    keyring: Keyring,
    *,
    batch_size: int = 500,
    progress: Progress | None = None,
) -> RotationResult:
    """Re-encrypt every row not on the current key, one transaction per batch; needs an idle connection."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if conn.info.transaction_status != TransactionStatus.IDLE:
        # Inside an open transaction every conn.transaction() below would be a savepoint: nothing would
        # commit until the caller's end, holding every row lock, which is what batches are for avoiding.
        raise CredentialsError("rotate needs a connection with no transaction open (e.g. autocommit=True)")
    with conn.transaction():
        check_keys_known(conn, keyring.ids)
        total = pending(conn, keyring)
    done, after = 0, None
    while True:
        with conn.transaction():
            count, after = _rotate_batch(conn, keyring, after=after, limit=batch_size)
        if count == 0:
            break
        done += count
        if progress is not None:
            progress(done, max(total, done))
    with conn.transaction():
        usage = key_usage(conn)
    return RotationResult(current_key_id=keyring.current_id, rotated=done, usage=usage)


def _rotate_batch(
    conn: psycopg.Connection[Any], keyring: Keyring, *, after: UUID | None, limit: int
) -> tuple[int, UUID | None]:
    query = _FIRST_BATCH if after is None else _NEXT_BATCH
    rows = conn.execute(query, {"current": keyring.current_id, "after": after, "limit": limit}).fetchall()
    updates = []
    for row_id, org_id, blob, old_key in rows:
        plaintext = keyring.decrypt(blob, key_id=old_key, row_id=row_id, organization_id=org_id)
        new_blob, new_key = keyring.encrypt(plaintext, row_id=row_id, organization_id=org_id)
        updates.append({"blob": new_blob, "new_key": new_key, "id": row_id, "old_key": old_key})
    if updates:
        with conn.cursor() as cur:
            cur.executemany(_UPDATE, updates)
    return len(rows), (rows[-1][0] if rows else after)
