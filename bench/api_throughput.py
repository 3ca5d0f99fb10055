"""Throughput of the API with and without the per-request context: uvicorn (2 workers) loaded by wrk.

On a fresh database of the embedded cluster (``--home``, durable), the plan is deployed by the engine, and as
the service role: a user with a session (its token is what wrk sends), an organization on the enterprise plan
that the user owns, and ``--projects`` projects in it. Three servers run the real app side by side, each
``uvicorn`` with 2 workers on 127.0.0.1 (``MODES``): "context", as deployed (the app role, and each request's
context set by ``auth_bind`` in the pipelined first message); "auth only", the same call to
``bench.authenticate``, auth_bind's deployed definition less the statement that binds the context (made in
this script's database by ``create_auth_only``): the same handler and transaction with no context set; and
"no context", with no token check either. ``wrk`` (32 connections, ``--latency``) measures a single-row get
(``GET /api/organizations/{id}``) and a 50-row page (``GET /api/organizations/{id}/projects?limit=50``) on
each, interleaved in rounds (the servers started once and kept warm; in each round every case runs once, the
modes back to back, their order reversed from round to round): per case the median requests per second, p50
and p99 over the rounds and their spread; per endpoint the ratios context / auth only (the context's cost:
the target) and context / no context (the context and the token check) of each round and their medians.
On a 2-core machine one long run per case drifts by tens of percent; the ratio of two adjacent short runs
does not. Each case also reports the CPU spent per
request by the server's processes and by the database's app-role backends (from /proc, over the run), which
drifts far less than requests per second when something else shares the machine, and how many cores everything
else used meanwhile (wrk excepted): the figure that says whether a run was disturbed.

Why the servers are not started with the ``uvicorn`` command: with ``--workers N`` uvicorn binds the listening
socket itself with ``proto`` 0, asyncio then does not set TCP_NODELAY on accepted connections, and every
keep-alive response waits ~40 ms for the client's delayed ACK (Kludex/uvicorn#3149). This script binds the
socket with IPPROTO_TCP and hands it to uvicorn's own multiprocess supervisor (``orgbase.api.server``, which
also runs uvloop and httptools; uvloop sets TCP_NODELAY itself); a short reference case with the plain
``uvicorn --workers 2`` command on asyncio's loop and h11 shows the difference (``--no-plain-cli`` skips it).

It measures; it does not judge: exit 0 whatever the figures, non-zero when something fails.
Run: ``.venv/bin/python bench/api_throughput.py --help``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import os
import re
import resource
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from orgbase.config import Settings
from orgbase.db.bootstrap import create_database, drop_database
from orgbase.db.server import EmbeddedCluster, ensure_up
from orgbase.errors import OrgbaseError
from orgbase.migrate.engine import engine_for

ROOT = Path(__file__).resolve().parents[1]
WRK = "/usr/bin/wrk"
MAX_DURATION_S = 30
MAX_ROUNDS = 20
PLAIN_CLI_S = 5
TARGET_CONTEXT_COST = 0.10
# The bench user never signs in (its session is inserted); the column only accepts an argon2id PHC string.
DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$YmVuY2hzYWx0$bm90LWEtcmVhbC1oYXNo"
TARGET_RPS = {"get": 2000.0, "page": 700.0}
TARGET_P99_MS = {"get": 50.0, "page": 150.0}


class BenchError(Exception):
    """Something failed: the figures would mean nothing."""


# -- the server (this script, run as ``serve``: a TCP_NODELAY listener for uvicorn's supervisor) -------------


def serve(port: int, workers: int) -> None:
    """uvicorn with ``workers`` processes on 127.0.0.1:``port``, as ``orgbase serve`` runs it."""
    from orgbase.api.server import serve as run_server

    run_server(host="127.0.0.1", port=port, workers=workers, log_level="warning", access_log=False)


@dataclass
class Server:
    """One API server subprocess (its own process group, stopped with it)."""

    label: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pids(self) -> list[int]:
        """The supervisor and its workers: the processes of the server's process group."""
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if os.getpgid(int(entry.name)) == self.process.pid:
                        found.append(int(entry.name))
        return found

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # the supervisor and its workers
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(label: str, env: dict[str, str], workers: int, *, plain_cli: bool = False) -> Server:
    """Start the API and wait until /healthz answers."""
    port = free_port()
    if plain_cli:
        # On asyncio's loop and h11 (uvicorn's defaults without uvloop and httptools): uvloop sets TCP_NODELAY
        # on every TCP connection itself, so the plain command shows the problem only without it.
        cmd = [sys.executable, "-m", "uvicorn", "orgbase.api.app:app_factory", "--factory"]
        cmd += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
        cmd += ["--loop", "asyncio", "--http", "h11", "--log-level", "warning", "--no-access-log"]
    else:
        cmd = [sys.executable, str(Path(__file__).resolve()), "serve", "--port", str(port)]
        cmd += ["--workers", str(workers)]
    process = subprocess.Popen(cmd, env=env, cwd=ROOT, start_new_session=True)
    server = Server(label, port, process)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"server {label} exited {process.returncode}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{server.base}/healthz", timeout=2) as resp,
        ):
            if resp.status == 200:
                time.sleep(1.0)  # every worker up (each opens its pool in its lifespan)
                return server
        time.sleep(0.2)
    server.stop()
    raise BenchError(f"server {label} did not answer /healthz within 60 s")


