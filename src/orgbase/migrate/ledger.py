"""The ledger: what is applied, when, by whom, with which checksum; and an event log of every attempt.

It lives in schema ``ledger`` of the migrated database, owned by the owner role; the app role has no
access to it. Part of the engine: together with ``engine.py`` the only database code of ``migrate``
(split out so each module stays one concept: the engine orchestrates, the ledger records).
"""

from __future__ import annotations

import getpass
import socket
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import class_row

from orgbase.migrate.state import LedgerRow

SCHEMA_DDL = """
CREATE SCHEMA IF NOT EXISTS ledger;
COMMENT ON SCHEMA ledger IS 'orgbase migration ledger: the source of truth for what is applied';
CREATE TABLE IF NOT EXISTS ledger.changes (
    change_id   text PRIMARY KEY,
    checksum    text NOT NULL,
    state       text NOT NULL CONSTRAINT changes_state_known
                CHECK (state IN ('deployed', 'adopted', 'running', 'skipped')),
    applied_at  timestamptz,
    applied_by  text NOT NULL,
    db_user     text NOT NULL DEFAULT session_user,
    duration_ms double precision,
    detail      text
);
CREATE TABLE IF NOT EXISTS ledger.events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    change_id  text NOT NULL,
    event      text NOT NULL CONSTRAINT events_event_known
               CHECK (event IN ('deploy', 'start', 'revert', 'fail', 'adopt', 'override', 'skip')),
    at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    by         text NOT NULL,
    db_user    text NOT NULL DEFAULT session_user,
    checksum   text,
    detail     text
);
CREATE INDEX IF NOT EXISTS events_change_id_idx ON ledger.events (change_id, id DESC);
-- What the API's readiness check may know, and nothing more: each change's checksum, state and last event.
CREATE OR REPLACE FUNCTION ledger.summary()
    RETURNS TABLE (change_id text, checksum text, state text, last_event text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, ledger, pg_temp
AS $$
    SELECT coalesce(c.change_id, e.change_id), c.checksum, c.state, e.event
      FROM ledger.changes c
      FULL JOIN (SELECT DISTINCT ON (change_id) change_id, event FROM ledger.events
                  WHERE event <> 'override' ORDER BY change_id, id DESC) e ON e.change_id = c.change_id
$$;
REVOKE ALL ON FUNCTION ledger.summary() FROM PUBLIC;
"""

# One statement, so that the ledger row and its event travel in one round trip.
_RECORD = """
WITH row AS (
    INSERT INTO ledger.changes (change_id, checksum, state, applied_at, applied_by, duration_ms, detail)
    VALUES (%(id)s, %(checksum)s, %(state)s, CASE WHEN %(applied)s THEN now() END, %(by)s,
            %(duration_ms)s, %(detail)s)
    ON CONFLICT (change_id) DO UPDATE SET
        checksum = excluded.checksum, state = excluded.state, applied_at = excluded.applied_at,
        applied_by = excluded.applied_by, db_user = excluded.db_user, duration_ms = excluded.duration_ms,
        detail = excluded.detail
)
INSERT INTO ledger.events (change_id, event, by, checksum, detail)
VALUES (%(id)s, %(event)s, %(by)s, %(checksum)s, %(detail)s)
"""


def actor() -> str:
    """Who runs the engine: OS user and host (the database user is recorded beside it)."""
    return f"{getpass.getuser()}@{socket.gethostname()}"


def exists(conn: psycopg.Connection[Any]) -> bool:
    """True once the ledger has been created in this database."""
    row = conn.execute("select to_regclass('ledger.changes') is not null").fetchone()
    return bool(row and row[0])


def ensure(conn: psycopg.Connection[Any], *, app_role: str | None = None) -> None:
    """Create the ledger if it is missing (call under the engine's advisory lock).

    ``app_role`` may then call ``ledger.summary()`` (for ``/readyz``) but read none of the ledger's tables.
    """
    conn.execute(SCHEMA_DDL)
    if app_role is not None:
        role = sql.Identifier(app_role)
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA ledger TO {}").format(role))
        conn.execute(sql.SQL("GRANT EXECUTE ON FUNCTION ledger.summary() TO {}").format(role))


def rows(conn: psycopg.Connection[Any]) -> dict[str, LedgerRow]:
    """Every ledger row by change id (empty if there is no ledger yet)."""
    if not exists(conn):
        return {}
    cur = conn.cursor(row_factory=class_row(LedgerRow))
    found = cur.execute(
        "select change_id, checksum, state, applied_at, applied_by, duration_ms, detail from ledger.changes"
    ).fetchall()
    return {r.change_id: r for r in found}


def last_events(conn: psycopg.Connection[Any]) -> dict[str, str]:
    """The most recent event kind of each change (overrides aside: they do not change a state)."""
    if not exists(conn):
        return {}
    found = conn.execute(
        "select distinct on (change_id) change_id, event from ledger.events "
        "where event <> 'override' order by change_id, id desc"
    ).fetchall()
    return dict(found)


def record(
    conn: psycopg.Connection[Any],
    *,
    change_id: str,
    checksum: str,
    state: str,
    event: str,
    applied: bool = True,
    duration_ms: float | None = None,
    detail: str | None = None,
) -> None:
    """Write a change's ledger row and its event in the current transaction."""
    conn.execute(
        _RECORD,
        {
            "id": change_id,
            "applied": applied,
            "checksum": checksum,
            "state": state,
            "by": actor(),
            "duration_ms": duration_ms,
            "detail": detail,
            "event": event,
        },
    )


def forget(conn: psycopg.Connection[Any], *, change_id: str, checksum: str, event: str = "revert") -> None:
    """Delete a change's ledger row and log the event, in the current transaction."""
    conn.execute("delete from ledger.changes where change_id = %s", [change_id])
    event_(conn, change_id=change_id, event=event, checksum=checksum)


def event_(
    conn: psycopg.Connection[Any],
    *,
    change_id: str,
    event: str,
    checksum: str | None = None,
    detail: str | None = None,
) -> None:
    """Append one event (a failure, an override, a skip) in the current transaction."""
    conn.execute(
        "insert into ledger.events (change_id, event, by, checksum, detail) values (%s, %s, %s, %s, %s)",
        [change_id, event, actor(), checksum, detail],
    )


def audit_override(conn: psycopg.Connection[Any], *, change_id: str, gate: str, reason: str) -> None:
    """Also write a gate override to the platform's audit trail, once that trail exists (005 and later)."""
    row = conn.execute("select to_regclass('platform.audit_logs') is not null").fetchone()
    if row and row[0]:
        conn.execute(
            "insert into platform.audit_logs (action, target_type, target_id, changes) "
            "values ('migration.gate_override', 'migration', %s, jsonb_build_object('gate', %s::text, "
            "'reason', %s::text, 'by', %s::text, 'db_user', session_user::text))",
            [change_id, gate, reason, actor()],
        )


def history(conn: psycopg.Connection[Any], *, limit: int = 50) -> list[tuple[Any, ...]]:
    """The newest events first: (at, change, event, by, db user, detail)."""
    if not exists(conn):
        return []
    return conn.execute(
        "select at, change_id, event, by, db_user, detail from ledger.events order by id desc limit %s",
        [limit],
    ).fetchall()
