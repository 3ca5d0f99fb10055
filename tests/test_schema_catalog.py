"""Catalog checks on the migrated schema: roles (WS3), grants, definer functions, views, RLS switches."""

from __future__ import annotations

import pytest

from tests.fixtures.cluster import Database

pytestmark = pytest.mark.db


def rows(db: Database, query: str, *params: object) -> list[tuple[object, ...]]:
    with db.connect("superuser") as conn:
        return conn.execute(query, params).fetchall()  # type: ignore[arg-type]


def test_app_role_is_plain(migrated_db: Database) -> None:
    app = migrated_db.settings.app_role
    assert rows(
        migrated_db,
        "select rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolinherit "
        "from pg_roles where rolname = %s",
        app,
    ) == [(False, False, False, False, False)]
    assert rows(
        migrated_db,
        "select count(*) from pg_auth_members m join pg_roles r on r.oid = m.member where r.rolname = %s",
        app,
    ) == [(0,)]


def test_app_role_owns_nothing(migrated_db: Database) -> None:
    owned = rows(
        migrated_db,
        """
        with app as (select oid from pg_roles where rolname = %s)
        select 'class', relname::text from pg_class, app where relowner = app.oid
        union all select 'routine', proname::text from pg_proc, app where proowner = app.oid
        union all select 'schema', nspname::text from pg_namespace, app where nspowner = app.oid
        union all select 'type', typname::text from pg_type, app where typowner = app.oid
        union all select 'database', datname::text from pg_database, app where datdba = app.oid
    """,
        migrated_db.settings.app_role,
    )
    assert owned == []


def test_service_and_owner_bypass_rls(migrated_db: Database) -> None:
    s = migrated_db.settings
    found = dict(
        rows(
            migrated_db,
            "select rolname, rolbypassrls from pg_roles where rolname in (%s, %s)",
            s.owner_role,
            s.service_role,
        )
    )
    assert found == {s.owner_role: True, s.service_role: True}


def test_every_object_in_platform_is_owned_by_the_owner(migrated_db: Database) -> None:
    assert (
        rows(
            migrated_db,
            """
        select c.relname::text, pg_get_userbyid(c.relowner)::text from pg_class c
          join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = 'platform' and pg_get_userbyid(c.relowner) <> %s
        union all
        select p.proname::text, pg_get_userbyid(p.proowner)::text from pg_proc p
          join pg_namespace n on n.oid = p.pronamespace
         where n.nspname = 'platform' and pg_get_userbyid(p.proowner) <> %s
    """,
            migrated_db.settings.owner_role,
            migrated_db.settings.owner_role,
        )
        == []
    )


def test_nothing_is_granted_to_public(migrated_db: Database) -> None:
    leaks = rows(
        migrated_db,
        """
        select 'relation ' || c.oid::regclass from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname in ('platform', 'ledger')
           and exists (select 1 from aclexplode(c.relacl) a where a.grantee = 0)
        union all
        -- a NULL proacl means the default: EXECUTE for PUBLIC
        select 'routine ' || p.oid::regprocedure from pg_proc p join pg_namespace n on n.oid = p.pronamespace
         where n.nspname in ('platform', 'ledger')
           and (p.proacl is null or exists (select 1 from aclexplode(p.proacl) a where a.grantee = 0))
        union all
        select 'schema ' || n.nspname from pg_namespace n
         where n.nspname in ('platform', 'ledger', 'public')
           and exists (select 1 from aclexplode(n.nspacl) a where a.grantee = 0)
        union all
        select 'database ' || d.datname from pg_database d
         where d.datname = current_database()
           and exists (select 1 from aclexplode(d.datacl) a where a.grantee = 0)
    """,
    )
    assert leaks == []


def test_security_definer_functions_are_pinned_and_owned_by_a_bypassing_role(migrated_db: Database) -> None:
    definers = rows(
        migrated_db,
        """
        select p.oid::regprocedure::text,
               exists (select 1 from unnest(p.proconfig) c where c like 'search_path=%%'),
               r.rolbypassrls
          from pg_proc p join pg_namespace n on n.oid = p.pronamespace join pg_roles r on r.oid = p.proowner
         where p.prosecdef and n.nspname not in ('pg_catalog', 'information_schema')
           -- an extension's own functions are not ours (dblink's definers run for superusers only: below)
           and not exists (select 1 from pg_depend d
                            where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
    """,
    )
    assert [d for d in definers if not d[1]] == [], "SECURITY DEFINER without search_path"
    assert [d for d in definers if not d[2]] == [], "definer owned by a role without BYPASSRLS sees nothing"


def test_dblink_is_the_owners_alone_and_only_what_shadow_mode_needs(migrated_db: Database) -> None:
    """dblink opens connections from inside the server: no one but the owner may, and only these four."""
    grants = rows(
        migrated_db,
        """
        select p.oid::regprocedure::text, r.rolname
          from pg_proc p cross join aclexplode(p.proacl) a join pg_roles r on r.oid = a.grantee
         where p.pronamespace = 'dblink'::regnamespace and a.grantee <> p.proowner
         order by 1, 2
        """,
    )
    owner = migrated_db.settings.owner_role
    assert grants == [
        ("dblink.dblink_connect(text,text)", owner),
        ("dblink.dblink_disconnect(text)", owner),
        ("dblink.dblink_exec(text,text)", owner),
        ("dblink.dblink_get_connections()", owner),
    ]
    public = rows(
        migrated_db,
        "select count(*) from pg_proc p where p.pronamespace = 'dblink'::regnamespace and p.proacl is null",
    )
    assert public == [(0,)], "a dblink function with default privileges is executable by PUBLIC"


def test_views_the_app_can_read_are_security_invoker(migrated_db: Database) -> None:
    assert (
        rows(
            migrated_db,
            """
        select c.oid::regclass::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where c.relkind = 'v' and n.nspname = 'platform'
           and has_table_privilege(%s, c.oid, 'SELECT')
           and not coalesce(c.reloptions @> array['security_invoker=true'], false)
    """,
            migrated_db.settings.app_role,
        )
        == []
    )


def test_rls_is_enabled_and_forced_on_every_platform_table(migrated_db: Database) -> None:
    tables = rows(
        migrated_db,
        """
        select c.relname::text, c.relrowsecurity, c.relforcerowsecurity from pg_class c
          join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'platform' and c.relkind = 'r'
    """,
    )
    assert tables, "no platform tables"
    assert [t for t in tables if not (t[1] and t[2])] == []


def test_app_role_cannot_reach_secrets_sessions_or_the_ledger(migrated_db: Database) -> None:
    app = migrated_db.settings.app_role
    privileges = """
        select has_table_privilege(%(app)s, 'platform.user_sessions', 'SELECT'),
               has_column_privilege(%(app)s, 'platform.databases', 'connection_string_encrypted', 'SELECT'),
               has_table_privilege(%(app)s, 'ledger.changes', 'SELECT'),
               has_table_privilege(%(app)s, 'ledger.events', 'SELECT'),
               has_function_privilege(%(app)s, 'ledger.summary()', 'EXECUTE')
    """
    with migrated_db.connect("superuser") as conn:
        found = conn.execute(privileges, {"app": app}).fetchone()
    # Only the readiness summary (ids, checksums, states) is open to the app role.
    assert found == (False, False, False, False, True)
