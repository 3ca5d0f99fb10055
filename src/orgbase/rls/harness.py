"""The isolation harness (WS4): every platform table x command x subject x context, expected against
observed as the app role, in the caller's transaction.

The caller holds one transaction on a connection whose role may become the owner and the app role (the
service role, or a superuser); ``run`` builds the world as the owner, probes as the app role (``SET LOCAL
ROLE``), each probe in a savepoint, and leaves the transaction for the caller to roll back.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from orgbase.db.tenant import set_context
from orgbase.rls import rules
from orgbase.rls.probes import CONTEXTS, SUBJECTS, Probe, probes
from orgbase.rls.world import World, build_world

Conn = psycopg.Connection[Any]


@dataclass(frozen=True)
class Check:
    """One probe's verdict: expected and observed access (``error`` when neither allowed nor denied)."""

    table: str
    command: str
    subject: str
    context: str
    variant: str
    expected: bool
    observed: bool
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Observed as expected, without an error."""
        return self.error is None and self.expected == self.observed


@dataclass
class Report:
    """Every check of one run, and how long it took."""

    checks: list[Check] = field(default_factory=list)
    seconds: float = 0.0
    tables: list[str] = field(default_factory=list)

    @property
    def mismatches(self) -> list[Check]:
        """The checks that did not observe what the rules expect."""
        return [c for c in self.checks if not c.ok]

    @property
    def passed(self) -> bool:
        """At least one check, and no mismatch."""
        return bool(self.checks) and not self.mismatches

    def summary(self) -> dict[str, Any]:
        """What a recorded run keeps: counts, the tables, and the first mismatches."""
        return {
            "tables": self.tables,
            "subjects": list(SUBJECTS),
            "contexts": list(CONTEXTS),
            "seconds": round(self.seconds, 3),
            "mismatches": [describe(c) for c in self.mismatches[:50]],
        }


def describe(c: Check) -> str:
    """A mismatch in words."""
    what = f"{c.command}{' (' + c.variant + ')' if c.variant else ''} on {c.table} as {c.subject}/{c.context}"
    if c.error:
        return f"{what}: error {c.error}"
    word = {True: "allowed", False: "denied"}
    return f"{what}: expected {word[c.expected]}, observed {word[c.observed]}"


def run(conn: Conn, owner_role: str, app_role: str) -> Report:
    """Build the world as the owner and check every probe as the app role; the caller rolls back."""
    started = time.perf_counter()
    conn.execute(sql.SQL("set local role {}").format(sql.Identifier(owner_role)))
    world = build_world(conn)
    matrix = _matrix(conn)
    tables = [r[0] for r in conn.execute(_TABLES)]
    grants = _grants(conn, app_role)
    report = Report(tables=tables)
    conn.execute(sql.SQL("set local role {}").format(sql.Identifier(app_role)))
    for table in tables:
        if table not in rules.RULES:
            report.checks.append(Check(table, "*", "*", "*", "", False, False, "no rule for this table"))
            continue
        touch = grants[table]["touch"]
        for subject in SUBJECTS:
            for context in CONTEXTS:
                for p in probes(world, table, subject, context, matrix, touch):
                    report.checks.append(_check(conn, world, p, grants[table]))
    conn.execute("reset role")
    report.seconds = time.perf_counter() - started
    return report


_TABLES = """select c.relname from pg_class c where c.relnamespace = 'platform'::regnamespace
               and c.relkind in ('r', 'p') order by c.relname collate "C" """


def _matrix(conn: Conn) -> dict[str, frozenset[str]]:
    """The one permission matrix, as the database holds it."""
    rows = conn.execute("select role, array_agg(permission) from platform.role_permissions group by role")
    return {role: frozenset(perms) for role, perms in rows}


def _grants(conn: Conn, app_role: str) -> dict[str, dict[str, Any]]:
    """Per table: what the app role was granted, and the column an UPDATE probe touches (one it may update,
    else the first: the probe is then refused by the grants)."""
    rows = conn.execute(
        """select c.relname,
                  has_any_column_privilege(%(app)s, c.oid, 'SELECT'),
                  has_any_column_privilege(%(app)s, c.oid, 'INSERT'),
                  has_table_privilege(%(app)s, c.oid, 'DELETE'),
                  (array_agg(a.attname order by has_column_privilege(%(app)s, c.oid, a.attnum, 'UPDATE') desc,
                             a.attnum) filter (where a.attname <> 'organization_id'))[1],
                  coalesce(bool_or(a.attname = 'organization_id'
                                   and has_column_privilege(%(app)s, c.oid, a.attnum, 'UPDATE')), false)
             from pg_class c join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
            where c.relnamespace = 'platform'::regnamespace and c.relkind in ('r', 'p')
            group by c.oid, c.relname""",
        {"app": app_role},
    ).fetchall()
    grants = {
        r[0]: {"SELECT": r[1], "INSERT": r[2], "DELETE": r[3], "touch": r[4], "move": r[5]} for r in rows
    }
    for r in rows:
        touchable = conn.execute(
            "select has_column_privilege(%s, %s::regclass, %s, 'UPDATE')",
            [app_role, f"platform.{r[0]}", r[4]],
        ).fetchone()
        grants[r[0]]["UPDATE"] = bool(touchable and touchable[0])
    return grants


def _check(conn: Conn, world: World, p: Probe, grants: dict[str, Any]) -> Check:
    """Run one probe in a savepoint, in its context; judge it against the rules and the grants."""
    granted = grants["move"] if p.variant == "move" else grants[p.command]
    expected = bool(granted) and rules.expected(p.table, p.command, p.ctx, p.old, p.new)
    set_context(conn, p.ctx.user, p.ctx.org)
    observed, error = _observe(conn, p)
    return Check(p.table, p.command, p.subject, p.context, p.variant, expected, observed, error)


def _observe(conn: Conn, p: Probe) -> tuple[bool, str | None]:
    """Whether the statement reached a row. Refused (42501) is denied; an integrity error is allowed, for
    PostgreSQL checks RLS before constraints; any other error is an error."""
    conn.execute("savepoint harness_probe")
    try:
        cur = conn.execute(p.statement, p.params)  # type: ignore[call-overload]
        if p.command == "SELECT":
            row = cur.fetchone()
            return bool(row and row[0]), None
        return cur.rowcount > 0, None
    except psycopg.errors.InsufficientPrivilege:
        return False, None
    except psycopg.errors.IntegrityError:
        return True, None
    except psycopg.Error as exc:
        return False, f"{exc.sqlstate}: {str(exc).splitlines()[0]}"
    finally:
        conn.execute("rollback to savepoint harness_probe")


_ABBREV = {
    "owner": "own",
    "admin": "adm",
    "billing_admin": "bil",
    "developer": "dev",
    "read_only": "ro",
    "multi": "mul",
    "sam": "non",
}


def matrix_text(report: Report) -> str:
    """The matrix: per command, a row per table and a column per subject x context (o, x, f, n).
    '+' allowed and '.' denied as expected; 'A' allowed but should be denied (a leak), 'D' denied but should
    be allowed, 'E' an error."""
    cells: dict[tuple[str, str, str, str], list[Check]] = defaultdict(list)
    for c in report.checks:
        cells[(c.command, c.table, c.subject, c.context)].append(c)
    width = max([len(t) for t in report.tables] + [12])
    head1 = " " * width + " " + " ".join(f"{_ABBREV[s]:<7}" for s in SUBJECTS)
    head2 = " " * width + " " + " ".join("o x f n" for _ in SUBJECTS)
    lines = [
        "legend: + allowed, . denied (as expected); A allowed but should not be, D denied but should "
        "not be, E error; contexts: o own org, x another org, f forged org, n no context"
    ]
    for command in rules.COMMANDS:
        lines += ["", command, head1, head2]
        for table in report.tables:
            row = [" ".join(_cell(cells[(command, table, s, ctx)]) for ctx in CONTEXTS) for s in SUBJECTS]
            lines.append(f"{table:<{width}} " + " ".join(row))
    bad = report.mismatches
    lines += ["", f"{len(report.checks)} checks, {len(bad)} mismatch(es), {report.seconds:.1f} s"]
    lines += [f"MISMATCH {describe(c)}" for c in bad]
    return "\n".join(lines)


def _cell(checks: list[Check]) -> str:
    if not checks:
        return "?"
    if any(c.error for c in checks):
        return "E"
    if any(c.observed and not c.expected for c in checks):
        return "A"
    if any(c.expected and not c.observed for c in checks):
        return "D"
    return "+" if any(c.observed for c in checks) else "."
