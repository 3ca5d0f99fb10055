"""Shadow mode (014_rls_shadow): 007's predicates recorded, not enforced, table by table.

A table's mode is a row of ``rls_shadow.modes`` (data, not DDL: no drift), changed here and audited.
Violations are written by the database itself (``rls_shadow.deny``, through dblink, so that they survive the
request's rollback); this module reads, summarises and acknowledges them. Every function takes a service-role
connection and never commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import class_row

from orgbase.config import Settings
from orgbase.errors import ConfigError, Conflict, InvalidInput, NotFound
from orgbase.migrate.report import RlsState

CHANGE = "014_rls_shadow"
MODES = ("permissive", "shadow")


@dataclass(frozen=True)
class TableMode:
    """One table's mode, since when and set by whom."""

    table_name: str
    mode: str
    since: dt.datetime
    changed_by: str


@dataclass(frozen=True)
class Violation:
    """Rows 007 would have denied, for one (table, command, user, organization, request, reason)."""

    id: int
    table_name: str
    command: str
    user_id: str | None
    organization_id: str | None
    request_id: str | None
    reason: str
    row_organization_id: str | None
    first_seen: dt.datetime
    last_seen: dt.datetime
    statements: int
    rows: int
    acked_at: dt.datetime | None
    acked_by: str | None
    ack_reason: str | None

    def as_json(self) -> dict[str, Any]:
        """The violation as JSON-ready values (times in ISO 8601)."""
        return {k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in asdict(self).items()}


def installed(conn: psycopg.Connection[Any]) -> bool:
    """Whether 014_rls_shadow is deployed here (its schema exists)."""
    row = conn.execute("select to_regclass('rls_shadow.modes') is not null").fetchone()
    return bool(row and row[0])


def require(conn: psycopg.Connection[Any]) -> None:
    """Raise a ConfigError naming the change to deploy when shadow mode is not installed."""
    if not installed(conn):
        raise ConfigError(f"shadow mode is not installed: run `orgbase migrate deploy --to {CHANGE}`")


def modes(conn: psycopg.Connection[Any]) -> list[TableMode]:
    """Every platform table's mode, by table name."""
    with conn.cursor(row_factory=class_row(TableMode)) as cur:
        return cur.execute(
            "select table_name, mode, since, changed_by from rls_shadow.modes order by table_name"
        ).fetchall()


def link_conninfo(settings: Settings) -> str:
    """How the database reaches itself as the shadow role, without a database name (each adds its own)."""
    from orgbase.db.server import EmbeddedCluster

    if settings.database_url is None:
        url = EmbeddedCluster(settings).url("shadow")
    elif settings.shadow_database_url is not None:
        url = settings.shadow_database_url.get_secret_value()
    else:
        raise ConfigError(
            "ORGBASE_DATABASE_URL is set but ORGBASE_SHADOW_DATABASE_URL is not: shadow mode records "
            f"violations as the {settings.shadow_role} role and needs its URL"
        )
    parts = {k: v for k, v in conninfo_to_dict(url).items() if k != "dbname" and v is not None}
    return make_conninfo(**{k: str(v) for k, v in parts.items()})