# -- data ---------------------------------------------------------------------------------------------------


@dataclass
class World:
    """What wrk needs: a token, the organization, and the two paths."""

    token: str
    org_id: str
    projects: int

    @property
    def paths(self) -> dict[str, str]:
        return {
            "get": f"/api/organizations/{self.org_id}",
            "page": f"/api/organizations/{self.org_id}/projects?limit=50",
        }


def seed(service_url: str, projects: int) -> World:
    """A user with a session, owner of an enterprise organization with ``projects`` projects (as the
    service role)."""
    token = secrets.token_urlsafe(32)
    tag = uuid.uuid4().hex[:8]
    with psycopg.connect(service_url, autocommit=True) as conn, conn.transaction():
        row = conn.execute(
            "insert into platform.users (email, password_hash, first_name, last_name) "
            "values (%s, %s, 'Bench', 'User') returning id",
            [f"bench-{tag}@example.com", DUMMY_HASH],
        ).fetchone()
        assert row is not None
        user = row[0]
        conn.execute(
            "insert into platform.user_sessions (user_id, token_hash, expires_at) "
            "values (%s, %s, now() + interval '1 day')",
            [user, hashlib.sha256(token.encode()).hexdigest()],
        )
        org_row = conn.execute(
            "insert into platform.organizations (name, slug) values (%s, %s) returning id",
            [f"Bench {tag}", f"bench-{tag}"],
        ).fetchone()
        assert org_row is not None
        org = org_row[0]
        conn.execute(
            "insert into platform.organization_members (organization_id, user_id, role) "
            "values (%s, %s, 'owner')",
            [org, user],
        )
        conn.execute(
            "insert into platform.subscriptions (organization_id, plan_id) values (%s, 'enterprise')", [org]
        )
        conn.execute("update platform.users set active_org_id = %s where id = %s", [org, user])
        conn.execute(
            "insert into platform.projects (organization_id, name) "
            "select %s, 'Bench project ' || lpad(g::text, 4, '0') from generate_series(1, %s) g",
            [org, projects],
        )
    with psycopg.connect(service_url, autocommit=True) as conn:
        conn.execute("analyze")
    return World(token, str(org), projects)


# -- wrk --------------------------------------------------------------------------------------------------


