"""The RLS harness (WS4): rehearsal of 007 on one connection, the recorded runs, the schema fingerprint and
the gate that reads them, the CLI, and a property-based run of random worlds."""

from __future__ import annotations

import dataclasses
import shutil
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from psycopg import sql

from orgbase.db.tenant import set_context
from orgbase.migrate.engine import engine_for
from orgbase.migrate.plan import Change, load_plan
from orgbase.rls import harness, rules, runs
from orgbase.rls.world import HASH
from tests.fixtures.cluster import ROOT, Cluster, Database, new_database, orgbase_cli

pytestmark = pytest.mark.db

CHANGE = runs.RLS_CHANGE
PLAN = load_plan(ROOT / "migrations")
WEAK_SELECT = (
    "CREATE POLICY projects_restrictive_select ON platform.projects AS RESTRICTIVE FOR SELECT TO PUBLIC\n"
    "    USING (organization_id = (SELECT platform.current_org_if_can('projects.read')));"
)


def weakened(change: Change) -> Change:
    """007 with the SELECT policy of projects opened to every row."""
    deploy = change.scripts["deploy"]
    assert WEAK_SELECT in deploy
    opened = WEAK_SELECT.split("\n")[0] + "\n    USING (true);"
    return dataclasses.replace(
        change, scripts={**change.scripts, "deploy": deploy.replace(WEAK_SELECT, opened)}
    )


def ws4(db: Database) -> tuple[bool, str]:
    with db.connect() as conn:
        (status,) = [s for s in engine_for(conn, db.settings, say=lambda _: None).status() if s.id == CHANGE]
    (gate,) = [g for g in status.gates if g.name == "ws4_rls_harness"]
    return gate.ok, gate.evidence


def recorded(db: Database) -> list[tuple[Any, ...]]:
    with db.connect() as conn:
        return conn.execute(
            "select kind, passed, checks, mismatches, fingerprint, summary ->> 'change'"
            " from evidence.rls_runs order by id"
        ).fetchall()


def test_rehearsal_passes_leaves_the_schema_records_and_ws4_holds(migrated_db: Database) -> None:
    assert ws4(migrated_db) == (
        False,
        "no evidence recorded yet: no harness run; run `orgbase rls test` (it rehearses 007)",
    )
    before = migrated_db.schema_dump()
    with migrated_db.connect() as conn:
        run = runs.rehearse(conn, migrated_db.settings, PLAN[CHANGE])
        assert run.report.passed, harness.matrix_text(run.report)
        assert len(run.report.checks) > 2000
        assert set(run.report.tables) >= {"projects", "organizations", "audit_logs", "user_sessions"}
        assert run.fingerprint == runs.schema_fingerprint(conn, migrated_db.settings)
        assert run.extra["rehearsed_fingerprint"] != run.fingerprint
        runs.record(conn, run)
        restrictive = "select count(*) from pg_policy where polname like '%\\_restrictive\\_%'"
        assert conn.execute(restrictive).fetchone() == (0,)
    assert migrated_db.schema_dump() == before
    [(kind, passed, checks, mismatches, _, change)] = recorded(migrated_db)
    assert (kind, passed, checks, mismatches, change) == (
        "rehearsal",
        True,
        len(run.report.checks),
        0,
        CHANGE,
    )
    ok, evidence = ws4(migrated_db)
    assert ok, evidence
    assert f"{len(run.report.checks)} checks" in evidence and run.fingerprint[:12] in evidence
    # a grant changed afterwards: the schema is no longer the one the run judged
    with migrated_db.connect("superuser") as conn:
        conn.execute(
            sql.SQL("grant update (organization_id) on platform.projects to {}").format(
                sql.Identifier(migrated_db.settings.app_role)
            )
        )
    ok, evidence = ws4(migrated_db)
    assert not ok and "the schema changed since the newest run" in evidence


