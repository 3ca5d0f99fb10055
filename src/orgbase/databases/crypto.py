"""Connection-string encryption: AES-256-GCM bound to the row it is stored in.

A stored secret is one ``bytea``: a 12-byte random nonce followed by the ciphertext and its 16-byte tag,
plus the id of the key that made it, in its own column. The associated data is the table, the row id and
the organization id, so a ciphertext copied to another row or another organization fails to decrypt
instead of revealing the other row's secret. Keys never appear in a repr, a message or a log line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from orgbase.errors import OrgbaseError

TABLE = "platform.databases"
KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16
# Key ids travel in "kid=base64key" lists and in a text column: keep them short and free of separators.
KEY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class CredentialsError(OrgbaseError):
    """A key or a stored credential cannot be used: bad key material, unknown key id, tampered or moved."""


def associated_data(*, row_id: UUID | str, organization_id: UUID | str, table: str = TABLE) -> bytes:
    """The bytes a ciphertext is bound to: table, row id and organization id, NUL-separated."""
    return b"\x00".join(
        (table.encode(), _canonical(row_id, "row id"), _canonical(organization_id, "organization id"))
    )


def _canonical(value: UUID | str, what: str) -> bytes:
    # UUIDs arrive as uuid.UUID from psycopg and as text from callers: one spelling, or AAD would differ.
    try:
        return str(value if isinstance(value, UUID) else UUID(value)).encode()
    except (ValueError, TypeError, AttributeError):
        raise CredentialsError(f"the {what} is not a UUID") from None


class Keyring:
    """Ordered AES-256 keys by id, immutable; the first is current and encrypts, all of them decrypt."""

    __slots__ = ("_keys", "_order")
    _keys: Mapping[str, bytes]
    _order: tuple[str, ...]

    def __init__(self, keys: Iterable[tuple[str, bytes]]) -> None:
        pairs = list(keys)
        if not pairs:
            raise CredentialsError("a keyring needs at least one key")
        seen: dict[str, bytes] = {}
        for kid, key in pairs:
            _check_key(kid, key, seen)
            seen[kid] = bytes(key)
        # object.__setattr__: this class refuses attribute assignment once built (see __setattr__).
        object.__setattr__(self, "_keys", MappingProxyType(seen))
        object.__setattr__(self, "_order", tuple(kid for kid, _ in pairs))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("a Keyring is immutable; use with_current() to make a new one")

    def __reduce__(self) -> str | tuple[object, ...]:
        # Pickling would copy key material into caches, queues or files: refuse it.
        raise TypeError("a Keyring cannot be pickled")

    @property
    def current_id(self) -> str:
        """The id of the key new ciphertexts are made with."""
        return self._order[0]

    @property
    def ids(self) -> tuple[str, ...]:
        """Every key id, current first."""
        return self._order

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._keys

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def __repr__(self) -> str:
        return f"Keyring(current={self.current_id!r}, ids={self._order!r})"

    def with_current(self, key_id: str, key: bytes) -> Keyring:
        """A new keyring whose current key is ``key``, keeping every existing key for decryption."""
        return Keyring([(key_id, key), *((kid, self._keys[kid]) for kid in self._order)])

    def encrypt(
        self, plaintext: str, *, row_id: UUID | str, organization_id: UUID | str
    ) -> tuple[bytes, str]:
        """Encrypt for one row with the current key: ``(nonce || ciphertext+tag, key id)``."""
        aad = associated_data(row_id=row_id, organization_id=organization_id)
        nonce = os.urandom(NONCE_SIZE)  # random 96-bit nonces: safe far beyond this table's row count
        sealed = AESGCM(self._keys[self.current_id]).encrypt(nonce, plaintext.encode(), aad)
        return nonce + sealed, self.current_id

    def decrypt(
        self, blob: bytes | memoryview, *, key_id: str, row_id: UUID | str, organization_id: UUID | str
    ) -> str:
        """The plaintext of a stored blob; CredentialsError if its key is unknown or it was altered/moved."""
        key = self._keys.get(key_id)
        if key is None:
            raise CredentialsError(
                f"unknown encryption key id {key_id!r}: not in the configured keyring "
                f"({', '.join(self._order)})"
            )
        aad = associated_data(row_id=row_id, organization_id=organization_id)
        blob = bytes(blob)  # psycopg hands bytea over as memoryview or bytes
        if len(blob) < NONCE_SIZE + TAG_SIZE:
            raise CredentialsError(f"stored credential of row {_text(row_id)} is truncated")
        try:
            return AESGCM(key).decrypt(blob[:NONCE_SIZE], blob[NONCE_SIZE:], aad).decode()
        except (InvalidTag, UnicodeDecodeError):
            raise CredentialsError(
                f"stored credential of row {_text(row_id)} does not decrypt with key {key_id!r}: it was "
                "altered, or copied from another row or organization"
            ) from None


def _check_key(kid: str, key: bytes, seen: Mapping[str, bytes]) -> None:
    if not isinstance(kid, str) or not KEY_ID.match(kid):
        raise CredentialsError(
            f"key id {kid!r} is invalid: 1-64 of letters, digits, '_', '.', '-', "
            "starting with a letter or digit"
        )
    if kid in seen:
        raise CredentialsError(f"key id {kid!r} appears twice")
    if not isinstance(key, bytes | bytearray) or len(key) != KEY_SIZE:
        size = len(key) if isinstance(key, bytes | bytearray) else type(key).__name__
        raise CredentialsError(f"key {kid!r} must be {KEY_SIZE} bytes (AES-256), not {size}")


def _text(value: UUID | str) -> str:
    return str(value)