@dataclass
class Figures:
    """What one wrk run measured."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int
    status: int = 0  # the status of one request sent before the run
    py_us: float = 0.0  # CPU per request of the server's processes (supervisor and workers), microseconds
    pg_us: float = 0.0  # CPU per request of the database's app-role backends, microseconds
    other_cores: float = 0.0  # CPU used meanwhile by everything else on the machine, wrk excluded, in cores
    raw: str = field(default="", repr=False)


# -- CPU accounting (/proc): what a request costs, which drifts far less than req/s on a shared machine ---

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU of each of ``pids`` so far (processes that are gone are left out)."""
    found = {}
    for pid in pids:
        with contextlib.suppress(OSError, IndexError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            found[pid] = (int(fields[11]) + int(fields[12])) / TICK
    return found


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU spent between two readings: a process that appeared in between counts from zero."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def machine_busy_seconds() -> float:
    """CPU time the whole machine spent not idle, from /proc/stat (all cores)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / TICK  # minus idle and iowait


def children_seconds() -> float:
    """CPU of this script's finished children (wrk), which /proc no longer shows."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Meter:
    """Reads the CPU of one case: the server's processes and the bench database's app-role backends."""

    service_url: str
    database: str
    app_role: str

    def backends(self) -> list[int]:
        with psycopg.connect(self.service_url, autocommit=True) as conn:
            rows = conn.execute(
                "select pid from pg_stat_activity where datname = %s and usename = %s",
                [self.database, self.app_role],
            ).fetchall()
        return [pid for (pid,) in rows]


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(value: str) -> float:
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    if not found:
        raise BenchError(f"cannot read wrk latency {value!r}")
    return float(found.group(1)) * _UNITS[found.group(2)]


def parse_wrk(text: str) -> Figures:
    """Requests/sec, p50, p99, totals and errors from ``wrk --latency`` output."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p50 = re.search(r"^\s+50%\s+(\S+)", text, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", text, re.MULTILINE)
    total = re.search(r"(\d+) requests in", text)
    if not (rps and p50 and p99 and total):
        raise BenchError(f"unexpected wrk output:\n{text}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    return Figures(
        rps=float(rps.group(1)),
        p50_ms=_ms(p50.group(1)),
        p99_ms=_ms(p99.group(1)),
        requests=int(total.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(g) for g in errors.groups()) if errors else 0,
        raw=text,
    )


def probe(url: str, token: str) -> int:
    """The HTTP status of one request (a case whose answer is not 200 measures something else)."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def wrk(url: str, token: str, *, seconds: int, connections: int, threads: int) -> Figures:
    """One wrk run against ``url`` with the bearer token."""
    cmd = [WRK, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    cmd += ["-H", f"Authorization: Bearer {token}", url]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30, check=False)
    if proc.returncode != 0:
        raise BenchError(f"wrk exited {proc.returncode}: {proc.stderr.strip()}")
    return parse_wrk(proc.stdout)


def measure(
    server: Server, path: str, token: str, args: argparse.Namespace, seconds: int, meter: Meter
) -> Figures:
    """Probe the status, then measure one case for ``seconds`` (the servers are already warm), with the CPU
    that its server's processes and the database's backends spent per request meanwhile (only one server is
    loaded at a time; the other's backends idle)."""
    url = server.base + path
    status = probe(url, token)
    py0, pg0 = cpu_seconds(server.pids()), cpu_seconds(meter.backends())
    busy0, wrk0, t0 = machine_busy_seconds(), children_seconds(), time.monotonic()
    figures = wrk(url, token, seconds=seconds, connections=args.connections, threads=args.threads)
    py = cpu_spent(py0, cpu_seconds(server.pids()))
    pg = cpu_spent(pg0, cpu_seconds(meter.backends()))  # with backends the pool opened meanwhile
    others = machine_busy_seconds() - busy0 - (children_seconds() - wrk0) - py - pg
    figures.status = status
    if figures.requests:
        figures.py_us, figures.pg_us = 1e6 * py / figures.requests, 1e6 * pg / figures.requests
    figures.other_cores = max(0.0, others / (time.monotonic() - t0))
    return figures


def warm_up(server: Server, path: str, token: str, args: argparse.Namespace) -> None:
    """Load one case once before the rounds (pools filled, prepared statements made, code paths hot)."""
    if args.warmup:
        url = server.base + path
        wrk(url, token, seconds=args.warmup, connections=args.connections, threads=args.threads)


# -- report -----------------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def spread(values: list[float]) -> float:
    """(max - min) / median, in percent: how far apart the rounds of one case were."""
    mid = median(values)
    return 100 * (max(values) - min(values)) / mid if values and mid else 0.0


def all_ok(runs: list[Figures]) -> bool:
    return all(f.status == 200 and not f.non_2xx for f in runs)


def row(label: str, runs: list[Figures]) -> str:
    rps = [f.rps for f in runs]
    p99 = [f.p99_ms for f in runs]
    non_2xx = sum(f.non_2xx for f in runs)
    errors = sum(f.socket_errors for f in runs)
    statuses = sorted({f.status for f in runs})
    note = "" if all_ok(runs) else f"  (status {statuses}, non-2xx {non_2xx:,})"
    if errors:
        note += f"  (socket errors {errors:,})"
    py, pg = median([f.py_us for f in runs]), median([f.pg_us for f in runs])
    return (
        f"  {label:<16} {median(rps):>7,.0f} {min(rps):>7,.0f} {max(rps):>7,.0f} {spread(rps):>6.1f}% "
        f"{median([f.p50_ms for f in runs]):>7.2f} {median(p99):>7.2f} {max(p99):>7.2f} "
        f"{py + pg:>7,.0f} {py:>6,.0f} {pg:>6,.0f} {median([f.other_cores for f in runs]):>6.2f}{note}"
    )


# What each baseline leaves out of the request, against the server with the context.
BASELINES = {
    "auth only": "the context alone (settings and seal): the target",
    "no context": "the context and the token check together (informative)",
}


def compare(endpoint: str, ctx: list[Figures], base_mode: str, base: list[Figures], what: str) -> None:
    """The ratio context / ``base_mode`` per round and its median, and the CPU per request it adds."""
    ratios = [c.rps / b.rps if b.rps else 0.0 for c, b in zip(ctx, base, strict=True)]
    ratio = median(ratios)
    cost = 1 - ratio
    judged = verdict(cost <= TARGET_CONTEXT_COST) if all_ok(ctx + base) else "NOT COMPARABLE: not all 200"
    print(
        f"{endpoint}: context / {base_mode} per round = {', '.join(f'{r:.2f}' for r in ratios)}; "
        f"median {ratio:.2f} (costs {100 * cost:.1f}% of throughput; {what}; "
        f"<= {100 * TARGET_CONTEXT_COST:.0f}%: {judged})"
    )
    cpu = [
        (b.py_us + b.pg_us) / (c.py_us + c.pg_us) if c.py_us + c.pg_us else 0.0
        for c, b in zip(ctx, base, strict=True)
    ]
    extra_py = median([c.py_us - b.py_us for c, b in zip(ctx, base, strict=True)])
    extra_pg = median([c.pg_us - b.pg_us for c, b in zip(ctx, base, strict=True)])
    print(
        f"{endpoint}: CPU per request, {base_mode} / context, median {median(cpu):.2f}; the context adds "
        f"{extra_py:,.0f} us in the server's processes and {extra_pg:,.0f} us in the database per request"
    )


def report(results: dict[tuple[str, str], list[Figures]], plain: Figures | None) -> None:
    print(
        f"\n  {'case':<16} {'req/s':>7} {'min':>7} {'max':>7} {'spread':>7} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'max p99':>7} {'cpu us':>7} {'py us':>6} {'pg us':>6} {'others':>6}"
    )
    print(
        "  (medians over rounds; spread = (max - min) / median; cpu us = CPU per request of the server's "
        "processes (py) and the database's backends (pg); others = cores used meanwhile by everything else, "
        "wrk excepted)"
    )
    for (endpoint, mode), runs in results.items():
        print(row(f"{endpoint} {mode}", runs))
    if plain is not None:
        print(
            row("get ctx, plain", [plain])
            + "  <- `uvicorn --workers 2 --loop asyncio --http h11`: no TCP_NODELAY (1 run)"
        )
    print()
    for endpoint in ("get", "page"):
        ctx = results.get((endpoint, "context"))
        if not ctx:
            continue
        for base_mode, what in BASELINES.items():
            base = results.get((endpoint, base_mode))
            if base:
                compare(endpoint, ctx, base_mode, base, what)
        rps, p99 = median([f.rps for f in ctx]), median([f.p99_ms for f in ctx])
        print(
            f"{endpoint}: with context {rps:,.0f} req/s (target >= {TARGET_RPS[endpoint]:,.0f}: "
            f"{verdict(rps >= TARGET_RPS[endpoint])}), p99 {p99:.1f} ms (target < "
            f"{TARGET_P99_MS[endpoint]:.0f} ms: {verdict(p99 < TARGET_P99_MS[endpoint])})"
        )


# -- main -------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Requests per second, p50 and p99 of a single-row get and a 50-row page, with the "
        "per-request context, with the token checked but no context, and with neither (ORGBASE_BENCH_MODE), "
        "under uvicorn and wrk; the cases are interleaved in rounds and reported as medians, with the ratios "
        "context / auth only and context / no context per round.",
    )
    parser.add_argument(
        "--home", default=".orgbase-bench", help="embedded cluster folder (default: %(default)s)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=4,
        help=f"rounds; each runs every case once, 1..{MAX_ROUNDS} (default: %(default)s)",
    )
    parser.add_argument(
        "--duration",
        type=int,
        default=6,
        help=f"seconds per case per round, 1..{MAX_DURATION_S} (default: %(default)s)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=3,
        help="seconds of load per case before the first round, 0..30 (default: %(default)s)",
    )
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers (default: %(default)s)")
    parser.add_argument("--projects", type=int, default=60, help="projects seeded (default: %(default)s)")
    parser.add_argument("--no-plain-cli", action="store_true", help="skip the plain `uvicorn` reference case")
    parser.add_argument("--keep", action="store_true", help="keep the database (its name is printed)")
    args = parser.parse_args(argv)
    if not 1 <= args.duration <= MAX_DURATION_S:
        parser.error(f"--duration must be 1..{MAX_DURATION_S}")
    if not 1 <= args.rounds <= MAX_ROUNDS:
        parser.error(f"--rounds must be 1..{MAX_ROUNDS}")
    if not 0 <= args.warmup <= MAX_DURATION_S:
        parser.error(f"--warmup must be 0..{MAX_DURATION_S}")
    if args.projects < 50:
        parser.error("--projects must be at least 50 (the page is 50 rows)")
    return args


