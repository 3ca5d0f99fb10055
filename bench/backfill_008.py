"""Benchmark of migration 008's backfill (users.active_org_id = the earliest membership) on a big database.

On a fresh database of the embedded cluster (durable: fsync on), the real plan is deployed up to 008 by
the engine; users, organizations and 1-3 memberships per user are generated with set-based SQL (about 20%
of users have all their memberships at the same joined_at, so the organization-id tiebreak decides, and
a few have none); then ``Engine.deploy(to="008_add_active_org_tracking")`` is timed, its progress
messages captured through ``say``. How long a user row stays locked is measured two ways: the time between
consecutive progress NOTICEs (each batch commits, then notices), and a second connection polling the
migrator's backend in pg_stat_activity every 50 ms for its transaction age (clock_timestamp() -
xact_start; a procedure's COMMIT starts a new transaction with a new xact_start). The result is checked
against an independent query on a sample, and the naive backfill (one UPDATE in one transaction) is
timed on a copy of the same data for comparison. It measures; it does not judge: exit 0 whatever the
figures, non-zero when something fails or the backfill is wrong.
Run: ``.venv/bin/python bench/backfill_008.py --help``.
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from orgbase.config import Settings
from orgbase.db.bootstrap import create_database, drop_database, ensure_database
from orgbase.db.server import EmbeddedCluster, ensure_up
from orgbase.errors import OrgbaseError
from orgbase.migrate.engine import Engine
from orgbase.migrate.gates import default_gates
from orgbase.migrate.plan import Plan, load_plan, render
from orgbase.migrate.sqlsplit import split_statements

ROOT = Path(__file__).resolve().parents[1]
TARGET = "008_add_active_org_tracking"
TIME_TARGET_S = 20.0  # for 1,000,000 users (scaled linearly for other sizes)
TIME_TARGET_USERS = 1_000_000
LOCK_TARGET_S = 1.0
LOCK_TOLERANCE_S = 1.25  # "no lock on a user row held for much more than a second"
POLL_S = 0.05
PROGRESS = re.compile(r"backfill", re.IGNORECASE)


class BenchError(Exception):
    """Something failed: the figures would mean nothing."""


# -- data --------------------------------------------------------------------------------------------

# Ids are md5-derived uuids: random order against insertion order, as gen_random_uuid() gives.
ORGS_SQL = """
INSERT INTO platform.organizations (id, name, slug, created_at, updated_at)
SELECT md5('bench-org-' || i)::uuid, 'Bench org ' || i, 'bench-org-' || i,
       timestamptz '2019-01-01' + i * interval '1 second', timestamptz '2019-01-01'
  FROM generate_series(1, %(orgs)s::int) AS i
"""

USERS_SQL = """
INSERT INTO platform.users (id, email, password_hash, first_name, last_name, created_at, updated_at)
SELECT md5('bench-user-' || i)::uuid,
       'user' || i || '@bench.example',
       '$argon2id$v=19$m=65536,t=3,p=4$YmVuY2hzYWx0YmVuY2g$'
           || rtrim(encode(sha256(('bench-pw-' || i)::bytea), 'base64'), '='),
       'First' || i, 'Last' || i,
       timestamptz '2020-01-01' + i * interval '1 second', timestamptz '2020-01-01'
  FROM generate_series(1, %(users)s::int) AS i
"""

# User i has 1 + h % 3 memberships (none for i % 100 < without_pct), in distinct organizations.
# One user in five (h / 7 % 5 = 0) joined all of them at the same instant: the organization id decides.
MEMBERS_SQL = """
INSERT INTO platform.organization_members (organization_id, user_id, role, joined_at, updated_at)
SELECT md5('bench-org-' || (1 + (u.h / 3 + j * (%(orgs)s::bigint / 3)) %% %(orgs)s::bigint))::uuid,
       md5('bench-user-' || u.i)::uuid,
       (ARRAY['owner', 'admin', 'billing_admin', 'developer', 'read_only'])[1 + (u.i + j) %% 5],
       timestamptz '2021-01-01' + interval '1 second' * (abs(hashint8(
           CASE WHEN u.h / 7 %% 5 = 0 THEN u.i::bigint * 4 + 3 ELSE u.i::bigint * 4 + j END)) %% 50000000),
       timestamptz '2021-01-01'
  FROM (SELECT i, (i::bigint * 2654435761) %% 4294967296 AS h
          FROM generate_series(1, %(users)s::int) AS i) AS u
  CROSS JOIN generate_series(0, 2) AS j
 WHERE u.i %% 100 >= %(without_pct)s::int AND j <= u.h %% 3
