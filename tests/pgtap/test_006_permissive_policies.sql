-- The seed's test_006_permissive_policies: RLS enabled and forced on every platform table, each with exactly
-- one allow-all PERMISSIVE policy for the app role (the applied state before 007). Run by tests/test_pgtap.py
-- with psql -v app_role=... against a migrated copy; pgTAP lives in schema tap.
SET search_path = tap, pg_catalog;
SELECT no_plan();

SELECT ok(count(*) >= 14, 'schema platform has its tables')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'platform' AND c.relkind = 'r';

SELECT ok(c.relrowsecurity, 'RLS is enabled on platform.' || c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'platform' AND c.relkind = 'r';
SELECT ok(c.relforcerowsecurity, 'RLS is forced on platform.' || c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'platform' AND c.relkind = 'r';

SELECT policies_are('platform', c.relname, ARRAY[c.relname || '_permissive_all'],
                    'platform.' || c.relname || ' has exactly its permissive policy')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'platform' AND c.relkind = 'r';
SELECT policy_roles_are('platform', c.relname, c.relname || '_permissive_all', ARRAY[:'app_role'],
                        'the permissive policy of platform.' || c.relname || ' is for the app role only')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'platform' AND c.relkind = 'r';
SELECT policy_cmd_is('platform', c.relname, c.relname || '_permissive_all', 'all',
                     'the permissive policy of platform.' || c.relname || ' covers every command')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'platform' AND c.relkind = 'r';

SELECT is(p.permissive, 'PERMISSIVE', p.policyname || ' is permissive') FROM pg_policies p
 WHERE p.schemaname = 'platform';
SELECT is(p.qual, 'true', p.policyname || ' allows every row (USING true)') FROM pg_policies p
 WHERE p.schemaname = 'platform';
SELECT is(p.with_check, 'true', p.policyname || ' accepts every row (WITH CHECK true)') FROM pg_policies p
 WHERE p.schemaname = 'platform';

SELECT ok(NOT r.rolbypassrls AND NOT r.rolsuper, 'the app role is subject to RLS')
  FROM pg_roles r WHERE r.rolname = :'app_role';

SELECT * FROM finish();
