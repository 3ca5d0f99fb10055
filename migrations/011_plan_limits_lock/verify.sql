-- Verify 011_plan_limits_lock: the definer is pinned, narrow and executable by the app role only; it refuses
-- without a context; the index exists with the right columns.
SET LOCAL orgbase.app_role = :"app_role";  -- SET takes an identifier as a value: the role's name as text
DO $$
DECLARE
    fn oid := to_regprocedure('platform.lock_plan_limits(uuid, text)');
BEGIN
    IF fn IS NULL OR NOT EXISTS (SELECT 1 FROM pg_proc WHERE oid = fn AND prosecdef
                                    AND 'search_path=pg_catalog, platform, pg_temp' = ANY(proconfig)) THEN
        RAISE EXCEPTION '011 verify: lock_plan_limits must be a SECURITY DEFINER with a pinned search_path';
    END IF;
    IF has_function_privilege('public', fn, 'EXECUTE')
       OR NOT has_function_privilege(current_setting('orgbase.app_role'), fn, 'EXECUTE') THEN
        RAISE EXCEPTION '011 verify: EXECUTE on lock_plan_limits must be the app role''s only';
    END IF;
    BEGIN
        PERFORM platform.lock_plan_limits(gen_random_uuid(), 'projects.create');
        RAISE EXCEPTION '011 verify: lock_plan_limits answered without a context';
    EXCEPTION WHEN SQLSTATE 'OB404' THEN NULL;
    END;
    IF (SELECT pg_get_indexdef(to_regclass('platform.projects_organization_id_created_at_idx')))
       IS DISTINCT FROM 'CREATE INDEX projects_organization_id_created_at_idx ON platform.projects USING btree '
                        '(organization_id, created_at, id)' THEN
        RAISE EXCEPTION '011 verify: projects_organization_id_created_at_idx is missing or different';
    END IF;
END
$$;
