"""Plan limits: the organization's quota lock, shared by every create that counts against the plan.

The subscription row is the lock: concurrent creates queue on it, and so does a change of plan. It is taken
through ``platform.lock_plan_limits`` (011), a narrow definer, because under restrictive RLS a developer may
create projects and databases but neither read billing nor lock that row directly.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

import psycopg

from orgbase.errors import Conflict, LimitExceeded

Resource = Literal["projects", "databases"]

_LOCK = "select has_subscription, max_projects, max_databases from platform.lock_plan_limits(%s, %s)"
_COUNT: dict[Resource, str] = {
    "projects": "select count(*) from platform.projects where organization_id = %s",
    "databases": "select count(*) from platform.databases where organization_id = %s",
}


async def ensure_room(
    conn: psycopg.AsyncConnection[Any], *, organization_id: uuid.UUID, resource: Resource, permission: str
) -> None:
    """LimitExceeded if one more ``resource`` would pass the plan's limit; the lock is held until commit.

    ``permission`` is what the create needs (the definer refuses a user without it).
    """
    cur = await conn.execute(_LOCK, [organization_id, permission])
    row = await cur.fetchone()
    if row is None or not row[0]:  # no plan is no limit to enforce: fail closed rather than unlimited
        raise Conflict("the organization has no subscription", code="no_subscription")
    maximum = row[1] if resource == "projects" else row[2]
    if maximum is None:  # NULL: unlimited
        return
    # A statement of its own, after the lock: under READ COMMITTED it takes a fresh snapshot, so it sees the
    # rows the previous holder of the lock committed (a count in the locking statement would not).
    cur = await conn.execute(_COUNT[resource], [organization_id])
    count = await cur.fetchone()
    if count is not None and count[0] >= maximum:
        raise LimitExceeded(f"the plan allows {maximum} {resource}")
