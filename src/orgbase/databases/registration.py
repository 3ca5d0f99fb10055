"""Change ``006_register_railway_databases_production``: register Lancio's Railway MongoDB and Redis.

The seed's version of this change was a SQL file with production passwords in it. Here the credentials
arrive only at deploy time, from ``ORGBASE_RAILWAY_MONGODB_URL`` and ``ORGBASE_RAILWAY_REDIS_URL`` or from
a 0600 TOML/JSON file named by ``ORGBASE_RAILWAY_DATABASES_FILE`` (keys ``mongodb_url``, ``redis_url``).
With none configured the step is skipped (the engine records why, and deploys it once they are set).
Host, port, type, database and TLS are parsed from each URL; the whole URL is what gets encrypted.

The engine calls ``deploy``/``verify``/``revert(conn, settings)`` inside its transaction with the owner
role set: nothing here commits. Every message names variables and rows, never a URL (it holds a password).
"""

from __future__ import annotations

import json
import os
import tomllib
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from orgbase.config import Settings
from orgbase.databases.crypto import CredentialsError, Keyring
from orgbase.databases.endpoints import TARGETS, Endpoint, Target, parse_url
from orgbase.databases.keys import check_private, load_keyring
from orgbase.db.urls import embedded

CHANGE_ID = "006_register_railway_databases_production"
ORG_SLUG = "lancio"
PROJECT_NAME = "Railway production"
FILE_ENV = "ORGBASE_RAILWAY_DATABASES_FILE"
SKIPPED = (
    f"no credentials configured (set {' and '.join(t.env for t in TARGETS)}, or {FILE_ENV} "
    "naming a 0600 TOML/JSON file with " + " and ".join(t.file_key for t in TARGETS) + ")"
)
_NAMES = [t.name for t in TARGETS]

_ORG = "select id from platform.organizations where slug = %(slug)s"
_PROJECT = (
    "select id from platform.projects where organization_id = %(org)s and name = %(name)s order by id limit 1"
)
# No ref: the server makes a random one, so a collision tells nobody anything.
_NEW_PROJECT = "insert into platform.projects (organization_id, name) values (%(org)s, %(name)s) returning id"
_OURS = """
    select d.id, d.organization_id, d.project_id, d.name, d.type, d.host, d.port, d.database, d.ssl_enabled,
           d.connection_string_encrypted, d.encryption_key_id, d.metadata
      from platform.databases d
      join platform.projects p on p.id = d.project_id and p.organization_id = d.organization_id
      join platform.organizations o on o.id = d.organization_id
     where o.slug = %(slug)s and p.name = %(project)s and d.name = any(%(names)s)
     order by d.name
"""
# The row id is part of the ciphertext's associated data, so it must be known before encrypting:
# reuse the existing row's id, and let the upsert touch only a row with that very id.
_EXISTING = """
    select id from platform.databases
     where organization_id = %(org)s and project_id = %(project)s and name = %(name)s for update
"""
_UPSERT = """
    insert into platform.databases as d
           (id, organization_id, project_id, name, type, host, port, database,
            connection_string_encrypted, encryption_key_id, ssl_enabled, metadata)
    values (%(id)s, %(org)s, %(project)s, %(name)s, %(type)s, %(host)s, %(port)s, %(database)s,
            %(blob)s, %(key_id)s, %(ssl)s, %(metadata)s)
    on conflict (organization_id, project_id, name) do update
       set type = excluded.type, host = excluded.host, port = excluded.port, database = excluded.database,
           connection_string_encrypted = excluded.connection_string_encrypted,
           encryption_key_id = excluded.encryption_key_id, ssl_enabled = excluded.ssl_enabled,
           metadata = d.metadata || excluded.metadata
     where d.id = excluded.id
    returning d.id
"""
_DELETE = "delete from platform.databases where id = any(%(ids)s)"
_DROP_PROJECT = """
    delete from platform.projects p
     where p.id = %(project)s and not exists (select 1 from platform.databases d where d.project_id = p.id)
"""


