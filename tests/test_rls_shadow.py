"""Shadow mode (014_rls_shadow): the app behaves as under permissive policies, and every row 007 would deny
is recorded, aggregated, and kept when the request rolls back; modes, acknowledgements and the gates.

Traffic runs as the app role (house rule 9); the service role reads what was recorded.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from orgbase.db.tenant import set_context as as_user
from orgbase.errors import Conflict, InvalidInput, NotFound
from orgbase.migrate.engine import engine_for
from orgbase.migrate.gates import default_gates
from orgbase.migrate.plan import load_plan, render
from orgbase.rls import shadow
from orgbase.rls.world import World, build_world
from tests.fixtures.cluster import ROOT, Database, orgbase_cli

pytestmark = pytest.mark.db

Conn = psycopg.Connection[Any]
PLAN = load_plan(ROOT / "migrations")
RLS = "007_restrictive_rls_policies"


def put(db: Database, mode: str, *tables: str) -> None:
    """Set ``tables`` (all when none) to ``mode`` as the CLI does."""
    with db.connect() as conn, conn.transaction():
        link = shadow.link_conninfo(db.settings) if mode == "shadow" else None
        shadow.set_mode(conn, tables=list(tables), mode=mode, actor="test", link=link)


def recorded(db: Database, *, include_acked: bool = True) -> list[shadow.Violation]:
    with db.connect() as conn:
        return shadow.violations(conn, include_acked=include_acked)


@pytest.fixture
def world(migrated_db: Database) -> World:
    with migrated_db.connect() as conn:
        return build_world(conn)


@pytest.fixture
def app(migrated_db: Database) -> Iterator[Conn]:
    with migrated_db.connect("app", autocommit=False) as conn:
        yield conn
        conn.rollback()


def projects(conn: Conn) -> set[uuid.UUID]:
    return {r[0] for r in conn.execute("select id from platform.projects")}


# -- the policies ---------------------------------------------------------------------------------


def test_each_shadow_policy_holds_its_007_twin_verbatim(migrated_db: Database) -> None:
    """The predicates are generated from 007's script; the catalog proves they are the same expressions."""
    query = (
        "select c.relname, p.polname, pg_get_expr(p.polqual, p.polrelid),"
        " pg_get_expr(p.polwithcheck, p.polrelid) from pg_policy p join pg_class c on c.oid = p.polrelid"
        " where c.relnamespace = 'platform'::regnamespace and p.polname ~ %s"
    )
    with migrated_db.connect() as conn:
        shadows = {r[1]: r for r in conn.execute(query, ["_shadow_"])}
        with conn.transaction(force_rollback=True):
            conn.execute(f'set local role "{migrated_db.settings.owner_role}"')
            conn.execute(render(PLAN[RLS].scripts["deploy"], migrated_db.settings.role_names()))
            enforced = {r[1]: r for r in conn.execute(query, ["_restrictive_"])}
            assert not [r for r in conn.execute(query, ["_shadow_"])], (
                "007 must set the shadow policies aside"
            )
    assert len(shadows) == len(enforced) == 72
    for name, (table, _, using, check) in enforced.items():
        command = name.rsplit("_", 1)[1]
        twin = shadows[f"{table}_shadow_{command}"]
        for pred, observed in ((using, twin[2]), (check, twin[3])):
            assert (pred is None) == (observed is None), name
            if pred is None:
                continue
            head = f"((NOT ( SELECT rls_shadow.watch('{table}'::text) AS watch)) OR {pred} OR "
            tail = (
                re.escape(f"rls_shadow.deny('{table}'::text, '{command}'::text, ")
                + r"(id|organization_id|NULL::uuid)\)\)"
            )
            assert observed.startswith(head), (name, observed)
            assert re.fullmatch(tail, observed[len(head) :]), (name, observed)


# -- what the app sees, and what is recorded ------------------------------------------------------