@contextlib.contextmanager
def bench_database(cluster: EmbeddedCluster, settings: Settings, keep: bool) -> Iterator[str]:
    """A fresh database with the plan deployed by the engine; dropped afterwards unless ``keep``."""
    name = f"benchapi_{uuid.uuid4().hex[:8]}"
    admin = cluster.url("superuser", "postgres")
    create_database(admin, settings, name)
    try:
        with psycopg.connect(cluster.url("service", name), autocommit=True) as conn:
            result = engine_for(conn, settings, say=lambda _: None).deploy()
        held = ", ".join(change for change, _ in result.blocked) or "none"
        print(f"database {name}: plan deployed (held back by gates: {held})", flush=True)
        yield name
    finally:
        if keep:
            print(f"kept database {name} (cluster under {settings.home})")
        else:
            drop_database(admin, name)


# The servers compared, by the settings that make them differ (all else equal: the same app and handlers).
MODES = {
    "context": {},  # as deployed: auth_bind authenticates and binds the context
    "auth only": {"ORGBASE_BENCH_MODE": "auth_only"},  # bench.authenticate: auth_bind without the context
    "no context": {"ORGBASE_BENCH_MODE": "no_context"},  # no token check and no context at all
}
# The statement of auth_bind that binds the context (settings and seal); bench.authenticate is auth_bind's own
# definition, read from the database, without it.
CONTEXT_STATEMENT = re.compile(r"\n[ \t]*PERFORM set_config\('app\.current_user_id'.*?;\n", re.S)


