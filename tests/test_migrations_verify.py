"""Every verify script notices every object its change creates: drop one, verify must fail.

For each change of orgbase's plan, the objects it adds (tables, columns, views, indexes, functions,
triggers, policies, constraints, RLS switches) are found by diffing the catalog around its deploy. Each is
then removed in a transaction that is rolled back, and the change's verify script must raise. ``adopt``
trusts verify scripts, so one that passes with an object missing would adopt a broken database.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg import sql

from orgbase.migrate.engine import engine_for
from orgbase.migrate.plan import load_plan, render
from tests.fixtures.cluster import ROOT, Database

pytestmark = [pytest.mark.db, pytest.mark.slow]

PLAN = load_plan(ROOT / "migrations")

# (what, how to remove it) for every object in schema platform; the first column names the object.
CATALOG = """
select 'table ' || c.oid::regclass, format('DROP TABLE %s CASCADE', c.oid::regclass)
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where c.relkind in ('r', 'p') and n.nspname = 'platform'
union all
select 'view ' || c.oid::regclass, format('DROP VIEW %s CASCADE', c.oid::regclass)
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where c.relkind in ('v', 'm') and n.nspname = 'platform'
union all
select 'index ' || c.oid::regclass, format('DROP INDEX %s', c.oid::regclass)
  from pg_index i join pg_class c on c.oid = i.indexrelid join pg_namespace n on n.oid = c.relnamespace
 where n.nspname = 'platform'
   and not exists (select 1 from pg_constraint k where k.conindid = i.indexrelid)
union all
select 'routine ' || p.oid::regprocedure,
       format('DROP %s %s CASCADE', case p.prokind when 'p' then 'PROCEDURE' else 'FUNCTION' end,
              p.oid::regprocedure)
  from pg_proc p join pg_namespace n on n.oid = p.pronamespace
 where n.nspname = 'platform'
union all
select 'trigger ' || t.tgname || ' on ' || t.tgrelid::regclass,
       format('DROP TRIGGER %I ON %s', t.tgname, t.tgrelid::regclass)
  from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
 where not t.tgisinternal and n.nspname = 'platform'
union all
select 'policy ' || p.polname || ' on ' || p.polrelid::regclass,
       format('DROP POLICY %I ON %s', p.polname, p.polrelid::regclass)
  from pg_policy p join pg_class c on c.oid = p.polrelid join pg_namespace n on n.oid = c.relnamespace
 where n.nspname = 'platform'
union all
select 'constraint ' || k.conname || ' on ' || k.conrelid::regclass,
       format('ALTER TABLE %s DROP CONSTRAINT %I CASCADE', k.conrelid::regclass, k.conname)
  from pg_constraint k join pg_namespace n on n.oid = k.connamespace
 where k.contype in ('c', 'f', 'u', 'x') and k.conrelid <> 0 and n.nspname = 'platform'
union all
select 'column ' || a.attrelid::regclass || '.' || a.attname,
       format('ALTER TABLE %s DROP COLUMN %I CASCADE', a.attrelid::regclass, a.attname)
  from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
 where c.relkind = 'r' and a.attnum > 0 and not a.attisdropped and n.nspname = 'platform'
union all
select 'rls ' || c.oid::regclass, format('ALTER TABLE %s DISABLE ROW LEVEL SECURITY', c.oid::regclass)
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where c.relrowsecurity and n.nspname = 'platform'
union all
select 'force rls ' || c.oid::regclass, format('ALTER TABLE %s NO FORCE ROW LEVEL SECURITY', c.oid::regclass)
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where c.relforcerowsecurity and n.nspname = 'platform'
"""


def objects(conn: psycopg.Connection[Any]) -> dict[str, str]:
    return dict(conn.execute(CATALOG).fetchall())  # type: ignore[arg-type]


def verify_fails_without(conn: psycopg.Connection[Any], db: Database, verify: str, removal: str) -> bool:
    """Remove one object and run verify, in a transaction that is rolled back; True if verify raised."""
    owner = sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(db.settings.owner_role))
    with conn.transaction(force_rollback=True):
        conn.execute(owner)
        conn.execute(removal)  # type: ignore[call-overload]
        try:
            with conn.transaction():
                conn.execute(verify)  # type: ignore[call-overload]
        except psycopg.Error:
            return True
    return False


@pytest.mark.skipif(not PLAN.changes, reason="the plan has no changes yet")
def test_verify_fails_when_any_created_object_is_missing(fresh_db: Database) -> None:
    missed: list[str] = []
    with fresh_db.connect() as conn:
        eng = engine_for(conn, fresh_db.settings, say=lambda _: None, plan=PLAN)
        for change in PLAN.changes:
            if change.gates:
                continue
            before = objects(conn)
            eng.deploy(to=change.id)
            if change.kind != "sql":
                continue
            verify = render(change.scripts["verify"], fresh_db.settings.role_names())
            added = {k: v for k, v in objects(conn).items() if k not in before}
            missed += [
                f"{change.id}: {what}"
                for what, removal in sorted(added.items())
                if not verify_fails_without(conn, fresh_db, verify, removal)
            ]
    assert not missed, "verify passes with these objects missing:\n" + "\n".join(missed)
