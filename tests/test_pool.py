"""The pool's reset hook: a connection that comes back carrying a context setting is discarded."""

from __future__ import annotations

import asyncio

import pytest

from orgbase.db.pool import open_pool
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
