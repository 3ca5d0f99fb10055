"""``/api/organizations``: create, list mine, get, update, delete."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, status

from orgbase.api.deps import TenantConn, TenantRoute, origin
from orgbase.orgs import service as orgs
from orgbase.orgs.models import Organization, OrganizationCreate, OrganizationUpdate

router = APIRouter(prefix="/api/organizations", tags=["organizations"], route_class=TenantRoute)


@router.post("", status_code=status.HTTP_201_CREATED)
async def create(body: OrganizationCreate, request: Request, t: TenantConn) -> Organization:
    """Create an organization; the caller becomes its owner."""
    return await orgs.create(t.conn, data=body, principal=await t.principal(), origin=origin(request))


@router.get("")
async def list_mine(t: TenantConn) -> list[Organization]:
    """The caller's organizations."""
    return await orgs.list_mine(t.conn)


@router.get("/{org_id}")
async def get(org_id: uuid.UUID, t: TenantConn) -> Organization:
    """One of the caller's organizations (404 for any other, existing or not)."""
    return await orgs.get(t.conn, organization_id=org_id)


@router.patch("/{org_id}")
async def update(
    org_id: uuid.UUID, body: OrganizationUpdate, request: Request, t: TenantConn
) -> Organization:
    """Rename, change the slug or billing email (owner, admin)."""
    return await orgs.update(
        t.conn, organization_id=org_id, data=body, principal=await t.principal(), origin=origin(request)
    )


@router.delete("/{org_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete(org_id: uuid.UUID, request: Request, t: TenantConn) -> None:
    """Delete the organization (owner only); its audit trail stays."""
    await orgs.delete(t.conn, organization_id=org_id, principal=await t.principal(), origin=origin(request))