def deploy(conn: psycopg.Connection[Any], settings: Settings) -> str | None:
    """Register the configured Railway databases; the reason it was skipped when none are configured."""
    return register(conn, settings=settings, environ=os.environ)


def revert(conn: psycopg.Connection[Any], settings: Settings) -> None:
    """Remove the registered rows, and the project too if this step created it and it is now empty."""
    rows = _ours(conn)
    conn.execute(_DELETE, {"ids": [row["id"] for row in rows]})
    made = {row["project_id"] for row in rows if (row["metadata"] or {}).get("created_by") == CHANGE_ID}
    for project in made:
        conn.execute(_DROP_PROJECT, {"project": project})


def verify(conn: psycopg.Connection[Any], settings: Settings) -> None:
    """Raise unless each registered row decrypts in place and matches its columns (and the configuration)."""
    check(conn, settings=settings, environ=os.environ)


def configured_urls(environ: Mapping[str, str]) -> dict[str, str]:
    """The URL of each configured target by type, from the variables and the file that ``environ`` names."""
    urls = {t.type: environ[t.env].strip() for t in TARGETS if environ.get(t.env, "").strip()}
    file = environ.get(FILE_ENV, "").strip()
    for kind, url in (_read_file(Path(file)) if file else {}).items():
        if kind in urls:
            target = next(t for t in TARGETS if t.type == kind)
            raise CredentialsError(f"{target.env} and {target.file_key} in {FILE_ENV} are both set: keep one")
        urls[kind] = url
    return urls


def register(conn: psycopg.Connection[Any], *, settings: Settings, environ: Mapping[str, str]) -> str | None:
    """Upsert every target from ``environ`` under Lancio's Railway project; the skip reason if none is set."""
    urls = configured_urls(environ)
    if not urls:
        return SKIPPED
    missing = [t.env for t in TARGETS if t.type not in urls]
    if missing:
        # Half a registration would be recorded as deployed and never completed: refuse it instead.
        raise CredentialsError(
            f"{', '.join(missing)} not configured: this step registers "
            f"{' and '.join(t.type for t in TARGETS)} together; set all, or none to skip"
        )
    endpoints = {t.type: parse_url(t, urls[t.type]) for t in TARGETS}  # bad URLs fail before any write
    keyring = load_keyring(settings, create=embedded(settings))  # only the embedded set-up makes its own key
    org = _lancio(conn)
    project, created = _project(conn, org)
    for target in TARGETS:
        _upsert(
            conn,
            keyring,
            org=org,
            project=project,
            target=target,
            endpoint=endpoints[target.type],
            url=urls[target.type],
            created_project=created,
        )
    return None


def check(conn: psycopg.Connection[Any], *, settings: Settings, environ: Mapping[str, str]) -> None:
    """Verify the registered rows against their ciphertexts; all must exist if ``environ`` configures them."""
    rows = _ours(conn)
    if configured_urls(environ) and len(rows) != len(TARGETS):
        raise CredentialsError(
            f"{len(rows)} of {len(TARGETS)} Railway databases are registered, expected all"
        )
    # Not compared with the configured URLs: those may change later (a rotated password is updated
    # through the registry, not by this change), and a later `verify` must not fail for it.
    if rows:
        keyring = load_keyring(settings)
        for row in rows:
            _check_row(keyring, row)


def _check_row(keyring: Keyring, row: Mapping[str, Any]) -> None:
    target = next(t for t in TARGETS if t.name == row["name"])
    url = keyring.decrypt(
        row["connection_string_encrypted"],
        key_id=row["encryption_key_id"],
        row_id=row["id"],
        organization_id=row["organization_id"],
    )
    stored = Endpoint(
        type=row["type"], host=row["host"], port=row["port"], database=row["database"], ssl=row["ssl_enabled"]
    )
    if parse_url(target, url) != stored:
        raise CredentialsError(
            f"database {row['name']!r} ({row['id']}): its columns do not match its connection string"
        )


