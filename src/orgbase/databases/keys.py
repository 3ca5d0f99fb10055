"""Where the keyring comes from: ``ORGBASE_ENCRYPTION_KEYS``, else a 0600 key file under ``ORGBASE_HOME``.

Both hold ``kid=base64key`` entries, newest (current) first: comma-separated in the variable, one per line
in the file (blank lines and ``#`` comments allowed). Keys are 32 random bytes, base64 (standard alphabet).
The file is created with O_EXCL and linked into place complete, so a reader never sees half a file; a
rotation writes a new file beside it and renames it over the old one, under a lock, keeping every old key.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import os
import secrets
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from orgbase.config import Settings
from orgbase.databases.crypto import KEY_SIZE, CredentialsError, Keyring

KEY_FILE_NAME = "encryption.keys"
ENV_NAME = "ORGBASE_ENCRYPTION_KEYS"
_HEADER = (
    "# orgbase encryption keys for stored connection strings: kid=base64key, newest (current) first.\n"
    "# Never delete a key while a row or a backup still uses it. Keep this file 0600.\n"
)


def key_file_path(settings: Settings) -> Path:
    """The key file: ``ORGBASE_ENCRYPTION_KEY_FILE``, else ``ORGBASE_HOME/encryption.keys``."""
    return settings.encryption_key_file or settings.home / KEY_FILE_NAME


def keys_from_env(settings: Settings) -> bool:
    """True when the keys come from ``ORGBASE_ENCRYPTION_KEYS`` (then the key file is never touched)."""
    return settings.encryption_keys is not None


def load_keyring(settings: Settings, *, create: bool = False) -> Keyring:
    """The configured keyring; with ``create``, a missing key file is generated first."""
    if settings.encryption_keys is not None:
        return parse_keys(settings.encryption_keys.get_secret_value(), source=ENV_NAME)
    path = key_file_path(settings)
    if create:
        ensure_key_file(path)
    return read_key_file(path)


def parse_keys(text: str, *, source: str) -> Keyring:
    """Parse ``kid=base64key`` entries separated by commas or newlines; ``source`` names them in errors."""
    # Comments first: a comment may hold a comma, an entry never holds '#' (not in base64).
    lines = [line.split("#", 1)[0] for line in text.splitlines()]
    entries = [entry for line in lines for entry in line.split(",")]
    pairs = [
        _parse_entry(entry.strip(), f"{source} entry {n}")
        for n, entry in enumerate(entries, 1)
        if entry.strip()
    ]
    if not pairs:
        raise CredentialsError(f"{source} holds no key: expected kid=base64key[,kid=base64key...]")
    try:
        return Keyring(pairs)
    except CredentialsError as exc:  # a bad id or a duplicate: say where it came from
        raise CredentialsError(f"{source}: {exc}") from None


def _parse_entry(entry: str, where: str) -> tuple[str, bytes]:
    kid, sep, encoded = entry.partition("=")
    kid, encoded = kid.strip(), encoded.strip()
    if not sep or not kid or not encoded:
        raise CredentialsError(f"{where} is not kid=base64key")
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        # The message names the entry, never its value: the value is (part of) a key.
        raise CredentialsError(f"{where} (key id {kid!r}) is not valid base64") from None
    if len(key) != KEY_SIZE:
        raise CredentialsError(
            f"{where} (key id {kid!r}) decodes to {len(key)} bytes; an AES-256 key is "
            f"{KEY_SIZE} (make one with: head -c 32 /dev/urandom | base64)"
        )
    return kid, key


def format_entry(key_id: str, key: bytes) -> str:
    """One ``kid=base64key`` entry, as the file and the variable hold it."""
    return f"{key_id}={base64.b64encode(key).decode()}"


def new_key_id() -> str:
    """A fresh key id: ``k`` + UTC time to the second + 4 random hex digits, so ids sort by age and differ."""
    return f"k{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"


def new_key() -> bytes:
    """32 random bytes from the OS: one AES-256 key."""
    return secrets.token_bytes(KEY_SIZE)


def check_private(path: Path) -> None:
    """Refuse a file that group or others may read or write: it holds secrets."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise CredentialsError(f"{path} does not exist") from None
    if not stat.S_ISREG(info.st_mode):
        raise CredentialsError(f"{path} is not a regular file")
    if info.st_mode & 0o077:
        mode = stat.S_IMODE(info.st_mode)
        raise CredentialsError(
            f"{path} is accessible by group or others (mode {mode:04o}); it holds "
            f"secrets: fix it with `chmod 600 {path}`"
        )


def read_key_file(path: Path) -> Keyring:
    """The keyring stored in ``path`` (which must be 0600 or stricter)."""
    if not path.exists():
        raise CredentialsError(
            f"no encryption keys: {path} does not exist and {ENV_NAME} is not set "
            "(the embedded set-up generates the file; elsewhere set the variable)"
        )
    check_private(path)
    return parse_keys(path.read_text(), source=str(path))


def ensure_key_file(path: Path) -> bool:
    """Generate ``path`` (mode 0600, one new key) unless it exists; True if this call created it."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = _write_private_temp(path, _HEADER + format_entry(new_key_id(), new_key()) + "\n")
    try:
        # link() fails if the name exists: of two concurrent set-ups exactly one wins, and the file
        # appears complete (O_EXCL on the final name alone would expose a half-written file).
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        tmp.unlink()
    _fsync_dir(path.parent)
    return True


def add_key(path: Path) -> str:
    """Rotate the key file: put a new key first, keep every old one; returns the new key id."""
    with _locked(path):
        keyring = read_key_file(path)
        kid, key = new_key_id(), new_key()
        while kid in keyring:  # two rotations within one second and a 1-in-65536 draw
            kid = new_key_id()
        old = path.read_text()
        body = old[len(_HEADER) :] if old.startswith(_HEADER) else old
        tmp = _write_private_temp(path, _HEADER + format_entry(kid, key) + "\n" + body)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    return kid


def _write_private_temp(path: Path, text: str) -> Path:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # the umask cannot widen 0600, but a hostile ACL default could: be explicit
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _fsync_dir(folder: Path) -> None:
    # The rename or link is durable only once the directory entry is on disk.
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    # Two rotations racing on read-modify-write would drop one new key, and the rows encrypted with it.
    lock = path.with_name(f".{path.name}.lock")
    fd = os.open(lock, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
