"""Organizations: create (with the owner membership, in one definer call), list, read, update, delete."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import class_row

from orgbase.audit import service as audit
from orgbase.db.pool import execute_last
from orgbase.db.tenant import Principal
from orgbase.errors import NotFound, PermissionDenied
from orgbase.orgs.models import Organization, OrganizationCreate, OrganizationUpdate

Conn = psycopg.AsyncConnection[Any]

_SELECT = """
select o.id, o.name, o.slug, o.billing_email, m.role, o.created_at, o.updated_at
  from platform.organizations o
  join platform.organization_members m
    on m.organization_id = o.id and m.user_id = platform.get_current_user_id()
"""


async def require(conn: Conn, *, organization_id: uuid.UUID, permission: str) -> None:
    """PermissionDenied unless the context's user holds ``permission`` there (the one matrix, in SQL)."""
    cur = await conn.execute("select platform.has_permission(%s, %s)", [organization_id, permission])
    row = await cur.fetchone()
    if not (row and row[0]):
        raise PermissionDenied(f"your role does not allow {permission}", code="role_forbids")


async def create(
    conn: Conn, *, data: OrganizationCreate, principal: Principal, origin: audit.Origin
) -> Organization:
    """A new organization whose owner is the context's user."""
    cur = await conn.execute(
        "select platform.create_organization(%s, %s, %s)", [data.name, data.slug, data.billing_email]
    )
    row = await cur.fetchone()
    assert row is not None
    org_id: uuid.UUID = row[0]
    await audit.record(
        conn,
        action="organization.create",
        origin=origin,
        organization_id=org_id,
        actor_id=principal.user_id,
        target_type="organization",
        target_id=org_id,
        changes={"name": data.name, "slug": data.slug},
    )
    return await get(conn, organization_id=org_id)


async def list_mine(conn: Conn) -> list[Organization]:
    """The organizations the context's user belongs to.

    Its query ends a request's transaction (``execute_last``): call it last.
    """
    cur = conn.cursor(row_factory=class_row(Organization))
    await execute_last(cur, _SELECT + " order by o.name, o.id")
    return await cur.fetchall()


# One organization by the id the request names. A user in the context must be a member (an application-level
# filter of its own, beside auth_bind's check); with no context at all (the benchmark's baseline mode only)
# the row is found by id alone, so that both modes do the same work.
_GET = """
select o.id, o.name, o.slug, o.billing_email, m.role, o.created_at, o.updated_at
  from platform.organizations o
  left join platform.organization_members m
    on m.organization_id = o.id and m.user_id = platform.get_current_user_id()
 where o.id = %s and (m.user_id is not null or platform.get_current_user_id() is null)
"""


async def get(conn: Conn, *, organization_id: uuid.UUID) -> Organization:
    """One organization of the context's user; NotFound otherwise (whether it exists or not).

    The statement ends a request's transaction (``execute_last``): call it last.
    """
    cur = conn.cursor(row_factory=class_row(Organization))
    await execute_last(cur, _GET, [organization_id])
    found = await cur.fetchone()
    if found is None:
        raise NotFound("organization not found")
    return found


async def update(
    conn: Conn,
    *,
    organization_id: uuid.UUID,
    data: OrganizationUpdate,
    principal: Principal,
    origin: audit.Origin,
) -> Organization:
    """Change name, slug or billing email (``org.update``)."""
    await require(conn, organization_id=organization_id, permission="org.update")
    changes = data.model_dump(exclude_unset=True)
    if changes:
        assignments = sql.SQL(", ").join(
            sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in changes
        )
        await conn.execute(
            sql.SQL("update platform.organizations set {} where id = %(id)s").format(assignments),
            {**changes, "id": organization_id},
        )
        await audit.record(
            conn,
            action="organization.update",
            origin=origin,
            organization_id=organization_id,
            actor_id=principal.user_id,
            target_type="organization",
            target_id=organization_id,
            changes=changes,
        )
    return await get(conn, organization_id=organization_id)


async def delete(
    conn: Conn, *, organization_id: uuid.UUID, principal: Principal, origin: audit.Origin
) -> None:
    """Delete the organization and everything it owns (``org.delete``); its audit trail stays."""
    await require(conn, organization_id=organization_id, permission="org.delete")
    await audit.record(
        conn,
        action="organization.delete",
        origin=origin,
        organization_id=organization_id,
        actor_id=principal.user_id,
        target_type="organization",
        target_id=organization_id,
    )
    await conn.execute("delete from platform.organizations where id = %s", [organization_id])
