"""007_restrictive_rls_policies: a rehearsal rolled back, hostile SQL as the app role, the API under 007,
revert, and the cost of the policies on a page of projects.

RLS tests run as the app role (house rule 9): a superuser, the owner or the service role would pass
vacuously. The rehearsal uses a superuser connection because it must become both the owner (to deploy) and
the app role (to check) inside one transaction, and the service role is a member of the owner only.
"""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from starlette.requests import Request

from orgbase.api import errors as api_errors
from orgbase.db.errors import to_domain
from orgbase.db.tenant import set_context as as_user
from orgbase.errors import PermissionDenied
from orgbase.migrate.engine import engine_for
from orgbase.migrate.plan import load_plan, render
from orgbase.rls import harness
from orgbase.rls.world import HASH, ROLES, World, build_world
from tests.fixtures.cluster import ROOT, Cluster, Database, deploy_restrictive

pytestmark = pytest.mark.db

CHANGE = "007_restrictive_rls_policies"
PLAN = load_plan(ROOT / "migrations")
TENANT_TABLES = (
    "projects",
    "databases",
    "subscriptions",
    "invoices",
    "payment_methods",
    "subscription_addons",
    "invitations",
    "audit_logs",
)
# A harmless UPDATE the app role holds the column grant for (None: it holds no UPDATE on the table).
TOUCH = {
    "projects": "status = status",
    "databases": "name = name",
    "subscriptions": "status = status",
    "invoices": None,
    "payment_methods": "brand = brand",
    "subscription_addons": "quantity = quantity",
    "invitations": None,
    "audit_logs": None,
    "organizations": "name = name",
    "organization_members": "role = role",
    "users": "first_name = first_name",
}
DELETABLE = {
    "projects",
    "databases",
    "subscriptions",
    "payment_methods",
    "subscription_addons",
    "invitations",
}
RLS_VIOLATION = "row-level security"

Conn = psycopg.Connection[Any]


# -- helpers --------------------------------------------------------------------------------------


def org_ids(conn: Conn, table: str) -> set[uuid.UUID]:
    """The organizations of the rows of ``table`` the caller sees."""
    query = sql.SQL("select distinct organization_id from platform.{}").format(sql.Identifier(table))
    return {r[0] for r in conn.execute(query)}


def count(conn: Conn, table: str) -> int:
    row = conn.execute(sql.SQL("select count(*) from platform.{}").format(sql.Identifier(table))).fetchone()
    assert row is not None
    return int(row[0])


def rowcount(conn: Conn, statement: sql.Composable) -> int:
    """Rows touched by ``statement``, which is rolled back."""
    with conn.transaction(force_rollback=True):
        return conn.execute(statement).rowcount


def refused(conn: Conn, statement: str | sql.Composable, params: Any = None, match: str | None = None) -> str:
    """The error of a statement that must fail with insufficient_privilege (42501), in a savepoint."""
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match=match) as info, conn.transaction():
        conn.execute(statement, params)  # type: ignore[arg-type]
    return str(info.value)


def restrictive_policies(conn: Conn) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "select polname from pg_policy p join pg_class c on c.oid = p.polrelid"
            " where c.relnamespace = 'platform'::regnamespace and not p.polpermissive"
            " and p.polname like '%%\\_restrictive\\_%%' order by 1"
        )
    ]


@pytest.fixture
def rls_db(restrictive_db: Database) -> Database:
    """A migrated database with 007 really deployed (its gates overridden)."""
    return restrictive_db


@pytest.fixture
def world(rls_db: Database) -> World:
    with rls_db.connect() as conn:
        return build_world(conn)


@pytest.fixture
def app_conn(rls_db: Database) -> Iterator[Conn]:
    """An app-role connection; its one transaction is rolled back after the test."""
    with rls_db.connect("app", autocommit=False) as conn:
        yield conn
        conn.rollback()


# -- (1) the rehearsal ----------------------------------------------------------------------------


