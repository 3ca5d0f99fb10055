-- The seed's test_006_permissive_policies: RLS enabled and forced on every platform table, each with exactly
-- one allow-all PERMISSIVE policy for the app role (the applied state before 007). Run by tests/test_pgtap.py
-- with psql -v app_role=... against a migrated copy; pgTAP lives in schema tap. 014_rls_shadow adds shadow
-- mode's RESTRICTIVE policies beside them (always true: they record, never deny; tests/test_rls_shadow.py),
-- so the permissive ones are checked here, and the restrictive ones only for being shadow mode's.
SET search_path = tap, pg_catalog;
SELECT no_plan();

SELECT ok(count(*) >= 14, 'schema platform has its tables')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'platform' AND c.relkind = 'r';

SELECT ok(c.relrowsecurity, 'RLS is enabled on platform.' || c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'platform' AND c.relkind = 'r';
SELECT ok(c.relforcerowsecurity, 'RLS is forced on platform.' || c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'platform' AND c.relkind = 'r';

SELECT set_eq(format('SELECT policyname::text FROM pg_policies WHERE schemaname = %L AND tablename = %L'
                      ' AND permissive = %L', 'platform', c.relname, 'PERMISSIVE'),
              ARRAY[c.relname || '_permissive_all'],
              'platform.' || c.relname || ' has exactly its permissive policy')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'platform' AND c.relkind = 'r';
SELECT ok(p.policyname ~ ('^' || p.tablename || '_shadow_(select|insert|update|delete)$'),
          p.policyname || ' (restrictive) is shadow mode''s')
  FROM pg_policies p WHERE p.schemaname = 'platform' AND p.permissive = 'RESTRICTIVE';
SELECT policy_roles_are('platform', c.relname, c.relname || '_permissive_all', ARRAY[:'app_role'],
                        'the permissive policy of platform.' || c.relname || ' is for the app role only')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'platform' AND c.relkind = 'r';
SELECT policy_cmd_is('platform', c.relname, c.relname || '_permissive_all', 'all',
                     'the permissive policy of platform.' || c.relname || ' covers every command')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'platform' AND c.relkind = 'r';

SELECT is(p.qual, 'true', p.policyname || ' allows every row (USING true)') FROM pg_policies p
 WHERE p.schemaname = 'platform' AND p.permissive = 'PERMISSIVE';
SELECT is(p.with_check, 'true', p.policyname || ' accepts every row (WITH CHECK true)') FROM pg_policies p
 WHERE p.schemaname = 'platform' AND p.permissive = 'PERMISSIVE';

SELECT ok(NOT r.rolbypassrls AND NOT r.rolsuper, 'the app role is subject to RLS')
  FROM pg_roles r WHERE r.rolname = :'app_role';

SELECT * FROM finish();
