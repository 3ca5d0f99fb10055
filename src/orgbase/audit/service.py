"""Writing the audit trail: in the request's transaction for mutations, in a transaction of its own for
security events, which must be recorded even though their request fails. Reading it: an organization's
log, filtered, in keyset pages newest first."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from orgbase.audit.models import Cursor, Entry, Filters, Page
from orgbase.db.pool import execute_last

_INSERT = """
insert into platform.audit_logs (organization_id, actor_id, action, target_type, target_id, changes,
                                 ip_address, user_agent, request_id)
values (%s, %s, %s, %s, %s, %s, %s, %s, %s)
"""


@dataclass(frozen=True)
class Origin:
    """Where a request came from, as the audit trail records it."""

    request_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None


async def record(
    conn: psycopg.AsyncConnection[Any],
    *,
    action: str,
    origin: Origin,
    organization_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    target_type: str | None = None,
    target_id: object = None,
    changes: dict[str, Any] | None = None,
) -> None:
    """Append one record in the caller's transaction (it commits or rolls back with the change)."""
    await conn.execute(
        _INSERT,
        [
            organization_id,
            actor_id,
            action,
            target_type,
            None if target_id is None else str(target_id),
            Jsonb(changes or {}),
            origin.ip,
            (origin.user_agent or "")[:1024] or None,
            origin.request_id,
        ],
    )


# Opens a transaction of its own and commits it when the block ends (``Tenant.apart`` in the API).
Apart = Callable[[], AbstractAsyncContextManager[psycopg.AsyncConnection[Any]]]


async def record_apart(apart: Apart, *, action: str, origin: Origin, **fields: Any) -> None:
    """Append one record in a transaction of its own (``apart``), committed whatever the request becomes."""
    async with apart() as conn:
        await record(conn, action=action, origin=origin, **fields)


_COLUMNS = sql.SQL(
    "id, organization_id, actor_id, action, target_type, target_id, changes, ip_address, user_agent, "
    "request_id, created_at"
)


async def list_page(
    conn: psycopg.AsyncConnection[Any],
    *,
    organization_id: uuid.UUID,
    filters: Filters,
    limit: int = 50,
    cursor: Cursor | None = None,
) -> Page:
    """One page of the organization's log, newest first (created_at, id); the caller checks audit.read.

    Its query ends a request's transaction (``execute_last``): call it last.
    """
    where, params = _conditions(organization_id, filters, cursor)
    params["limit"] = limit + 1
    query = sql.SQL(
        "select {} from platform.audit_logs where {} order by created_at desc, id desc limit %(limit)s"
    ).format(_COLUMNS, sql.SQL(" and ").join(where))
    cur = conn.cursor(row_factory=class_row(Entry))
    await execute_last(cur, query, params)
    rows = await cur.fetchall()
    if len(rows) <= limit:
        return Page(items=rows, next_cursor=None)
    last = rows[limit - 1]
    return Page(items=rows[:limit], next_cursor=Cursor(last.created_at, last.id).encode())


def _conditions(
    organization_id: uuid.UUID, f: Filters, cursor: Cursor | None
) -> tuple[list[sql.Composable], dict[str, Any]]:
    # Every condition but the organization is a filter on top of audit_logs_organization_id_created_at_idx:
    # the organization and the time bounds are its range, the rest are checked on the rows it yields.
    where: list[sql.Composable] = [sql.SQL("organization_id = %(org)s")]
    params: dict[str, Any] = {"org": organization_id}
    if f.action is not None:
        # A trailing dot asks for a prefix; starts_with, not LIKE: "_" in an action is no wildcard here.
        test = "starts_with(action, %(action)s)" if f.action.endswith(".") else "action = %(action)s"
        where.append(sql.SQL(test))
        params["action"] = f.action
    for name in ("actor_id", "target_type", "target_id"):
        if getattr(f, name) is not None:
            where.append(sql.SQL("{} = {}").format(sql.Identifier(name), sql.Placeholder(name)))
            params[name] = getattr(f, name)
    if f.since is not None:
        where.append(sql.SQL("created_at >= %(since)s"))
        params["since"] = f.since
    if f.until is not None:
        where.append(sql.SQL("created_at < %(until)s"))
        params["until"] = f.until
    if cursor is not None:
        # The plain bound keeps the index range tight; the row comparison resumes exactly after the last row.
        where.append(sql.SQL("created_at <= %(at)s and (created_at, id) < (%(at)s, %(id)s)"))
        params.update(at=cursor.created_at, id=cursor.id)
    return where, params
