"""The only ways a route gets a connection: ``Conn`` (no context) and ``TenantConn`` (with the context).

Both are one transaction on one pooled connection, committed before the response is sent. ``Conn`` is a
generator dependency (``scope="function"``: FastAPI would otherwise run the code after ``yield`` once the
response is gone). ``TenantConn`` is opened by ``TenantRoute`` around the route's handler, which has built the
response but not sent it when the transaction ends: the same order as a ``scope="function"`` dependency,
without the generator machinery FastAPI runs for one on every request (an exit stack, a cancel scope, two
context-manager wrappers: 6% of a single-row get's Python opcodes, counted). Every router of the API is made
with ``route_class=TenantRoute``; ``add_routes`` (app.py) refuses a route that takes ``TenantConn`` otherwise.
``TenantConn`` runs in pipeline mode behind a BEGIN of its own: BEGIN, the context and the route's first query
go out with no wait between them, and when the route returns, COMMIT and the pool's leftover check ride on the
pipeline's closing sync (two round trips for a one-query request; one when the route's last statement says it
is, with ``pools.execute_last``).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Annotated, Any

import psycopg
from fastapi import Depends, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from psycopg_pool import AsyncConnectionPool

from orgbase.audit.service import Origin
from orgbase.config import Settings
from orgbase.db import pool as pools
from orgbase.db import tenant
from orgbase.errors import InvalidInput, Unauthenticated

AsyncConn = psycopg.AsyncConnection[Any]


def _pool(request: Request) -> AsyncConnectionPool[AsyncConn]:
    pool: AsyncConnectionPool[AsyncConn] = request.app.state.pool
    return pool


async def get_conn(request: Request) -> AsyncIterator[AsyncConn]:
    """A pooled app-role connection; COMMIT when the route returns, ROLLBACK when it raises."""
    async with _pool(request).connection() as conn:
        yield conn


Conn = Annotated[AsyncConn, Depends(get_conn, scope="function")]


# How long a security event waits for a second pooled connection: the request already holds one, and a pool
# exhausted by requests each waiting for another must fail the event, not hang.
APART_TIMEOUT_S = 5.0
STRANGER_TIMEOUT_S = 0.5


@dataclass(frozen=True)
class Context:
    """What binds a request's transaction: its Tenant keeps it to bind a second one the same way.

    Not the request itself: the Tenant sits in the request's scope, and a reference back would make every
    request a reference cycle, which only the cyclic garbage collector frees (measured: 50 us more Python a
    request and twice the p99 of the single-row get).
    """

    pool: AsyncConnectionPool[AsyncConn]
    token: str | None = field(repr=False)  # a credential: never in a repr; None: no context (benchmark)
    organization_id: uuid.UUID | None  # the organization the path addresses, if any
    request_id: str
    auth_only: bool = False  # the benchmark's auth-only baseline

    @classmethod
    def of(cls, request: Request) -> Context:
        """The bearer token, the path's organization and the request id (the settings' bench mode applied)."""
        settings: Settings = request.app.state.settings
        if settings.bench_mode == "no_context":  # benchmark only: the same transaction, no context at all
            return cls(_pool(request), None, None, request.state.request_id)
        return cls(
            _pool(request),
            bearer_token(request),
            _path_org(request),
            request.state.request_id,
            settings.bench_mode == "auth_only",
        )


@dataclass
class Tenant:
    """A connection whose transaction carries the request's context, and the principal behind it."""

    conn: AsyncConn
    binding: tenant.Binding
    context: Context

    async def principal(self) -> tenant.Principal:
        """The authenticated user and the organization the request acts in."""
        return await self.binding.principal()

    @asynccontextmanager
    async def apart(self) -> AsyncIterator[AsyncConn]:
        """A transaction of its own, on another pooled connection, bound to the same context; committed
        when the block ends, whatever becomes of the request's (a security event survives its request).

        Bound by auth_bind like the request, not written context-free: under restrictive RLS (007) a row of
        an organization can only be written by one of its members, proven by the token.
        """
        async with tenant_transaction(self.context, timeout=APART_TIMEOUT_S) as other:
            yield other.conn

    @asynccontextmanager
    async def apart_from_the_organization(self) -> AsyncIterator[AsyncConn]:
        """As ``apart``, bound to the caller's session and active organization instead of the path's: for an
        event about an organization that refused to bind the request (the caller is not a member, or there is
        no such organization). Waits at most ``STRANGER_TIMEOUT_S`` for its connection: anyone signed in can
        ask for it, and a request holding one connection while it waits for another must not starve the
        pool."""
        unscoped = replace(self.context, organization_id=None)
        async with tenant_transaction(unscoped, timeout=STRANGER_TIMEOUT_S) as other:
            yield other.conn