def test_the_fingerprint_is_stable_across_databases_and_follows_policies_and_grants(
    pg: Cluster, migrated_db: Database
) -> None:
    other = new_database(pg, prefix="fp")
    try:
        with other.connect() as conn:
            engine_for(conn, other.settings, say=lambda _: None).deploy()
            theirs = runs.schema_fingerprint(conn, other.settings)
    finally:
        from orgbase.db.bootstrap import drop_database

        drop_database(pg.url("superuser", "postgres"), other.name)
    with migrated_db.connect("superuser", autocommit=False) as conn:
        ours = runs.schema_fingerprint(conn, migrated_db.settings)
        assert ours == theirs and len(ours) == 64
        app = sql.Identifier(migrated_db.settings.app_role)
        for change in (
            "drop policy projects_permissive_all on platform.projects",
            "alter policy projects_permissive_all on platform.projects using (organization_id is not null)",
            sql.SQL("revoke delete on platform.projects from {}").format(app),
            sql.SQL("grant select on platform.user_sessions to {}").format(app),
            "alter function platform.get_current_org_id() security definer",
        ):
            with conn.transaction(force_rollback=True):
                conn.execute(change)  # type: ignore[arg-type]
                assert runs.schema_fingerprint(conn, migrated_db.settings) != ours, change
        # data, the ledger and the evidence are not part of it
        conn.execute("insert into platform.organizations (name, slug) values ('x', 'fp-data')")
        conn.execute("delete from ledger.events")
        assert runs.schema_fingerprint(conn, migrated_db.settings) == ours
        conn.rollback()


def test_a_weakened_policy_is_a_mismatch_and_ws4_does_not_hold(migrated_db: Database) -> None:
    with migrated_db.connect() as conn:
        run = runs.rehearse(conn, migrated_db.settings, weakened(PLAN[CHANGE]))
        runs.record(conn, run)
    assert not run.report.passed
    leaks = {(c.table, c.command) for c in run.report.mismatches}
    assert leaks == {("projects", "SELECT")}
    assert all(c.observed and not c.expected for c in run.report.mismatches)
    text = harness.matrix_text(run.report)
    assert "MISMATCH SELECT on projects as" in text and " A " in text
    ok, evidence = ws4(migrated_db)
    assert not ok and evidence.startswith("the newest run failed")


def test_the_harness_against_007_deployed(migrated_db: Database) -> None:
    overrides = {g: "test" for g in PLAN[CHANGE].gates}
    with migrated_db.connect() as conn:
        engine_for(conn, migrated_db.settings, say=lambda _: None).deploy(to=CHANGE, overrides=overrides)
        assert runs.deployed(conn, CHANGE)
        run = runs.test_live(conn, migrated_db.settings)
        assert run.report.passed, harness.matrix_text(run.report)
        assert conn.execute("select count(*) from platform.organizations").fetchone() == (1,)  # lancio's


def test_cli_rls_test_rehearses_and_migrate_rehearse(migrated_db: Database) -> None:
    before = migrated_db.schema_dump()
    env = migrated_db.env()
    tested = orgbase_cli("rls", "test", env=env)
    assert tested.returncode == 0, tested.stderr
    assert "is not deployed: rehearsing it" in tested.stderr and "rehearsal passed" in tested.stderr
    assert "SELECT" in tested.stdout and ", 0 mismatch(es)" in tested.stdout
    rehearsed = orgbase_cli("migrate", "rehearse", CHANGE, env=env)
    assert rehearsed.returncode == 0, rehearsed.stderr
    assert migrated_db.schema_dump() == before
    assert [r[:2] for r in recorded(migrated_db)] == [("rehearsal", True), ("rehearsal", True)]
    status = orgbase_cli("migrate", "status", "--format", "json", env=env, check=True)
    assert "passed against the current schema" in status.stdout


def test_cli_rehearse_of_a_weakened_copy_exits_non_zero(migrated_db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    shutil.copytree(ROOT / "migrations", folder)
    deploy = folder / CHANGE / "deploy.sql"
    deploy.write_text(weakened(PLAN[CHANGE]).scripts["deploy"])
    proc = orgbase_cli("migrate", "rehearse", CHANGE, env=migrated_db.env(ORGBASE_MIGRATIONS_DIR=str(folder)))
    assert proc.returncode == 1, proc.stderr
    assert "MISMATCH SELECT on projects" in proc.stdout and "rehearsal FAILED" in proc.stderr
    assert [r[:2] for r in recorded(migrated_db)] == [("rehearsal", False)]


def test_a_table_without_a_rule_and_006_alone_are_mismatches(migrated_db: Database) -> None:
    """Without 007 (006's permissive policies only) the harness sees leaks; a new table needs a rule."""
    settings = migrated_db.settings
    with migrated_db.connect("service", autocommit=False) as conn:
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(settings.owner_role)))
        conn.execute("create table platform.zz_new (id int)")
        report = harness.run(conn, settings.owner_role, settings.app_role)
        conn.rollback()
    described = [harness.describe(c) for c in report.mismatches]
    assert "* on zz_new as */*: error no rule for this table" in described
    assert "SELECT on projects as owner/other: expected denied, observed allowed" in described


