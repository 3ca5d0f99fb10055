"""The pool's reset hook: a connection that comes back carrying a context setting is discarded."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import psycopg
import pytest

from orgbase.db import pool as pools
from orgbase.db import tenant
from orgbase.db.pool import open_pool
from tests.fixtures.api import Api
from tests.fixtures.cluster import Database

pytestmark = pytest.mark.db


def test_transaction_local_context_leaves_nothing_and_session_set_is_discarded(fresh_db: Database) -> None:
    async def scenario() -> None:
        pool = open_pool(fresh_db.app_url, min_size=1, max_size=1, prepare_threshold=None, name="test")
        await pool.open(wait=True)
        try:
            async with pool.connection() as conn:
                await conn.execute("select set_config('app.current_user_id', 'u1', true)")
                first = conn.info.backend_pid
            async with pool.connection() as conn:  # transaction-local: the same connection, clean
                assert conn.info.backend_pid == first
                cur = await conn.execute("select current_setting('app.current_user_id', true)")
                assert await cur.fetchone() == ("",)
                await conn.execute("set app.current_org_id = 'o1'")  # a bug: a session-level SET
            async with pool.connection() as conn:  # that connection was thrown away, not lent again
                assert conn.info.backend_pid != first
                cur = await conn.execute("select current_setting('app.current_org_id', true)")
                assert await cur.fetchone() in ((None,), ("",))
        finally:
            await pool.close()

    asyncio.run(scenario())


async def _tenant_request(pool: Any, *, token: str, org: uuid.UUID | None) -> list[Any]:
    """What ``get_tenant`` does around a route: BEGIN of its own, the context, two fetched queries, COMMIT."""
    async with pool.connection() as conn:
        await conn.set_autocommit(True)
        async with conn.pipeline():
            await pools.begin(conn)
            await tenant.bind(conn, token=token, organization_id=org, request_id="pool-test")
            seen = []
            for _ in range(2):  # a fetch between queries must not end the transaction (nor its context)
                cur = await conn.execute("select current_setting('app.current_user_id', true)")
                seen.append((await cur.fetchone() or [None])[0])
            done = await pools.finish(conn)
        await done.verify()
        return seen


async def _next_checkout(pool: Any) -> tuple[int, bool, tuple[Any, ...] | None]:
    """Backend pid, autocommit and context settings of the connection the pool lends next."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "select current_setting('app.current_user_id', true), current_setting('app.current_org_id', true)"
        )
        return conn.info.backend_pid, conn.autocommit, await cur.fetchone()


def test_tenant_transaction_keeps_its_context_and_returns_the_connection_as_lent(api: Api) -> None:
    owner = api.user("owner")
    org = uuid.UUID(api.org(owner))
    stranger = api.user("stranger")

    async def scenario() -> None:
        pool = open_pool(api.db.app_url, min_size=1, max_size=1, prepare_threshold=5, name="test")
        await pool.open(wait=True)
        try:
            assert await _tenant_request(pool, token=owner.token, org=org) == [owner.id, owner.id]
            pid, autocommit, settings = await _next_checkout(pool)
            assert not autocommit and settings in (("", ""), (None, None))
            # Fail closed: the first fetch raises auth_bind's error; the connection is rolled back, checked
            # and lent again (same backend), out of autocommit, with nothing left.
            refused = {"OB401": owner.token + "x", "OB404": stranger.token}
            for sqlstate, token in refused.items():
                with pytest.raises(psycopg.Error) as raised:
                    await _tenant_request(pool, token=token, org=org)
                assert raised.value.sqlstate == sqlstate
                assert await _next_checkout(pool) == (pid, False, settings)
        finally:
            await pool.close()

    asyncio.run(scenario())
