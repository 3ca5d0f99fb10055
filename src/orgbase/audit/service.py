"""Writing the audit trail: in the request's transaction for mutations, in a transaction of its own for
security events, which must be recorded even though their request fails."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

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


async def record_apart(
    pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]], *, action: str, origin: Origin, **fields: Any
) -> None:
    """Append one record in a transaction of its own, committed whatever happens to the request."""
    async with pool.connection(timeout=5) as conn:
        await record(conn, action=action, origin=origin, **fields)
