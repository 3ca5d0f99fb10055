"""Benchmark of issue 5: the latency that Row Level Security adds to the API's org-scoped queries.

A world of 10,000 organizations, 100,000 projects and 2,000,000 audit log rows (4 large tenants with 2.5% of
the projects and 5% of the audit rows each, the rest spread evenly; every organization has an owner, who also
reads the next one) is loaded with COPY, as the owner role, into a database of the embedded cluster
(``--home``, durable) on which the engine deployed the whole plan, the gated ``007_restrictive_rls_policies``
included: its gates cannot hold on a fresh database, so the engine's override is used, with a reason that
says "benchmark" (recorded in the ledger's events, as any override). Then VACUUM ANALYZE and a CHECKPOINT.

The queries are the API's own: the two list pages are captured from ``orgbase.projects.service.list_page``
and ``orgbase.audit.service.list_page`` (a first page and a keyset page from the middle of the list, 50 rows
asked as 51), the counts are the API's count of an organization's projects (``billing/limits.py``) and the
same count over a large tenant's audit log. Each runs as a request does: BEGIN, the context bound with
``platform.bind_context`` (user, organization, request id: the settings and the seal, as auth_bind leaves
them, migration 016), the statement, COMMIT, on a connection kept open (prepared after 5 executions, as the
API's pool; ``--no-prepare`` as behind
PgBouncer). The statement alone is timed on the client (send, execute, fetch every row), and the transaction.

A phase is a state of the database and the cases measured in it; every phase also measures the baseline,
``off``: the service role, which bypasses RLS: the same statement, the same explicit organization filter,
the same transaction and context; no policy applies. The phases, in this order (``--phases`` picks some):

* "007 deployed", case ``enforce``: the app role, under 006's permissive and 007's restrictive policies,
  with the context of the organization's owner (targets: pages within 1.10x, counts within 1.35x);
* "shadow", case ``shadow``: 007 reverted, 014_rls_shadow deployed, every platform table in shadow mode (as
  ``orgbase rls mode shadow`` sets it, as the service role): the app role, the same traffic, which filters by
  organization as the API does (target: within 1.25x). The traffic conforms, so shadow mode must record no
  violation, and lose no record: the phase prints the violations recorded, the requests observed and the
  sends lost (``shadow.counters``) after the traffic, and again after the probe below, which reads another
  tenant's rows and so must be recorded;
* "permissive", case ``permissive``: the same with no table watched: what every API query pays for shadow
  mode's policies (their first arm, ``NOT (SELECT rls_shadow.watch(...))``) while 007 is not deployed.

A case is a small entry (``Case``), a phase a setup function and its cases (``Phase`` in ``PHASES``).
Every query runs ``--warmup`` times in every case first, and each case must return exactly the baseline's
rows (else it would measure something else, and the run stops); then ``--reps`` repetitions, each running
every query in every case back to back, their order alternating, so that a noisy second hurts both alike. Per
query: median and p95 of each case; the ratio of the medians to the baseline (judged against the issue's
targets: pages within 1.10x, counts within 1.35x), the median of the per-repetition ratios, the ratio of the
p95s and of the transactions. Then one EXPLAIN (ANALYZE, BUFFERS) per query and case of what was timed:
``EXPLAIN EXECUTE`` of psycopg's own prepared statement, so the plan cache picks the generic or a custom plan
as it did while timed. A probe shows the policies at work: with the large tenant's context, a count naming
another tenant's projects sees none under enforce (and all of them, recorded, in shadow mode).

The client and every case's backend run on one CPU (``--no-pin``: wherever the scheduler puts them). On
these 2-core machines a round trip to a backend on the other core costs ~50 us more than one on the client's
own core (a cross-core wakeup), the same for a ``select 1`` as for a policy-laden count: unpinned, whichever
case's connection drew the other core paid it, and that decided the ratio of the small statements (a typical
tenant's count measured 1.68x unpinned and 1.09x pinned in one sitting, on the same database).

It measures; it does not judge: exit 0 whatever the figures, non-zero only on an error. ``--keep`` keeps the
loaded database, and a later run with the same sizes and the same plan reuses it (its signature, written last,
is in the database's comment). Run: ``.venv/bin/python bench/rls_overhead.py --help``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import os
import random
import re
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from orgbase.audit import service as audit_service
from orgbase.audit.models import Cursor as AuditCursor
from orgbase.audit.models import Filters
from orgbase.config import Settings
from orgbase.db.bootstrap import create_database, drop_database
from orgbase.db.server import EmbeddedCluster, Role, ensure_up
from orgbase.errors import OrgbaseError
from orgbase.migrate import ledger
from orgbase.migrate.engine import Engine, engine_for
from orgbase.migrate.plan import Plan, load_plan
from orgbase.projects import service as project_service
from orgbase.projects.models import Cursor as ProjectCursor
from orgbase.projects.models import Order, SortKey
from orgbase.rls import shadow

ROOT = Path(__file__).resolve().parents[1]
GATED = "007_restrictive_rls_policies"
SHADOW_CHANGE = shadow.CHANGE  # 014_rls_shadow
OVERRIDE_REASON = "benchmark: bench/rls_overhead.py on a generated database"
DATA_VERSION = 1  # bump when the generated world changes: a kept database of another version is reloaded
LARGE_TENANTS = 4
LARGE_PROJECT_SHARE = 0.025  # each large tenant: 2.5% of the projects (2,500 of 100,000)
LARGE_AUDIT_SHARE = 0.05  # each large tenant: 5% of the audit rows (100,000 of 2,000,000)
PAGE = 50
# Users never sign in here; the column only accepts an argon2id PHC string.
DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$YmVuY2hzYWx0$bm90LWEtcmVhbC1oYXNo"
ACTIONS = ("project.create", "project.update", "member.invite", "database.update", "org.update")
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
SPAN_S = 365 * 24 * 3600  # the audit rows cover one year, oldest first in the heap
COPY_CHUNK = 20_000
# The context, as platform.auth_bind (009) sets it: three transaction-local settings.
CONTEXT = "select platform.bind_context(%s, %s, %s)"
# The API's count of an organization's projects (billing/limits.py, billing/service.py); the audit log has
# no count endpoint: its count is the same statement over a large tenant's 100,000 audit rows, a stress case
# of the bench's own (judged, and marked as such), where a per-row cost shows most.
COUNT_PROJECTS = "select count(*) from platform.projects where organization_id = %s"
COUNT_AUDIT = "select count(*) from platform.audit_logs where organization_id = %s"
EXPLAIN = "explain (analyze, buffers, format json) "


class BenchError(Exception):
    """Something failed: the figures would mean nothing."""


# -- cases and phases ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """How a case sends the traffic: the role it connects as, whether it sets the request context, and the
    targets (query kind -> at most this ratio to the phase's baseline) it is read against."""

    name: str
    role: Role
    context: bool = True
    targets: Mapping[str, float] = field(default_factory=dict)
    about: str = ""


@dataclass(frozen=True)
class Phase:
    """A state of the database (``setup`` brings it there and describes it) and the cases measured in it,
    interleaved with ``baseline``; every ratio is against the baseline of the same phase. ``evidence``, if
    any, says what the database recorded of the phase's traffic: called after the timed traffic and again
    after the probe of another tenant's rows."""

    name: str
    setup: Callable[[Bench], str]
    cases: tuple[Case, ...]
    baseline: Case
    evidence: Callable[[Bench], str] | None = None


OFF = Case("off", "service", about="service role (BYPASSRLS): no policy applies; same filter, same context")
ENFORCE = Case(
    "enforce",
    "app",
    targets={"page": 1.10, "count": 1.35},
    about="app role, 007's restrictive policies, context of the organization's owner",
)
SHADOW = Case(
    "shadow",
    "app",
    targets={"page": 1.25, "count": 1.25},
    about="app role, 006's permissive policies and 014's shadow policies, every table watched",
)
PERMISSIVE = Case(
    "permissive",
    "app",
    about="app role, 006's permissive policies and 014's shadow policies, no table watched",
)


def with_007(b: Bench) -> str:
    """007 deployed (through its gates' override when a previous phase reverted it)."""
    b.ensure_deployed(GATED)
    return f"{GATED} deployed (shadow mode's policies set aside by it)"


def shadow_on(b: Bench) -> str:
    """007 reverted (006's permissive policies and 014's shadow policies), every platform table in shadow
    mode: the mode is data, set as ``orgbase rls mode shadow`` sets it, as the service role."""
    b.revert(GATED)
    b.ensure_deployed(SHADOW_CHANGE)
    with b.service() as conn, conn.transaction():
        shadow.set_mode(conn, tables=[], mode="shadow", actor="bench", link=shadow.link_conninfo(b.settings))
    b.mark = b.shadow_snapshot()
    return f"{GATED} reverted, {SHADOW_CHANGE} deployed, every platform table in shadow mode"


def shadow_off(b: Bench) -> str:
    """007 reverted, every platform table in permissive mode: what every API query pays for shadow mode's
    policies (their first arm, ``NOT (SELECT rls_shadow.watch(...))``) while nothing is watched."""
    b.revert(GATED)
    b.ensure_deployed(SHADOW_CHANGE)
    with b.service() as conn, conn.transaction():
        shadow.set_mode(conn, tables=[], mode="permissive", actor="bench", link=None)
    b.mark = b.shadow_snapshot()
    return f"{GATED} reverted, {SHADOW_CHANGE} deployed, every platform table in permissive mode"


def recorded(b: Bench) -> str:
    """Violating statements and rows recorded, requests observed and sends lost since the phase began."""
    now = b.shadow_snapshot()
    violations, rows, observed, lost = (x - y for x, y in zip(now, b.mark, strict=True))
    return (
        f"violations recorded: {violations} statement(s), {rows} row(s) (a floor); "
        f"requests observed {observed:,}; records lost {lost} (shadow.counters)"
    )


PHASES: tuple[Phase, ...] = (
    Phase("007 deployed", with_007, (ENFORCE,), OFF),
    Phase("shadow", shadow_on, (SHADOW,), OFF, recorded),
    Phase("permissive", shadow_off, (PERMISSIVE,), OFF, recorded),
)


# -- the world ----------------------------------------------------------------------------------------------


def _md5_uuid(text: str) -> uuid.UUID:
    return uuid.UUID(hashlib.md5(text.encode()).hexdigest())  # an id, not a secret


def org_id(i: int) -> uuid.UUID:
    return _md5_uuid(f"bench-org-{i}")


def user_id(i: int) -> uuid.UUID:
    return _md5_uuid(f"bench-user-{i}")


def per_org(total: int, orgs: int, share: float) -> list[int]:
    """Rows per organization: the first LARGE_TENANTS take ``share`` of ``total`` each; the rest, evenly."""
    large = min(LARGE_TENANTS, orgs - 1)
    big = int(total * share)
    rest, others = total - big * large, orgs - large
    base, extra = divmod(rest, others)
    return [big] * large + [base + (1 if i < extra else 0) for i in range(others)]


@dataclass(frozen=True)
class Sizes:
    orgs: int
    projects: int
    audit: int

    @property
    def projects_per_org(self) -> list[int]:
        return per_org(self.projects, self.orgs, LARGE_PROJECT_SHARE)

    @property
    def audit_per_org(self) -> list[int]:
        return per_org(self.audit, self.orgs, LARGE_AUDIT_SHARE)


def scattered(counts: list[int], seed: int) -> list[int]:
    """Organization index of each row, shuffled: a tenant's rows spread over the heap, as years of traffic."""
    rows = [k for k, n in enumerate(counts) for _ in range(n)]
    random.Random(seed).shuffle(rows)
    return rows


def org_lines(n: int) -> Iterator[str]:
    for i in range(n):
        yield f"{org_id(i)}\tBench org {i}\tbench-org-{i}\t{EPOCH - timedelta(days=400, seconds=-i)}\n"


def user_lines(n: int) -> Iterator[str]:
    for i in range(n):
        yield f"{user_id(i)}\towner{i}@bench.example\t{DUMMY_HASH}\tOwner\t{i}\n"


def member_lines(n: int) -> Iterator[str]:
    """User i owns organization i and reads organization i + 1: every user has an organization switcher."""
    for i in range(n):
        yield f"{org_id(i)}\t{user_id(i)}\towner\t{EPOCH - timedelta(days=399)}\n"
        if n > 1:
            yield f"{org_id((i + 1) % n)}\t{user_id(i)}\tread_only\t{EPOCH - timedelta(days=398)}\n"


def project_lines(sizes: Sizes) -> Iterator[str]:
    rows = scattered(sizes.projects_per_org, seed=1)
    orgs = [str(org_id(i)) for i in range(sizes.orgs)]
    rng = random.Random(2)
    step = SPAN_S / max(1, len(rows))
    for r, k in enumerate(rows):
        status = "paused" if r % 17 == 0 else "active"
        # A random prefix: name order is unrelated to creation order; the row number keeps names unique.
        yield f"{orgs[k]}\tp-{rng.getrandbits(32):08x}-{r}\t{status}\t{EPOCH + timedelta(seconds=r * step)}\n"


def audit_lines(sizes: Sizes) -> Iterator[str]:
    rows = scattered(sizes.audit_per_org, seed=3)
    orgs = [str(org_id(i)) for i in range(sizes.orgs)]
    users = [str(user_id(i)) for i in range(sizes.orgs)]
    step = SPAN_S / max(1, len(rows))
    for r, k in enumerate(rows):
        actor = users[k] if r % 10 else "\\N"  # one in ten by the system
        at = (EPOCH + timedelta(seconds=r * step)).isoformat()
        yield f"{orgs[k]}\t{actor}\t{ACTIONS[r % len(ACTIONS)]}\tproject\t{r}\t{at}\n"


def copy_in(
    conn: psycopg.Connection[Any], table: str, columns: str, lines: Iterable[str], total: int
) -> None:
    """COPY ``lines`` into ``table``, printing progress every tenth."""
    started, written, buf = time.perf_counter(), 0, []
    every = max(COPY_CHUNK, total // 10)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier("platform", table), sql.SQL(", ").join(sql.Identifier(c) for c in columns.split(", "))
    )
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for line in lines:
            buf.append(line)
            if len(buf) == COPY_CHUNK:
                copy.write("".join(buf))
                written += len(buf)
                buf.clear()
                if written % every < COPY_CHUNK:
                    print(
                        f"    {table}: {written:,} / {total:,} ({time.perf_counter() - started:.1f} s)",
                        flush=True,
                    )
        copy.write("".join(buf))
        written += len(buf)
    print(f"  {table}: {written:,} rows in {time.perf_counter() - started:.1f} s", flush=True)


def load(conn: psycopg.Connection[Any], sizes: Sizes, owner: str) -> None:
    """The world, as the owner role (BYPASSRLS; the service role deploys as it too)."""
    conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(owner)))
    n = sizes.orgs
    copy_in(conn, "organizations", "id, name, slug, created_at", org_lines(n), n)
    copy_in(conn, "users", "id, email, password_hash, first_name, last_name", user_lines(n), n)
    members = n * 2 if n > 1 else n
    copy_in(
        conn, "organization_members", "organization_id, user_id, role, joined_at", member_lines(n), members
    )
    cols = "organization_id, name, status, created_at"
    copy_in(conn, "projects", cols, project_lines(sizes), sizes.projects)
    cols = "organization_id, actor_id, action, target_type, target_id, created_at"
    copy_in(conn, "audit_logs", cols, audit_lines(sizes), sizes.audit)
    conn.execute("RESET ROLE")