def create_auth_only(cluster: EmbeddedCluster, database: str, settings: Settings) -> None:
    """``bench.authenticate``: ``platform.auth_bind`` as deployed, renamed, less its context statement.

    The same lookup, checks, errors and result, owned by the same role, called the same way: what the API does
    to authenticate a request when no context is bound. In this database only (the bench's own).
    """
    with psycopg.connect(cluster.url("superuser", database), autocommit=True) as conn, conn.transaction():
        row = conn.execute(
            "select pg_get_functiondef('platform.auth_bind(text, uuid, text)'::regprocedure)"
        ).fetchone()
        assert row is not None
        body, found = CONTEXT_STATEMENT.subn("\n", row[0])
        if found != 1 or "set_config(" in body or "seal_request(" in body:
            raise BenchError("auth_bind's context statement not found: update CONTEXT_STATEMENT")
        body = body.replace("FUNCTION platform.auth_bind(", "FUNCTION bench.authenticate(", 1)
        conn.execute("create schema bench")
        conn.execute(body)
        fn = sql.SQL("bench.authenticate(text, uuid, text)")
        conn.execute(sql.SQL("alter function {} owner to {}").format(fn, sql.Identifier(settings.owner_role)))
        conn.execute(sql.SQL("revoke all on function {} from public").format(fn))
        app = sql.Identifier(settings.app_role)
        conn.execute(sql.SQL("grant usage on schema bench to {}").format(app))
        conn.execute(sql.SQL("grant execute on function {} to {}").format(fn, app))


