"""``/api/organizations/{org_id}/projects``: create (plan limit), list (keyset pages), get, update, delete."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from orgbase.api.deps import TenantConn, TenantRoute, origin
from orgbase.projects import service as projects
from orgbase.projects.models import (
    Cursor,
    Order,
    Project,
    ProjectCreate,
    ProjectPage,
    ProjectUpdate,
    SortKey,
    Status,
)

router = APIRouter(prefix="/api/organizations/{org_id}/projects", tags=["projects"], route_class=TenantRoute)


@router.post("", status_code=status.HTTP_201_CREATED)
async def create(org_id: uuid.UUID, body: ProjectCreate, request: Request, t: TenantConn) -> Project:
    """Create a project (owner, admin, developer); 409 ``plan_limit_exceeded`` past the plan's limit."""
    return await projects.create(
        t.conn, organization_id=org_id, data=body, principal=await t.principal(), origin=origin(request)
    )


@router.get("")
async def list_page(
    org_id: uuid.UUID,
    t: TenantConn,
    status: Status | None = None,
    name: Annotated[
        str | None,
        Query(min_length=1, max_length=200, pattern=r"^[^\x00]+$", description="contains, any case"),
    ] = None,
    sort: SortKey = SortKey.name,
    order: Order = Order.asc,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=512, description="next_cursor of the previous page")
    ] = None,
) -> ProjectPage:
    """One page of the organization's projects, in ``sort`` order (ties broken by id)."""
    after = Cursor.decode(cursor, sort=sort, order=order) if cursor is not None else None
    return await projects.list_page(
        t.conn,
        organization_id=org_id,
        status=status,
        name_contains=name,
        sort=sort,
        order=order,
        limit=limit,
        cursor=after,
    )


@router.get("/{project_id}")
async def get(org_id: uuid.UUID, project_id: uuid.UUID, t: TenantConn) -> Project:
    """One project of the organization (404 for any other, existing or not)."""
    return await projects.get(t.conn, organization_id=org_id, project_id=project_id)


@router.patch("/{project_id}")
async def update(
    org_id: uuid.UUID, project_id: uuid.UUID, body: ProjectUpdate, request: Request, t: TenantConn
) -> Project:
    """Rename or change the status (owner, admin, developer)."""
    return await projects.update(
        t.conn,
        organization_id=org_id,
        project_id=project_id,
        data=body,
        principal=await t.principal(),
        origin=origin(request),
    )


@router.delete("/{project_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete(org_id: uuid.UUID, project_id: uuid.UUID, request: Request, t: TenantConn) -> None:
    """Delete the project and its registered databases (owner, admin)."""
    await projects.delete(
        t.conn,
        organization_id=org_id,
        project_id=project_id,
        principal=await t.principal(),
        origin=origin(request),
    )
