"""Members and invitations: list, invite, accept, change a role, remove, leave.

Every query names the organization of the path itself (``organization_id = %s``). Other users' rows (names,
emails) are read only through ``platform.list_members`` and invitations are accepted only through
``platform.accept_invitation``: under restrictive RLS the app role sees the current organization's rows and
the user's own, nothing else. Owner rules: only ``members.grant_owner`` makes, unmakes or removes an owner,
and an organization always keeps one, which holds under concurrency through ``_lock_owners``.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import psycopg
from psycopg.rows import class_row

from orgbase.audit import service as audit
from orgbase.auth import service as auth
from orgbase.db.pool import execute_last
from orgbase.db.tenant import Principal, token_hash
from orgbase.errors import Conflict, InvalidInput, NotFound
from orgbase.members.models import (
    Accepted,
    Invitation,
    InvitationCreate,
    InvitationCreated,
    Member,
    RoleChange,
)
from orgbase.orgs import service as orgs

Conn = psycopg.AsyncConnection[Any]

OWNER = "owner"

_MEMBERS = "select user_id, email, first_name, last_name, role, joined_at from platform.list_members(%s)"
_MEMBER = _MEMBERS + " where user_id = %s"
# Emails of other users are readable only through list_members (the inviter holds members.read).
_HAS_MEMBER_EMAIL = "select exists (select 1 from platform.list_members(%s) where lower(email) = lower(%s))"

# Every change of memberships locks the organization's owner rows first, always in the same order (no
# deadlock between two of them), so that "is another owner left?" is answered under a lock that a concurrent
# demotion or removal must wait for. READ COMMITTED re-checks the WHERE of a row it waited for: an owner the
# previous holder demoted drops out of the set.
_LOCK_OWNERS = """
select user_id from platform.organization_members
 where organization_id = %s and role = 'owner'
 order by user_id
   for update
"""
_ROLE_OF = """
select role from platform.organization_members where organization_id = %s and user_id = %s for update
"""

_INVITATIONS = """
select id, organization_id, email, role, invited_by, created_at, expires_at
  from platform.invitations
 where organization_id = %s and accepted_at is null and expires_at > now()
 order by created_at desc, id
"""
# The partial unique index counts an expired pending invitation too (its predicate cannot read the clock):
# it goes first, so that inviting the same address again works once the old token is dead.
_DELETE_EXPIRED = """
delete from platform.invitations
 where organization_id = %s and lower(email) = lower(%s) and accepted_at is null and expires_at <= now()
"""
# ON CONFLICT rather than a check first: two concurrent invitations of one address cannot both pass.
_INSERT_INVITATION = """
insert into platform.invitations (organization_id, email, role, token_hash, invited_by, expires_at)
values (%s, %s, %s, %s, %s, now() + %s)
    on conflict (organization_id, lower(email)) where accepted_at is null do nothing
returning id, organization_id, email, role, invited_by, created_at, expires_at
"""


async def list_members(conn: Conn, *, organization_id: uuid.UUID) -> list[Member]:
    """The organization's members with names and roles (``members.read``, checked by list_members).

    Its query ends a request's transaction (``execute_last``): call it last.
    """
    cur = conn.cursor(row_factory=class_row(Member))
    await execute_last(cur, _MEMBERS, [organization_id])
    return await cur.fetchall()


async def invite(
    conn: Conn,
    *,
    organization_id: uuid.UUID,
    data: InvitationCreate,
    ttl: timedelta,
    principal: Principal,
    origin: audit.Origin,
) -> InvitationCreated:
    """A pending invitation with a new token (``members.invite``; for an owner ``members.grant_owner``)."""
    await orgs.require(conn, organization_id=organization_id, permission="members.invite")
    await _require_known_role(conn, data.role)
    if data.role == OWNER:
        await orgs.require(conn, organization_id=organization_id, permission="members.grant_owner")
    cur = await conn.execute(_HAS_MEMBER_EMAIL, [organization_id, data.email])
    if (row := await cur.fetchone()) and row[0]:
        raise Conflict("this address belongs to a member already", code="already_member")
    await conn.execute(_DELETE_EXPIRED, [organization_id, data.email])
    token = auth.new_token()
    made = conn.cursor(row_factory=class_row(Invitation))
    await made.execute(
        _INSERT_INVITATION,
        [organization_id, data.email, data.role, token_hash(token), principal.user_id, ttl],
    )
    invitation = await made.fetchone()
    if invitation is None:
        raise Conflict(
            "a pending invitation for this address exists; revoke it first", code="invitation_pending"
        )
    await audit.record(
        conn,
        action="member.invite",
        origin=origin,
        organization_id=organization_id,
        actor_id=principal.user_id,
        target_type="invitation",
        target_id=invitation.id,
        changes={"email": invitation.email, "role": invitation.role},
    )
    return InvitationCreated(**invitation.model_dump(), token=token)


async def list_invitations(conn: Conn, *, organization_id: uuid.UUID) -> list[Invitation]:
    """The invitations that can still be accepted, newest first (``members.invite``).

    Its query ends a request's transaction (``execute_last``): call it last.
    """
    await orgs.require(conn, organization_id=organization_id, permission="members.invite")
    cur = conn.cursor(row_factory=class_row(Invitation))
    await execute_last(cur, _INVITATIONS, [organization_id])
    return await cur.fetchall()


async def revoke(
    conn: Conn,
    *,
    organization_id: uuid.UUID,
    invitation_id: uuid.UUID,
    principal: Principal,
    origin: audit.Origin,
) -> None:
    """Withdraw an invitation not accepted (``members.invite``); an accepted one stays as the record."""
    await orgs.require(conn, organization_id=organization_id, permission="members.invite")
    cur = await conn.execute(
        "delete from platform.invitations where id = %s and organization_id = %s and accepted_at is null"
        " returning email, role",
        [invitation_id, organization_id],
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFound("invitation not found")
    await audit.record(
        conn,
        action="invitation.revoke",
        origin=origin,
        organization_id=organization_id,
        actor_id=principal.user_id,
        target_type="invitation",
        target_id=invitation_id,
        changes={"email": row[0], "role": row[1]},
    )


async def accept(conn: Conn, *, token: str, principal: Principal, origin: audit.Origin) -> Accepted:
    """Join the organization of a pending invitation to the caller's email; NotFound for any other token."""
    cur = await conn.execute("select platform.accept_invitation(%s)", [token_hash(token)])
    row = await cur.fetchone()
    assert row is not None  # the function returns the organization or raises
    organization_id: uuid.UUID = row[0]
    role = await _role_of(conn, organization_id=organization_id, user_id=principal.user_id)
    await audit.record(
        conn,
        action="member.accept",
        origin=origin,
        organization_id=organization_id,
        actor_id=principal.user_id,
        target_type="member",
        target_id=principal.user_id,
        changes={"role": role},
    )
    return Accepted(organization_id=organization_id, role=role)


