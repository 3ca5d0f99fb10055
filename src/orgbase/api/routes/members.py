"""Members and invitations: ``/api/organizations/{org_id}/members`` and ``/invitations``; accepting.

The prefix is ``/api`` because accepting happens outside any organization: the caller is not a member yet,
and the context then carries only the user.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import APIRouter, Request, status

from orgbase.api.deps import AppSettings, TenantConn, TenantRoute, origin
from orgbase.members import service as members
from orgbase.members.models import (
    Accepted,
    Invitation,
    InvitationAccept,
    InvitationCreate,
    InvitationCreated,
    Member,
    RoleChange,
)

router = APIRouter(prefix="/api", tags=["members"], route_class=TenantRoute)
_ORG = "/organizations/{org_id}"


@router.get(_ORG + "/members")
async def list_members(org_id: uuid.UUID, t: TenantConn) -> list[Member]:
    """The organization's members with their names and roles (every member)."""
    return await members.list_members(t.conn, organization_id=org_id)


@router.patch(_ORG + "/members/{user_id}")
async def update_role(
    org_id: uuid.UUID, user_id: uuid.UUID, body: RoleChange, request: Request, t: TenantConn
) -> Member:
    """Change a member's role (owner, admin; to or from owner: owner only; 409 ``last_owner``)."""
    return await members.update_role(
        t.conn,
        organization_id=org_id,
        user_id=user_id,
        data=body,
        principal=await t.principal(),
        origin=origin(request),
    )


@router.delete(_ORG + "/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove(org_id: uuid.UUID, user_id: uuid.UUID, request: Request, t: TenantConn) -> None:
    """Remove a member (owner, admin; an owner: owner only; 409 ``last_owner``)."""
    await members.remove(
        t.conn, organization_id=org_id, user_id=user_id, principal=await t.principal(), origin=origin(request)
    )


@router.post(_ORG + "/members/leave", status_code=status.HTTP_204_NO_CONTENT)
async def leave(org_id: uuid.UUID, request: Request, t: TenantConn) -> None:
    """Leave the organization (any member; 409 ``last_owner`` for its only owner)."""
    await members.leave(t.conn, organization_id=org_id, principal=await t.principal(), origin=origin(request))


@router.post(_ORG + "/invitations", status_code=status.HTTP_201_CREATED)
async def invite(
    org_id: uuid.UUID, body: InvitationCreate, request: Request, settings: AppSettings, t: TenantConn
) -> InvitationCreated:
    """Invite an email address with a role (owner, admin; an owner: owner only). The token is shown once."""
    return await members.invite(
        t.conn,
        organization_id=org_id,
        data=body,
        ttl=timedelta(seconds=settings.invitation_ttl_seconds),
        principal=await t.principal(),
        origin=origin(request),
    )


@router.get(_ORG + "/invitations")
async def list_invitations(org_id: uuid.UUID, t: TenantConn) -> list[Invitation]:
    """Invitations that can still be accepted, newest first (owner, admin)."""
    return await members.list_invitations(t.conn, organization_id=org_id)


@router.delete(_ORG + "/invitations/{invitation_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke(org_id: uuid.UUID, invitation_id: uuid.UUID, request: Request, t: TenantConn) -> None:
    """Withdraw an invitation that was not accepted (owner, admin)."""
    await members.revoke(
        t.conn,
        organization_id=org_id,
        invitation_id=invitation_id,
        principal=await t.principal(),
        origin=origin(request),
    )


@router.post("/invitations/accept")
async def accept(body: InvitationAccept, request: Request, t: TenantConn) -> Accepted:
    """Accept an invitation addressed to the caller's email (404 for any other token, expired or used)."""
    return await members.accept(
        t.conn, token=body.token, principal=await t.principal(), origin=origin(request)
    )
