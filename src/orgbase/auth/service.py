"""Sign-up, sign-in, sessions and the active organization, through the narrow definer functions of 009.

Sign-in takes the pool, not a connection: a failed attempt must be counted and audited in a transaction of
its own after the attempt's transaction has rolled back, and holding one connection while asking for a
second could exhaust the pool under load.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import psycopg
from psycopg.rows import class_row
from psycopg_pool import AsyncConnectionPool

from orgbase.audit import service as audit
from orgbase.auth.models import Membership, Session
from orgbase.auth.passwords import Passwords
from orgbase.db.tenant import token_hash
from orgbase.errors import PermissionDenied, Unauthenticated

Conn = psycopg.AsyncConnection[Any]
Pool = AsyncConnectionPool[Conn]
WRONG_CREDENTIALS = "email or password is wrong, or the account is not active"


@dataclass(frozen=True)
class Limits:
    """Session lifetime and sign-in rate limits."""

    session_ttl: timedelta
    window: timedelta
    max_per_account: int
    max_per_ip: int


def new_token() -> str:
    """An opaque session token: 256 random bits; only its hash is stored."""
    return secrets.token_urlsafe(32)


async def sign_up(
    conn: Conn,
    *,
    email: str,
    password: str,
    first_name: str | None,
    last_name: str | None,
    passwords: Passwords,
    origin: audit.Origin,
) -> uuid.UUID:
    """Create an account; Conflict if the email is taken."""
    hashed = await passwords.hash(password)
    cur = await conn.execute(
        "select platform.auth_sign_up(%s, %s, %s, %s)", [email, hashed, first_name, last_name]
    )
    row = await cur.fetchone()
    assert row is not None
    user_id: uuid.UUID = row[0]
    await audit.record(
        conn, action="user.sign_up", origin=origin, actor_id=user_id, target_type="user", target_id=user_id
    )
    return user_id


async def sign_in(
    pool: Pool, *, email: str, password: str, passwords: Passwords, limits: Limits, origin: audit.Origin
) -> Session:
    """A new session for good credentials; a failure is counted toward the limits even though it raises."""
    async with pool.connection() as conn:
        await conn.execute(
            "select platform.auth_check_rate(%s, %s, %s, %s, %s)",
            [email, origin.ip, limits.max_per_account, limits.max_per_ip, limits.window],
        )
        cur = await conn.execute(
            "select user_id, password_hash, active from platform.auth_sign_in_lookup(%s)", [email]
        )
        found = await cur.fetchone()
        matches = await passwords.verify(found[1] if found else None, password)
        if found is not None and matches and found[2]:
            return await _open_session(conn, user_id=found[0], limits=limits, origin=origin)
    async with pool.connection(timeout=5) as conn:
        await conn.execute(
            "select platform.auth_record_failure(%s, %s, %s)", [email, origin.ip, limits.window]
        )
        await audit.record(
            conn,
            action="auth.sign_in_failed",
            origin=origin,
            actor_id=found[0] if found else None,
            changes={"email": email[:254]},
        )
    raise Unauthenticated(WRONG_CREDENTIALS, code="wrong_credentials")


async def _open_session(conn: Conn, *, user_id: uuid.UUID, limits: Limits, origin: audit.Origin) -> Session:
    token = new_token()
    cur = await conn.execute(
        "select expires_at from platform.auth_create_session(%s, %s, %s, %s, %s)",
        [user_id, token_hash(token), origin.ip, origin.user_agent, limits.session_ttl],
    )
    row = await cur.fetchone()
    assert row is not None
    await audit.record(
        conn, action="auth.sign_in", origin=origin, actor_id=user_id, target_type="user", target_id=user_id
    )
    return Session(token=token, expires_at=row[0])


async def refresh(conn: Conn, *, token: str, limits: Limits) -> Session:
    """Rotate a valid session to a new token with a new expiry; the old token stops working."""
    new = new_token()
    cur = await conn.execute(
        "select expires_at from platform.auth_refresh_session(%s, %s, %s)",
        [token_hash(token), token_hash(new), limits.session_ttl],
    )
    row = await cur.fetchone()
    if row is None:
        raise Unauthenticated("invalid or expired session")
    return Session(token=new, expires_at=row[0])


async def sign_out(conn: Conn, *, token: str) -> None:
    """Revoke the session of ``token`` (idempotent)."""
    await conn.execute("select platform.auth_revoke_session(%s)", [token_hash(token)])


async def memberships(conn: Conn) -> list[Membership]:
    """Every organization of the context's user, with the user's role (for the org switcher)."""
    cur = conn.cursor(row_factory=class_row(Membership))
    await cur.execute(
        "select o.id, o.name, o.slug, m.role from platform.organization_members m "
        "join platform.organizations o on o.id = m.organization_id "
        "where m.user_id = platform.get_current_user_id() order by o.name, o.id"
    )
    return await cur.fetchall()


async def set_active_org(conn: Conn, *, organization_id: uuid.UUID) -> None:
    """Make ``organization_id`` the context user's active organization; PermissionDenied if not a member.

    A non-member and an unknown organization get the same answer: no existence oracle.
    """
    try:
        cur = await conn.execute("select platform.set_user_active_org(null, %s)", [organization_id])
        await cur.fetchone()
    except psycopg.errors.InsufficientPrivilege:
        raise PermissionDenied("not a member of that organization", code="not_a_member") from None
