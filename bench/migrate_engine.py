"""Benchmark of the migration engine: deploy and status of N trivial changes, against bare psql and Sqitch.

A generated plan of N changes in a line (each creates a small table, requires the previous one) is
deployed, in one run, on fresh databases of the embedded cluster (durable: fsync on) by:

* the engine in-process (``Engine.deploy()``, built as ``orgbase.cli.common.engine`` builds it),
* the CLI ``orgbase migrate deploy`` as a subprocess (the end-to-end figure),
* one ``psql -f`` session running the same deploy scripts, each wrapped in BEGIN/COMMIT (the baseline),
  without and with the verify scripts inside each transaction,
* Sqitch (``sqitch deploy``, with and without ``--verify``) when it is installed.

``status`` is then timed in-process and through the CLI. Each case runs ``--repeat`` times, interleaved,
and the table shows medians. It measures; it does not judge: the exit code is 0 whatever the figures,
non-zero only when something fails. Run: ``.venv/bin/python bench/migrate_engine.py --help``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import psycopg
from pydantic import SecretStr

from orgbase.cli import common
from orgbase.config import Settings
from orgbase.db.bootstrap import create_database, drop_database
from orgbase.db.server import EmbeddedCluster, ensure_up
from orgbase.errors import OrgbaseError

PSQL = "/usr/bin/psql"
STATUS_TARGET_S = 0.5
RATIO_TARGET = 2.0
T = TypeVar("T")


class BenchError(Exception):
    """A case failed: the figures would mean nothing."""


# -- the generated plan ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Scripts:
    """The scripts of one change, shared by every tool."""

    id: str
    requires: str | None
    deploy: str
    revert: str
    verify: str


def generate(n: int) -> list[Scripts]:
    """N trivial changes in a line: each creates a table, each requires the previous one."""
    ids = [f"bench_{i:04d}" for i in range(1, n + 1)]
    return [
        Scripts(
            id=cid,
            requires=ids[i - 1] if i else None,
            deploy=f"create table {cid} (id int primary key, v text);\n",
            revert=f"drop table {cid};\n",
            verify=f"select '{cid}'::regclass;\n",
        )
        for i, cid in enumerate(ids)
    ]


def write_orgbase_plan(root: Path, changes: list[Scripts]) -> Path:
    """``plan.toml`` and one folder per change, as orgbase reads them."""
    root.mkdir(parents=True)
    entries = []
    for c in changes:
        folder = root / c.id
        folder.mkdir()
        for name in ("deploy", "revert", "verify"):
            (folder / f"{name}.sql").write_text(getattr(c, name))
        requires = f'["{c.requires}"]' if c.requires else "[]"
        entries.append(f'[[change]]\nid = "{c.id}"\nrequires = {requires}\n')
    (root / "plan.toml").write_text("\n".join(entries))
    return root


def write_psql_script(path: Path, changes: list[Scripts], owner: str, *, verify: bool) -> Path:
    """One file for one psql session: SET ROLE owner, then each deploy (and verify) in BEGIN/COMMIT."""
    parts = [f'SET ROLE "{owner}";\n']
    for c in changes:
        parts.append("BEGIN;\n" + c.deploy + (c.verify if verify else "") + "COMMIT;\n")
    path.write_text("".join(parts))
    return path


def write_sqitch_project(root: Path, changes: list[Scripts], owner: str) -> Path:
    """A Sqitch project of the same plan; scripts take the owner role, as the engine does."""
    for sub in ("deploy", "revert", "verify"):
        (root / sub).mkdir(parents=True)
    (root / "sqitch.conf").write_text(
        '[core]\n\tengine = pg\n\tplan_file = sqitch.plan\n\ttop_dir = .\n[engine "pg"]\n'
        f"\tregistry = sqitch\n\tclient = {PSQL}\n"
        "[user]\n\tname = orgbase bench\n\temail = bench@orgbase.invalid\n"
    )
    role = f'SET LOCAL ROLE "{owner}";\n'
    lines = ["%syntax-version=1.0.0", "%project=orgbase_bench", ""]
    for c in changes:
        (root / "deploy" / f"{c.id}.sql").write_text("BEGIN;\n" + role + c.deploy + "COMMIT;\n")
        (root / "revert" / f"{c.id}.sql").write_text("BEGIN;\n" + role + c.revert + "COMMIT;\n")
        (root / "verify" / f"{c.id}.sql").write_text("BEGIN;\n" + role + c.verify + "ROLLBACK;\n")
        deps = f" [{c.requires}]" if c.requires else ""
        lines.append(f"{c.id}{deps} 2024-01-01T00:00:00Z orgbase bench <bench@orgbase.invalid> # {c.id}")
    (root / "sqitch.plan").write_text("\n".join(lines) + "\n")
    return root


# -- databases and timing -------------------------------------------------------------------------


@dataclass
class Bench:
    """The cluster, the generated artefacts, and every figure gathered so far."""

    cluster: EmbeddedCluster
    settings: Settings
    work: Path
    changes: int
    repeat: int
    figures: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)

    def record(self, case: str, seconds: float, cpu: float | None = None) -> None:
        self.figures.setdefault(case, []).append(seconds)
        if cpu is not None:
            self.cpu.setdefault(case, []).append(cpu)

    @contextmanager
    def database(self) -> Iterator[str]:
        """A fresh, hardened database (its name), dropped afterwards."""
        name = f"bench_{uuid.uuid4().hex[:10]}"
        superuser = self.cluster.url("superuser", "postgres")
        create_database(superuser, self.settings, name)
        try:
            yield name
        finally:
            drop_database(superuser, name)

    def cfg(self, db: str) -> Settings:
        """Settings pointing at ``db`` and the generated plan, as the CLI would read them."""
        return self.settings.model_copy(
            update={
                "database_url": SecretStr(self.cluster.url("service", db)),
                "app_database_url": SecretStr(self.cluster.url("app", db)),
                "migrations_dir": self.work / "plan",
            }
        )

    def cli_env(self, db: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ORGBASE_")}
        env.update(
            ORGBASE_DATABASE_URL=self.cluster.url("service", db),
            ORGBASE_APP_DATABASE_URL=self.cluster.url("app", db),
            ORGBASE_MIGRATIONS_DIR=str(self.work / "plan"),
        )
        return env

    def check_tables(self, db: str, case: str) -> None:
        """Every generated table exists: a case that did less than the others would look fast."""
        with psycopg.connect(self.cluster.url("service", db)) as conn:
            row = conn.execute(
                "select count(*) from pg_class where relkind = 'r' and relname like 'bench\\_%'"
            ).fetchone()
        if not row or row[0] != self.changes:
            raise BenchError(f"{case}: expected {self.changes} tables, found {row[0] if row else 0}")


def timed(fn: Callable[[], T]) -> tuple[T, float, float]:
    """``fn()``'s result, wall-clock seconds, and this process's CPU seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def run(cmd: list[str], *, env: dict[str, str] | None = None, what: str) -> float:
    """Run a subprocess, output captured; its wall-clock seconds, BenchError if it fails."""
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise BenchError(f"{what} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return elapsed


def orgbase_cmd() -> list[str]:
    """The ``orgbase`` console script of this interpreter's environment, as a user runs it."""
    script = Path(sys.executable).with_name("orgbase")
    return [str(script)] if script.exists() else [sys.executable, "-m", "orgbase.cli"]


# -- the cases ------------------------------------------------------------------------------------


def engine_cases(b: Bench) -> None:
    """Engine.deploy() in-process, then Engine.status() and the CLI status on the deployed database."""
    with b.database() as db:
        cfg = b.cfg(db)
        with common.service_connection(cfg) as conn:  # the CLI's connection, and its engine
            engine = common.engine(conn, cfg)
            said: list[str] = []
            engine.say = said.append  # the CLI prints progress to stderr; here it would only be noise
            report, wall, cpu = timed(engine.deploy)
            if len(report.deployed) != b.changes:
                raise BenchError(f"engine deployed {len(report.deployed)} of {b.changes} changes")
            b.record("engine deploy (in-process)", wall, cpu)
            statuses, wall, cpu = timed(engine.status)
            if sum(s.state == "applied" for s in statuses) != b.changes:
                raise BenchError("engine status does not show every change applied")
            b.record("engine status (in-process)", wall, cpu)
        b.check_tables(db, "engine deploy")
        _, wall, cpu = timed(lambda: _cold_status(cfg))
        b.record("status in-process, cold (connect + plan)", wall, cpu)
        b.record(
            "orgbase migrate status (CLI)",
            run([*orgbase_cmd(), "migrate", "status"], env=b.cli_env(db), what="orgbase migrate status"),
        )


def _cold_status(cfg: Settings) -> None:
    """What the CLI does for status, without Python start-up: connect, load the plan, read the ledger."""
    with common.service_connection(cfg) as conn:
        common.engine(conn, cfg).status()


def cli_deploy(b: Bench) -> None:
    """``orgbase migrate deploy`` as a subprocess: Python start-up, plan, connect, deploy."""
    with b.database() as db:
        b.record(
            "orgbase migrate deploy (CLI)",
            run([*orgbase_cmd(), "migrate", "deploy"], env=b.cli_env(db), what="orgbase migrate deploy"),
        )
        b.check_tables(db, "CLI deploy")


def psql_case(b: Bench, script: Path, case: str) -> None:
    """One psql session over the whole file, as the service role."""
    with b.database() as db:
        url = b.cluster.url("service", db)
        b.record(
            case,
            run(
                [PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-o", "/dev/null", "-d", url, "-f", str(script)],
                what=case,
            ),
        )
        b.check_tables(db, case)


def sqitch_case(b: Bench, project: Path, *, verify: bool) -> None:
    """``sqitch deploy`` of the same plan; its registry goes in schema ``sqitch`` of the same database."""
    case = "sqitch deploy --verify" if verify else "sqitch deploy"
    with b.database() as db:
        info = psycopg.conninfo.conninfo_to_dict(b.cluster.url("service", db))
        env = {k: v for k, v in os.environ.items() if not k.startswith("SQITCH_")}
        env.update(
            PGHOST=str(info["host"]),
            PGPORT=str(info["port"]),
            PGPASSWORD=str(info["password"]),
            SQITCH_USER_CONFIG=str(project / "no-user.conf"),
            SQITCH_SYSTEM_CONFIG=str(project / "no-system.conf"),
        )
        target = f"db:pg://{info['user']}@/{db}"
        cmd = ["sqitch", "--chdir", str(project), "deploy", "--verify" if verify else "--no-verify", target]
        b.record(case, run(cmd, env=env, what=case))
        b.check_tables(db, case)


def sqitch_missing() -> str | None:
    """Why Sqitch cannot run here, or None when it can."""
    if shutil.which("sqitch") is None:
        return "sqitch is not installed (apt-get install sqitch libdbd-pg-perl)"
    probe = subprocess.run(["perl", "-MDBD::Pg", "-e", "1"], capture_output=True, check=False)
    if probe.returncode != 0:
        return "Perl's DBD::Pg is missing (apt-get install libdbd-pg-perl)"
    return None


# -- the report -----------------------------------------------------------------------------------


def median(b: Bench, case: str) -> float:
    return statistics.median(b.figures[case])


def print_table(b: Bench, skipped_sqitch: str | None) -> None:
    """One row per case: median, per change, ratios against both psql baselines, every run."""
    n = b.changes
    psql, psql_v = median(b, "psql -f, deploy only"), median(b, "psql -f, deploy + verify")
    header = f"{'case':<42} | {'median s':>8} | {'per change ms':>13} | {'x psql':>6} | {'x psql+verify':>13}"
    print(header)
    print("-" * len(header) + "-+- runs (s)")
    for case, runs in b.figures.items():
        m = statistics.median(runs)
        cols = ("-", "-", "-")
        if "status" not in case:  # status is not per change, and psql has no status
            cols = (f"{m / n * 1000:.2f}", f"{m / psql:.2f}", f"{m / psql_v:.2f}")
        cpu = f"  (client CPU {statistics.median(b.cpu[case]):.3f} s)" if case in b.cpu else ""
        runs_s = ", ".join(f"{r:.3f}" for r in runs)
        print(f"{case:<42} | {m:>8.3f} | {cols[0]:>13} | {cols[1]:>6} | {cols[2]:>13} | {runs_s}{cpu}")
    if skipped_sqitch:
        print(f"sqitch: skipped: {skipped_sqitch}")


def print_summary(b: Bench) -> None:
    """The engine's overhead per change, both status figures, and the two targets."""
    n = b.changes
    psql, psql_v = median(b, "psql -f, deploy only"), median(b, "psql -f, deploy + verify")
    engine = median(b, "engine deploy (in-process)")
    print()
    print(
        f"engine overhead per change: {(engine - psql) / n * 1000:.2f} ms vs psql deploy only, "
        f"{(engine - psql_v) / n * 1000:.2f} ms vs psql deploy + verify "
        "(the engine also runs verify and writes a ledger row and an event)"
    )
    cli_status = median(b, "orgbase migrate status (CLI)")
    print(
        f"status: in-process Engine.status() {median(b, 'engine status (in-process)'):.3f} s, "
        f"CLI {cli_status:.3f} s (includes Python start-up); "
        "the target is judged on the CLI, what a user sees"
    )
    print(
        f"target status < {STATUS_TARGET_S} s: {_verdict(cli_status < STATUS_TARGET_S)} ({cli_status:.3f} s)"
    )
    ratio = engine / psql
    print(
        f"target engine/psql <= {RATIO_TARGET}: {_verdict(ratio <= RATIO_TARGET)} ({ratio:.2f}; "
        f"in-process Engine.deploy() vs psql deploy only, as the issue defines it; "
        f"vs psql deploy + verify: {engine / psql_v:.2f})"
    )


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# -- main -----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time the migration engine's deploy and status over a generated plan of trivial changes, "
        "against one psql session running the same scripts and, when installed, Sqitch. "
        "Exit 0 whatever the figures; non-zero only on an error.",
    )
    parser.add_argument(
        "--changes", type=int, default=300, help="changes in the generated plan (default 300)"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each case; the median is shown (default 3)"
    )
    parser.add_argument(
        "--home",
        type=Path,
        default=Path(".orgbase-bench"),
        help="ORGBASE_HOME of the embedded cluster used (default .orgbase-bench in the working directory); "
        "started if needed, stopped at the end if this run started it",
    )
    parser.add_argument(
        "--async-commit",
        action="store_true",
        help="run every connection with synchronous_commit=off (through PGOPTIONS): commits stop waiting "
        "for the WAL flush, so the engine's own per-change cost shows instead of the disk's",
    )
    parser.add_argument("--no-sqitch", action="store_true", help="skip Sqitch even if it is installed")
    args = parser.parse_args(argv)
    if args.changes < 1 or args.repeat < 1:
        parser.error("--changes and --repeat must be at least 1")
    return args


def measure(b: Bench, changes: list[Scripts], skipped_sqitch: str | None) -> None:
    """Every case ``repeat`` times, interleaved so that a noisy minute hurts all of them alike."""
    owner = b.settings.owner_role
    write_orgbase_plan(b.work / "plan", changes)
    deploy_only = write_psql_script(b.work / "all.sql", changes, owner, verify=False)
    with_verify = write_psql_script(b.work / "all-verify.sql", changes, owner, verify=True)
    project = None if skipped_sqitch else write_sqitch_project(b.work / "sqitch", changes, owner)
    for _ in range(b.repeat):
        engine_cases(b)
        cli_deploy(b)
        psql_case(b, deploy_only, "psql -f, deploy only")
        psql_case(b, with_verify, "psql -f, deploy + verify")
        if project is not None:
            sqitch_case(b, project, verify=False)
            sqitch_case(b, project, verify=True)


def print_header(b: Bench) -> None:
    """What was measured where: the server, and what a commit costs on it."""
    with psycopg.connect(b.cluster.url("superuser", "postgres")) as conn:
        row = conn.execute(
            "select current_setting('server_version'), current_setting('fsync'), "
            "current_setting('synchronous_commit')"
        ).fetchone()
    assert row is not None
    print(
        f"orgbase migrate bench: {b.changes} changes, {b.repeat} repeats, PostgreSQL {row[0]} "
        f"(fsync {row[1]}, synchronous_commit {row[2]}), cluster {b.cluster.home}"
    )
    print()


def bench(cluster: EmbeddedCluster, settings: Settings, args: argparse.Namespace) -> None:
    """Generate, measure, report, in a temporary folder removed afterwards."""
    skipped_sqitch = "--no-sqitch given" if args.no_sqitch else sqitch_missing()
    with tempfile.TemporaryDirectory(prefix="orgbase-bench-") as tmp:
        b = Bench(cluster, settings, Path(tmp), args.changes, args.repeat)
        print_header(b)
        measure(b, generate(args.changes), skipped_sqitch)
        print_table(b, skipped_sqitch)
        print_summary(b)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.async_commit:  # libpq reads it: the in-process connections and every subprocess alike
        os.environ["PGOPTIONS"] = (os.environ.get("PGOPTIONS", "") + " -c synchronous_commit=off").strip()
    settings = Settings(home=args.home, durable=True)
    was_running = EmbeddedCluster(settings).status().running
    try:
        cluster = ensure_up(settings)
        try:
            bench(cluster, settings, args)
        finally:
            if not was_running:
                cluster.stop()
    except (BenchError, OrgbaseError, psycopg.Error, OSError) as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