def isolation_matrix(conn: Conn, w: World) -> None:
    """Every table x command x (own organization, another one, a forged one, no context), as the app role."""
    ada = w.ada
    for table in TENANT_TABLES:
        as_user(conn, ada, w.a.id)
        assert org_ids(conn, table) == {w.a.id}, table
        touch = TOUCH[table]
        if touch is not None:
            assert (
                rowcount(conn, sql.SQL(f"update platform.{{}} set {touch}").format(sql.Identifier(table)))
                == 1
            )
        if table in DELETABLE:
            assert rowcount(conn, sql.SQL("delete from platform.{}").format(sql.Identifier(table))) == 1, (
                table
            )
        for user, org in ((ada, w.b.id), (w.users["sam"], w.a.id), (None, None), (ada, None), (None, w.a.id)):
            as_user(conn, user, org)
            assert count(conn, table) == 0, (table, user, org)
            if touch is not None:
                assert (
                    rowcount(conn, sql.SQL(f"update platform.{{}} set {touch}").format(sql.Identifier(table)))
                    == 0
                )
            if table in DELETABLE:
                assert rowcount(conn, sql.SQL("delete from platform.{}").format(sql.Identifier(table))) == 0
    # Inserting into another organization, or into none, is refused by the WITH CHECK of every tenant table.
    as_user(conn, ada, w.a.id)
    refused(
        conn,
        "insert into platform.projects (organization_id, name) values (%s, 'x')",
        [w.b.id],
        RLS_VIOLATION,
    )
    conn.execute("savepoint ok")
    conn.execute("insert into platform.projects (organization_id, name) values (%s, 'mine')", [w.a.id])
    conn.execute("rollback to savepoint ok")
    refused(
        conn,
        "insert into platform.databases (organization_id, project_id, name, type, host, port,"
        " connection_string_encrypted, encryption_key_id) values (%s, %s, 'x', 'redis', 'h', 1, %s, 'k')",
        [w.b.id, w.b.project, os.urandom(40)],
        RLS_VIOLATION,
    )
    for table, columns in (
        ("subscriptions", "(organization_id)"),
        ("payment_methods", "(organization_id, provider_payment_method_id, last4, exp_month, exp_year)"),
    ):
        values = "(%s)" if table == "subscriptions" else "(%s, 'pm_x', '1111', 1, 2031)"
        refused(conn, f"insert into platform.{table} {columns} values {values}", [w.b.id], RLS_VIOLATION)
    refused(
        conn,
        "insert into platform.invitations (organization_id, email, role, token_hash, expires_at)"
        " values (%s, 'x@example.com', 'developer', %s, now() + interval '1 day')",
        [w.b.id, uuid.uuid4().hex * 2],
        RLS_VIOLATION,
    )
    refused(
        conn,
        "insert into platform.audit_logs (organization_id, action) values (%s, 'x')",
        [w.b.id],
        RLS_VIOLATION,
    )
    # Organizations, memberships, users: the user's own.
    assert org_ids(conn, "organization_members") == {w.a.id, w.c.id}
    assert {r[0] for r in conn.execute("select id from platform.organizations")} == {w.a.id, w.c.id}
    assert [r[0] for r in conn.execute("select id from platform.users")] == [ada]
    as_user(conn, ada, w.b.id)  # forged: not a member of B
    assert [r[0] for r in conn.execute("select distinct user_id from platform.organization_members")] == [ada]
    assert (
        rowcount(conn, sql.SQL("update platform.organizations set name = name where id = {}").format(w.b.id))
        == 0
    )
    as_user(conn, None, None)
    for table in ("organizations", "organization_members", "users"):
        assert count(conn, table) == 0, table