"""

NAIVE_UPDATE = """
UPDATE platform.users u
   SET active_org_id = f.organization_id
  FROM (SELECT DISTINCT ON (m.user_id) m.user_id, m.organization_id
          FROM platform.organization_members m
         ORDER BY m.user_id, m.joined_at, m.organization_id) AS f
 WHERE u.id = f.user_id
"""

# Independent of the migration's DISTINCT ON: per user, the first membership by (joined_at, org id),
# and whether that first joined_at is shared (the tiebreak mattered).
CHECK_SQL = """
WITH sample AS (SELECT id, active_org_id FROM platform.users ORDER BY id LIMIT %(n)s),
expected AS (
    SELECT s.id, s.active_org_id,
           (SELECT m.organization_id FROM platform.organization_members m
             WHERE m.user_id = s.id ORDER BY m.joined_at, m.organization_id LIMIT 1) AS org,
           (SELECT count(*) FROM platform.organization_members m
             WHERE m.user_id = s.id AND m.joined_at = (SELECT min(joined_at)
                 FROM platform.organization_members x WHERE x.user_id = s.id)) AS firsts
      FROM sample s)
SELECT count(*),
       count(*) FILTER (WHERE org IS NOT NULL),
       count(*) FILTER (WHERE firsts > 1),
       count(*) FILTER (WHERE active_org_id IS DISTINCT FROM org)
  FROM expected
"""


def set_role(conn: psycopg.Connection[Any], role: str) -> None:
    conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))


def generate(conn: psycopg.Connection[Any], args: argparse.Namespace, owner: str) -> dict[str, int]:
    """Fill the tables as the owner role; the row counts."""
    params = {"users": args.users, "orgs": args.orgs, "without_pct": args.without_pct}
    set_role(conn, owner)
    counts: dict[str, int] = {}
    for what, query in (("organizations", ORGS_SQL), ("users", USERS_SQL), ("memberships", MEMBERS_SQL)):
        started = time.perf_counter()
        counts[what] = conn.execute(query, params).rowcount
        print(f"  {counts[what]:>10,} {what} in {time.perf_counter() - started:.1f} s", flush=True)
    conn.execute("RESET ROLE")
    return counts


# -- watching the migrator's transactions --------------------------------------------------------------


@dataclass
class Xact:
    """One transaction of the watched backend, as the poller saw it."""

    started: Any
    age: float
    query: str
    first_write_age: float | None = None  # its age when it first had an xid (had written a row)

    @property
    def write_window(self) -> float:
        """From the first poll that saw an xid to the last poll: row locks held at least this long."""
        return 0.0 if self.first_write_age is None else self.age - self.first_write_age


@dataclass
class Watcher:
    """Polls one backend's transaction age from a second connection, in a thread."""

    url: str
    pid: int
    xacts: dict[Any, Xact] = field(default_factory=dict)
    polls: int = 0
    error: BaseException | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Watcher:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        query = (
            "select xact_start, extract(epoch from clock_timestamp() - xact_start)::float8, "
            "backend_xid is not null, left(query, 80) from pg_stat_activity "
            "where pid = %s and xact_start is not null"
        )
        try:
            with psycopg.connect(self.url, autocommit=True) as conn:
                while not self._stop.is_set():
                    row = conn.execute(query, [self.pid]).fetchone()
                    self.polls += 1
                    if row is not None:
                        self._seen(*row)
                    self._stop.wait(POLL_S)
        except BaseException as exc:  # reported by the main thread
            self.error = exc

    def _seen(self, started: Any, age: float, wrote: bool, query: str) -> None:
        xact = self.xacts.setdefault(started, Xact(started, age, " ".join(query.split())))
        xact.age = max(xact.age, age)
        if wrote and xact.first_write_age is None:
            xact.first_write_age = age

    def longest(self, *, prefix: str = "") -> Xact | None:
        """The longest transaction whose statement starts with ``prefix`` (case-insensitive)."""
        found = [x for x in self.xacts.values() if x.query.lower().startswith(prefix.lower())]
        return max(found, key=lambda x: x.age, default=None)


# -- the runs ------------------------------------------------------------------------------------------


@dataclass
class Run:
    """What one backfill run measured."""

    seconds: float
    updated: int
    longest_xact: Xact | None
    batch_seconds: list[float] = field(default_factory=list)
    backfill: list[Xact] = field(default_factory=list)
    others: list[Xact] = field(default_factory=list)