def test_permissive_mode_records_nothing_and_shadow_mode_changes_nothing(
    migrated_db: Database, world: World, app: Conn
) -> None:
    as_user(app, world.ada, world.a.id, "req-permissive")
    permissive = projects(app)
    assert len({world.a.project, world.b.project} & permissive) == 2
    app.rollback()
    assert recorded(migrated_db) == []
    put(migrated_db, "shadow")
    as_user(app, world.ada, world.a.id, "req-shadow")
    assert projects(app) == permissive  # the app behaves exactly as under permissive policies
    app.commit()
    found = [v for v in recorded(migrated_db) if v.table_name == "projects"]
    assert {(v.command, v.reason, v.user_id, v.organization_id, v.request_id) for v in found} == {
        ("select", "another organization", str(world.ada), str(world.a.id), "req-shadow")
    }
    assert found[0].row_organization_id != str(world.a.id)


def test_conforming_traffic_records_nothing_but_is_observed(
    migrated_db: Database, world: World, app: Conn
) -> None:
    put(migrated_db, "shadow")
    with migrated_db.connect() as conn:
        before = shadow.counters(conn).observed
    as_user(app, world.ada, world.a.id, "req-ok")
    app.execute("select * from platform.projects where organization_id = %s", [world.a.id]).fetchall()
    app.execute(
        "select * from platform.organization_members where organization_id = %s", [world.a.id]
    ).fetchall()
    app.commit()
    assert recorded(migrated_db) == []
    with migrated_db.connect() as conn:
        # Observed traffic is counted per bound request (016: the watched tables are sealed with the context).
        assert shadow.counters(conn).observed == before + 1


def test_a_rolled_back_request_is_still_recorded(migrated_db: Database, world: World, app: Conn) -> None:
    put(migrated_db, "shadow", "projects")
    as_user(app, world.ada, world.a.id, "req-rolled-back")
    app.execute("select count(*) from platform.projects").fetchone()
    app.rollback()
    assert [(v.table_name, v.request_id) for v in recorded(migrated_db)] == [("projects", "req-rolled-back")]


def test_a_query_without_a_user_context_is_recorded_as_such(
    migrated_db: Database, world: World, app: Conn
) -> None:
    put(migrated_db, "shadow", "organizations")
    app.execute("select count(*) from platform.organizations").fetchone()
    app.commit()
    (v,) = recorded(migrated_db)
    assert (v.table_name, v.reason, v.user_id, v.organization_id) == (
        "organizations",
        "no user context",
        None,
        None,
    )


def test_writes_007_would_refuse_go_through_and_are_recorded(
    migrated_db: Database, world: World, app: Conn
) -> None:
    put(migrated_db, "shadow", "projects")
    as_user(app, world.users["read_only"], world.a.id, "req-write")  # read_only in A
    app.execute("insert into platform.projects (organization_id, name) values (%s, 'into B')", [world.b.id])
    moved = app.execute(
        "update platform.projects set status = status where organization_id = %s", [world.a.id]
    ).rowcount
    assert moved >= 1  # permissive behaviour: the update happened
    app.commit()
    found = {(v.command, v.reason) for v in recorded(migrated_db)}
    assert ("insert", "another organization") in found
    assert ("update", "not permitted") in found


def test_a_flood_is_one_record_with_its_count(migrated_db: Database, world: World, app: Conn) -> None:
    with migrated_db.connect() as conn:
        conn.execute(
            "insert into platform.projects (organization_id, name) select %s, 'flood ' || g"
            " from generate_series(1, 3000) g",
            [world.b.id],
        )
        total = conn.execute(
            "select count(*) from platform.projects where organization_id <> %s", [world.a.id]
        )
        foreign = total.fetchone()[0]  # type: ignore[index]
    put(migrated_db, "shadow", "projects")
    as_user(app, world.ada, world.a.id, "req-flood")
    app.execute("select * from platform.projects").fetchall()
    app.execute("select 1 from platform.projects limit 1").fetchall()  # the next statement sends the rest
    app.commit()
    (v,) = recorded(migrated_db)
    assert (v.statements, v.rows) == (1, foreign)
    with migrated_db.connect() as conn:
        assert shadow.counters(conn).failures == 0


