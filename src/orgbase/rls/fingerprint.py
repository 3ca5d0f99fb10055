"""The schema fingerprint: a SHA-256 of what the policies of schema ``platform`` depend on.

Covers, for schema ``platform``: its own privileges; every relation (kind, RLS enabled and forced, owner)
and its privileges; columns (type, NOT NULL, default) and column privileges; constraints; indexes;
triggers; policies (permissive or restrictive, command, roles, USING and WITH CHECK); views' definitions;
functions (definition, SECURITY DEFINER, volatility, settings such as search_path, owner) and their
privileges. Role names are written as ``owner``, ``service``, ``app`` (the settings ``orgbase.owner_role``
and so on), so that databases of differently prefixed clusters compare equal. It leaves out the ledger,
the evidence schema and all data.

No database driver here: ``gates.py`` runs ``QUERY`` through its probe, the harness through psycopg, and
both hash the rows with ``digest``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

_ROLE = """case {0} when 0 then 'public'
    when (select oid from pg_roles where rolname = current_setting('orgbase.owner_role', true))
      then 'owner'
    when (select oid from pg_roles where rolname = current_setting('orgbase.service_role', true))
      then 'service'
    when (select oid from pg_roles where rolname = current_setting('orgbase.app_role', true))
      then 'app'
    else (select rolname from pg_roles where oid = {0}) end"""


_ACL = (
    "(select coalesce(string_agg(x.g || ':' || x.privilege_type || ':' || x.is_grantable::text, ','"
    ' order by x.g collate "C", x.privilege_type collate "C"), \'\')'
    " from (select @ROLE@ as g, e.privilege_type, e.is_grantable from aclexplode(@ACL@) e) x)"
)


def _acl(acl: str) -> str:
    """Grants of an ACL column as sorted ``role:privilege:grantable`` items (role names normalised)."""
    return _ACL.replace("@ROLE@", _ROLE.format("e.grantee")).replace("@ACL@", acl)


QUERY = f"""
with ns as (select oid from pg_namespace where nspname = 'platform'),
rels as (select c.* from pg_class c where c.relnamespace = (select oid from ns)
          and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f'))
select kind, name, detail from (
  select 'schema' as kind, 'platform' as name, {_acl("n.nspacl")} as detail
    from pg_namespace n where n.oid = (select oid from ns)
  union all
  select 'relation', c.relname, concat_ws(' ', c.relkind, c.relrowsecurity, c.relforcerowsecurity,
         {_ROLE.format("c.relowner")}, {_acl("c.relacl")}) from rels c
  union all
  select 'column', c.relname || '.' || a.attname,
         concat_ws(' ', format_type(a.atttypid, a.atttypmod), a.attnotnull,
                   pg_get_expr(d.adbin, d.adrelid), {_acl("a.attacl")})
    from rels c join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
    left join pg_attrdef d on d.adrelid = c.oid and d.adnum = a.attnum
  union all
  select 'constraint', c.relname || '.' || k.conname, pg_get_constraintdef(k.oid)
    from rels c join pg_constraint k on k.conrelid = c.oid
  union all
  select 'index', c.relname || '.' || i.relname, pg_get_indexdef(x.indexrelid)
    from rels c join pg_index x on x.indrelid = c.oid join pg_class i on i.oid = x.indexrelid
  union all
  select 'trigger', c.relname || '.' || t.tgname, pg_get_triggerdef(t.oid) || ' ' || t.tgenabled::text
    from rels c join pg_trigger t on t.tgrelid = c.oid and not t.tgisinternal
  union all
  select 'policy', c.relname || '.' || p.polname,
         concat_ws(' | ', p.polpermissive, p.polcmd,
                   (select string_agg({_ROLE.format("r")}, ',' order by 1) from unnest(p.polroles) r),
                   pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
    from rels c join pg_policy p on p.polrelid = c.oid
  union all
  select 'view', c.relname, pg_get_viewdef(c.oid) from rels c where c.relkind in ('v', 'm')
  union all
  select 'function', p.oid::regprocedure::text,
         concat_ws(' | ', pg_get_functiondef(p.oid), p.prosecdef, p.provolatile, p.proleakproof,
                   array_to_string(p.proconfig, ','), {_ROLE.format("p.proowner")}, {_acl("p.proacl")})
    from pg_proc p where p.pronamespace = (select oid from ns) and p.prokind in ('f', 'p')
) f
order by kind collate "C", name collate "C", detail collate "C"
"""  # noqa: S608 - built from this module's constants, never input
"""The catalog rows the fingerprint hashes (kind, name, detail), in a deterministic order. Run it with the
settings ``orgbase.owner_role``, ``orgbase.service_role`` and ``orgbase.app_role`` set."""


def digest(rows: Iterable[Sequence[Any]]) -> str:
    """SHA-256 of the rows of ``QUERY``, one tab-separated line each."""
    h = hashlib.sha256()
    for row in rows:
        h.update(("\t".join("" if v is None else str(v) for v in row) + "\n").encode())
    return h.hexdigest()
