"""Running the harness against the live schema or a rehearsal of a change, and recording each run.

Both run on one service-role connection: the rehearsal deploys the change as the owner, checks as the app
role in the same transaction (another connection would not see the change), and rolls back; the record is
written after, in a transaction of its own, so that it survives the rollback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql

from orgbase.config import Settings
from orgbase.errors import ChangeFailed, MigrationError
from orgbase.migrate import ledger
from orgbase.migrate.plan import Change, render
from orgbase.rls import fingerprint, harness

Conn = psycopg.Connection[Any]
RLS_CHANGE = "007_restrictive_rls_policies"


@dataclass
class Run:
    """A finished run of the harness: what ran, against which schema, and its report."""

    kind: str
    fingerprint: str
    report: harness.Report
    started_at: datetime
    finished_at: datetime
    change: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def schema_fingerprint(conn: Conn, settings: Settings) -> str:
    """The fingerprint of the schema ``conn`` sees now (inside its transaction, if it has one)."""
    with conn.transaction():
        for name, value in settings.role_names().items():
            conn.execute("select set_config(%s, %s, true)", [f"orgbase.{name}", value])
        return fingerprint.digest(conn.execute(fingerprint.QUERY).fetchall())


def deployed(conn: Conn, change_id: str) -> bool:
    """Whether the ledger records ``change_id`` as applied."""
    row = ledger.rows(conn).get(change_id)
    return row is not None and row.state in ("deployed", "adopted")


def test_live(conn: Conn, settings: Settings) -> Run:
    """The harness against the schema as deployed, in a transaction rolled back (autocommit ``conn``)."""
    started = datetime.now(UTC)
    fp = schema_fingerprint(conn, settings)
    with conn.transaction(force_rollback=True):
        report = harness.run(conn, settings.owner_role, settings.app_role)
    return Run("test", fp, report, started, datetime.now(UTC))


def rehearse(conn: Conn, settings: Settings, change: Change) -> Run:
    """Deploy ``change`` as the owner, run the harness as the app role on the same transaction, roll back.
    The recorded fingerprint is that of the schema the rehearsal started from (the one a deploy would
    change), so that the WS4 gate can compare it with the schema as it is when 007 is deployed."""
    if "deploy" not in change.scripts:
        raise ChangeFailed(change.id, "rehearsal", "it has no deploy.sql to rehearse")
    started = datetime.now(UTC)
    base = schema_fingerprint(conn, settings)
    with conn.transaction(force_rollback=True):
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(settings.owner_role)))
        try:
            conn.execute(render(change.scripts["deploy"], settings.role_names()).encode())
        except psycopg.Error as exc:
            raise ChangeFailed(change.id, "rehearsal of deploy", str(exc)) from exc
        conn.execute("reset role")
        rehearsed = schema_fingerprint(conn, settings)
        report = harness.run(conn, settings.owner_role, settings.app_role)
    extra = {"rehearsed_fingerprint": rehearsed}
    return Run("rehearsal", base, report, started, datetime.now(UTC), change.id, extra)


def require_evidence(conn: Conn) -> None:
    """Refuse to run what could not be recorded: the table of runs comes with 012_rls_evidence."""
    row = conn.execute("select to_regclass('evidence.rls_runs') is not null").fetchone()
    if not (row and row[0]):
        raise MigrationError("runs are recorded in evidence.rls_runs: deploy 012_rls_evidence first")


def record(conn: Conn, run: Run) -> int:
    """Write the run to ``evidence.rls_runs`` in a transaction of its own; returns its id."""
    summary = {**run.report.summary(), "change": run.change, **run.extra}
    with conn.transaction():
        row = conn.execute(
            "insert into evidence.rls_runs (started_at, finished_at, kind, fingerprint, passed, checks,"
            " mismatches, summary) values (%s, %s, %s, %s, %s, %s, %s, %s) returning id",
            [
                run.started_at,
                run.finished_at,
                run.kind,
                run.fingerprint,
                run.report.passed,
                len(run.report.checks),
                len(run.report.mismatches),
                json.dumps(summary),
            ],
        ).fetchone()
    assert row is not None
    return int(row[0])
