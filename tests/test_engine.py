"""The engine against a real PostgreSQL: atomic changes, ledger, drift, gates, revert, verify, adopt."""

from __future__ import annotations

import pytest

from orgbase.errors import ChangeFailed, DriftDetected, GateBlocked, MigrationError, RevertRefused
from orgbase.migrate.gates import Gate, GateRegistry, GateResult, Probe
from tests.fixtures.cluster import Database
from tests.fixtures.plans import PlanWriter, engine_on

pytestmark = pytest.mark.db

TABLE_T = (
    'create table t (id int primary key); grant select on t to :"app_role";',
    "drop table t;",
    "select 't'::regclass;",
)


def ledger_rows(db: Database) -> list[tuple[str, str]]:
    with db.connect() as conn:
        if not conn.execute("select to_regclass('ledger.changes')").fetchone()[0]:  # type: ignore[index]
            return []
        return conn.execute("select change_id, state from ledger.changes order by 1").fetchall()


def events(db: Database, change_id: str) -> list[str]:
    with db.connect() as conn:
        rows = conn.execute("select event from ledger.events where change_id = %s order by id", [change_id])
        return [r[0] for r in rows]


def test_deploy_records_checksum_who_when_and_owner(fresh_db: Database, plan: PlanWriter) -> None:
    plan.add("a", *TABLE_T, note="first")
    with engine_on(fresh_db, plan) as eng:
        assert eng.deploy().deployed == ["a"]
        assert eng.deploy().deployed == []
        (st,) = eng.status()
    assert st.state == "applied" and st.applied_at is not None and st.how == "deployed"
    with fresh_db.connect() as conn:
        row = conn.execute("select checksum, applied_by, db_user, duration_ms from ledger.changes").fetchone()
        owner = conn.execute("select tableowner from pg_tables where tablename = 't'").fetchone()
    assert row is not None and len(row[0]) == 64 and "@" in row[1]
    assert row[2] == fresh_db.settings.service_role and row[3] > 0
    assert owner == (fresh_db.settings.owner_role,)
    # the app role reads the ledger not at all
    with fresh_db.connect("app") as conn, pytest.raises(Exception, match="permission denied"):
        conn.execute("select * from ledger.changes")


def test_a_change_that_fails_halfway_leaves_nothing(fresh_db: Database, plan: PlanWriter) -> None:
    plan.add("a", *TABLE_T)
    plan.add(
        "b",
        "create table b1 (x int); insert into t values (1); select 1/0; create table b2 (x int);",
        "drop table b1;",
        requires=["a"],
    )
    with engine_on(fresh_db, plan) as eng:
        eng.deploy(to="a")
        before = fresh_db.schema_dump()
        with pytest.raises(ChangeFailed) as info:
            eng.deploy()
        assert info.value.change_id == "b" and "division by zero" in str(info.value)
        assert "22012" in str(info.value)
        assert [s.state for s in eng.status()] == ["applied", "failed"]
    assert fresh_db.schema_dump() == before
    with fresh_db.connect() as conn:
        assert conn.execute("select count(*) from t").fetchone() == (0,)
    assert ledger_rows(fresh_db) == [("a", "deployed")]
    assert events(fresh_db, "b") == ["fail"]


def test_a_failing_verify_rolls_the_deploy_back(fresh_db: Database, plan: PlanWriter) -> None:
    plan.add(
        "a",
        "create table t (id int);",
        "drop table t;",
        "do $$ begin raise exception 'verify says no'; end $$;",
    )
    with engine_on(fresh_db, plan) as eng, pytest.raises(ChangeFailed, match="verify failed: verify says no"):
        eng.deploy()
    with fresh_db.connect() as conn:
        assert conn.execute("select to_regclass('t')").fetchone() == (None,)


def test_drift_is_reported_and_refused(fresh_db: Database, plan: PlanWriter) -> None:
    plan.add("a", *TABLE_T)
    with engine_on(fresh_db, plan) as eng:
        eng.deploy()
    plan.script("a", "deploy", "create table t (id bigint primary key);")
    plan.add("b", "select 1", requires=["a"])
    with engine_on(fresh_db, plan) as eng:
        states = {s.id: s for s in eng.status()}
        assert states["a"].state == "drifted" and "changed" in states["a"].reason
        assert states["b"].state == "blocked"
        with pytest.raises(DriftDetected, match="a"):
            eng.deploy()
    assert ledger_rows(fresh_db) == [("a", "deployed")]


def flag_gate(name: str) -> Gate:
    """Holds when table ``flag`` has a row: evidence read from the database."""

    def check(probe: Probe) -> GateResult:
        n = probe.rows("select count(*) from flag")[0][0]
        return GateResult(name, n > 0, f"{n} flag row(s)")

    return Gate(name, "a flag row exists", check)