# -- the queries --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """One statement of the API, with its parameters, sent for ``org`` by its owner ``user``."""

    name: str
    kind: str  # "page" or "count": the targets differ
    text: str
    params: Mapping[str, Any] | tuple[Any, ...]
    org: uuid.UUID
    user: uuid.UUID
    api: bool = True  # False: a stress case of the bench's own, not a statement the API sends


class _Captured(Exception):  # control flow: the statement a service function sent
    def __init__(self, text: str, params: Any) -> None:
        super().__init__(text)
        self.text, self.params = text, params


class _Recorder:
    """Stands for the API's async connection: records the first statement a service function sends."""

    def cursor(self, row_factory: Any = None) -> _Recorder:
        return self

    async def execute(self, query: Any, params: Any = None) -> None:
        text = query.as_string(None) if isinstance(query, sql.Composable) else str(query)
        raise _Captured(text, params)


def captured(function: Callable[..., Any], **kwargs: Any) -> tuple[str, dict[str, Any]]:
    """The SQL and parameters that ``function`` (an async service function of the API) sends first."""
    try:
        asyncio.run(function(_Recorder(), **kwargs))
    except _Captured as sent:
        return sent.text, dict(sent.params)
    raise BenchError(f"{function.__module__}.{function.__name__} sent no statement")