def set_mode(
    conn: psycopg.Connection[Any], *, tables: Sequence[str], mode: str, actor: str, link: str | None
) -> list[TableMode]:
    """Put ``tables`` (all of them when empty) in ``mode``; audited. Returns the tables that changed.

    ``link`` is the conninfo of :func:`link_conninfo`, stored (owner-only) for the database to record
    violations through; required to turn shadow mode on.
    """
    if mode not in MODES:
        raise InvalidInput(f"mode must be one of {', '.join(MODES)}, not {mode!r}", code="invalid_mode")
    known = {m.table_name for m in modes(conn)}
    unknown = sorted(set(tables) - known)
    if unknown:
        raise InvalidInput(
            f"no such platform table: {', '.join(unknown)} (known: {', '.join(sorted(known))})",
            code="unknown_table",
        )
    chosen = sorted(set(tables) or known)
    if mode == "shadow":
        if link is None:
            raise ConfigError("shadow mode needs the shadow role's connection (link)")
        conn.execute(
            "insert into rls_shadow.link (conninfo) values (%s) "
            "on conflict (singleton) do update set conninfo = excluded.conninfo",
            [link],
        )
    with conn.cursor(row_factory=class_row(TableMode)) as cur:
        changed = cur.execute(
            "update rls_shadow.modes set mode = %s, since = now(), changed_by = %s, "
            "observed_at_since = coalesce(pg_sequence_last_value('rls_shadow.observed'), 0), "
            "failures_at_since = coalesce(pg_sequence_last_value('rls_shadow.record_failures'), 0) "
            "where table_name = any(%s) and mode <> %s "
            "returning table_name, mode, since, changed_by",
            [mode, actor, chosen, mode],
        ).fetchall()
    if changed:
        conn.execute(
            "insert into platform.audit_logs (action, target_type, target_id, changes) "
            "values ('rls.mode_changed', 'rls_mode', %s, jsonb_build_object('tables', %s::text[], "
            "'mode', %s::text, 'by', %s::text, 'db_user', session_user::text))",
            [mode, sorted(m.table_name for m in changed), mode, actor],
        )
    return sorted(changed, key=lambda m: m.table_name)


_COLUMNS = sql.SQL(
    "id, table_name, command, user_id::text, organization_id::text, request_id, reason, "
    "row_organization_id::text, first_seen, last_seen, statements, rows, acked_at, acked_by, ack_reason"
)


def violations(
    conn: psycopg.Connection[Any], *, include_acked: bool = False, limit: int = 1000
) -> list[Violation]:
    """Recorded violations, newest first (unacknowledged only unless ``include_acked``)."""
    with conn.cursor(row_factory=class_row(Violation)) as cur:
        return cur.execute(
            sql.SQL(
                "select {} from rls_shadow.violations "
                "where %s or acked_at is null order by last_seen desc, id desc limit %s"
            ).format(_COLUMNS),
            [include_acked, limit],
        ).fetchall()


def ack(conn: psycopg.Connection[Any], violation_id: int, *, reason: str, actor: str) -> Violation:
    """Mark a violation as expected, with the operator's reason; a second acknowledgement is a conflict."""
    if not reason.strip():
        raise InvalidInput("an acknowledgement needs a reason", code="reason_required")
    with conn.cursor(row_factory=class_row(Violation)) as cur:
        found = cur.execute(
            sql.SQL("select {} from rls_shadow.violations where id = %s for update").format(_COLUMNS),
            [violation_id],
        ).fetchone()
        if found is None:
            raise NotFound(f"no violation {violation_id}", code="violation_not_found")
        if found.acked_at is not None:
            raise Conflict(
                f"violation {violation_id} was already acknowledged by {found.acked_by} "
                f"at {found.acked_at:%Y-%m-%d %H:%M}",
                code="already_acknowledged",
            )
        done = cur.execute(
            sql.SQL(
                "update rls_shadow.violations set acked_at = now(), acked_by = %s, ack_reason = %s "
                "where id = %s returning {}"
            ).format(_COLUMNS),
            [actor, reason.strip(), violation_id],
        ).fetchone()
    assert done is not None  # locked above
    conn.execute(
        "insert into platform.audit_logs (action, target_type, target_id, changes) "
        "values ('rls.violation_acknowledged', 'rls_violation', %s, jsonb_build_object('reason', %s::text, "
        "'by', %s::text, 'db_user', session_user::text))",
        [str(violation_id), reason.strip(), actor],
    )
    return done


@dataclass(frozen=True)
class Counters:
    """Shadow mode's traffic and health, since every table was last put in its current mode."""

    observed: int
    failures: int


