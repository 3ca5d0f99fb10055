"""The API's connection pool (app role). Its reset hook proves that no request context survived.

A connection goes back to the pool after its request's transaction ended. The context was set with
``set_config(..., true)``, so it is gone; the reset hook checks it, and a connection that still carries a
setting (a session-level ``SET`` by a bug) raises there, which makes the pool discard it instead of lending
another tenant's context to the next request.

A tenant request runs in pipeline mode (``RequestTransaction``). It queues its BEGIN like any statement:
psycopg's own BEGIN is followed by a Sync that it waits for (to learn the transaction status), a round trip
before the first query. COMMIT and the leftover check are queued behind the request's last statement and sent
by the pipeline's closing sync (a round trip that happens anyway). So a one-query request makes two round
trips, or one when its query is sent by ``execute_last``, which puts COMMIT and the check behind it. A clean
check marks the connection as checked, and the reset hook then trusts that mark for this one return instead
of asking again; a dirty or missing result leaves the connection unmarked, and the hook asks the server and
discards it.

These statements are queued with ``queue``, not ``execute``: psycopg writes each pipelined statement to the
socket on its own (a flush per ``execute``), and every write wakes the backend once more. ``queue`` leaves the
statement in libpq's output buffer, so BEGIN and the context go out in one write with the route's first
query's flush, and COMMIT and the check in one write before the closing sync. Measured on the single-row get
with the context (2 workers, wrk, 10 interleaved rounds): writes to the server 6.9 -> 5.1 per request, polls
11.9 -> 4.0, backend context switches 4.8 -> 3.5, CPU per request -8%, requests per second +7%.
"""

from __future__ import annotations

import weakref
from collections import deque
from collections.abc import Generator
from contextlib import AbstractAsyncContextManager
from typing import Any

import psycopg
from psycopg.abc import Params
from psycopg.abc import QueryNoTemplate as Query
from psycopg_pool import AsyncConnectionPool

CONTEXT_SETTINGS = ("app.current_user_id", "app.current_org_id", "app.request_id")

_LEFTOVERS = "select " + ", ".join(f"current_setting('{name}', true)" for name in CONTEXT_SETTINGS)


class ContextLeak(psycopg.Error):
    """A connection came back from a request still carrying a context setting."""


# Connections whose transaction ``RequestTransaction.commit`` ended and found clean, not yet back in the pool.
_CHECKED: weakref.WeakSet[psycopg.AsyncConnection[Any]] = weakref.WeakSet()


# What ``queue`` drives inside psycopg (pinned at 3.3; tests/test_pool.py fails if these go away).
QUEUEING = all(
    hasattr(psycopg.AsyncCursor, n) for n in ("_start_query", "_convert_query", "_maybe_prepare_gen")
)


async def queue(cursor: psycopg.AsyncCursor[Any], query: Query, params: Params | None = None) -> None:
    """Execute ``query`` on ``cursor`` in its connection's pipeline, but leave it in libpq's output buffer.

    ``cursor.execute`` in a pipeline queues the statement and then flushes it: one socket write per statement.
    This does what ``execute`` does up to the flush, with psycopg's own steps (its prepared statements and
    the pipeline's result queue, so the cursor gets its result as usual), and moves the statement into
    libpq's buffer; whatever psycopg sends next (the next ``execute``, a fetch, the closing sync) carries it
    in the same write. Nothing changes on the server: the same statements, in the same order, in the same
    transaction. For a connection in autocommit and pipeline mode (``begin``'s condition). It reaches into
    psycopg's internals (3.3, pinned): in any other mode, or should they change, it is a plain ``execute``.
    """
    conn = cursor.connection
    pipeline = conn._pipeline
    commands = getattr(pipeline, "command_queue", None)
    if pipeline is None or not conn.autocommit or not QUEUEING or not isinstance(commands, deque) or commands:
        await cursor.execute(query, params)  # outside the one case queue is for: as psycopg would
        return
    async with conn.lock:
        # Pending maintenance first (DEALLOCATE ALL after a rollback, evicted statements): it runs statements
        # of its own, and must not deallocate one prepared by what is queued below.
        await conn.wait(conn._prepared.maintain_gen(conn))
        _no_wait(cursor._start_query(query))  # in autocommit: resets the cursor, sends no BEGIN of psycopg's
        statement = cursor._convert_query(query, params)
        _no_wait(cursor._maybe_prepare_gen(statement, prepare=None))  # in a pipeline: queued, never waits
        cursor._last_query = query
        while commands:  # into libpq's buffer; libpq sends it on the next flush
            commands.popleft()()


def _no_wait(gen: Generator[Any, Any, Any]) -> None:
    """Run a psycopg generator that must complete without waiting for the socket."""
    for _ in gen:
        raise psycopg.InterfaceError("queue: psycopg wanted to wait (not in autocommit pipeline mode?)")