def test_rehearsal_in_one_transaction_leaves_the_database_unchanged(
    pg: Cluster, migrated_db: Database
) -> None:
    """The service role deploys as the owner and checks as the app role in one transaction (the harness of
    orgbase.rls, then the hand-written matrix), then rolls back."""
    before = migrated_db.schema_dump()
    settings = migrated_db.settings
    change = PLAN[CHANGE]
    with migrated_db.connect("service", autocommit=False) as conn:
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(settings.owner_role)))
        conn.execute(render(change.scripts["deploy"], settings.role_names()))  # type: ignore[call-overload]
        conn.execute(render(change.scripts["verify"], settings.role_names()))  # type: ignore[call-overload]
        report = harness.run(conn, settings.owner_role, settings.app_role)
        assert report.passed, harness.matrix_text(report)
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(settings.owner_role)))
        w = build_world(conn)
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(settings.app_role)))
        assert conn.execute("select current_user").fetchone() == (settings.app_role,)
        isolation_matrix(conn, w)
        conn.rollback()
        assert restrictive_policies(conn) == []
    assert migrated_db.schema_dump() == before


def test_the_service_role_may_become_the_app_role_which_is_a_member_of_nothing(migrated_db: Database) -> None:
    """Bootstrap grants the app role to the service role, so that the harness and `migrate rehearse` check
    as the app role inside the service role's transaction; the app role itself may become no one."""
    settings = migrated_db.settings
    with migrated_db.connect("service", autocommit=False) as conn:
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(settings.app_role)))
        assert conn.execute("select current_user").fetchone() == (settings.app_role,)
        conn.rollback()
        row = conn.execute(
            "select count(*) from pg_auth_members m join pg_roles r on r.oid = m.member where r.rolname = %s",
            [settings.app_role],
        ).fetchone()
        assert row == (0,)


# -- (2) hostile SQL as the app role, with 007 deployed ------------------------------------------


def test_the_same_matrix_with_007_deployed(world: World, app_conn: Conn) -> None:
    isolation_matrix(app_conn, world)


def test_each_role_reaches_what_the_matrix_allows(world: World, app_conn: Conn) -> None:
    c = app_conn
    # role: projects insert, update, delete; invoices read; payment methods update; audit read;
    # other members removed (an owner only by an owner); invitations read
    expected = {
        "owner": (1, 1, 1, 1, 1, 1, 5, 1),  # the other members of A: four roles and multi
        "admin": (1, 1, 1, 1, 0, 1, 4, 1),
        "billing_admin": (0, 0, 0, 1, 1, 0, 0, 0),
        "developer": (1, 1, 0, 0, 0, 0, 0, 0),
        "read_only": (0, 0, 0, 0, 0, 0, 0, 0),
    }
    for role, want in expected.items():
        me = world.users[role]
        as_user(c, me, world.a.id)
        with c.transaction(force_rollback=True):
            try:
                with c.transaction():
                    c.execute(
                        "insert into platform.projects (organization_id, name) values (%s, 'new')",
                        [world.a.id],
                    )
                can_insert = 1
            except psycopg.errors.InsufficientPrivilege:
                can_insert = 0
        got = (
            can_insert,
            rowcount(c, sql.SQL("update platform.projects set status = status")),
            rowcount(c, sql.SQL("delete from platform.projects")),
            count(c, "invoices"),
            rowcount(c, sql.SQL("update platform.payment_methods set brand = brand")),
            count(c, "audit_logs"),
            rowcount(c, sql.SQL("delete from platform.organization_members where user_id <> {}").format(me)),
            count(c, "invitations"),
        )
        assert got == want, role
        assert count(c, "projects") == 1  # every member reads projects
        # the matrix of SQL agrees with the API's has_permission
        for perm in ("projects.create", "billing.update", "members.grant_owner", "audit.read"):
            both = c.execute(
                "select platform.current_member_can(%s), platform.has_permission(%s, %s)",
                [perm, world.a.id, perm],
            ).fetchone()
            assert both is not None and both[0] == both[1], (role, perm)