async def update_role(
    conn: Conn,
    *,
    organization_id: uuid.UUID,
    user_id: uuid.UUID,
    data: RoleChange,
    principal: Principal,
    origin: audit.Origin,
) -> Member:
    """Change a member's role (``members.update_role``; to or from owner: ``members.grant_owner``)."""
    await orgs.require(conn, organization_id=organization_id, permission="members.update_role")
    await _require_known_role(conn, data.role)
    owners = await _lock_owners(conn, organization_id=organization_id)
    current = await _role_of(conn, organization_id=organization_id, user_id=user_id)
    if data.role != current:
        if OWNER in (current, data.role):
            await orgs.require(conn, organization_id=organization_id, permission="members.grant_owner")
        if current == OWNER and not owners - {user_id}:
            raise Conflict("the last owner cannot be demoted", code="last_owner")
        await conn.execute(
            "update platform.organization_members set role = %s where organization_id = %s and user_id = %s",
            [data.role, organization_id, user_id],
        )
        await audit.record(
            conn,
            action="member.update_role",
            origin=origin,
            organization_id=organization_id,
            actor_id=principal.user_id,
            target_type="member",
            target_id=user_id,
            changes={"from": current, "to": data.role},
        )
    cur = conn.cursor(row_factory=class_row(Member))
    await cur.execute(_MEMBER, [organization_id, user_id])
    member = await cur.fetchone()
    assert member is not None  # locked above, in this transaction
    return member


async def remove(
    conn: Conn, *, organization_id: uuid.UUID, user_id: uuid.UUID, principal: Principal, origin: audit.Origin
) -> None:
    """Remove a member (``members.remove``; an owner: ``members.grant_owner``, and never the last one)."""
    await orgs.require(conn, organization_id=organization_id, permission="members.remove")
    owners = await _lock_owners(conn, organization_id=organization_id)
    current = await _role_of(conn, organization_id=organization_id, user_id=user_id)
    if current == OWNER:
        await orgs.require(conn, organization_id=organization_id, permission="members.grant_owner")
        if not owners - {user_id}:
            raise Conflict("the last owner cannot be removed", code="last_owner")
    await _delete(conn, "member.remove", organization_id, user_id, current, principal, origin)


async def leave(
    conn: Conn, *, organization_id: uuid.UUID, principal: Principal, origin: audit.Origin
) -> None:
    """The caller leaves the organization (any member; the last owner cannot)."""
    me = principal.user_id
    owners = await _lock_owners(conn, organization_id=organization_id)
    current = await _role_of(conn, organization_id=organization_id, user_id=me)
    if current == OWNER and not owners - {me}:
        raise Conflict("the last owner cannot leave; make someone else an owner first", code="last_owner")
    await _delete(conn, "member.leave", organization_id, me, current, principal, origin)


async def _delete(
    conn: Conn,
    action: str,
    organization_id: uuid.UUID,
    user_id: uuid.UUID,
    role: str,
    principal: Principal,
    origin: audit.Origin,
) -> None:
    # The record first, while the actor is still a member (as organization deletion does): once restrictive
    # RLS checks membership on audit inserts, someone who just left could write nothing.
    await audit.record(
        conn,
        action=action,
        origin=origin,
        organization_id=organization_id,
        actor_id=principal.user_id,
        target_type="member",
        target_id=user_id,
        changes={"role": role},
    )
    # 008's trigger clears the removed user's active organization if it was this one.
    await conn.execute(
        "delete from platform.organization_members where organization_id = %s and user_id = %s",
        [organization_id, user_id],
    )


async def _require_known_role(conn: Conn, role: str) -> None:
    """InvalidInput unless the permission matrix knows ``role``."""
    cur = await conn.execute("select exists (select 1 from platform.member_roles where role = %s)", [role])
    if not ((row := await cur.fetchone()) and row[0]):
        raise InvalidInput(f"unknown role: {role}", code="unknown_role")


async def _lock_owners(conn: Conn, *, organization_id: uuid.UUID) -> set[uuid.UUID]:
    """The organization's owners, their memberships locked until the transaction ends."""
    cur = await conn.execute(_LOCK_OWNERS, [organization_id])
    return {row[0] for row in await cur.fetchall()}


async def _role_of(conn: Conn, *, organization_id: uuid.UUID, user_id: uuid.UUID) -> str:
    """The member's role, the membership locked; NotFound for anyone who is not a member there."""
    cur = await conn.execute(_ROLE_OF, [organization_id, user_id])
    row = await cur.fetchone()
    if row is None:
        raise NotFound("member not found")
    role: str = row[0]
    return role
