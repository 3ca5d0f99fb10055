"""The request context: who asks, for which organization, as transaction-local settings.

``bind`` queues one call, ``platform.auth_bind(token_hash, org, request_id)``: a narrow definer function that
validates the session, checks membership of the addressed organization (else: not found), and sets
``app.current_user_id``, ``app.current_org_id`` and ``app.request_id`` with ``set_config(..., true)``,
and seals the organization and the user's permissions there for the policies (``orgbase_seal``, 016). The
connection is in pipeline mode behind the request's own BEGIN (``pool.begin``), so BEGIN, this call and the
route's first query go out with no wait between them; the principal is read from the result only when someone
asks for it. Any error of the call aborts the transaction, so no later query of the request runs without its
context: the route's first fetch raises it.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import tuple_row

from orgbase.db import pool
from orgbase.db.errors import to_domain
from orgbase.errors import Unauthenticated

# The columns named in Principal's field order: a row is read as a plain tuple, and only when a route asks.
BIND = (
    "select user_id, session_id, organization_id, role, email, first_name, last_name, active_org_id"
    " from platform.auth_bind(%s, %s, %s)"
)
_BIND_CONTEXT = "select platform.bind_context(%s, %s, %s)"
# The benchmark's baseline (Settings.bench_mode "auth_only"): the same call to auth_bind less its context.
BENCH_AUTH_ONLY = BIND.replace("platform.auth_bind(", "bench.authenticate(")


def set_context(
    conn: psycopg.Connection[Any],
    user: uuid.UUID | None,
    org: uuid.UUID | None = None,
    request_id: str = "",
) -> None:
    """Bind a context without a token, as auth_bind leaves it (None: unset), for this transaction.

    For the RLS harness and the tests, which play a request as the app role; the API goes through auth_bind.
    ``platform.bind_context`` sets the settings as given and seals the organization only if the user is a
    member of it (migration 016): a context naming another organization sees nothing of it.
    """
    conn.execute(_BIND_CONTEXT, [user, org, request_id])


@dataclass(frozen=True)
class Principal:
    """The authenticated user of a request and the organization it acts in."""

    user_id: uuid.UUID
    session_id: uuid.UUID
    organization_id: uuid.UUID | None
    role: str | None
    email: str
    first_name: str | None
    last_name: str | None
    active_org_id: uuid.UUID | None


def token_hash(token: str) -> str:
    """What the database stores of a session token: its SHA-256 (tokens have 256 random bits)."""
    return hashlib.sha256(token.encode()).hexdigest()


class Binding:
    """The queued context call of one request; ``principal()`` reads its result once."""

    def __init__(self, cursor: psycopg.AsyncCursor[tuple[Any, ...]] | None) -> None:
        self._cursor = cursor
        self._principal: Principal | None = None

    @classmethod
    def unbound(cls) -> Binding:
        """No context at all (the benchmark's baseline): asking for the principal is an error."""
        return cls(None)

    async def principal(self) -> Principal:
        """The request's principal (fetching the queued result on first use); auth_bind's refusal as a
        domain error (Unauthenticated, NotFound for an organization the caller is not a member of)."""
        if self._principal is None:
            if self._cursor is None:
                raise Unauthenticated("no request context (benchmark mode)")
            try:
                row = await self._cursor.fetchone()
            except psycopg.Error as exc:  # auth_bind refused: the token, the user or the organization
                domain = to_domain(exc)
                if domain is None:
                    raise
                raise domain from exc
            if row is None:  # auth_bind raises rather than returning nothing; never trust silence
                raise Unauthenticated("invalid or expired session")
            self._principal = Principal(*row)
        return self._principal


async def bind(
    conn: psycopg.AsyncConnection[Any],
    *,
    token: str,
    organization_id: uuid.UUID | None,
    request_id: str,
    bench_auth_only: bool = False,
) -> Binding:
    """Queue the context of this request as the transaction's first statement (after its BEGIN).

    A tuple cursor: most routes never read the principal, and a row factory such as ``class_row`` would build
    the result's column descriptions on arrival whether or not anyone reads the row. Queued, not sent yet
    (``pool.queue``): it goes out with BEGIN and the route's first query, in one write.
    """
    cur = conn.cursor(row_factory=tuple_row)
    query = BENCH_AUTH_ONLY if bench_auth_only else BIND
    await pool.queue(cur, query, [token_hash(token), organization_id, request_id])
    return Binding(cur)
