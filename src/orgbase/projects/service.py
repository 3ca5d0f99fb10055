"""Projects: create (within the plan's limit), list (filters, sort, keyset pages), read, update, delete.

Every query names the organization of the path itself (``organization_id = %s``): application filtering is
a layer of its own, and lists and reads need no principal (the benchmark runs them with no context at all).
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import class_row

from orgbase.audit import service as audit
from orgbase.billing import limits
from orgbase.db.pool import execute_last
from orgbase.db.tenant import Principal
from orgbase.errors import NotFound
from orgbase.orgs import service as orgs
from orgbase.projects.models import Cursor, Order, Project, ProjectCreate, ProjectPage, ProjectUpdate, SortKey

Conn = psycopg.AsyncConnection[Any]

_COLUMNS = sql.SQL("id, organization_id, ref, name, status, created_at, updated_at")


async def create(
    conn: Conn, *, organization_id: uuid.UUID, data: ProjectCreate, principal: Principal, origin: audit.Origin
) -> Project:
    """A new project (``projects.create``), unless the plan's ``max_projects`` is reached."""
    await orgs.require(conn, organization_id=organization_id, permission="projects.create")
    await limits.ensure_room(
        conn, organization_id=organization_id, resource="projects", permission="projects.create"
    )
    cur = conn.cursor(row_factory=class_row(Project))
    await cur.execute(
        sql.SQL("insert into platform.projects (organization_id, name) values (%s, %s) returning {}").format(
            _COLUMNS
        ),
        [organization_id, data.name],
    )
    project = await cur.fetchone()
    assert project is not None
    await _audit(
        conn, "project.create", project, principal, origin, {"name": project.name, "ref": project.ref}
    )
    return project


async def list_page(
    conn: Conn,
    *,
    organization_id: uuid.UUID,
    status: str | None = None,
    name_contains: str | None = None,
    sort: SortKey = SortKey.name,
    order: Order = Order.asc,
    limit: int = 50,
    cursor: Cursor | None = None,
) -> ProjectPage:
    """One page of the organization's projects, ordered by ``sort`` then id; one indexed query.

    The query ends a request's transaction (``execute_last``): call it last.
    """
    where: list[sql.Composable] = [sql.SQL("organization_id = %(org)s")]
    params: dict[str, Any] = {"org": organization_id, "limit": limit + 1}
    if status is not None:
        where.append(sql.SQL("status = %(status)s"))
        params["status"] = status
    if name_contains is not None:
        # strpos, not ILIKE: the client's % and _ are plain characters, with no escaping to get wrong.
        where.append(sql.SQL("strpos(lower(name), lower(%(contains)s)) > 0"))
        params["contains"] = name_contains
    column, direction = sql.Identifier(sort.value), sql.SQL(order.value)
    if cursor is not None:
        # A row comparison on (key, id) resumes exactly after the last row, ties on the key included.
        op = sql.SQL(">" if order is Order.asc else "<")
        where.append(sql.SQL("({}, id) {} (%(key)s, %(id)s)").format(column, op))
        params.update(key=cursor.key, id=cursor.id)
    query = sql.SQL("select {} from platform.projects where {} order by {} {}, id {} limit %(limit)s").format(
        _COLUMNS, sql.SQL(" and ").join(where), column, direction, direction
    )
    cur = conn.cursor(row_factory=class_row(Project))
    await execute_last(cur, query, params)
    rows = await cur.fetchall()
    if len(rows) <= limit:
        return ProjectPage(items=rows, next_cursor=None)
    last = rows[limit - 1]
    key = last.name if sort is SortKey.name else last.created_at
    return ProjectPage(items=rows[:limit], next_cursor=Cursor(sort, order, key, last.id).encode())


async def get(conn: Conn, *, organization_id: uuid.UUID, project_id: uuid.UUID) -> Project:
    """One project of the organization; NotFound otherwise (whether it exists elsewhere or not).

    Its query ends a request's transaction (``execute_last``): call it last.
    """
    cur = conn.cursor(row_factory=class_row(Project))
    await execute_last(
        cur,
        sql.SQL("select {} from platform.projects where id = %s and organization_id = %s").format(_COLUMNS),
        [project_id, organization_id],
    )
    found = await cur.fetchone()
    if found is None:
        raise NotFound("project not found")
    return found


async def update(
    conn: Conn,
    *,
    organization_id: uuid.UUID,
    project_id: uuid.UUID,
    data: ProjectUpdate,
    principal: Principal,
    origin: audit.Origin,
) -> Project:
    """Rename or change the status (``projects.update``)."""
    await orgs.require(conn, organization_id=organization_id, permission="projects.update")
    changes = data.model_dump(exclude_unset=True)
    if not changes:
        return await get(conn, organization_id=organization_id, project_id=project_id)
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in changes
    )
    cur = conn.cursor(row_factory=class_row(Project))
    await cur.execute(
        sql.SQL(
            "update platform.projects set {} where id = %(id)s and organization_id = %(org)s returning {}"
        ).format(assignments, _COLUMNS),
        {**changes, "id": project_id, "org": organization_id},
    )
    project = await cur.fetchone()
    if project is None:
        raise NotFound("project not found")
    await _audit(conn, "project.update", project, principal, origin, changes)
    return project


async def delete(
    conn: Conn,
    *,
    organization_id: uuid.UUID,
    project_id: uuid.UUID,
    principal: Principal,
    origin: audit.Origin,
) -> None:
    """Delete the project and what it owns (``projects.delete``); its audit trail stays."""
    await orgs.require(conn, organization_id=organization_id, permission="projects.delete")
    cur = conn.cursor(row_factory=class_row(Project))
    await cur.execute(
        sql.SQL("delete from platform.projects where id = %s and organization_id = %s returning {}").format(
            _COLUMNS
        ),
        [project_id, organization_id],
    )
    project = await cur.fetchone()
    if project is None:
        raise NotFound("project not found")
    await _audit(
        conn, "project.delete", project, principal, origin, {"name": project.name, "ref": project.ref}
    )


async def _audit(
    conn: Conn,
    action: str,
    project: Project,
    principal: Principal,
    origin: audit.Origin,
    changes: dict[str, Any],
) -> None:
    await audit.record(
        conn,
        action=action,
        origin=origin,
        organization_id=project.organization_id,
        actor_id=principal.user_id,
        target_type="project",
        target_id=project.id,
        changes=changes,
    )
