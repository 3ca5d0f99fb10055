"""The only ways a route gets a connection: ``Conn`` (no context) and ``TenantConn`` (with the context).

Both are one transaction on one pooled connection, committed before the response is sent
(``scope="function"``: FastAPI would otherwise run the code after ``yield`` once the response is gone).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

import psycopg
from fastapi import Depends, Request
from psycopg_pool import AsyncConnectionPool

from orgbase.audit.service import Origin
from orgbase.config import Settings
from orgbase.db import tenant
from orgbase.errors import InvalidInput, Unauthenticated

AsyncConn = psycopg.AsyncConnection[Any]


async def get_conn(request: Request) -> AsyncIterator[AsyncConn]:
    """A pooled app-role connection; COMMIT when the route returns, ROLLBACK when it raises."""
    pool: AsyncConnectionPool[AsyncConn] = request.app.state.pool
    async with pool.connection() as conn:
        yield conn


Conn = Annotated[AsyncConn, Depends(get_conn, scope="function")]


@dataclass
class Tenant:
    """A connection whose transaction carries the request's context, and the principal behind it."""

    conn: AsyncConn
    binding: tenant.Binding
    request_id: str
    client_ip: str | None
    user_agent: str | None

    async def principal(self) -> tenant.Principal:
        """The authenticated user and the organization the request acts in."""
        return await self.binding.principal()


async def get_tenant(request: Request, conn: Conn) -> AsyncIterator[Tenant]:
    """Bind the context (BEGIN, auth_bind and the route's first query leave as one pipelined message)."""
    settings: Settings = request.app.state.settings
    if settings.bench_no_context:  # benchmark only: the same transaction and handler, no context at all
        async with conn.pipeline():
            yield Tenant(conn, tenant.Binding.unbound(), request.state.request_id, None, None)
        return
    token = bearer_token(request)
    org = _path_org(request)
    async with conn.pipeline():
        binding = await tenant.bind(
            conn, token=token, organization_id=org, request_id=request.state.request_id
        )
        yield Tenant(
            conn, binding, request.state.request_id, client_ip(request), request.headers.get("user-agent")
        )


TenantConn = Annotated[Tenant, Depends(get_tenant, scope="function")]


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
