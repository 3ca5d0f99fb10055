"""Registered databases: register (encrypted, within the plan), list and read (masked), update, delete,
test the connection, record health, and the audited reveal of the connection string.

Every query names the path's organization itself. Reads go through ``platform.databases_safe`` (no
credentials). The app role cannot read the ciphertext: only ``platform.get_database_credentials`` hands it
over, to owners and admins, and only this process holds the key to decrypt it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from orgbase.audit import service as audit
from orgbase.billing import limits
from orgbase.databases.crypto import Keyring
from orgbase.databases.models import (
    Credentials,
    Database,
    DatabaseCreate,
    DatabaseUpdate,
    HealthUpdate,
    parse_connection_string,
)
from orgbase.db.pool import execute_last
from orgbase.db.tenant import Principal
from orgbase.errors import InvalidInput, NotFound, PermissionDenied
from orgbase.orgs import service as orgs

log = logging.getLogger("orgbase.databases")

Conn = psycopg.AsyncConnection[Any]

_SAFE = "select * from platform.databases_safe where organization_id = %(org)s"
_PROJECT = "select 1 from platform.projects where id = %s and organization_id = %s"
_INSERT = """
insert into platform.databases (id, organization_id, project_id, name, type, host, port, database,
                                connection_string_encrypted, encryption_key_id, ssl_enabled, config, metadata)
values (%(id)s, %(org)s, %(project)s, %(name)s, %(type)s, %(host)s, %(port)s, %(database)s, %(blob)s,
        %(key_id)s, %(ssl)s, %(config)s, %(metadata)s)