def counters(conn: psycopg.Connection[Any]) -> Counters:
    """Requests with a user context observed (counted when bound, 016), and sends that failed, in total."""
    row = conn.execute(
        "select coalesce(pg_sequence_last_value('rls_shadow.observed'), 0), "
        "coalesce(pg_sequence_last_value('rls_shadow.record_failures'), 0)"
    ).fetchone()
    assert row is not None
    return Counters(observed=int(row[0]), failures=int(row[1]))


_GROUPS = {
    "table": ("table_name", "command", "reason"),
    "request": ("request_id", "user_id", "organization_id"),
}


def _group(found: Sequence[Violation], by: str) -> list[dict[str, Any]]:
    """Violations summed by table (and command and reason) or by request, the newest group first."""
    fields = _GROUPS[by]
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for v in found:
        key = tuple(getattr(v, f) for f in fields)
        g = groups.setdefault(
            key,
            {
                **dict(zip(fields, key, strict=True)),
                "violations": 0,
                "rows": 0,
                "tables": set(),
                "last_seen": v.last_seen,
            },
        )
        g["violations"] += 1
        g["rows"] += v.rows
        g["tables"].add(v.table_name)
        g["last_seen"] = max(g["last_seen"], v.last_seen)
    out = sorted(groups.values(), key=lambda g: g["last_seen"], reverse=True)
    return [g | {"tables": sorted(g["tables"]), "last_seen": g["last_seen"].isoformat()} for g in out]


def report(found: Sequence[Violation], counters: Counters) -> dict[str, Any]:
    """The JSON document of ``orgbase rls violations --format json``."""
    return {
        "observed_requests": counters.observed,
        "lost_records": counters.failures,
        "by_table": _group(found, "table"),
        "by_request": _group(found, "request"),
        "violations": [v.as_json() for v in found],
    }


def report_text(found: Sequence[Violation], counters: Counters) -> str:
    """The same for a terminal: the two summaries, then each violation, newest first."""
    lines = [
        f"{len(found)} violation(s); {counters.observed} request(s) with a user context observed in all; "
        f"{counters.failures} record(s) lost"
    ]
    if not found:
        return lines[0]
    lines += ["", "By table:"]
    lines += [
        f"  {g['table_name']:<22} {g['command']:<7} {g['reason']:<21} {g['violations']:>5} x, "
        f"{g['rows']:>8} row(s)"
        for g in _group(found, "table")
    ]
    lines += ["", "By request:"]
    lines += [
        f"  {g['request_id'] or '(no request id)':<36} user {g['user_id'] or '-':<36} "
        f"{g['rows']:>8} row(s) on {', '.join(g['tables'])}"
        for g in _group(found, "request")
    ]
    lines += ["", "Newest first:"]
    for v in found:
        ack = f"  acked by {v.acked_by}: {v.ack_reason}" if v.acked_at else ""
        lines.append(
            f"  #{v.id:<6} {v.last_seen:%Y-%m-%d %H:%M:%S} {v.table_name}.{v.command} {v.reason}: "
            f"{v.rows} row(s) in {v.statements} statement(s), user {v.user_id or '-'}, "
            f"org {v.organization_id or '-'}, request {v.request_id or '-'}{ack}"
        )
    return "\n".join(lines)


def state(conn: psycopg.Connection[Any]) -> RlsState | None:
    """RLS as ``migrate status`` shows it: None until shadow mode is installed."""
    if not installed(conn):
        return None
    row = conn.execute(
        # Enforced: 007's restrictive policies are in the catalog (the catalog, not the ledger, decides).
        "select exists (select 1 from pg_policy where polname = 'projects_restrictive_select'), "
        "(select count(*) from rls_shadow.violations where acked_at is null)"
    ).fetchone()
    assert row is not None
    return RlsState(
        enforced=bool(row[0]),
        modes=[(m.table_name, m.mode, m.since) for m in modes(conn)],
        unacknowledged=int(row[1]),
    )
