"""The engine as separate processes: concurrent deploys, and a migrator killed mid-change."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.fixtures.cluster import Database, orgbase_cli
from tests.fixtures.plans import PlanWriter, engine_on

pytestmark = [pytest.mark.db, pytest.mark.slow]

# Sleeps only in the process that sets orgbase.test_sleep (through PGOPTIONS), so a rerun is quick.
SLEEP = "select pg_sleep(coalesce(nullif(current_setting('orgbase.test_sleep', true), ''), '0')::float);"


def spawn_deploy(db: Database, plan: PlanWriter, sleep: float = 0) -> subprocess.Popen[str]:
    env = db.env(ORGBASE_MIGRATIONS_DIR=str(plan.root), PGOPTIONS=f"-c orgbase.test_sleep={sleep}")
    return subprocess.Popen(
        [sys.executable, "-m", "orgbase.cli", "migrate", "deploy"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_sleep(db: Database, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    with db.connect("superuser") as conn:
        while time.monotonic() < deadline:
            found = conn.execute(
                "select count(*) from pg_stat_activity where datname = current_database() "
                "and query like '%pg_sleep%' and state = 'active' "
                "and pid <> pg_backend_pid()"
            ).fetchone()
            if found and found[0]:
                return
            time.sleep(0.05)
    raise AssertionError("the migrator never reached its sleeping change")


def deploy_counts(db: Database) -> dict[str, int]:
    with db.connect() as conn:
        rows = conn.execute(
            "select change_id, count(*) from ledger.events where event = 'deploy' group by 1"
        ).fetchall()
    return dict(rows)


def three_changes(plan: PlanWriter, *, transactional: bool = True) -> None:
    plan.add("a", "create table t (id int primary key);", "drop table t;", "select 't'::regclass;")
    plan.add(
        "b",
        "insert into t select g from generate_series(1, 100) g on conflict do nothing;\n"
        + SLEEP
        + "\ncreate table if not exists b (x int);",
        "drop table b; delete from t;",
        "select 'b'::regclass, 1/(select count(*) from t)::int;",
        requires=["a"],
        transactional=transactional,
    )
    plan.add("c", "create table c (x int);", "drop table c;", "select 'c'::regclass;", requires=["b"])


def test_two_deploys_together_apply_each_change_once(fresh_db: Database, plan: PlanWriter) -> None:
    three_changes(plan)
    first = spawn_deploy(fresh_db, plan, sleep=1.5)
    wait_for_sleep(fresh_db)
    second = spawn_deploy(fresh_db, plan)
    out1, err1 = first.communicate(timeout=60)
    out2, err2 = second.communicate(timeout=60)
    assert first.returncode == 0, err1
    assert second.returncode == 0, err2
    assert "Blocked by another instance" in err2 and "waiting" in err2
    assert "deployed: a, b, c" in out1 and "deployed: nothing" in out2
    assert deploy_counts(fresh_db) == {"a": 1, "b": 1, "c": 1}


@pytest.mark.parametrize("transactional", [True, False], ids=["transactional", "non-transactional"])
def test_sigkill_mid_change_leaves_a_consistent_state(
    fresh_db: Database, plan: PlanWriter, transactional: bool
) -> None:
    three_changes(plan, transactional=transactional)
    victim = spawn_deploy(fresh_db, plan, sleep=60)
    wait_for_sleep(fresh_db)
    os.kill(victim.pid, signal.SIGKILL)
    victim.communicate(timeout=10)  # reaps it and closes its pipes
    with engine_on(fresh_db, plan) as eng:
        states = {s.id: s.state for s in eng.status()}
        assert states["a"] == "applied" and states["c"] == "pending"
        assert states["b"] == ("pending" if transactional else "running")
        started = time.monotonic()
        report = eng.deploy()  # waits for the dead migrator's backend to go, then resumes
        assert time.monotonic() - started < 15
        assert report.deployed == ["b", "c"]
        assert [s.state for s in eng.status()] == ["applied"] * 3
    assert deploy_counts(fresh_db) == {"a": 1, "b": 1, "c": 1}
    with fresh_db.connect() as conn:
        assert conn.execute("select count(*) from t").fetchone() == (100,)


def test_cli_exit_codes_and_messages(fresh_db: Database, plan: PlanWriter) -> None:
    plan.add("a", "select 1/0;", "select 1")
    env = fresh_db.env(ORGBASE_MIGRATIONS_DIR=str(plan.root))
    failed = orgbase_cli("migrate", "deploy", env=env)
    assert failed.returncode == 3
    assert "a: deploy failed: division by zero" in failed.stderr and "Traceback" not in failed.stderr
    (plan.root / "plan.toml").write_text('[[change]]\nid = "a"\nrequires = ["zz"]\n')
    bad_plan = orgbase_cli("migrate", "status", env=env)
    assert bad_plan.returncode == 7 and "requires unknown change(s): zz" in bad_plan.stderr