def test_the_cli_refuses_to_run_what_it_cannot_record(migrated_db: Database) -> None:
    env = migrated_db.env()
    orgbase_cli("migrate", "revert", "012_rls_evidence", env=env, check=True)
    proc = orgbase_cli("rls", "test", env=env)
    assert proc.returncode == 1 and "deploy 012_rls_evidence first" in proc.stderr


def test_012_verify_refuses_app_access_to_the_evidence(migrated_db: Database) -> None:
    from orgbase.migrate.plan import render

    verify = render(PLAN["012_rls_evidence"].scripts["verify"], migrated_db.settings.role_names())
    app = sql.Identifier(migrated_db.settings.app_role)
    with migrated_db.connect("superuser") as conn:
        for breakage in (
            sql.SQL("grant usage on schema evidence to {}").format(app),
            sql.SQL("alter table evidence.rls_runs drop constraint rls_runs_counts"),
            sql.SQL("drop index evidence.rls_runs_started_at_idx"),
            sql.SQL("alter table evidence.rls_runs alter column summary drop not null"),
        ):
            with conn.transaction(force_rollback=True):
                conn.execute(breakage)
                with pytest.raises(psycopg.errors.RaiseException), conn.transaction():
                    conn.execute(verify.encode())
        with conn.transaction(force_rollback=True):
            conn.execute(verify.encode())


# -- property-based: random worlds, random operations ----------------------------------------------

ROLE_NAMES = ("owner", "admin", "billing_admin", "developer", "read_only")
world_strategy = st.fixed_dictionaries(
    {
        "orgs": st.integers(min_value=1, max_value=3),
        "users": st.integers(min_value=1, max_value=4),
        # (user, org) -> role; missing means not a member
        "members": st.dictionaries(
            st.tuples(st.integers(0, 3), st.integers(0, 2)), st.sampled_from(ROLE_NAMES), max_size=8
        ),
        "projects": st.lists(st.integers(0, 2), max_size=6),
        "audit": st.lists(st.integers(0, 2), max_size=4),
    }
)
operation = st.tuples(
    st.integers(0, 3),  # acting user
    st.one_of(st.none(), st.integers(0, 2)),  # context organization (None: no organization in the context)
    st.sampled_from(["projects", "organizations", "organization_members", "audit_logs", "update", "delete"]),
    st.integers(0, 2),  # organization of an INSERT
)


@pytest.fixture
def enforced_db(migrated_db: Database) -> Database:
    overrides = {g: "test: property-based run" for g in PLAN[CHANGE].gates}
    with migrated_db.connect() as conn:
        engine_for(conn, migrated_db.settings, say=lambda _: None).deploy(to=CHANGE, overrides=overrides)
    return migrated_db


@pytest.mark.slow
def test_random_worlds_see_what_the_membership_rules_say(enforced_db: Database) -> None:
    settings = enforced_db.settings
    with enforced_db.connect("service", autocommit=False) as conn:
        matrix = {r[0]: frozenset(r[1]) for r in conn.execute(_MATRIX)}
        conn.rollback()

        @hyp_settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
        @given(world=world_strategy, ops=st.lists(operation, min_size=1, max_size=12))
        def check(world: dict[str, Any], ops: list[tuple[int, int | None, str, int]]) -> None:
            try:
                _random_world_run(conn, settings, matrix, world, ops)
            finally:
                conn.rollback()

        check()


_MATRIX = "select role, array_agg(permission) from platform.role_permissions group by role"