def test_gates_block_report_and_override(fresh_db: Database, plan: PlanWriter) -> None:
    plan.add("a", 'create table flag (x int); grant select on flag to :"app_role";', "drop table flag;")
    plan.add("g", "create table g (x int);", "drop table g;", requires=["a"], gates=["ready"])
    plan.add("h", "create table h (x int);", "drop table h;", requires=["g"])
    plan.add("i", "create table i (x int);", "drop table i;", requires=["a"])
    gates = GateRegistry([flag_gate("ready")])
    with engine_on(fresh_db, plan, gates=gates) as eng:
        report = eng.deploy()
        assert report.deployed == ["a", "i"]
        assert report.blocked == [
            ("g", "gate ready does not hold: 0 flag row(s)"),
            ("h", "requires g, which is not applied"),
        ]
        st = {s.id: s for s in eng.status()}
        assert st["g"].state == "blocked" and st["g"].gates == (GateResult("ready", False, "0 flag row(s)"),)
        assert st["h"].state == "blocked" and st["g"].required_by == ("h",)
        with pytest.raises(GateBlocked, match="g is blocked: gate ready does not hold"):
            eng.deploy(to="h")
        assert [s.id for s in eng.status() if s.state == "applied"] == ["a", "i"]  # nothing ran
        with pytest.raises(MigrationError, match="needs a reason"):
            eng.deploy(to="g", overrides={"ready": " "})
        with pytest.raises(MigrationError, match="names no gate"):
            eng.deploy(overrides={"nope": "x"})
        assert eng.deploy(to="g", overrides={"ready": "incident 42: approved by the TPM"}).deployed == ["g"]
    with fresh_db.connect() as conn:
        detail = conn.execute("select detail from ledger.events where event = 'override'").fetchone()
    assert detail == ("gate ready: incident 42: approved by the TPM",)


def test_an_override_is_also_audited_once_the_trail_exists(fresh_db: Database, plan: PlanWriter) -> None:
    plan.add(
        "trail",
        "create schema platform; create table platform.audit_logs (action text, target_type text,"
        " target_id text, changes jsonb);",
        "drop schema platform cascade;",
    )
    plan.add("g", "select 1", requires=["trail"], gates=["ready"])
    plan.add("a", "create table flag (x int);", "drop table flag;")
    with engine_on(fresh_db, plan, gates=GateRegistry([flag_gate("ready")])) as eng:
        eng.deploy(to="g", overrides={"ready": "approved in change review 7"})
    with fresh_db.connect() as conn:
        row = conn.execute(
            "select action, target_id, changes->>'gate', changes->>'reason' from platform.audit_logs"
        ).fetchone()
    assert row == ("migration.gate_override", "g", "ready", "approved in change review 7")


def test_gate_holds_from_evidence(fresh_db: Database, plan: PlanWriter) -> None:
    plan.add("a", "create table flag (x int); insert into flag values (1);", "drop table flag;")
    plan.add("g", "select 1", requires=["a"], gates=["ready"])
    with engine_on(fresh_db, plan, gates=GateRegistry([flag_gate("ready")])) as eng:
        assert eng.deploy().deployed == ["a", "g"]


def test_unknown_gate_is_a_plan_error(fresh_db: Database, plan: PlanWriter) -> None:
    plan.add("a", "select 1", gates=["nobody_knows"])
    with pytest.raises(Exception, match="unknown gate"), engine_on(fresh_db, plan):
        pass


def test_dry_run_changes_nothing(fresh_db: Database, plan: PlanWriter) -> None:
    plan.add("a", *TABLE_T)
    with engine_on(fresh_db, plan) as eng:
        report = eng.deploy(dry_run=True)
    assert report.deployed == ["a"] and report.dry_run
    assert ledger_rows(fresh_db) == []
    with fresh_db.connect() as conn:
        assert conn.execute("select to_regclass('t')").fetchone() == (None,)


def test_revert_refuses_while_required(fresh_db: Database, plan: PlanWriter) -> None:
    plan.add("a", *TABLE_T)
    plan.add("b", "create table b (id int references t);", "drop table b;", requires=["a"])
    with engine_on(fresh_db, plan) as eng:
        eng.deploy()
        with pytest.raises(RevertRefused, match="deployed change\\(s\\) require it: b"):
            eng.revert("a")
        eng.revert("b")
        eng.revert("a")
        with pytest.raises(MigrationError, match="not deployed"):
            eng.revert("a")
    assert ledger_rows(fresh_db) == []
    assert events(fresh_db, "a") == ["deploy", "revert"]