class RequestTransaction:
    """A request's transaction on a pooled connection in pipeline mode: BEGIN queued, COMMIT and check last.

    ``async with RequestTransaction(conn)`` puts the connection in autocommit and pipeline mode and queues a
    BEGIN of its own (in autocommit psycopg sends none, so the transaction is this one). Not sent yet
    (``queue``): it goes with the context call and the route's first query. When the block ends normally,
    ``commit`` queues COMMIT and the leftover check, the pipeline's closing sync sends them, and a clean
    result marks the connection checked and puts it back out of autocommit (the pool's mode). When the block
    raises, the pipeline is closed and the pool's exit rolls back (the reset hook then restores the mode). A
    route whose last statement is known (``execute_last``) commits there instead, in the same round trip as
    that statement; a statement run after it is an error.
    """

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn
        self._pipeline: AbstractAsyncContextManager[Any] | None = None
        self._leftovers: psycopg.AsyncCursor[Any] | None = None  # the check's cursor, once COMMIT is queued

    async def __aenter__(self) -> RequestTransaction:
        # Set outside the pipeline, where psycopg would sync (a round trip) to check no transaction is open.
        await self.conn.set_autocommit(True)
        pipeline = self.conn.pipeline()
        await pipeline.__aenter__()
        self._pipeline = pipeline
        await queue(self.conn.cursor(), "begin")
        _OPEN[self.conn] = self
        return self

    async def commit(self) -> None:
        """Queue COMMIT and the leftover check and close the pipeline (its sync sends everything queued); mark
        the connection checked if the transaction is over and no context setting survived it."""
        _OPEN.pop(self.conn, None)
        await queue(self.conn.cursor(), "commit")
        self._leftovers = self.conn.cursor()
        await queue(self._leftovers, _LEFTOVERS)
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            await pipeline.__aexit__(None, None, None)
        row = await self._leftovers.fetchone()
        if self._idle() and row is not None and not any(row):
            await self.conn.set_autocommit(False)
            _CHECKED.add(self.conn)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        _OPEN.pop(self.conn, None)
        if exc_type is not None:
            pipeline, self._pipeline = self._pipeline, None
            if pipeline is not None:  # rolled back by the pool's exit
                await pipeline.__aexit__(exc_type, exc, tb)
            return
        if self._leftovers is None:
            await self.commit()
        elif not self._idle():
            # Ended by ``execute_last``, yet busy: a statement ran after the last one, outside the request's
            # transaction and context (commit left the connection out of autocommit, so psycopg opened a
            # transaction for it), or the commit failed and the route went on. Refuse the response; the pool
            # rolls back and checks the connection in full.
            _CHECKED.discard(self.conn)
            raise psycopg.ProgrammingError("the connection is busy after the request's last statement")

    def _idle(self) -> bool:
        return self.conn.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE


# Connections inside a RequestTransaction whose last statement has not been executed yet.
_OPEN: weakref.WeakKeyDictionary[psycopg.AsyncConnection[Any], RequestTransaction]
_OPEN = weakref.WeakKeyDictionary()


async def execute_last(cursor: psycopg.AsyncCursor[Any], query: Query, params: Params | None = None) -> None:
    """Execute the last statement of a request's transaction and commit it, in one round trip.

    In a ``RequestTransaction``, the statement is queued with COMMIT and the leftover check behind it, and the
    pipeline syncs once: the route's rows arrive with the commit, where a fetch and then the closing sync
    would make two round trips (measured on the single-row get's transaction, one connection, client and
    backend on one core: 55 us less Python and 85 us less wall time each). The transaction is over when this
    returns: the route reads its rows, and nothing more may run on the connection. Anywhere else (a CLI, a
    test, a ``Conn`` route) a plain execute.
    """
    transaction = _OPEN.get(cursor.connection)
    if transaction is None:
        await cursor.execute(query, params)
        return
    await queue(cursor, query, params)
    await transaction.commit()


async def check_clean(conn: psycopg.AsyncConnection[Any]) -> None:
    """Reset hook: raise (so the pool discards ``conn``) if any context setting survived the transaction."""
    if conn in _CHECKED:  # checked after its COMMIT (``RequestTransaction``), and nothing ran on it since
        _CHECKED.discard(conn)
        # In autocommit it is not as ``commit`` left it: then ask the server (which resets the mode).
        if not conn.autocommit:
            return
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


# What ``AppPool`` overrides and calls inside psycopg_pool (pinned at 3.3; tests/test_pool.py checks them).
INLINE_RETURN = all(hasattr(AsyncConnectionPool, n) for n in ("_putconn", "_return_connection"))


class AppPool(AsyncConnectionPool[psycopg.AsyncConnection[Any]]):
    """psycopg_pool's pool, but a connection that ``commit`` found clean is returned in the caller's task.

    With a reset hook, psycopg_pool returns every connection through its worker task (the hook may talk to the
    server, and ``putconn`` should not wait for it): a queue put, a task wakeup and an event-loop turn per
    request before the connection is back, ~50 us of Python (measured: one connection, client and backend
    pinned to one core, 5 x 5,000 transactions: 341 -> 288 us of CPU each). For a connection marked clean
    the hook answers from the mark without a round trip, so it runs here, in ``putconn``: the same
    ``_return_connection`` and the same hook, without the detour. Any other connection takes psycopg_pool's
    path, the worker and the full check.
    """

    async def _putconn(self, conn: psycopg.AsyncConnection[Any], from_getconn: bool) -> None:
        if INLINE_RETURN and not from_getconn and conn in _CHECKED:
            await self._return_connection(conn, from_getconn=False)
        else:
            await super()._putconn(conn, from_getconn)


def open_pool(
    url: str, *, min_size: int, max_size: int, prepare_threshold: int | None, name: str = "orgbase-api"
) -> AppPool:
    """A closed pool of app-role connections; ``await pool.open()`` in the app's lifespan.

    ``prepare_threshold=None`` disables server-side prepared statements, which PgBouncer in transaction
    mode cannot follow from one server connection to another.
    """
    return AppPool(
        url,
        min_size=min_size,
        max_size=max_size,
        open=False,
        name=name,
        reset=check_clean,
        kwargs={"prepare_threshold": prepare_threshold, "application_name": name},
    )