@dataclass(frozen=True)
class Tenant:
    label: str
    org: uuid.UUID
    owner: uuid.UUID
    projects: int
    audit: int


def tenants(conn: psycopg.Connection[Any], sizes: Sizes) -> tuple[Tenant, Tenant]:
    """The first large tenant and a typical one, with their row counts as loaded (service role)."""
    found = []
    for label, i in (("large", 0), ("typical", min(LARGE_TENANTS, sizes.orgs - 1))):
        org, owner = org_id(i), user_id(i)
        row = conn.execute(
            "select (select count(*) from platform.projects where organization_id = %(o)s),"
            " (select count(*) from platform.audit_logs where organization_id = %(o)s),"
            " (select role from platform.organization_members"
            "   where organization_id = %(o)s and user_id = %(u)s)",
            {"o": org, "u": owner},
        ).fetchone()
        if row is None or row[2] != "owner":
            raise BenchError(
                f"organization {org} has no owner {owner}: the loaded world is not the expected one"
            )
        found.append(Tenant(label, org, owner, int(row[0]), int(row[1])))
    return found[0], found[1]


def queries(conn: psycopg.Connection[Any], large: Tenant, typical: Tenant) -> list[Query]:
    """The API's org-scoped statements; keyset pages resume from the middle of the large tenant's list."""
    row = conn.execute(
        "select name, id from platform.projects where organization_id = %s"
        " order by name, id offset %s limit 1",
        [large.org, large.projects // 2],
    ).fetchone()
    arow = conn.execute(
        "select created_at, id from platform.audit_logs where organization_id = %s"
        " order by created_at desc, id desc offset %s limit 1",
        [large.org, large.audit // 2],
    ).fetchone()
    if row is None or arow is None:
        raise BenchError("the large tenant has no projects or no audit rows")
    pcursor = ProjectCursor(SortKey.name, Order.asc, row[0], row[1])
    acursor = AuditCursor(arow[0], arow[1])

    def project_page(t: Tenant, cursor: ProjectCursor | None = None) -> tuple[str, dict[str, Any]]:
        return captured(project_service.list_page, organization_id=t.org, limit=PAGE, cursor=cursor)

    def audit_page(t: Tenant, cursor: AuditCursor | None = None) -> tuple[str, dict[str, Any]]:
        return captured(
            audit_service.list_page, organization_id=t.org, filters=Filters(), limit=PAGE, cursor=cursor
        )

    def q(name: str, kind: str, t: Tenant, stmt: tuple[str, Any], api: bool = True) -> Query:
        return Query(f"{name} ({t.label})", kind, stmt[0], stmt[1], t.org, t.owner, api)

    return [
        q("projects page 1", "page", large, project_page(large)),
        q("projects page, keyset", "page", large, project_page(large, pcursor)),
        q("projects page 1", "page", typical, project_page(typical)),
        q("audit page 1", "page", large, audit_page(large)),
        q("audit page, keyset", "page", large, audit_page(large, acursor)),
        q("audit page 1", "page", typical, audit_page(typical)),
        q("projects count", "count", typical, (COUNT_PROJECTS, (typical.org,))),
        q("projects count", "count", large, (COUNT_PROJECTS, (large.org,))),
        q("audit count", "count", large, (COUNT_AUDIT, (large.org,)), api=False),
    ]


# -- measuring ----------------------------------------------------------------------------------------------


@dataclass
class Samples:
    """Nanoseconds per execution: the statement alone, and the whole transaction around it."""

    query: list[int] = field(default_factory=list)
    tx: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Explained:
    """One EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) result, and how the statement was planned."""

    plan: dict[str, Any]
    how: str


def server_text(text: str, params: Mapping[str, Any] | tuple[Any, ...]) -> tuple[str, list[Any]]:
    """The statement as psycopg sends it (``$1``, ``$2``: named placeholders numbered by first appearance)
    and the values in that order: what ``pg_prepared_statements`` shows, and what EXECUTE takes."""
    if isinstance(params, Mapping):
        order: list[str] = []

        def number(m: re.Match[str]) -> str:
            if m.group(1) not in order:
                order.append(m.group(1))
            return f"${order.index(m.group(1)) + 1}"

        return re.sub(r"%\((\w+)\)s", number, text).replace("%%", "%"), [params[n] for n in order]
    count = iter(range(1, len(params) + 1))
    return re.sub(r"%s", lambda _m: f"${next(count)}", text).replace("%%", "%"), list(params)


class Runner:
    """One open connection per case, kept for the whole phase (as a pool's connection is)."""

    def __init__(self, b: Bench, cases: Iterable[Case]) -> None:
        self.conns: dict[str, psycopg.Connection[Any]] = {}
        threshold = None if b.args.no_prepare else 5  # the API's pool: 5, or None behind PgBouncer
        for case in cases:
            self.conns[case.name] = psycopg.connect(
                b.url(case.role),
                autocommit=True,
                prepare_threshold=threshold,
                application_name=f"bench-{case.name}",
            )
            if b.cpu is not None:
                try:
                    os.sched_setaffinity(self.conns[case.name].info.backend_pid, {b.cpu})
                except PermissionError:  # backends run as the cluster's OS user: only root may move them
                    message = "cannot pin a backend to the client's CPU: run as root, or --no-pin"
                    raise BenchError(message) from None

    def close(self) -> None:
        for conn in self.conns.values():
            conn.close()

    def once(self, case: Case, q: Query, n: int) -> tuple[list[tuple[Any, ...]], int, int]:
        """One request-shaped transaction: BEGIN, the context, the statement (timed), COMMIT; the rows, the
        statement's and the transaction's nanoseconds."""
        conn = self.conns[case.name]
        started = time.perf_counter_ns()
        with conn.transaction():
            if case.context:
                conn.execute(CONTEXT, [str(q.user), str(q.org), f"bench-{n}"])
            before = time.perf_counter_ns()
            rows = conn.execute(q.text, q.params).fetchall()
            after = time.perf_counter_ns()
        return rows, after - before, time.perf_counter_ns() - started

    def explain(self, case: Case, q: Query) -> Explained:
        """EXPLAIN (ANALYZE, BUFFERS) of what the timed executions ran, in the same transaction shape: once
        psycopg has prepared the statement, ``EXPLAIN EXECUTE`` of that very statement, whose plan cache then
        picks a custom or the generic plan as it did while timed; else the plain statement."""
        conn = self.conns[case.name]
        text, values = server_text(q.text, q.params)
        found = conn.execute(
            "select name, generic_plans, custom_plans from pg_prepared_statements where statement = %s",
            [text],
            prepare=False,
        ).fetchone()
        with conn.transaction():  # committed: a ROLLBACK makes psycopg drop its prepared statements
            if case.context:
                conn.execute(CONTEXT, [str(q.user), str(q.org), "bench-explain"], prepare=False)
            if found is None:
                how = "not prepared: planned with its parameters at each execution"
                cur = conn.execute(EXPLAIN + q.text, q.params, prepare=False)
            else:
                name, generic, custom = found
                how = f"prepared ({generic} generic, {custom} custom plans so far): EXPLAIN EXECUTE {name}"
                args = sql.SQL(", ").join(sql.Literal(v) for v in values)
                cur = conn.execute(
                    sql.SQL(EXPLAIN + "EXECUTE {}({})").format(sql.Identifier(name), args), prepare=False
                )
            row = cur.fetchone()
        assert row is not None
        return Explained(row[0][0], how)

    def foreign(self, case: Case, own: Tenant, other: Tenant) -> int:
        """Projects of ``other`` that a query naming ``other`` sees with ``own``'s context: 0 where the
        policies are enforced, all of them where they are not (a forgotten or wrong filter in the API)."""
        conn = self.conns[case.name]
        with conn.transaction():  # committed: a ROLLBACK makes psycopg drop its prepared statements
            if case.context:
                conn.execute(CONTEXT, [str(own.owner), str(own.org), "bench-probe"], prepare=False)
            row = conn.execute(COUNT_PROJECTS, [other.org], prepare=False).fetchone()
        return int(row[0]) if row else 0

    def describe(self, case: Case) -> str:
        query = "select current_user, rolbypassrls from pg_roles where rolname = current_user"
        row = self.conns[case.name].execute(query, prepare=False).fetchone()
        assert row is not None
        return f"role {row[0]} (bypassrls {'yes' if row[1] else 'no'})"


@dataclass
class PhaseResult:
    phase: Phase
    state: str
    samples: dict[tuple[str, str], Samples]
    pairs: dict[tuple[str, str], list[float]]  # (query, case) -> per-repetition ratio to the baseline
    plans: dict[tuple[str, str], Explained]
    foreign: dict[str, int]  # case -> rows of another tenant it saw
    roles: dict[str, str]
    seconds: float
    evidence: list[str] = field(default_factory=list)  # what the database recorded (``Phase.evidence``)


def warm_up(b: Bench, runner: Runner, phase: Phase, qs: list[Query]) -> None:
    """Every query in every case ``--warmup`` times (caches, plans, prepared statements), and a check that
    each case returns exactly the baseline's rows: a case that saw other rows would measure something else."""
    cases = [phase.baseline, *phase.cases]
    for q in qs:
        for _ in range(b.args.warmup):
            expected = None
            for case in cases:
                rows, _, _ = runner.once(case, q, 0)
                if expected is None:
                    expected = rows
                elif rows != expected:
                    raise BenchError(
                        f"{q.name}: {case.name} returned {len(rows)} rows, not the {len(expected)} rows "
                        f"of {phase.baseline.name}"
                    )


def timed(b: Bench, runner: Runner, phase: Phase, qs: list[Query]) -> PhaseResult:
    """The repetitions: each runs every query in every case, the cases' order alternating."""
    cases = [phase.baseline, *phase.cases]
    samples = {(q.name, c.name): Samples() for q in qs for c in cases}
    pairs: dict[tuple[str, str], list[float]] = {(q.name, c.name): [] for q in qs for c in phase.cases}
    gc.collect()
    gc.disable()  # a collection inside one case's timing would land on that case alone
    try:
        for n in range(b.args.reps):
            for i, q in enumerate(qs):
                took: dict[str, int] = {}
                for case in cases if (n + i) % 2 == 0 else cases[::-1]:
                    _, query_ns, tx_ns = runner.once(case, q, n)
                    samples[(q.name, case.name)].query.append(query_ns)
                    samples[(q.name, case.name)].tx.append(tx_ns)
                    took[case.name] = query_ns
                for case in phase.cases:
                    pairs[(q.name, case.name)].append(took[case.name] / took[phase.baseline.name])
            if (n + 1) % max(1, b.args.reps // 5) == 0:
                print(f"  {phase.name}: {n + 1} / {b.args.reps} repetitions", flush=True)
    finally:
        gc.enable()
    return PhaseResult(phase, "", samples, pairs, {}, {}, {}, 0.0)


def measure(b: Bench, phase: Phase, qs: list[Query], large: Tenant, typical: Tenant) -> PhaseResult:
    """Set the phase's state up, warm up and check, time, then EXPLAIN what was timed."""
    started = time.perf_counter()
    state = phase.setup(b)
    print(f"phase {phase.name!r}: {state}; warming up ...", flush=True)
    cases = [phase.baseline, *phase.cases]
    runner = Runner(b, cases)
    try:
        warm_up(b, runner, phase, qs)
        result = timed(b, runner, phase, qs)
        result.state = state
        result.roles = {c.name: runner.describe(c) for c in cases}
        if phase.evidence is not None:
            result.evidence.append(f"after the warm-up and timed traffic: {phase.evidence(b)}")
        result.foreign = {c.name: runner.foreign(c, large, typical) for c in cases}
        if phase.evidence is not None:
            result.evidence.append(f"after the probe of another tenant's projects: {phase.evidence(b)}")
        result.plans = {(q.name, c.name): runner.explain(c, q) for q in qs for c in cases}
    finally:
        runner.close()
    result.seconds = time.perf_counter() - started
    return result


# -- the report ---------------------------------------------------------------------------------------------


def ms(ns: float) -> float:
    return ns / 1e6


def p95(values: list[int]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def verdict(ratio: float, target: float | None) -> str:
    if target is None:
        return ""
    return f"target <= {target:.2f}x: {'met' if ratio <= target else 'MISSED'}"


def report(result: PhaseResult, qs: list[Query]) -> list[str]:
    """The table of one phase, then its plans; the summary lines (one per query and case) are returned."""
    phase, base = result.phase, result.phase.baseline
    print(f"\nphase {phase.name!r}: {result.state}")
    for case in (base, *phase.cases):
        print(
            f"  {case.name:<10} {result.roles[case.name]}, context {'set' if case.context else 'none'}: "
            f"{case.about}; another tenant's projects seen: {result.foreign[case.name]:,}"
        )
    for line in result.evidence:
        print(f"  {line}")
    header = (
        f"  {'query':<30} {'case':<10} {'median ms':>9} {'p95 ms':>7} {'tx ms':>6}   "
        f"ratio to {base.name} (+ms), paired, p95, tx"
    )
    print("\n" + header)
    print("  " + "-" * (len(header) - 2))
    summary = []
    for q in qs:
        b_med = statistics.median(result.samples[(q.name, base.name)].query)
        b_p95 = p95(result.samples[(q.name, base.name)].query)
        for case in (base, *phase.cases):
            s = result.samples[(q.name, case.name)]
            med, tail = statistics.median(s.query), p95(s.query)
            line = f"  {q.name if case is base else '':<30} {case.name:<10} {ms(med):>9.3f} {ms(tail):>7.3f} "
            line += f"{ms(statistics.median(s.tx)):>6.3f}"
            if case is not base:
                ratio, paired = med / b_med, statistics.median(result.pairs[(q.name, case.name)])
                judged = verdict(ratio, case.targets.get(q.kind))
                if judged and not q.api:
                    judged += " (stress case, not an API statement)"
                tx = statistics.median(s.tx) / statistics.median(result.samples[(q.name, base.name)].tx)
                line += (
                    f"   {ratio:.2f}x (+{ms(med - b_med):.3f}), {paired:.2f}x, {tail / b_p95:.2f}x, {tx:.2f}x"
                )
                line += f"  {judged}"
                summary.append(f"  {case.name}/{base.name}  {q.name:<30} {ratio:5.2f}x  {judged}")
            print(line)
    reps = len(result.samples[(qs[0].name, base.name)].query)
    print(
        f"\n  {reps} repetitions per query and case. median and p95: the statement alone, on the client "
        "(send, execute, fetch every row); tx ms: the median of BEGIN, context, statement, COMMIT. Ratio: of "
        "the medians (judged); paired: the median of the per-repetition ratios; p95: of the p95s; tx: of the "
        "transactions' medians."
    )
    print_plans(result, qs)
    return summary


def print_plans(result: PhaseResult, qs: list[Query]) -> None:
    print("\n  plans: EXPLAIN (ANALYZE, BUFFERS) of each query in each case, after the timed repetitions:")
    for q in qs:
        print(f"\n  {q.name}:")
        for case in (result.phase.baseline, *result.phase.cases):
            explained = result.plans[(q.name, case.name)]
            plan, top = explained.plan, explained.plan["Plan"]
            print(
                f"    {case.name}: {explained.how}; planning {plan['Planning Time']:.3f} ms, "
                f"execution {plan['Execution Time']:.3f} ms, buffers hit {top.get('Shared Hit Blocks', 0)} "
                f"read {top.get('Shared Read Blocks', 0)}"
            )
            for line in plan_lines(top):
                print("      " + line)


def plan_lines(node: Mapping[str, Any], depth: int = 0) -> Iterator[str]:
    """One line per plan node: what it is, on which index, its conditions, rows x loops."""
    label = node["Node Type"]
    if node.get("Parent Relationship") in ("InitPlan", "SubPlan"):
        label = f"{node.get('Subplan Name', node['Parent Relationship'])}: {label}"
    if "Index Name" in node:
        label += f" using {node['Index Name']}"
    if "Relation Name" in node:
        label += f" on {node['Relation Name']}"
    details = [f"{key}: {node[key]}" for key in ("Index Cond", "One-Time Filter", "Filter") if key in node]
    if node.get("Rows Removed by Filter"):
        details.append(f"removed by filter {node['Rows Removed by Filter']}")
    if "Heap Fetches" in node:
        details.append(f"heap fetches {node['Heap Fetches']}")
    if "Sort Key" in node:
        details.append(f"sort key {', '.join(node['Sort Key'])}")
    details.append(f"rows {node['Actual Rows']} x{node['Actual Loops']}")
    yield "  " * depth + f"{label}  [{'; '.join(details)}]"
    for child in node.get("Plans", []):
        yield from plan_lines(child, depth + 1)


# -- the database -------------------------------------------------------------------------------------------


@dataclass
class Bench:
    """The cluster, the benchmark's database, and the engine's view of it."""

    args: argparse.Namespace
    settings: Settings
    cluster: EmbeddedCluster
    plan: Plan
    sizes: Sizes
    database: str = ""
    reused: bool = False
    mark: tuple[int, ...] = ()  # shadow mode's counts when the phase began (``shadow_snapshot``)
    cpu: int | None = None  # where the client and the cases' backends run (``pin_client``); None: anywhere

    def url(self, role: Role, database: str | None = None) -> str:
        return self.cluster.url(role, database or self.database)

    @property
    def kept_name(self) -> str:
        s = self.sizes
        return f"bench_rls_o{s.orgs}_p{s.projects}_a{s.audit}"

    @property
    def signature(self) -> str:
        """What a kept database must say it holds to be reused: these sizes, this generator, this plan."""
        plan = hashlib.sha256(
            "".join(f"{c.id}:{c.checksum};" for c in self.plan.changes).encode()
        ).hexdigest()
        s = self.sizes
        return (
            f"orgbase bench rls_overhead v{DATA_VERSION}: {s.orgs} {s.projects} {s.audit}; plan {plan[:16]}"
        )

    def engine(self, conn: psycopg.Connection[Any]) -> Engine:
        return engine_for(conn, self.settings, say=lambda _msg: None, plan=self.plan)

    def ensure_deployed(self, change_id: str) -> None:
        """``change_id`` and what it requires, deployed; its gates (if any) overridden for the benchmark."""
        with self.service() as conn:
            rows = ledger.rows(conn)
            if change_id in rows and rows[change_id].state in ("deployed", "adopted"):
                return
            targets = [self.plan[c] for c in [*self.plan.ancestors(change_id), change_id]]
            overrides = {gate: OVERRIDE_REASON for c in targets for gate in c.gates}
            self.engine(conn).deploy(to=change_id, overrides=overrides)

    def revert(self, change_id: str) -> None:
        """Revert one change through the engine (for a phase that needs the state before it)."""
        with self.service() as conn:
            rows = ledger.rows(conn)
            if change_id in rows and rows[change_id].state in ("deployed", "adopted"):
                self.engine(conn).revert(change_id)

    def shadow_snapshot(self) -> tuple[int, ...]:
        """Shadow mode's record, in totals: violating statements, their rows, statements observed, sends
        lost (a violation aggregates the statements of one key: a rerun may add to an existing one)."""
        with self.service() as conn:
            row = conn.execute(
                "select coalesce(sum(statements), 0), coalesce(sum(rows), 0) from rls_shadow.violations"
            ).fetchone()
            counts = shadow.counters(conn)
        assert row is not None
        return (int(row[0]), int(row[1]), counts.observed, counts.failures)

    def service(self) -> psycopg.Connection[Any]:
        """An autocommit connection of the service role (``with b.service() as conn``): phase setups."""
        return psycopg.connect(self.url("service"), autocommit=True)

    def prepare(self) -> None:
        """Reuse the kept database if it holds exactly this world and plan; else create and load one."""
        admin = self.url("superuser", "postgres")
        with psycopg.connect(admin, autocommit=True) as conn:
            row = conn.execute(
                "select shobj_description(oid, 'pg_database') from pg_database where datname = %s",
                [self.kept_name],
            ).fetchone()
        if row is not None and row[0] == self.signature and not self.args.fresh:
            self.database, self.reused = self.kept_name, True
            print(
                f"database {self.database}: reused (kept by an earlier run with --keep: {row[0]})", flush=True
            )
            return
        if row is not None:
            why = "--fresh" if self.args.fresh else "another world or plan"
            print(f"database {self.kept_name}: dropped ({why})", flush=True)
            drop_database(admin, self.kept_name)
        self.database = self.kept_name if self.args.keep else f"bench_rls_{uuid.uuid4().hex[:8]}"
        create_database(admin, self.settings, self.database)
        self.load()

    def load(self) -> None:
        """The whole plan (007's gates overridden), then the world by COPY, VACUUM ANALYZE, CHECKPOINT, and
        the signature that lets a later run reuse the database (written last: a partial load has none)."""
        started = time.perf_counter()
        with self.service() as conn:
            done = self.engine(conn).deploy(overrides={g: OVERRIDE_REASON for g in self.plan[GATED].gates})
        held = f"; held back: {', '.join(c for c, _ in done.blocked)}" if done.blocked else ""
        print(
            f"database {self.database}: plan deployed by the engine ({len(done.deployed)} changes{held}; "
            f"{GATED}'s gates overridden with the reason {OVERRIDE_REASON!r}) "
            f"in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        s = self.sizes
        print(
            f"loading {s.orgs:,} organizations, {s.projects:,} projects, {s.audit:,} audit rows ...",
            flush=True,
        )
        with self.service() as conn:
            load(conn, self.sizes, self.settings.owner_role)
        step = time.perf_counter()
        with psycopg.connect(self.url("superuser"), autocommit=True) as conn:
            conn.execute(
                "VACUUM (ANALYZE) platform.organizations, platform.users, platform.organization_members, "
                "platform.projects, platform.audit_logs"
            )
            conn.execute("CHECKPOINT")
            conn.execute(
                sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                    sql.Identifier(self.database), sql.Literal(self.signature)
                )
            )
        print(f"  vacuum analyze + checkpoint in {time.perf_counter() - step:.1f} s", flush=True)

    def cleanup(self) -> None:
        if not self.database:
            return
        if self.args.keep:
            print(f"kept database {self.database} in {self.args.home}: the next run of these sizes reuses it")
        else:
            drop_database(self.url("superuser", "postgres"), self.database)
            print(f"dropped database {self.database} (--keep keeps it for the next run)")


# -- main ---------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Median and p95 latency of the API's org-scoped queries (project and audit pages, "
        "counts) with 007's restrictive RLS enforced (app role), in shadow mode and in permissive mode "
        "(014, 007 reverted), each against RLS off (service role, BYPASSRLS), same filter, same "
        "transaction and context, interleaved in one run; with their plans. Exit 0 whatever the figures.",
    )
    parser.add_argument(
        "--home", default=".orgbase-bench", help="embedded cluster folder (default: %(default)s)"
    )
    parser.add_argument("--orgs", type=int, default=10_000, help="organizations (default: %(default)s)")
    parser.add_argument("--projects", type=int, default=100_000, help="projects (default: %(default)s)")
    parser.add_argument(
        "--audit-rows", type=int, default=2_000_000, help="audit log rows (default: %(default)s)"
    )
    parser.add_argument(
        "--reps", type=int, default=1000, help="timed executions per query and case (default: %(default)s)"
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=30,
        help="untimed executions per query and case first (default: %(default)s)",
    )
    parser.add_argument(
        "--no-prepare",
        action="store_true",
        help="no server-side prepared statements (the API behind PgBouncer); default: prepared after 5 "
        "executions, as the API's pool",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the loaded database; a later run with the same sizes reuses it",
    )
    parser.add_argument("--fresh", action="store_true", help="reload even if a kept database matches")
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="leave the client and the backends where the scheduler puts them; default: all on one CPU, "
        "since a round trip to a backend on the other core costs ~50 us more here, and which case's "
        "connection drew that core decided its ratio",
    )
    parser.add_argument(
        "--phases",
        nargs="+",
        choices=[p.name.split()[0] for p in PHASES],
        default=[p.name.split()[0] for p in PHASES],
        metavar="PHASE",
        help="the phases to run, in the script's order: 007 (enforce), shadow, permissive (default: all)",
    )
    args = parser.parse_args(argv)
    if args.orgs < LARGE_TENANTS + 1:
        parser.error(f"--orgs must be at least {LARGE_TENANTS + 1} (the large tenants and a typical one)")
    if args.projects < args.orgs or args.audit_rows < args.orgs:
        parser.error("--projects and --audit-rows must be at least --orgs")
    if args.reps < 2 or args.warmup < 1:
        parser.error("--reps must be at least 2 and --warmup at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = Settings(home=Path(args.home), durable=True, migrations_dir=ROOT / "migrations")
    was_running = EmbeddedCluster(settings).status().running
    try:
        cluster = ensure_up(settings)
    except (OrgbaseError, psycopg.Error, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    b = Bench(
        args,
        settings,
        cluster,
        load_plan(ROOT / "migrations"),
        Sizes(args.orgs, args.projects, args.audit_rows),
    )
    try:
        run(b)
    except (BenchError, OrgbaseError, psycopg.Error, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        try:
            b.cleanup()
        finally:
            if not was_running:
                cluster.stop()
    return 0


def pin_client(b: Bench) -> str:
    """Pin this process to one CPU, the one every case's backend will join (``Runner``); say where."""
    if b.args.no_pin:
        return "client and backends unpinned (--no-pin)"
    b.cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {b.cpu})
    return f"client and every case's backend pinned to CPU {b.cpu}"


def run(b: Bench) -> None:
    started = time.perf_counter()
    placement = pin_client(b)
    with psycopg.connect(b.url("superuser", "postgres")) as conn:
        version = conn.execute("select current_setting('server_version')").fetchone()
    print(
        f"orgbase RLS overhead bench: PostgreSQL {version[0] if version else '?'}, cluster {b.cluster.home}; "
        f"{b.args.reps} repetitions, {b.args.warmup} warm-up, prepared statements "
        f"{'off' if b.args.no_prepare else 'after 5 executions (as the API)'}; {placement}",
        flush=True,
    )
    b.prepare()
    loaded = time.perf_counter() - started
    with psycopg.connect(b.url("service"), autocommit=True) as conn:
        large, typical = tenants(conn, b.sizes)
        qs = queries(conn, large, typical)
    for t in (large, typical):
        print(f"  {t.label} tenant {t.org}: {t.projects:,} projects, {t.audit:,} audit rows; owner {t.owner}")
    summary, phases = [], []
    for phase in [p for p in PHASES if p.name.split()[0] in b.args.phases]:
        result = measure(b, phase, qs, large, typical)
        phases.append(result)
        summary += report(result, qs)
    print(f"\nsummary (ratio of medians, measured in the same phase as the baseline; {b.database}):")
    for line in summary:
        print(line)
    took = ", ".join(f"{r.phase.name} {r.seconds:.0f} s" for r in phases)
    print(
        f"\ntime: {'reuse' if b.reused else 'create, deploy and load'} {loaded:.0f} s; measuring {took}; "
        f"total {time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    sys.exit(main())