def test_failed_revert_rolls_back(fresh_db: Database, plan: PlanWriter) -> None:
    plan.add("a", *TABLE_T)
    plan.script("a", "revert", "drop table t; select 1/0;")
    with engine_on(fresh_db, plan) as eng:
        eng.deploy()
        with pytest.raises(ChangeFailed, match="revert failed"):
            eng.revert("a")
    assert ledger_rows(fresh_db) == [("a", "deployed")]
    with fresh_db.connect() as conn:
        assert conn.execute("select to_regclass('t')::text").fetchone() == ("t",)


def test_verify_reports_each_failure(fresh_db: Database, plan: PlanWriter) -> None:
    plan.add("a", *TABLE_T)
    plan.add("b", "create table b (x int);", "drop table b;", "select 'b'::regclass;")
    with engine_on(fresh_db, plan) as eng:
        eng.deploy()
        with fresh_db.connect() as conn:
            conn.execute(f'set role "{fresh_db.settings.owner_role}"; drop table b;')
        outcomes = {o.change_id: o.error for o in eng.verify()}
    assert outcomes["a"] is None
    assert outcomes["b"] is not None and 'relation "b" does not exist' in outcomes["b"]


def test_adopt_records_what_verify_proves(fresh_db: Database, plan: PlanWriter) -> None:
    plan.add("a", *TABLE_T)
    plan.add("b", "create table b (x int);", "drop table b;", "select 'b'::regclass;", requires=["a"])
    plan.add("c", "create table c (x int);", "drop table c;", "select 'c'::regclass;", requires=["b"])
    with fresh_db.connect() as conn:  # applied by hand, as the seed's 001-005 were
        conn.execute(
            f'set role "{fresh_db.settings.owner_role}"; create table t (id int primary key); '
            "create table b (x int);"
        )
    with engine_on(fresh_db, plan) as eng:
        outcomes = {o.change_id: o.error for o in eng.adopt()}
        assert outcomes["a"] is None and outcomes["b"] is None
        assert outcomes["c"] is not None and "does not exist" in outcomes["c"]
        statuses = {s.id: s for s in eng.status()}
        assert statuses["a"].how == "adopted" and statuses["a"].applied_at is None
        assert statuses["c"].state == "pending"
        assert eng.deploy().deployed == ["c"]
    assert events(fresh_db, "a") == ["adopt"]


def test_non_transactional_change_runs_statement_by_statement(fresh_db: Database, plan: PlanWriter) -> None:
    plan.add("a", *TABLE_T)
    plan.add(
        "idx",
        "create index concurrently if not exists t_idx on t (id);\n"
        "do $$ begin raise notice 'progress: 1 of 1'; end $$;",
        "drop index t_idx;",
        "select 't_idx'::regclass;",
        requires=["a"],
        transactional=False,
    )
    said: list[str] = []
    with engine_on(fresh_db, plan, said=said) as eng:
        assert eng.deploy().deployed == ["a", "idx"]
    assert "  progress: 1 of 1" in said
    assert ledger_rows(fresh_db) == [("a", "deployed"), ("idx", "deployed")]
    assert events(fresh_db, "idx") == ["start", "deploy"]


def test_non_transactional_failure_resumes(fresh_db: Database, plan: PlanWriter) -> None:
    plan.add("a", *TABLE_T)
    plan.add(
        "fill",
        "insert into t select g from generate_series(1, 5) g on conflict do nothing;\n"
        "select 1/(select count(*) - 5 from t);",
        "delete from t;",
        "select 1/(select count(*) from t);",
        requires=["a"],
        transactional=False,
    )
    with engine_on(fresh_db, plan) as eng:
        with pytest.raises(ChangeFailed):
            eng.deploy()
        assert {s.id: s.state for s in eng.status()}["fill"] == "failed"
    assert ledger_rows(fresh_db) == [("a", "deployed"), ("fill", "running")]
    fixed = "insert into t select g from generate_series(1, 5) g on conflict do nothing;"
    plan.script("fill", "deploy", fixed)
    with engine_on(fresh_db, plan) as eng:
        assert eng.deploy().deployed == ["fill"]
    assert ledger_rows(fresh_db) == [("a", "deployed"), ("fill", "deployed")]
    assert events(fresh_db, "fill") == ["start", "fail", "start", "deploy"]


def test_status_without_ledger_is_all_pending(fresh_db: Database, plan: PlanWriter) -> None:
    plan.add("a", *TABLE_T)
    with engine_on(fresh_db, plan) as eng:
        assert [s.state for s in eng.status()] == ["pending"]
    assert ledger_rows(fresh_db) == []
