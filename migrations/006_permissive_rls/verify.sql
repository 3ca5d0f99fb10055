-- Verify 006_permissive_rls: RLS enabled AND forced on every table of schema platform (so that a table added
-- later without RLS fails here), and the allow-all permissive policy for the app role on each table of 001-006.
SET LOCAL orgbase.app_role = :"app_role";

DO $$
DECLARE
    wrong text;
BEGIN
    SELECT string_agg(c.relname, ', ' ORDER BY c.relname) INTO wrong
      FROM pg_class c
     WHERE c.relnamespace = 'platform'::regnamespace AND c.relkind IN ('r', 'p')
       AND NOT (c.relrowsecurity AND c.relforcerowsecurity);
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION '006_permissive_rls verify: RLS is not enabled and forced on: %', wrong;
    END IF;
    SELECT string_agg(e.t, ', ') INTO wrong
      FROM (VALUES
        ('organizations'), ('projects'), ('billing_plans'), ('subscriptions'),
        ('invoices'), ('payment_methods'), ('addons_catalog'), ('subscription_addons'),
        ('users'), ('user_sessions'), ('member_roles'), ('permissions'),
        ('role_permissions'), ('organization_members'), ('audit_logs'), ('databases')
      ) AS e(t)
     WHERE NOT EXISTS (
        SELECT 1 FROM pg_policy p
         WHERE p.polrelid = to_regclass('platform.' || e.t) AND p.polname = e.t || '_permissive_all'
           AND p.polpermissive AND p.polcmd = '*'
           AND p.polroles = ARRAY[(SELECT oid FROM pg_roles WHERE rolname = current_setting('orgbase.app_role'))]
           AND pg_get_expr(p.polqual, p.polrelid) = 'true'
           AND pg_get_expr(p.polwithcheck, p.polrelid) = 'true');
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION '006_permissive_rls verify: no allow-all permissive policy for the app role on: %', wrong;
    END IF;
END
$$;
