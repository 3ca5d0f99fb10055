"""The API's connection pool (app role). Its reset hook proves that no request context survived.

A connection goes back to the pool after its request's transaction ended. The context was set with
``set_config(..., true)``, so it is gone; the reset hook checks it, and a connection that still carries a
setting (a session-level ``SET`` by a bug) raises there, which makes the pool discard it instead of lending
another tenant's context to the next request.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

CONTEXT_SETTINGS = ("app.current_user_id", "app.current_org_id", "app.request_id")

_LEFTOVERS = "select " + ", ".join(f"current_setting('{name}', true)" for name in CONTEXT_SETTINGS)


class ContextLeak(psycopg.Error):
    """A connection came back from a request still carrying a context setting."""


async def check_clean(conn: psycopg.AsyncConnection[Any]) -> None:
    """Reset hook: raise (so the pool discards ``conn``) if any context setting survived the transaction."""
    # In autocommit the check is one round trip (no transaction to end after it); switching is client-side.
    await conn.set_autocommit(True)
    try:
        cur = await conn.execute(_LEFTOVERS)
        row = await cur.fetchone()
    finally:
        await conn.set_autocommit(False)
    leftovers = {name: value for name, value in zip(CONTEXT_SETTINGS, row or (), strict=True) if value}
    if leftovers:
        raise ContextLeak(f"connection returned with context settings {sorted(leftovers)}; discarded")


def open_pool(
    url: str, *, min_size: int, max_size: int, prepare_threshold: int | None, name: str = "orgbase-api"
) -> AsyncConnectionPool[psycopg.AsyncConnection[Any]]:
    """A closed pool of app-role connections; ``await pool.open()`` in the app's lifespan.

    ``prepare_threshold=None`` disables server-side prepared statements, which PgBouncer in transaction
    mode cannot follow from one server connection to another.
    """
    return AsyncConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        open=False,
        name=name,
        reset=check_clean,
        kwargs={"prepare_threshold": prepare_threshold, "application_name": name},
    )