def test_the_organization_helper_answers_as_the_boolean_one(
    world: World, rls_db: Database, app_conn: Conn
) -> None:
    """current_org_if_can(p), the tenant tables' predicate, is the context organization exactly when
    current_member_can(p) holds, else NULL: for every permission, user and context (own, forged, none), and
    for a banned user."""
    c = app_conn
    check = (
        "select count(*) filter (where platform.current_org_if_can(p.permission) is distinct from"
        " case when platform.current_member_can(p.permission) then platform.get_current_org_id() end),"
        " count(*) filter (where platform.current_org_if_can(p.permission) is not null)"
        " from platform.permissions p"
    )
    granted = 0
    for banned in (False, True):
        if banned:
            with rls_db.connect() as svc:
                svc.execute(
                    "update platform.users set banned_until = now() + interval '1 day' where id = %s",
                    [world.ada],
                )
        for user in [*world.users.values(), None]:
            for org in (world.a.id, world.b.id, world.c.id, None):
                as_user(c, user, org)
                row = c.execute(check).fetchone()
                assert row is not None and row[0] == 0, (user, org, banned)
                assert not (banned and user == world.ada and row[1]), "a banned user holds nothing"
                granted += row[1]
    assert granted > 0


def test_owner_rows_need_members_grant_owner(world: World, app_conn: Conn) -> None:
    c = app_conn
    as_user(c, world.users["admin"], world.a.id)
    # admin may not make anyone owner, nor remove an owner (demoting one is the API's check: WITH CHECK sees
    # only the new row)
    refused(
        c,
        "update platform.organization_members set role = 'owner' where user_id = %s",
        [world.users["developer"]],
        RLS_VIOLATION,
    )
    assert rowcount(c, sql.SQL("delete from platform.organization_members where role = 'owner'")) == 0
    # anyone may lock their own membership (leave, accept) but not change it, and may leave
    ro = world.users["read_only"]
    as_user(c, ro, world.a.id)
    locked = "select role from platform.organization_members where user_id = %s for update"
    assert c.execute(locked, [ro]).fetchall() == [("read_only",)]
    refused(
        c, "update platform.organization_members set role = 'admin' where user_id = %s", [ro], RLS_VIOLATION
    )
    assert (
        rowcount(
            c,
            sql.SQL("delete from platform.organization_members where user_id = {}").format(
                world.users["read_only"]
            ),
        )
        == 1
    )