def test_the_service_role_is_never_watched(migrated_db: Database, world: World) -> None:
    """The harness and 007's verify run as the service role (which may become the app role): not traffic."""
    put(migrated_db, "shadow")
    with migrated_db.connect(autocommit=False) as conn:
        conn.execute(f'set local role "{migrated_db.settings.app_role}"')
        as_user(conn, world.ada, world.a.id)
        conn.execute("select count(*) from platform.projects").fetchone()
        conn.commit()
    assert recorded(migrated_db) == []


def test_a_broken_link_loses_records_but_never_the_request(
    migrated_db: Database, world: World, app: Conn
) -> None:
    put(migrated_db, "shadow")
    with migrated_db.connect() as conn:
        conn.execute("update rls_shadow.link set conninfo = conninfo || ' password=wrong'")
    as_user(app, world.ada, world.a.id, "req-lost")
    assert len(projects(app)) >= 2
    app.commit()
    assert recorded(migrated_db) == []
    with migrated_db.connect() as conn:
        assert shadow.counters(conn).failures >= 1
        gate = engine_for(conn, migrated_db.settings, say=lambda _: None).status()
    (rls,) = [s for s in gate if s.id == RLS]
    assert any("lost" in g.evidence for g in rls.gates if not g.ok)


# -- modes and acknowledgements -------------------------------------------------------------------


def test_modes_are_data_audited_and_validated(migrated_db: Database) -> None:
    put(migrated_db, "shadow", "projects", "databases")
    with migrated_db.connect() as conn:
        modes = {m.table_name: m.mode for m in shadow.modes(conn)}
        assert modes["projects"] == modes["databases"] == "shadow" and modes["users"] == "permissive"
        audit = conn.execute(
            "select changes from platform.audit_logs where action = 'rls.mode_changed' order by created_at"
        ).fetchall()
        assert audit[-1][0]["tables"] == ["databases", "projects"] and audit[-1][0]["mode"] == "shadow"
        with pytest.raises(InvalidInput, match="no such platform table: nope"), conn.transaction():
            shadow.set_mode(conn, tables=["nope"], mode="shadow", actor="t", link="x")
        with pytest.raises(InvalidInput, match="mode must be"), conn.transaction():
            shadow.set_mode(conn, tables=[], mode="enforce", actor="t", link=None)
        eng = engine_for(conn, migrated_db.settings, say=lambda _: None)
        assert not [o for o in eng.verify() if o.error]  # data, not DDL: no drift
        state = shadow.state(conn)
    assert state is not None and not state.enforced


def test_ack_needs_a_reason_once(migrated_db: Database, world: World, app: Conn) -> None:
    put(migrated_db, "shadow", "projects")
    as_user(app, world.ada, world.a.id, "req-ack")
    app.execute("select count(*) from platform.projects").fetchone()
    app.commit()
    (v,) = recorded(migrated_db)
    with migrated_db.connect() as conn:
        with pytest.raises(InvalidInput), conn.transaction():
            shadow.ack(conn, v.id, reason="  ", actor="t")
        with pytest.raises(NotFound), conn.transaction():
            shadow.ack(conn, 10**9, reason="x", actor="t")
        with conn.transaction():
            done = shadow.ack(conn, v.id, reason="the test reads across organizations", actor="t")
        assert done.acked_by == "t"
        with pytest.raises(Conflict), conn.transaction():
            shadow.ack(conn, v.id, reason="again", actor="t")
        assert shadow.violations(conn) == [] and len(shadow.violations(conn, include_acked=True)) == 1


# -- the gates ------------------------------------------------------------------------------------