"""
_CREDENTIALS = "select ciphertext, key_id, organization_id from platform.get_database_credentials(%s)"


async def register(
    conn: Conn,
    *,
    keyring: Keyring,
    organization_id: uuid.UUID,
    project_id: uuid.UUID,
    data: DatabaseCreate,
    principal: Principal,
    origin: audit.Origin,
) -> Database:
    """Register a database in a project (``databases.create``), its URL encrypted for the new row.

    Its last query ends a request's transaction (``execute_last``): call it last.
    """
    await orgs.require(conn, organization_id=organization_id, permission="databases.create")
    endpoint = parse_connection_string(data.type, data.connection_string, ssl=data.ssl)
    await _project(conn, organization_id=organization_id, project_id=project_id)
    await limits.ensure_room(
        conn, organization_id=organization_id, resource="databases", permission="databases.create"
    )
    row_id = uuid.uuid4()  # part of the ciphertext's associated data: chosen before encrypting
    blob, key_id = keyring.encrypt(data.connection_string, row_id=row_id, organization_id=organization_id)
    params = {"id": row_id, "org": organization_id, "project": project_id, "name": data.name}
    params.update(asdict(endpoint), blob=blob, key_id=key_id)
    await conn.execute(_INSERT, {**params, "config": Jsonb(data.config), "metadata": Jsonb(data.metadata)})
    changes = {"name": data.name, "project_id": str(project_id), "endpoint": endpoint.masked()}
    await audit_change(conn, "database.create", organization_id, row_id, principal, origin, changes)
    return await fetch(conn, organization_id=organization_id, database_id=row_id, last=True)


async def list_all(
    conn: Conn, *, organization_id: uuid.UUID, project_id: uuid.UUID | None = None, kind: str | None = None
) -> list[Database]:
    """The organization's databases (``databases.read``), masked, by name; a project's only if given.

    Its query ends a request's transaction (``execute_last``): call it last.
    """
    await orgs.require(conn, organization_id=organization_id, permission="databases.read")
    query, params = _SAFE, {"org": organization_id, "project": project_id, "type": kind}
    if project_id is not None:
        await _project(conn, organization_id=organization_id, project_id=project_id)
        query += " and project_id = %(project)s"
    if kind is not None:
        query += " and type = %(type)s"
    cur = conn.cursor(row_factory=class_row(Database))
    await execute_last(cur, query + " order by name, id", params)
    return await cur.fetchall()


async def get(conn: Conn, *, organization_id: uuid.UUID, database_id: uuid.UUID) -> Database:
    """One database of the organization (``databases.read``), masked; NotFound otherwise.

    Its last query ends a request's transaction (``execute_last``): call it last.
    """
    await orgs.require(conn, organization_id=organization_id, permission="databases.read")
    return await fetch(conn, organization_id=organization_id, database_id=database_id, last=True)


async def update(
    conn: Conn,
    *,
    keyring: Keyring,
    organization_id: uuid.UUID,
    database_id: uuid.UUID,
    data: DatabaseUpdate,
    principal: Principal,
    origin: audit.Origin,
) -> Database:
    """Change a database (``databases.update``); a new URL is re-encrypted and resets its health.

    Its last query ends a request's transaction (``execute_last``): call it last.
    """
    await orgs.require(conn, organization_id=organization_id, permission="databases.update")
    current = await fetch(conn, organization_id=organization_id, database_id=database_id, lock=True)
    sent = data.model_dump(exclude_unset=True)
    values: dict[str, Any] = {k: sent[k] for k in ("name", "status") if k in sent}
    values.update({k: Jsonb(sent[k]) for k in ("config", "metadata") if k in sent})
    changes: dict[str, Any] = {k: sent[k] for k in ("name", "status") if k in sent}
    changes.update({k: "changed" for k in ("config", "metadata") if k in sent})
    if "ssl" in sent and "connection_string" not in sent:
        raise InvalidInput("ssl is derived with the connection string: send both", code="invalid_input")
    if "connection_string" in sent:  # the type stays: a new URL must be of the same kind
        endpoint = parse_connection_string(current.type, sent["connection_string"], ssl=sent.get("ssl"))
        blob, key_id = keyring.encrypt(
            sent["connection_string"], row_id=database_id, organization_id=organization_id
        )
        values.update(host=endpoint.host, port=endpoint.port, database=endpoint.database)
        values.update(ssl_enabled=endpoint.ssl, connection_string_encrypted=blob, encryption_key_id=key_id)
        values.update(health_check_status="unknown", health_check_error=None, last_health_check_at=None)
        changes.update(connection_string="changed", endpoint=endpoint.masked())
    if values:
        assignments = sql.SQL(", ").join(
            sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in values
        )
        await conn.execute(
            sql.SQL(
                "update platform.databases set {} where id = %(id)s and organization_id = %(org)s"
            ).format(assignments),
            {**values, "id": database_id, "org": organization_id},
        )
        await audit_change(conn, "database.update", organization_id, database_id, principal, origin, changes)
    return await fetch(conn, organization_id=organization_id, database_id=database_id, last=True)


async def delete(
    conn: Conn,
    *,
    organization_id: uuid.UUID,
    database_id: uuid.UUID,
    principal: Principal,
    origin: audit.Origin,
) -> None:
    """Remove a database from the registry (``databases.delete``); its audit trail stays."""
    await orgs.require(conn, organization_id=organization_id, permission="databases.delete")
    cur = await conn.execute(
        "delete from platform.databases where id = %s and organization_id = %s returning name",
        [database_id, organization_id],
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFound("database not found")
    await audit_change(
        conn, "database.delete", organization_id, database_id, principal, origin, {"name": row[0]}
    )


async def record_health(
    conn: Conn,
    *,
    organization_id: uuid.UUID,
    database_id: uuid.UUID,
    data: HealthUpdate,
    principal: Principal,
    origin: audit.Origin,
) -> Database:
    """Record a health check made elsewhere (``databases.update``); a healthy one clears the error.

    Its last query ends a request's transaction (``execute_last``): call it last.
    """
    await orgs.require(conn, organization_id=organization_id, permission="databases.update")
    await fetch(conn, organization_id=organization_id, database_id=database_id, lock=True)
    await set_health(conn, database_id=database_id, status=data.status, error=data.error)
    changes = {"status": data.status}
    await audit_change(
        conn, "database.health_update", organization_id, database_id, principal, origin, changes
    )
    return await fetch(conn, organization_id=organization_id, database_id=database_id, last=True)


async def reveal(
    conn: Conn,
    *,
    apart: audit.Apart,
    keyring: Keyring,
    organization_id: uuid.UUID,
    database_id: uuid.UUID,
    principal: Principal,
    origin: audit.Origin,
) -> Credentials:
    """The decrypted connection string (``databases.reveal_credentials``); audited, a denial apart."""
    current = await fetch(conn, organization_id=organization_id, database_id=database_id)
    url = await decrypt(conn, keyring, organization_id=organization_id, database_id=database_id)
    changes = {"name": current.name, "endpoint": current.connection_string_masked}
    if url is None:  # the row is there (above): the database refused the caller
        await audit.record_apart(
            apart,
            action="database.reveal_credentials_denied",
            origin=origin,
            organization_id=organization_id,
            actor_id=principal.user_id,
            target_type="database",
            target_id=database_id,
            changes=changes,
        )
        raise PermissionDenied("your role does not allow databases.reveal_credentials", code="role_forbids")
    await audit_change(
        conn, "database.reveal_credentials", organization_id, database_id, principal, origin, changes
    )
    return Credentials(id=database_id, connection_string=url)


async def record_stranger_reveal(
    apart: audit.Apart, *, organization_id: uuid.UUID, database_id: uuid.UUID, origin: audit.Origin
) -> None:
    """Audit a reveal in an organization that refused to bind the caller, as a platform event; never raises.

    ``apart`` is bound to the caller's session, not to that organization. The caller gets the 404 of an
    unknown id either way, also when the record fails (then the attempt is logged): the record is for
    operators (organization_id NULL: a non-member may not write into the organization's log, and the
    organization's admins would learn nothing they can act on). A member's request for a database that does
    not exist records nothing.
    """
    try:
        await _record_stranger_reveal(apart, organization_id, database_id, origin)
    except Exception as exc:
        log.warning(
            "request %s: a stranger's reveal of database %s in organization %s not audited: %s",
            origin.request_id,
            database_id,
            organization_id,
            type(exc).__name__,
        )


async def _record_stranger_reveal(
    apart: audit.Apart, organization_id: uuid.UUID, database_id: uuid.UUID, origin: audit.Origin
) -> None:
    async with apart() as conn:
        cur = await conn.execute(
            "select platform.get_current_user_id(), %s = any(platform.current_user_org_ids())",
            [organization_id],
        )
        row = await cur.fetchone()
        if row is None or row[0] is None or row[1]:
            return
        await audit.record(
            conn,
            action="database.reveal_credentials_denied",
            origin=origin,
            actor_id=row[0],
            target_type="database",
            target_id=database_id,
            changes={"organization_id": str(organization_id), "reason": "not_a_member"},
        )


async def fetch(
    conn: Conn, *, organization_id: uuid.UUID, database_id: uuid.UUID, lock: bool = False, last: bool = False
) -> Database:
    """One database of the organization, masked, with no permission check; NotFound otherwise.

    ``last``: the request's last statement (``execute_last``: COMMIT rides on it).
    """
    if lock:  # serialize concurrent changes of one row (the view has no credentials to lock)
        cur = await conn.execute(
            "select 1 from platform.databases where id = %s and organization_id = %s for update",
            [database_id, organization_id],
        )
        if await cur.fetchone() is None:
            raise NotFound("database not found")
    found = conn.cursor(row_factory=class_row(Database))
    params = {"org": organization_id, "id": database_id}
    if last:
        await execute_last(found, _SAFE + " and id = %(id)s", params)
    else:
        await found.execute(_SAFE + " and id = %(id)s", params)
    row = await found.fetchone()
    if row is None:
        raise NotFound("database not found")
    return row


async def decrypt(
    conn: Conn, keyring: Keyring, *, organization_id: uuid.UUID, database_id: uuid.UUID
) -> str | None:
    """The plaintext URL if the context's user may read it (the database decides), else None."""
    cur = await conn.execute(_CREDENTIALS, [database_id])
    row = await cur.fetchone()
    if row is None or row[2] != organization_id:
        return None
    return keyring.decrypt(row[0], key_id=row[1], row_id=database_id, organization_id=organization_id)


async def _project(conn: Conn, *, organization_id: uuid.UUID, project_id: uuid.UUID) -> None:
    cur = await conn.execute(_PROJECT, [project_id, organization_id])
    if await cur.fetchone() is None:
        raise NotFound("project not found")


async def set_health(conn: Conn, *, database_id: uuid.UUID, status: str, error: str | None) -> None:
    """Record a health check on a database the caller found in the path's organization."""
    # The row was found in the path's organization just before; the function itself filters by id only.
    await conn.execute("select platform.update_database_health(%s, %s, %s)", [database_id, status, error])


async def audit_change(
    conn: Conn,
    action: str,
    organization_id: uuid.UUID,
    database_id: uuid.UUID,
    principal: Principal,
    origin: audit.Origin,
    changes: dict[str, Any],
) -> None:
    """Audit a change of a database in the caller's transaction."""
    await audit.record(
        conn,
        action=action,
        origin=origin,
        organization_id=organization_id,
        actor_id=principal.user_id,
        target_type="database",
        target_id=database_id,
        changes=changes,
    )
