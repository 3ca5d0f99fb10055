"""``/api/organizations/{org_id}/audit``: the organization's audit log (owner, admin), filtered and paged."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from orgbase.api.deps import TenantConn, TenantRoute
from orgbase.audit import service as audit
from orgbase.audit.models import ActionFilter, Cursor, Filters, Page, TargetId, TargetType
from orgbase.orgs import service as orgs

router = APIRouter(prefix="/api/organizations/{org_id}/audit", tags=["audit"], route_class=TenantRoute)


@router.get("")
async def list_page(
    org_id: uuid.UUID,
    t: TenantConn,
    action: Annotated[
        ActionFilter | None, Query(description="an action, or a prefix ending with a dot (project.)")
    ] = None,
    actor_id: uuid.UUID | None = None,
    target_type: TargetType | None = None,
    target_id: TargetId | None = None,
    since: Annotated[AwareDatetime | None, Query(description="ISO 8601 with a zone, inclusive")] = None,
    until: Annotated[AwareDatetime | None, Query(description="ISO 8601 with a zone, exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=512, description="next_cursor of the previous page")
    ] = None,
) -> Page:
    """One page of the organization's audit log, newest first (owner, admin)."""
    after = Cursor.parse(cursor)
    await orgs.require(t.conn, organization_id=org_id, permission="audit.read")
    filters = Filters(action, actor_id, target_type, target_id, since, until)
    return await audit.list_page(t.conn, organization_id=org_id, filters=filters, limit=limit, cursor=after)