def gates(db: Database, window: int) -> dict[str, tuple[bool, str]]:
    """WS1 and the shadow window as 007's deploy would judge them."""
    with db.connect() as conn:
        eng = engine_for(conn, db.settings.model_copy(update={"rls_shadow_window_seconds": window}))
        (rls,) = [s for s in eng.status() if s.id == RLS]
    return {
        g.name: (g.ok, g.evidence) for g in rls.gates if g.name in ("ws1_request_context", "shadow_window")
    }


def test_ws1_and_the_window_from_evidence(migrated_db: Database, world: World, app: Conn) -> None:
    assert set(default_gates()) >= {"ws1_request_context", "shadow_window"}
    red = gates(migrated_db, 1)
    assert not red["ws1_request_context"][0] and "shadow mode is off" in red["ws1_request_context"][1]
    put(migrated_db, "shadow")
    assert "no API traffic" in gates(migrated_db, 1)["ws1_request_context"][1]
    as_user(app, world.ada, world.a.id, "req-gate")
    app.execute("select * from platform.projects where organization_id = %s", [world.a.id]).fetchall()
    app.commit()
    assert not gates(migrated_db, 3600)["shadow_window"][0]  # not a whole window yet
    time.sleep(1.2)
    green = gates(migrated_db, 1)
    assert green == {k: (True, green[k][1]) for k in green}, green
    # A query without a user context turns WS1 red, acknowledged or not; the window only while unacknowledged.
    app.execute("select count(*) from platform.projects").fetchone()
    app.commit()
    red = gates(migrated_db, 60)
    assert not red["ws1_request_context"][0] and "without a user context" in red["ws1_request_context"][1]
    assert not red["shadow_window"][0] and "unacknowledged" in red["shadow_window"][1]
    with migrated_db.connect() as conn, conn.transaction():
        for v in shadow.violations(conn):
            shadow.ack(conn, v.id, reason="test", actor="t")
    assert "unacknowledged" not in gates(migrated_db, 60)["shadow_window"][1]
    assert not gates(migrated_db, 60)["ws1_request_context"][0]


# -- the commands ---------------------------------------------------------------------------------


def test_the_commands(migrated_db: Database, world: World, app: Conn) -> None:
    env = migrated_db.env()
    bad = orgbase_cli("rls", "mode", "nope", "shadow", env=env)
    assert bad.returncode != 0 and "no such platform table: nope" in bad.stderr, bad.stderr
    assert orgbase_cli("rls", "mode", "projects", "enforce", env=env).returncode != 0
    shown = orgbase_cli("rls", "mode", "projects", "shadow", env=env, check=True).stdout
    assert re.search(r"^projects\s+shadow\s", shown, re.M) and re.search(
        r"^users\s+permissive\s", shown, re.M
    )
    as_user(app, world.ada, world.a.id, "req-cli")
    app.execute("select count(*) from platform.projects").fetchone()
    app.commit()
    text = orgbase_cli("rls", "violations", env=env, check=True).stdout
    assert "By table:" in text and "By request:" in text and "req-cli" in text, text
    (v,) = json.loads(orgbase_cli("rls", "violations", "--format", "json", env=env, check=True).stdout)[
        "violations"
    ]
    assert orgbase_cli("rls", "violations", "ack", str(v["id"]), env=env).returncode == 2  # --reason missing
    orgbase_cli(
        "rls", "violations", "ack", str(v["id"]), "--reason", "expected in this test", env=env, check=True
    )
    again = orgbase_cli("rls", "violations", "ack", str(v["id"]), "--reason", "again", env=env)
    assert again.returncode != 0 and "already" in again.stderr
    assert (
        json.loads(orgbase_cli("rls", "violations", "--format", "json", env=env).stdout)["violations"] == []
    )
    everything = json.loads(orgbase_cli("rls", "violations", "--all", "--format", "json", env=env).stdout)
    assert everything["violations"][0]["ack_reason"] == "expected in this test"
    status = orgbase_cli("migrate", "status", env=env, check=True).stdout
    assert "RLS: permissive; shadow mode on 1 of 18 table(s)" in status, status