def make_engine(conn: psycopg.Connection[Any], plan: Plan, settings: Settings, say: Any) -> Engine:
    return Engine(
        conn,
        plan,
        owner_role=settings.owner_role,
        variables=settings.role_names(),
        gates=default_gates(),
        step_context=settings,
        say=say,
    )


def deploy_prerequisites(url: str, plan: Plan, settings: Settings) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        engine = make_engine(conn, plan, settings, say=lambda _msg: None)
        for change_id in plan.ancestors(TARGET):
            report = engine.deploy(to=change_id)
            for skipped, why in report.skipped:
                print(f"  (skipped {skipped}: {why[:60]}...)")
    print(f"  deployed {len(plan.ancestors(TARGET))} changes: {', '.join(plan.ancestors(TARGET))}")


def run_008(service_url: str, watch_url: str, plan: Plan, settings: Settings) -> Run:
    """Deploy 008 through the engine, timed, relaying and timestamping its messages."""
    messages: list[tuple[float, str]] = []
    with psycopg.connect(service_url, autocommit=True) as conn:
        started = time.perf_counter()

        def say(message: str) -> None:
            now = time.perf_counter()
            messages.append((now, message))
            print(f"  [{now - started:7.2f} s] {message.strip()}", flush=True)

        engine = make_engine(conn, plan, settings, say=say)
        with Watcher(watch_url, conn.info.backend_pid) as watcher:
            started = time.perf_counter()
            engine.deploy(to=TARGET)
            seconds = time.perf_counter() - started
        check_watcher(watcher)
        updated = count_set(conn)
    stamps = [t for t, m in messages if PROGRESS.search(m)]
    batches = [b - a for a, b in itertools.pairwise(stamps)]
    calls = [x for x in watcher.xacts.values() if x.query.lower().startswith("call")]
    others = [x for x in watcher.xacts.values() if not x.query.lower().startswith("call")]
    return Run(seconds, updated, watcher.longest(prefix="call"), batches, calls, others)


def run_naive(service_url: str, watch_url: str, plan: Plan, settings: Settings) -> NaiveRun:
    """008's deploy.sql with its CALL replaced by one UPDATE in one transaction, each part timed."""
    before, after = split_at_call(render(plan[TARGET].scripts["deploy"], settings.role_names()))
    with psycopg.connect(service_url, autocommit=True) as conn:
        before_s = run_statements(conn, before, settings.owner_role)
        with Watcher(watch_url, conn.info.backend_pid) as watcher:
            started = time.perf_counter()
            with conn.transaction():
                conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(settings.owner_role)))
                conn.execute(NAIVE_UPDATE)
            seconds = time.perf_counter() - started
        check_watcher(watcher)
        after_s = run_statements(conn, after, settings.owner_role)
        update = Run(seconds, count_set(conn), watcher.longest())
    return NaiveRun(before_s, update, after_s)


@dataclass
class NaiveRun:
    """The naive variant: 008's statements before the CALL, the single UPDATE, the statements after."""

    before_s: float
    update: Run
    after_s: float

    @property
    def total(self) -> float:
        return self.before_s + self.update.seconds + self.after_s


def split_at_call(script: str) -> tuple[list[str], list[str]]:
    """The statements before and after the script's one CALL (the backfill)."""
    statements = split_statements(script)
    calls = [i for i, s in enumerate(statements) if _strip_comments(s).upper().startswith("CALL")]
    if len(calls) != 1:
        raise BenchError(f"expected one CALL (the backfill) in {TARGET}/deploy.sql, found {len(calls)}")
    return statements[: calls[0]], statements[calls[0] + 1 :]


def run_statements(conn: psycopg.Connection[Any], statements: list[str], owner: str) -> float:
    """Run statements in autocommit as the owner, as the engine does; the seconds taken."""
    set_role(conn, owner)
    started = time.perf_counter()
    for statement in statements:
        conn.execute(statement)
    seconds = time.perf_counter() - started
    conn.execute("RESET ROLE")
    return seconds


def _strip_comments(statement: str) -> str:
    return re.sub(r"^(\s*--[^\n]*\n)*", "", statement).strip()


def check_watcher(watcher: Watcher) -> None:
    if watcher.error is not None:
        raise BenchError(f"the lock poller failed: {watcher.error}") from watcher.error