def server_env(cluster: EmbeddedCluster, database: str, mode: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORGBASE_")}
    env.update(
        ORGBASE_DATABASE_URL=cluster.url("service", database),
        ORGBASE_APP_DATABASE_URL=cluster.url("app", database),
        ORGBASE_ENCRYPTION_KEYS="kbench=" + base64.b64encode(os.urandom(32)).decode(),
        ORGBASE_MIGRATIONS_DIR=str(ROOT / "migrations"),
    )
    env.update(MODES[mode])
    return env


def run(args: argparse.Namespace) -> int:
    if not os.access(WRK, os.X_OK):
        raise BenchError(f"{WRK} is not installed (apt-get install wrk)")
    settings = Settings(home=Path(args.home), durable=True, migrations_dir=ROOT / "migrations")
    cluster = ensure_up(settings)
    with bench_database(cluster, settings, args.keep) as database:
        world = seed(cluster.url("service", database), args.projects)
        create_auth_only(cluster, database, settings)
        print(
            f"seeded: 1 user with a session, 1 enterprise organization, {world.projects} projects", flush=True
        )
        meter = Meter(cluster.url("service", database), database, settings.app_role)
        servers = {}
        try:
            for mode in MODES:
                servers[mode] = start_server(mode, server_env(cluster, database, mode), args.workers)
            print(
                f"wrk: {args.connections} connections, {args.threads} threads; {args.rounds} rounds of "
                f"{args.duration} s per case (after {args.warmup} s of warm-up per case); "
                f"uvicorn {args.workers} workers each",
                flush=True,
            )
            paths = dict(world.paths)
            if probe(servers["context"].base + paths["page"], world.token) == 404:
                print("page: skipped: endpoint missing")
                del paths["page"]
            for path in paths.values():
                for server in servers.values():
                    warm_up(server, path, world.token, args)
            results: dict[tuple[str, str], list[Figures]] = {
                (endpoint, mode): [] for endpoint in paths for mode in servers
            }
            modes = list(servers)
            for n in range(args.rounds):
                line = []
                for endpoint, path in paths.items():
                    # Every mode back to back; their order reverses from round to round.
                    for mode in modes if n % 2 == 0 else modes[::-1]:
                        figures = measure(servers[mode], path, world.token, args, args.duration, meter)
                        results[(endpoint, mode)].append(figures)
                        line.append(f"{endpoint} {mode} {figures.rps:,.0f}")
                others = max(f.other_cores for runs in results.values() for f in runs[-1:])
                print(
                    f"  round {n + 1}: " + ", ".join(line) + f" (others up to {others:.2f} cores)", flush=True
                )
        finally:
            for server in servers.values():
                server.stop()
        plain = None
        if not args.no_plain_cli:
            env = server_env(cluster, database, "context")
            server = start_server("plain", env, args.workers, plain_cli=True)
            try:
                warm_up(server, world.paths["get"], world.token, args)
                plain = measure(server, world.paths["get"], world.token, args, PLAIN_CLI_S, meter)
            finally:
                server.stop()
        report(results, plain)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:  # the server subprocess
        sub = argparse.ArgumentParser()
        sub.add_argument("--port", type=int, required=True)
        sub.add_argument("--workers", type=int, default=2)
        opts = sub.parse_args(argv[1:])
        serve(opts.port, opts.workers)
        return 0
    try:
        return run(parse_args(argv))
    except (BenchError, OrgbaseError, psycopg.Error, OSError, subprocess.SubprocessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