def _read_file(path: Path) -> dict[str, str]:
    if path.suffix not in (".toml", ".json"):
        raise CredentialsError(f"{path} ({FILE_ENV}) must be a .toml or .json file")
    check_private(path)
    text = path.read_text()
    try:
        raw = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CredentialsError(f"{path} ({FILE_ENV}) is not valid TOML: {exc}") from None
    except json.JSONDecodeError as exc:
        # exc.msg and the line, not str(exc) of a wider error: the file's text may hold a password.
        raise CredentialsError(
            f"{path} ({FILE_ENV}) is not valid JSON: {exc.msg} (line {exc.lineno})"
        ) from None
    if not isinstance(raw, dict):
        raise CredentialsError(f"{path} ({FILE_ENV}) must hold a table/object of URLs")
    return _urls_in(raw, path)


def _urls_in(raw: Mapping[str, Any], path: Path) -> dict[str, str]:
    by_key = {t.file_key: t for t in TARGETS}
    unknown = sorted(set(raw) - set(by_key))
    if unknown:
        raise CredentialsError(f"{path}: unknown key(s) {', '.join(unknown)}; expected {', '.join(by_key)}")
    urls: dict[str, str] = {}
    for key, value in raw.items():
        if not isinstance(value, str) or not value.strip():
            raise CredentialsError(f"{path}: {key} must be a non-empty string")
        urls[by_key[key].type] = value.strip()
    return urls


def _ours(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(_OURS, {"slug": ORG_SLUG, "project": PROJECT_NAME, "names": _NAMES}).fetchall()


def _lancio(conn: psycopg.Connection[Any]) -> uuid.UUID:
    row = conn.execute(_ORG, {"slug": ORG_SLUG}).fetchone()
    if row is None:
        raise CredentialsError(f"organization {ORG_SLUG!r} not found: deploy 004_create_lancio_org first")
    return uuid.UUID(str(row[0]))


def _project(conn: psycopg.Connection[Any], org: uuid.UUID) -> tuple[uuid.UUID, bool]:
    row = conn.execute(_PROJECT, {"org": org, "name": PROJECT_NAME}).fetchone()
    if row is not None:
        return uuid.UUID(str(row[0])), False
    made = conn.execute(_NEW_PROJECT, {"org": org, "name": PROJECT_NAME}).fetchone()
    assert made is not None  # INSERT ... RETURNING returns its row or raises
    return uuid.UUID(str(made[0])), True


def _upsert(
    conn: psycopg.Connection[Any],
    keyring: Keyring,
    *,
    org: uuid.UUID,
    project: uuid.UUID,
    target: Target,
    endpoint: Endpoint,
    url: str,
    created_project: bool,
) -> None:
    found = conn.execute(_EXISTING, {"org": org, "project": project, "name": target.name}).fetchone()
    row_id = uuid.UUID(str(found[0])) if found else uuid.uuid4()
    blob, key_id = keyring.encrypt(url, row_id=row_id, organization_id=org)
    # "created_by" only when this run made the project; the merge keeps it across later upserts.
    metadata = {
        "registered_by": CHANGE_ID,
        "provider": "railway",
        "environment": "production",
        **({"created_by": CHANGE_ID} if created_project else {}),
    }
    done = conn.execute(
        _UPSERT,
        {
            "id": row_id,
            "org": org,
            "project": project,
            "name": target.name,
            "type": endpoint.type,
            "host": endpoint.host,
            "port": endpoint.port,
            "database": endpoint.database,
            "blob": blob,
            "key_id": key_id,
            "ssl": endpoint.ssl,
            "metadata": Jsonb(metadata),
        },
    ).fetchone()
    if done is None:
        raise CredentialsError(f"database {target.name!r} changed while registering it: deploy again")