def count_set(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("select count(*) from platform.users where active_org_id is not null").fetchone()
    return int(row[0]) if row else 0


def check(url: str, owner: str, sample: int) -> tuple[int, int, int, int]:
    """(users checked, with memberships, with a tie at the first joined_at, mismatches)."""
    with psycopg.connect(url, autocommit=True) as conn:
        set_role(conn, owner)
        row = conn.execute(CHECK_SQL, {"n": sample if sample > 0 else None}).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


# -- cluster housekeeping ------------------------------------------------------------------------------


def maintain(superuser_url: str, *, vacuum: bool) -> None:
    """VACUUM ANALYZE (optional) and a CHECKPOINT, so that a timed run starts with nothing to flush."""
    with psycopg.connect(superuser_url, autocommit=True) as conn:
        if vacuum:
            conn.execute(
                "VACUUM (ANALYZE) platform.organizations, platform.users, platform.organization_members"
            )
        conn.execute("CHECKPOINT")


def copy_database(admin_url: str, settings: Settings, source: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {} OWNER {} STRATEGY = FILE_COPY").format(
                sql.Identifier(name), sql.Identifier(source), sql.Identifier(settings.owner_role)
            )
        )
        ensure_database(conn, settings, name)  # the grants: CREATE DATABASE does not copy them


# -- report ------------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report_008(run: Run, users: int) -> float:
    """Print the 008 figures; the longest row-lock hold measured (seconds)."""
    time_target = TIME_TARGET_S * users / TIME_TARGET_USERS
    batch_max = max(run.batch_seconds, default=0.0)
    xact_max = run.longest_xact.age if run.longest_xact else 0.0
    hold = max(batch_max, xact_max)
    print(f"users:                         {users:,}")
    print(f"rows (users) updated:          {run.updated:,}")
    print(f"008 deploy, total:             {run.seconds:.2f} s")
    print(f"users per second:              {users / run.seconds:,.0f}")
    if run.batch_seconds:
        mean = sum(run.batch_seconds) / len(run.batch_seconds)
        print(
            f"batches (between NOTICEs):     {len(run.batch_seconds) + 1} notices, "
            f"mean {mean:.2f} s, max {batch_max:.2f} s"
        )
    else:
        print("batches (between NOTICEs):     no progress notices seen")
    print(
        f"longest backfill transaction:  {xact_max:.2f} s (now() - xact_start of the migrator, polled "
        f"every {POLL_S * 1000:.0f} ms; {len(run.backfill)} transactions seen)"
    )
    window = max((x.write_window for x in run.backfill), default=0.0)
    print(f"longest row-lock window:       {window:.2f} s (first poll that saw an xid -> commit; +<= 0.1 s)")
    print(
        f"target {users:,} users < {time_target:.0f} s: {verdict(run.seconds < time_target)} "
        f"({run.seconds:.2f} s)"
    )
    print(
        f"target longest row-lock hold ~<= {LOCK_TARGET_S:.0f} s: {verdict(hold <= LOCK_TOLERANCE_S)} "
        f"(max batch/transaction {hold:.2f} s)"
    )
    return hold


def report_other_xacts(run: Run) -> None:
    """The longest other transactions of the deploy (DDL, verify: table locks, not user row locks)."""
    print("longest other transactions of the deploy (table locks, for information):")
    for x in sorted(run.others, key=lambda x: -x.age)[:3]:
        print(f"  {x.age:6.2f} s  {x.query[:80]}")