def _random_world_run(
    conn: psycopg.Connection[Any],
    settings: Any,
    matrix: dict[str, frozenset[str]],
    world: dict[str, Any],
    ops: list[tuple[int, int | None, str, int]],
) -> None:
    """Insert the world as the owner, then each operation as the app role against the rules' prediction."""
    conn.execute(sql.SQL("set local role {}").format(sql.Identifier(settings.owner_role)))
    orgs = [uuid.uuid4() for _ in range(world["orgs"])]
    users = [uuid.uuid4() for _ in range(world["users"])]
    for o in orgs:
        conn.execute("insert into platform.organizations (id, name, slug) values (%s, 'p', %s)", [o, str(o)])
    for u in users:
        conn.execute(
            "insert into platform.users (id, email, password_hash) values (%s, %s, %s)",
            [u, f"{u}@example.com", HASH],
        )
    members: dict[uuid.UUID, dict[uuid.UUID, str]] = {u: {} for u in users}
    for (ui, oi), role in world["members"].items():
        if ui < len(users) and oi < len(orgs):
            members[users[ui]][orgs[oi]] = role
            conn.execute(
                "insert into platform.organization_members (organization_id, user_id, role)"
                " values (%s, %s, %s)",
                [orgs[oi], users[ui], role],
            )
    projects = {uuid.uuid4(): orgs[i % len(orgs)] for i in world["projects"]}
    for pid, o in projects.items():
        conn.execute(
            "insert into platform.projects (id, organization_id, name) values (%s, %s, %s)",
            [pid, o, str(pid)],
        )
    audits = {uuid.uuid4(): orgs[i % len(orgs)] for i in world["audit"]}
    for aid, o in audits.items():
        conn.execute(
            "insert into platform.audit_logs (id, organization_id, action) values (%s, %s, 'p')", [aid, o]
        )
    conn.execute(sql.SQL("set local role {}").format(sql.Identifier(settings.app_role)))
    for ui, oi, what, target in ops:
        user = users[ui % len(users)]
        org = orgs[oi % len(orgs)] if oi is not None else None
        ctx = rules.Ctx(user, org, members, matrix)
        set_context(conn, user, org)
        _one_operation(conn, ctx, what, orgs[target % len(orgs)], orgs, members, projects, audits)


def _one_operation(
    conn: psycopg.Connection[Any],
    ctx: rules.Ctx,
    what: str,
    target: uuid.UUID,
    orgs: list[uuid.UUID],
    members: dict[uuid.UUID, dict[uuid.UUID, str]],
    projects: dict[uuid.UUID, uuid.UUID],
    audits: dict[uuid.UUID, uuid.UUID],
) -> None:
    """One operation; asserts what the app role sees or changes equals what the rules predict."""
    ids = list(projects)
    if what == "projects":
        seen = {r[0] for r in conn.execute("select id from platform.projects where id = any(%s)", [ids])}
        assert seen == {
            p for p, o in projects.items() if rules.expected("projects", "SELECT", ctx, rules.Row(o))
        }
    elif what == "organizations":
        seen = {
            r[0] for r in conn.execute("select id from platform.organizations where id = any(%s)", [orgs])
        }
        assert seen == {o for o in orgs if rules.expected("organizations", "SELECT", ctx, rules.Row(o))}
    elif what == "organization_members":
        rows = conn.execute(
            "select organization_id, user_id from platform.organization_members"
            " where organization_id = any(%s)",
            [orgs],
        )
        want = {
            (o, u)
            for u, mine in members.items()
            for o, role in mine.items()
            if rules.expected("organization_members", "SELECT", ctx, rules.Row(o, u, role))
        }
        assert set(rows) == want
    elif what == "audit_logs":
        seen = {
            r[0]
            for r in conn.execute("select id from platform.audit_logs where id = any(%s)", [list(audits)])
        }
        assert seen == {
            a for a, o in audits.items() if rules.expected("audit_logs", "SELECT", ctx, rules.Row(o))
        }
    else:
        command = "UPDATE" if what == "update" else "DELETE"
        statement = (
            "update platform.projects set name = name where id = any(%s)"
            if command == "UPDATE"
            else "delete from platform.projects where id = any(%s)"
        )
        want = sum(rules.expected("projects", command, ctx, rules.Row(o)) for o in projects.values())
        with conn.transaction(force_rollback=True):
            assert conn.execute(statement, [ids]).rowcount == want
    allowed = rules.expected("projects", "INSERT", ctx, rules.Row(), rules.Row(target))
    try:
        with conn.transaction(force_rollback=True):
            conn.execute("insert into platform.projects (organization_id, name) values (%s, 'new')", [target])
        inserted = True
    except psycopg.errors.InsufficientPrivilege:
        inserted = False
    assert inserted == allowed