def test_resetting_or_forging_the_context_does_not_escalate(world: World, rls_db: Database) -> None:
    """The organization is sealed when the context is bound (016): settings changed afterwards, by SET,
    RESET or set_config, move nothing the tenant policies let through; the app role cannot write the seal.
    """
    with rls_db.connect("app", autocommit=False) as c:
        as_user(c, world.ada, world.a.id)
        assert org_ids(c, "projects") == {world.a.id}
        c.execute("reset app.current_org_id")
        assert org_ids(c, "projects") == {world.a.id}
        c.execute("set local app.current_org_id = %s" % sql.quote(str(world.b.id)))  # noqa: UP031 - SET takes no params
        assert org_ids(c, "projects") == {world.a.id} and org_ids(c, "subscriptions") == {world.a.id}
        c.execute("select set_config('app.current_org_id', %s, true)", [str(world.b.id)])
        assert org_ids(c, "projects") == {world.a.id}
        c.execute(
            "set app.current_org_id = " + sql.quote(str(world.b.id))
        )  # session-level, on this connection only
        assert org_ids(c, "projects") == {world.a.id}
        c.execute("reset all")
        assert org_ids(c, "projects") == {world.a.id} and count(c, "organizations") == 0
        c.execute("set local row_security = off")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            count(c, "projects")
        c.rollback()
        # The seal is the owner's to write: not the app role's, directly or through the owner's helper.
        for call, args in (
            ("select orgbase_seal.seal(%s, %s, array['projects.read'], '{}')", [world.ada, world.b.id]),
            ("select platform.seal_request(%s, %s, array['projects.read'])", [world.ada, world.b.id]),
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
                c.execute(call, args)
            c.rollback()
        # A new transaction on the same connection starts with no seal, whatever the settings say.
        c.execute("select set_config('app.current_user_id', %s, true)", [str(world.ada)])
        c.execute("select set_config('app.current_org_id', %s, true)", [str(world.a.id)])
        assert count(c, "projects") == 0
        c.rollback()
        # What remains (threat model): SQL that can claim another user's id acts as that user.
        as_user(c, world.users["bob"], world.b.id)
        assert org_ids(c, "projects") == {world.b.id}
        c.rollback()


def test_the_seal_lasts_one_transaction_and_fails_closed_on_rollback(world: World, rls_db: Database) -> None:
    """A seal belongs to the transaction that bound it: gone at its end, and gone with a savepoint that made
    it (nothing rather than an older context); one bound before a savepoint survives the savepoint's rollback.
    """
    with rls_db.connect("app", autocommit=False) as c:
        as_user(c, world.ada, world.a.id)
        c.execute("savepoint before_probe")
        c.execute("rollback to savepoint before_probe")
        assert org_ids(c, "projects") == {world.a.id}
        c.execute("savepoint rebind")
        as_user(c, world.users["bob"], world.b.id)
        assert org_ids(c, "projects") == {world.b.id}
        c.execute("rollback to savepoint rebind")
        assert count(c, "projects") == 0  # fail closed: not bob's, and not ada's either
        c.commit()
        assert count(c, "projects") == 0  # the next transaction: nothing sealed
        as_user(c, world.ada, world.a.id)
        c.commit()
        assert count(c, "projects") == 0
        c.rollback()


def test_the_seal_holds_in_parallel_plans(world: World, rls_db: Database) -> None:
    """Parallel workers do not share the leader's memory: the policies' helpers are PARALLEL RESTRICTED, so
    a plan forced parallel evaluates the seal in the leader and returns what the serial plan returns."""
    with rls_db.connect("app", autocommit=False) as c:
        as_user(c, world.ada, world.a.id)
        serial = org_ids(c, "projects"), count(c, "audit_logs")
        for setting in (
            "debug_parallel_query = on" if c.info.server_version >= 160000 else "force_parallel_mode = on",
            "parallel_setup_cost = 0",
            "parallel_tuple_cost = 0",
            "min_parallel_table_scan_size = 0",
            "enable_indexscan = off",
            "enable_indexonlyscan = off",
            "enable_bitmapscan = off",
        ):
            c.execute(f"set local {setting}")
        plan = "\n".join(r[0] for r in c.execute("explain select count(*) from platform.audit_logs"))
        assert "Parallel Seq Scan" in plan
        assert (org_ids(c, "projects"), count(c, "audit_logs")) == serial
        assert serial[0] == {world.a.id} and serial[1] > 0
        c.rollback()


def test_no_privilege_and_no_policy_opening_sessions_or_attempts(world: World, app_conn: Conn) -> None:
    as_user(app_conn, world.ada, world.a.id)
    for table in ("user_sessions", "sign_in_attempts"):
        refused(app_conn, f"select * from platform.{table}", match="permission denied")
    refused(
        app_conn, "insert into platform.organizations (name, slug) values ('x', 'x-new')", match=RLS_VIOLATION
    )
    refused(
        app_conn,
        "insert into platform.users (email, password_hash) values ('x@example.com', %s)",
        [HASH],
        RLS_VIOLATION,
    )
    refused(app_conn, "update platform.projects set organization_id = %s", [world.b.id], "permission denied")
    for catalog in ("billing_plans", "addons_catalog", "member_roles", "permissions", "role_permissions"):
        assert count(app_conn, catalog) > 0
        refused(app_conn, f"delete from platform.{catalog}", match="permission denied")
    assert count(app_conn, "audit_logs") == 1
    refused(app_conn, "update platform.audit_logs set action = 'x'", match="permission denied")


def test_audit_inserts_platform_events_and_the_users_own_organizations(world: World, app_conn: Conn) -> None:
    insert = "insert into platform.audit_logs (organization_id, action) values (%s, 'test.event')"
    as_user(app_conn, None, None)  # sign-up, failed sign-in: no user yet
    app_conn.execute(insert, [None])
    refused(app_conn, insert, [world.a.id], RLS_VIOLATION)
    as_user(app_conn, world.ada, world.a.id)
    app_conn.execute(insert, [world.c.id])  # another organization of hers (set-active-org, accept)
    refused(app_conn, insert, [world.b.id], RLS_VIOLATION)


def test_a_refusal_reaches_the_api_without_naming_policies(
    world: World, app_conn: Conn, caplog: pytest.LogCaptureFixture
) -> None:
    as_user(app_conn, world.ada, world.a.id)
    insert = "insert into platform.audit_logs (organization_id, action) values (%s, 'test.event')"
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as info, app_conn.transaction():
        app_conn.execute(insert, [world.b.id])
    assert "audit_logs_restrictive_insert" in str(info.value)  # what PostgreSQL says, for the log
    domain = to_domain(info.value)
    assert isinstance(domain, PermissionDenied) and "audit_logs" not in str(domain), domain
    # The API answers with the generic title and logs PostgreSQL's words (a probe, or a bug of ours).
    request = Request({"type": "http", "method": "POST", "path": "/x", "headers": [], "state": {}})
    request.state.request_id = "req-42501"
    with caplog.at_level(logging.WARNING, logger=api_errors.log.name):
        answer = asyncio.run(api_errors._database(request, info.value))
    assert answer.status_code == 403 and b"audit_logs" not in answer.body
    assert "req-42501" in caplog.text and "audit_logs_restrictive_insert" in caplog.text


def test_unique_keys_are_per_organization(world: World, app_conn: Conn, rls_db: Database) -> None:
    as_user(app_conn, world.ada, world.a.id)
    with app_conn.transaction(force_rollback=True):  # B has a project of this name too: no collision
        app_conn.execute("delete from platform.projects")
        app_conn.execute(
            "insert into platform.projects (organization_id, name) values (%s, 'shared name')", [world.a.id]
        )
    with pytest.raises(psycopg.errors.UniqueViolation), app_conn.transaction():  # slugs are public: expected
        app_conn.execute("select platform.create_organization('x', %s, null)", [world.b.slug])
    with rls_db.connect() as conn:
        global_keys = conn.execute(
            """select c.relname || '.' || i.relname
                 from pg_index x join pg_class i on i.oid = x.indexrelid join pg_class c on c.oid = x.indrelid
                where c.relnamespace = 'platform'::regnamespace and x.indisunique
                  and pg_get_indexdef(x.indexrelid, 1, true) <> 'organization_id'
                  and not exists (select 1 from pg_attribute a
                                   where a.attrelid = c.oid and a.attname = 'organization_id'
                                    and a.attnum = any (x.indkey::int2[]))
                order by 1"""
        ).fetchall()
    public_or_random = {
        "organizations.organizations_slug_key",  # public identifier
        "users.users_email_lower_key",  # public identifier
        "projects.projects_ref_key",  # random, made by the server
        "invitations.invitations_token_hash_key",  # hash of a random token, unreadable by the app role
        "user_sessions.user_sessions_token_hash_key",  # no app-role access
        "user_sessions.user_sessions_pkey",
        "sign_in_attempts.sign_in_attempts_pkey",
        "billing_plans.billing_plans_pkey",  # catalogs
        "addons_catalog.addons_catalog_pkey",
        "member_roles.member_roles_pkey",
        "permissions.permissions_pkey",
        "role_permissions.role_permissions_pkey",
        "users.users_pkey",
        "organizations.organizations_pkey",
    }
    # Primary keys of tenant tables are random uuids (reported: the app role may choose them on INSERT).
    tenant_pkeys = {f"{t}.{t}_pkey" for t in TENANT_TABLES}
    assert {r[0] for r in global_keys} - public_or_random - tenant_pkeys == set()


def test_views_and_functions_reveal_nothing_of_another_organization(world: World, app_conn: Conn) -> None:
    c = app_conn
    as_user(c, world.ada, world.a.id)
    assert [r[0] for r in c.execute("select organization_id from platform.databases_safe")] == [world.a.id]
    assert c.execute("select * from platform.get_project_databases(%s)", [world.b.project]).fetchall() == []
    assert (
        c.execute("select * from platform.get_database_credentials(%s)", [world.b.database]).fetchall() == []
    )
    assert (
        len(c.execute("select * from platform.get_database_credentials(%s)", [world.a.database]).fetchall())
        == 1
    )
    with pytest.raises(psycopg.Error) as info, c.transaction():
        c.execute("select * from platform.list_members(%s)", [world.b.id])
    assert info.value.sqlstate == "OB404"
    assert (
        len(c.execute("select * from platform.list_members(%s)", [world.a.id]).fetchall()) == len(ROLES) + 1
    )
    for statement, args in (
        ("select platform.set_user_active_org(%s, %s)", [world.users["bob"], world.a.id]),
        ("select platform.set_user_active_org(null, %s)", [world.b.id]),
        ("select * from platform.get_user_active_org(%s)", [world.users["bob"]]),
    ):
        refused(c, statement, args)
    # a forged organization in the context changes nothing for the functions either
    as_user(c, world.ada, world.b.id)
    assert (
        c.execute("select * from platform.get_database_credentials(%s)", [world.b.database]).fetchall() == []
    )
    assert c.execute("select count(*) from platform.databases_safe").fetchone() == (0,)


# -- (3) the API under 007: every API test runs with 007 too (the ``api`` fixture, tests/fixtures/api.py) ----


# -- (4) revert -----------------------------------------------------------------------------------


def test_revert_restores_the_schema_exactly(migrated_db: Database) -> None:
    before = migrated_db.schema_dump()
    with migrated_db.connect() as conn:
        deploy_restrictive(conn, migrated_db)
        assert len(restrictive_policies(conn)) >= 72
        assert migrated_db.schema_dump() != before
        eng = engine_for(conn, migrated_db.settings, say=lambda _: None)
        assert not [o for o in eng.verify() if o.error]
        eng.revert(CHANGE)
        assert restrictive_policies(conn) == []
    assert migrated_db.schema_dump() == before


def test_verify_fails_when_any_object_of_007_is_missing(rls_db: Database) -> None:
    settings = rls_db.settings
    verify = render(PLAN[CHANGE].scripts["verify"], settings.role_names())
    with rls_db.connect() as conn:
        objects = [
            f"drop policy {r[0]} on platform.{r[1]}"
            for r in conn.execute(
                "select polname, c.relname from pg_policy p join pg_class c on c.oid = p.polrelid"
                " where c.relnamespace = 'platform'::regnamespace and not p.polpermissive"
            )
        ]
        objects += [
            "drop function platform.current_user_org_ids() cascade",
            "drop function platform.current_member_can(text) cascade",
            "drop function platform.current_org_if_can(text) cascade",
            "grant execute on function platform.current_member_can(text) to public",
            "grant execute on function platform.current_org_if_can(text) to public",
            "alter function platform.current_user_org_ids() security invoker",
            "alter function platform.current_user_org_ids() volatile",
            "alter function platform.current_user_org_ids() reset search_path",
            # 016's sealed helpers must stay inlinable (no definer, no SET) over the seal
            "alter function platform.current_org_if_can(text) security definer",
            "alter function platform.current_member_can(text) set search_path = pg_catalog",
            "create or replace function platform.current_org_if_can(p_permission text) returns uuid"
            " language sql stable parallel restricted as 'select platform.get_current_org_id()'",
            # a policy of the wrong shape: a per-row subquery
            "drop policy projects_restrictive_select on platform.projects;"
            " create policy projects_restrictive_select on platform.projects as restrictive for select"
            " using (organization_id in (select organization_id from platform.organization_members))",
            # a policy that lets another organization through
            "drop policy projects_restrictive_select on platform.projects;"
            " create policy projects_restrictive_select on platform.projects as restrictive for select"
            " using (true)",
        ]
        missed = []
        for removal in objects:
            with conn.transaction(force_rollback=True):
                conn.execute(sql.SQL("set local role {}").format(sql.Identifier(settings.owner_role)))
                conn.execute(removal)  # type: ignore[call-overload]
                try:
                    with conn.transaction():
                        conn.execute(verify)  # type: ignore[call-overload]
                    missed.append(removal)
                except psycopg.Error:
                    pass
    assert missed == []


# -- the cost -------------------------------------------------------------------------------------


def _explain(conn: Conn, query: str, params: list[Any]) -> tuple[float, dict[str, Any]]:
    """Planning plus execution time in ms, and the plan, of ``query``."""
    row = conn.execute("explain (analyze, format json) " + query, params).fetchone()
    assert row is not None
    plan: dict[str, Any] = row[0][0]
    return float(plan["Execution Time"]) + float(plan["Planning Time"]), plan["Plan"]


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


@pytest.mark.slow
def test_cost_of_the_policies_on_a_page_of_projects(rls_db: Database) -> None:
    with rls_db.connect() as conn:
        w = build_world(conn)
        orgs = [uuid.uuid4() for _ in range(100)]
        conn.execute(
            "insert into platform.organizations (id, name, slug)"
            " select id, 'bench', 'bench-' || substr(id::text, 1, 18)"
            " from unnest(%s::uuid[]) as id",
            [orgs],
        )
        conn.execute(
            "insert into platform.organization_members (organization_id, user_id, role)"
            " select id, %s, 'read_only' from unnest(%s::uuid[]) as id",
            [w.ada, orgs],
        )
        conn.execute(
            "insert into platform.projects (organization_id, name)"
            " select (%s::uuid[])[1 + i %% 100], 'project ' || i from generate_series(1, 10000) as i",
            [orgs],
        )
        conn.execute(
            "analyze platform.projects; analyze platform.organization_members; analyze platform.users"
        )
    page = (
        "select id, organization_id, ref, name, status, created_at, updated_at from platform.projects"
        " where organization_id = %s order by name, id limit 50"
    )
    target = orgs[7]
    timings: dict[str, list[float]] = {"app (RLS)": [], "service (BYPASSRLS)": []}
    plans: dict[str, dict[str, Any]] = {}
    with rls_db.connect("app", autocommit=False) as app, rls_db.connect("service", autocommit=False) as svc:
        for _ in range(30):
            for name, conn in (("app (RLS)", app), ("service (BYPASSRLS)", svc)):
                as_user(conn, w.ada, target)
                ms, plan = _explain(conn, page, [target])
                timings[name].append(ms)
                plans[name] = plan
                conn.rollback()
        as_user(app, w.ada, target)
        text = "\n".join(r[0] for r in app.execute("explain (analyze, costs off) " + page, [target]))
        app.rollback()
    medians = {k: statistics.median(v) for k, v in timings.items()}
    print("\n007 cost, 50 of 10,000 projects over 100 organizations (median of 30, planning + execution):")
    for k, v in medians.items():
        print(f"  {k}: {v:.3f} ms")
    print(f"  ratio: {medians['app (RLS)'] / medians['service (BYPASSRLS)']:.2f}x")
    print(text)
    # an index that leads with organization_id serves the page (which one is the planner's choice)
    assert "Index Cond: (organization_id = " in text and "Seq Scan" not in text
    # the helper is one InitPlan, run once for the statement, never per row; and nothing is checked per row:
    # the equality of the helper's organization and the query's is a one-time filter
    nodes = list(_nodes(plans["app (RLS)"]))
    init_plans = [n for n in nodes if n.get("Parent Relationship") == "InitPlan"]
    assert len(init_plans) == 1 and init_plans[0]["Actual Loops"] == 1
    assert [n["One-Time Filter"] for n in nodes if "One-Time Filter" in n]
    assert not [n for n in nodes if "Relation Name" in n and "Filter" in n]
