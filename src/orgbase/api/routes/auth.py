"""``/api/auth``: sign-up, sign-in, sign-out, refresh, validate, set-active-org."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from orgbase.api.deps import AppSettings, Conn, TenantConn, TenantRoute, bearer_token, origin
from orgbase.audit import service as audit
from orgbase.auth import service as auth
from orgbase.auth.models import Session, SetActiveOrg, SignIn, SignUp, UserOut, Validated
from orgbase.errors import PermissionDenied

router = APIRouter(prefix="/api/auth", tags=["auth"], route_class=TenantRoute)


@router.post("/signup", status_code=status.HTTP_201_CREATED)
async def signup(body: SignUp, request: Request, conn: Conn) -> dict[str, str]:
    """Create an account (then sign in)."""
    user_id = await auth.sign_up(
        conn,
        email=body.email,
        password=body.password,
        first_name=body.first_name,
        last_name=body.last_name,
        passwords=request.app.state.passwords,
        origin=origin(request),
    )
    return {"id": str(user_id), "email": body.email}


@router.post("/signin")
async def signin(body: SignIn, request: Request) -> Session:
    """Exchange email and password for a bearer token (rate limited per account and per address)."""
    return await auth.sign_in(
        request.app.state.pool,
        email=body.email,
        password=body.password,
        passwords=request.app.state.passwords,
        limits=request.app.state.limits,
        origin=origin(request),
    )


@router.post("/signout", status_code=status.HTTP_204_NO_CONTENT)
async def signout(request: Request, conn: Conn) -> None:
    """Revoke the presented token."""
    await auth.sign_out(conn, token=bearer_token(request))


@router.post("/refresh")
async def refresh(request: Request, conn: Conn, settings: AppSettings) -> Session:
    """Rotate the presented token: a new token and expiry; the old one stops working."""
    return await auth.refresh(conn, token=bearer_token(request), limits=request.app.state.limits)


@router.get("/validate")
async def validate(t: TenantConn) -> Validated:
    """The authenticated user (with ``activeOrgId``) and every organization with the user's role."""
    orgs = await auth.memberships(t.conn)
    p = await t.principal()
    return Validated(
        user=UserOut(
            id=p.user_id,
            email=p.email,
            first_name=p.first_name,
            last_name=p.last_name,
            active_org_id=p.active_org_id,
        ),
        organizations=orgs,
    )


@router.post("/set-active-org", status_code=status.HTTP_204_NO_CONTENT)
async def set_active_org(body: SetActiveOrg, request: Request, t: TenantConn) -> None:
    """Make an organization of the user's the active one; 403 for a non-member and an unknown one alike."""
    p = await t.principal()
    where = origin(request)
    try:
        await auth.set_active_org(t.conn, organization_id=body.organization_id)
    except PermissionDenied:
        await audit.record_apart(
            t.apart,
            action="user.set_active_org_denied",
            origin=where,
            actor_id=p.user_id,
            target_type="organization",
            target_id=body.organization_id,
        )
        raise
    await audit.record(
        t.conn,
        action="user.set_active_org",
        origin=where,
        organization_id=body.organization_id,
        actor_id=p.user_id,
        target_type="organization",
        target_id=body.organization_id,
    )