# -- main ----------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time migration 008's backfill (users.active_org_id) on generated data, with the "
        "longest row-lock hold, a correctness check, and the naive single UPDATE for comparison.",
    )
    parser.add_argument(
        "--home", default=".orgbase-bench", help="embedded cluster folder (default: %(default)s)"
    )
    parser.add_argument(
        "--users", type=int, default=1_000_000, help="users to generate (default: %(default)s)"
    )
    parser.add_argument(
        "--orgs", type=int, default=None, help="organizations (default: users / 10, at least 3)"
    )
    parser.add_argument(
        "--without-pct",
        type=int,
        default=1,
        help="percent of users with no membership, who must stay NULL (default: %(default)s)",
    )
    parser.add_argument(
        "--sample",
        type=int,
        default=200_000,
        help="users checked for correctness, 0 = all (default: %(default)s)",
    )
    parser.add_argument("--no-naive", action="store_true", help="skip the single-UPDATE comparison")
    parser.add_argument("--keep", action="store_true", help="keep the databases (their names are printed)")
    args = parser.parse_args(argv)
    args.orgs = max(3, args.orgs if args.orgs is not None else args.users // 10)
    if args.users < 1 or not 0 <= args.without_pct < 100:
        parser.error("--users must be positive and --without-pct in 0..99")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = Settings(home=Path(args.home), durable=True, migrations_dir=ROOT / "migrations")
    bench = Bench(args, settings, ensure_up(settings), load_plan(ROOT / "migrations"))
    try:
        return bench.run()
    except (BenchError, OrgbaseError, psycopg.Error, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        bench.cleanup()


@dataclass
class Bench:
    """One run: the data database, its copy for the naive variant, and what they measured."""

    args: argparse.Namespace
    settings: Settings
    cluster: EmbeddedCluster
    plan: Plan
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    created: list[str] = field(default_factory=list)

    def url(self, role: str, database: str) -> str:
        return self.cluster.url(role, database)  # type: ignore[arg-type]

    @property
    def data_db(self) -> str:
        return f"bench008_{self.tag}"

    @property
    def naive_db(self) -> str:
        return f"bench008_{self.tag}_naive"

    def run(self) -> int:
        """Prepare the data, time 008, check it, compare with the naive UPDATE; 1 if the result is wrong."""
        users = self.prepare()
        print(f"deploying {TARGET} through the engine (timed) ...", flush=True)
        run = run_008(
            self.url("service", self.data_db), self.url("superuser", self.data_db), self.plan, self.settings
        )
        print()
        hold = report_008(run, users)
        report_other_xacts(run)
        mismatches = report_check(
            "008", self.url("service", self.data_db), self.settings.owner_role, self.args.sample
        )
        if not self.args.no_naive:
            mismatches += self.compare_naive(run, hold)
        if mismatches:
            print(f"FAIL: {mismatches} users with a wrong active_org_id", file=sys.stderr)
            return 1
        return 0

    def prepare(self) -> int:
        """The data database (and its copy) with the plan up to 008 and the generated rows; the users."""
        admin = self.url("superuser", "postgres")
        print(f"database {self.data_db}: deploying the plan up to {TARGET} ...", flush=True)
        create_database(admin, self.settings, self.data_db)
        self.created.append(self.data_db)
        deploy_prerequisites(self.url("service", self.data_db), self.plan, self.settings)
        args = self.args
        print(
            f"generating {args.users:,} users, {args.orgs:,} organizations, 1-3 memberships each ...",
            flush=True,
        )
        with psycopg.connect(self.url("service", self.data_db), autocommit=True) as conn:
            counts = generate(conn, args, self.settings.owner_role)
        maintain(self.url("superuser", self.data_db), vacuum=True)
        if not args.no_naive:
            copy_database(admin, self.settings, self.data_db, self.naive_db)
            self.created.append(self.naive_db)
        maintain(self.url("superuser", self.data_db), vacuum=False)
        return counts["users"]

    def compare_naive(self, run: Run, hold: float) -> int:
        """Time 008 with its CALL replaced by one UPDATE, on the copy; the copy's mismatches."""
        db = self.naive_db
        maintain(self.url("superuser", db), vacuum=False)
        print("\nnaive comparison: 008's deploy.sql with its CALL replaced by one UPDATE ...", flush=True)
        naive = run_naive(self.url("service", db), self.url("superuser", db), self.plan, self.settings)
        hold_naive = naive.update.longest_xact.age if naive.update.longest_xact else 0.0
        print(
            f"  before the CALL {naive.before_s:.2f} s; single UPDATE {naive.update.seconds:.2f} s "
            f"({naive.update.updated:,} rows updated); after {naive.after_s:.2f} s; total {naive.total:.2f} s"
        )
        print(f"  row locks held for the whole UPDATE: {hold_naive:.2f} s (longest transaction seen)")
        print(
            f"  008 batched / naive: {run.seconds:.2f} s / {naive.total:.2f} s = "
            f"{run.seconds / naive.total:.2f}x; longest row-lock hold {hold:.2f} s vs {hold_naive:.2f} s"
        )
        return report_check("naive", self.url("service", db), self.settings.owner_role, self.args.sample)

    def cleanup(self) -> None:
        if self.args.keep:
            print(f"kept databases: {', '.join(self.created)} (cluster under {self.args.home})")
            return
        for name in self.created:
            drop_database(self.url("superuser", "postgres"), name)


def report_check(label: str, url: str, owner: str, sample: int) -> int:
    checked, with_members, ties, mismatches = check(url, owner, sample)
    print(
        f"correctness ({label}): {checked:,} users checked ({with_members:,} with memberships, "
        f"{ties:,} with a tie at the first joined_at, {checked - with_members:,} without): "
        f"{mismatches} mismatches"
    )
    return mismatches


if __name__ == "__main__":
    sys.exit(main())