@asynccontextmanager
async def tenant_transaction(context: Context, timeout: float | None = None) -> AsyncIterator[Tenant]:
    """Bind the context (BEGIN, auth_bind and the route's first query go out without a wait between them).

    COMMIT when the block ends normally (``pools.RequestTransaction``); when it raises, the pool's exit rolls
    back (``pool.connection()``). ``timeout``: how long to wait for a pooled connection (the pool's default).
    """
    async with context.pool.connection(timeout) as conn, pools.RequestTransaction(conn):
        binding = tenant.Binding.unbound()
        if context.token is not None:
            binding = await tenant.bind(
                conn,
                token=context.token,
                organization_id=context.organization_id,
                request_id=context.request_id,
                bench_auth_only=context.auth_only,
            )
        yield Tenant(conn, binding, context)
        # The route returned: COMMIT and the reset check go with the closing sync, unless its last statement
        # took them (``pools.execute_last``); an error raises there, before the response. A route that raised
        # skips this, and the pool's exit rolls back.


_TENANT = "orgbase.tenant"  # the scope key under which TenantRoute leaves the request's Tenant


async def current_tenant(request: Request) -> Tenant:
    """The request's tenant transaction, opened by ``TenantRoute`` around the handler."""
    found = request.scope.get(_TENANT)
    if not isinstance(found, Tenant):  # a route not made by TenantRoute (add_routes refuses those)
        raise RuntimeError(f"{request.url.path}: TenantConn outside a TenantRoute")
    return found


def needs_tenant(dependant: Dependant) -> bool:
    """Whether a route's dependencies, at any depth, include ``TenantConn``."""
    return any(d.call is current_tenant or needs_tenant(d) for d in dependant.dependencies)


class TenantRoute(APIRoute):
    """A route whose handler runs inside ``tenant_transaction`` when it takes ``TenantConn``.

    The body is read before the transaction opens (as FastAPI reads it before solving dependencies), so that a
    slow upload holds no pooled connection; Starlette keeps it for the handler. Other routes are unchanged.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler, wrapped in the tenant transaction if the route needs one."""
        handler = super().get_route_handler()
        if not needs_tenant(self.dependant):
            return handler
        has_body = self.body_field is not None

        async def in_tenant_transaction(request: Request) -> Response:
            if has_body:
                await request.body()
            async with tenant_transaction(Context.of(request)) as found:
                request.scope[_TENANT] = found
                return await handler(request)

        return in_tenant_transaction


TenantConn = Annotated[Tenant, Depends(current_tenant)]


def get_settings(request: Request) -> Settings:
    """The app's settings (one object, passed down from ``create_app``)."""
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(get_settings)]


def bearer_token(request: Request) -> str:
    """The token of ``Authorization: Bearer ...``; Unauthenticated if missing or malformed."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 512:
        raise Unauthenticated("missing or malformed bearer token")
    return token


def origin(request: Request) -> Origin:
    """Where the request came from, for the audit trail."""
    return Origin(request.state.request_id, client_ip(request), request.headers.get("user-agent"))


def client_ip(request: Request) -> str | None:
    """The peer address. X-Forwarded-For is not trusted: any client can write it (lesson 15)."""
    return request.client.host if request.client else None


def _path_org(request: Request) -> uuid.UUID | None:
    raw = request.path_params.get("org_id")
    if raw is None:
        return None
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        raise InvalidInput("organization id is not a UUID", code="malformed_id") from None
