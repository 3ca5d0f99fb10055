"""The pool's reset hook: a connection that comes back carrying a context setting is discarded."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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
        async with _pool_of_one(fresh_db.app_url, prepare_threshold=None) as pool:
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

    asyncio.run(scenario())


async def _tenant_request(pool: Any, *, token: str, org: uuid.UUID | None) -> list[Any]:
    """What ``deps.tenant_transaction`` does around a route: BEGIN of its own, the context, two fetched
    queries, COMMIT."""
    async with pool.connection() as conn, pools.RequestTransaction(conn):
        await tenant.bind(conn, token=token, organization_id=org, request_id="pool-test")
        seen = []
        for _ in range(2):  # a fetch between queries must not end the transaction (nor its context)
            cur = await conn.execute("select current_setting('app.current_user_id', true)")
            seen.append((await cur.fetchone() or [None])[0])
        return seen


@asynccontextmanager
async def _pool_of_one(url: str, *, prepare_threshold: int | None) -> AsyncIterator[pools.AppPool]:
    """The API's pool with a single connection, open for the block."""
    pool = open_pool(url, min_size=1, max_size=1, prepare_threshold=prepare_threshold, name="test")
    await pool.open(wait=True)
    try:
        yield pool
    finally:
        await pool.close()


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
        async with _pool_of_one(api.db.app_url, prepare_threshold=5) as pool:
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

    asyncio.run(scenario())


def test_queued_statements_go_out_with_the_next_write(api: Api) -> None:
    """BEGIN and the context call wait in libpq's buffer (``pools.queue``) until the route's first query is
    sent: the backend has received nothing before, and everything, in order, in the same transaction after."""
    assert pools.QUEUEING  # psycopg's internals are where queue expects them (else: plain executes, slower)
    owner = api.user("owner")
    org = uuid.UUID(api.org(owner))

    async def scenario() -> None:
        conn = await psycopg.AsyncConnection.connect(api.db.app_url, autocommit=True, prepare_threshold=5)
        watcher = await psycopg.AsyncConnection.connect(api.db.app_url, autocommit=True)
        seen = "select query, state from pg_stat_activity where pid = %s"
        try:
            await conn.execute("select 'before'")
            async with pools.RequestTransaction(conn):
                binding = await tenant.bind(conn, token=owner.token, organization_id=org, request_id="queued")
                cur = await watcher.execute(seen, [conn.info.backend_pid])
                assert await cur.fetchone() == ("select 'before'", "idle")  # nothing sent yet
                cur = await conn.execute("select current_setting('app.request_id', true)")
                assert await cur.fetchone() == ("queued",)  # BEGIN and auth_bind ran first
                assert (await binding.principal()).user_id == uuid.UUID(owner.id)
            assert not conn.autocommit  # commit found the transaction over and nothing left
            cur = await watcher.execute(seen, [conn.info.backend_pid])
            row = await cur.fetchone()
            assert row is not None and row[0].startswith("select current_setting") and row[1] == "idle"
        finally:
            await conn.close()
            await watcher.close()

    asyncio.run(scenario())


def test_queued_requests_survive_prepared_statements_and_rollbacks(api: Api) -> None:
    """Prepared after 5 executions, deallocated by psycopg after each rollback (DEALLOCATE ALL), re-prepared:
    queued statements and that maintenance, interleaved on one connection, keep every request right."""
    owner = api.user("owner")
    org = uuid.UUID(api.org(owner))

    async def scenario() -> None:
        async with _pool_of_one(api.db.app_url, prepare_threshold=5) as pool:
            for n in range(30):
                if n % 7 == 6:  # refused: rolled back, and psycopg drops its prepared statements
                    with pytest.raises(psycopg.Error) as raised:
                        await _tenant_request(pool, token=owner.token + "x", org=org)
                    assert raised.value.sqlstate == "OB401"
                else:
                    assert await _tenant_request(pool, token=owner.token, org=org) == [owner.id, owner.id]

    asyncio.run(scenario())


def test_execute_last_commits_with_its_statement(api: Api) -> None:
    """The route's last statement takes COMMIT and the check with it: when ``execute_last`` returns, its rows
    are there (read in the context), the transaction is over, the pipeline closed, the connection marked clean
    and back in the pool the moment the block ends, with no worker task."""
    owner = api.user("owner")
    org = uuid.UUID(api.org(owner))

    async def scenario() -> None:
        async with _pool_of_one(api.db.app_url, prepare_threshold=5) as pool:
            assert pools.INLINE_RETURN  # psycopg_pool's internals are where AppPool expects them
            for _ in range(7):  # prepared after 5: the same with and without
                async with pool.connection() as conn, pools.RequestTransaction(conn):
                    await tenant.bind(conn, token=owner.token, organization_id=org, request_id="last-one")
                    cur = conn.cursor()
                    await pools.execute_last(cur, "select current_setting('app.request_id', true)")
                    assert conn.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE
                    assert conn.pgconn.pipeline_status == psycopg.pq.PipelineStatus.OFF
                    assert not conn.autocommit  # verified: nothing left, back in the pool's mode
                    assert await cur.fetchone() == ("last-one",)
                assert pool.get_stats()["pool_available"] == 1  # returned in this task, checked by the mark
            pid, autocommit, settings = await _next_checkout(pool)
            assert not autocommit and settings in (("", ""), (None, None))
            # An unchecked connection still goes through psycopg_pool's worker and the full check.
            assert pool.get_stats()["pool_available"] == 0
            for _ in range(100):
                await asyncio.sleep(0.01)
                if pool.get_stats()["pool_available"] == 1:
                    break
            assert pool.get_stats()["pool_available"] == 1
            assert (await _next_checkout(pool))[0] == pid

    asyncio.run(scenario())


def test_a_statement_after_the_last_one_is_refused(api: Api) -> None:
    """After ``execute_last`` the context is gone with its transaction: a statement run after it sees no
    context, and the request fails before any response (the pool rolls back and checks the connection)."""
    owner = api.user("owner")
    org = uuid.UUID(api.org(owner))

    async def scenario() -> None:
        async with _pool_of_one(api.db.app_url, prepare_threshold=5) as pool:
            with pytest.raises(psycopg.ProgrammingError, match="after the request's last statement"):
                async with pool.connection() as conn, pools.RequestTransaction(conn):
                    await tenant.bind(conn, token=owner.token, organization_id=org, request_id="too-late")
                    await pools.execute_last(conn.cursor(), "select 1")
                    cur = await conn.execute("select current_setting('app.current_user_id', true)")
                    assert await cur.fetchone() in (("",), (None,))  # no context any more
            _, autocommit, settings = await _next_checkout(pool)
            assert not autocommit and settings in (("", ""), (None, None))

    asyncio.run(scenario())
