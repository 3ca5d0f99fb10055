"""``orgbase databases``: the keys of stored connection strings; exit codes live in ``cli/main.py``."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import psycopg
import typer

from orgbase.cli.common import say, service_connection, settings
from orgbase.config import Settings
from orgbase.databases import keys, rotation
from orgbase.databases.crypto import Keyring

app = typer.Typer(
    help="Registered databases: the encryption keys of their connection strings.",
    no_args_is_help=True,
)


@app.callback()
def _group() -> None:
    """Registered databases: the encryption keys of their connection strings."""
    # A callback keeps this a group of commands even while it has one, so `databases rotate-key` parses.


@app.command("rotate-key")
def rotate_key(
    batch_size: Annotated[int, typer.Option(min=1, help="Rows re-encrypted per transaction.")] = 500,
    resume: Annotated[
        bool,
        typer.Option("--resume", help="Do not generate a key: finish re-encrypting to the current one."),
    ] = False,
) -> None:
    """Generate a new current key and re-encrypt every stored connection string."""
    cfg = settings()
    with service_connection(cfg) as conn:
        with conn.transaction():
            # Before touching the key file: a row on a key the keyring lacks would stop rotation halfway.
            rotation.check_keys_known(conn, _known_key_ids(cfg))
        keyring = _current_keyring(cfg, generate=not resume)
        result = _reencrypt(conn, keyring, batch_size=batch_size)
    say(f"{result.rotated} connection string(s) re-encrypted to key {result.current_key_id}")
    if result.remaining:
        # Rows written meanwhile by a process that had not loaded the new key yet.
        say(f"{result.remaining} row(s) are still on older keys: run `orgbase databases rotate-key --resume`")
    retired = result.retired_key_ids(keyring)
    if retired:
        say(
            f"no row uses key(s) {', '.join(retired)} any more; keep them while backups made before "
            "this rotation may be restored"
        )


def _known_key_ids(cfg: Settings) -> tuple[str, ...]:
    """The key ids configured now; none when the key file is still to be generated."""
    if keys.keys_from_env(cfg) or keys.key_file_path(cfg).exists():
        return keys.load_keyring(cfg).ids
    return ()


def _current_keyring(cfg: Settings, *, generate: bool) -> Keyring:
    """The keyring to rotate to: a new key in the key file, or as configured (env keys, --resume)."""
    if keys.keys_from_env(cfg):
        keyring = keys.load_keyring(cfg)
        if generate:
            say(
                f"keys come from {keys.ENV_NAME}: no key generated; re-encrypting to its first key "
                f"{keyring.current_id} (to rotate, put a new key first in the variable, keep the old ones, "
                "restart every orgbase process, then run this again)"
            )
        return keyring
    if not generate:
        return keys.load_keyring(cfg)
    path = keys.key_file_path(cfg)
    if keys.ensure_key_file(path):
        keyring = keys.read_key_file(path)
        say(f"generated {path} with key {keyring.current_id}")
        return keyring
    new_id = keys.add_key(path)
    say(
        f"new current key {new_id} added to {path} (older keys kept); restart orgbase processes that "
        "decrypt (the API) so they load it"
    )
    return keys.read_key_file(path)


def _reencrypt(
    conn: psycopg.Connection[Any], keyring: Keyring, *, batch_size: int
) -> rotation.RotationResult:
    """Run the rotation with a progress bar sized by the rows not yet on the current key."""
    with conn.transaction():
        total = rotation.pending(conn, keyring)
    with typer.progressbar(length=total, label="re-encrypting", file=sys.stderr) as bar:
        shown = 0

        def advance(done: int, _total: int) -> None:
            nonlocal shown
            bar.update(done - shown)
            shown = done

        return rotation.rotate(conn, keyring, batch_size=batch_size, progress=advance)
