-- Verify 007_session_helpers: NULL when unset or '', the value when set; STABLE SQL; app and service only.
SET LOCAL orgbase.app_role = :"app_role";
SET LOCAL orgbase.service_role = :"service_role";

DO $$
DECLARE
    probe constant uuid := 'b0f1d6a4-5c1e-4e8a-9a57-0d6f3c2e7a11';
    fn text;
BEGIN
    FOREACH fn IN ARRAY ARRAY['get_current_user_id', 'get_current_org_id'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_proc
                        WHERE oid = to_regprocedure('platform.' || fn || '()')
                          AND prolang = (SELECT oid FROM pg_language WHERE lanname = 'sql')
                          AND provolatile = 's' AND NOT prosecdef AND prorettype = 'uuid'::regtype
                          AND proconfig IS NULL) THEN
            RAISE EXCEPTION '007 verify: platform.%() must be a STABLE SQL invoker function returning uuid', fn;
        END IF;
    END LOOP;
    BEGIN
        -- Unset: a setting never set on this connection reads NULL (if it was set before, this reads '' or a
        -- value, and the next checks cover it).
        IF (current_setting('app.current_user_id', true) IS NULL AND platform.get_current_user_id() IS NOT NULL)
           OR (current_setting('app.current_org_id', true) IS NULL AND platform.get_current_org_id() IS NOT NULL) THEN
            RAISE EXCEPTION '007 verify: a helper is not NULL with its setting unset';
        END IF;
        -- Empty: what a setting reads after any transaction-local set has ended.
        PERFORM set_config('app.current_user_id', '', true);
        PERFORM set_config('app.current_org_id', '', true);
        IF platform.get_current_user_id() IS NOT NULL OR platform.get_current_org_id() IS NOT NULL THEN
            RAISE EXCEPTION '007 verify: a helper is not NULL (or raised) with its setting empty';
        END IF;
        PERFORM set_config('app.current_user_id', probe::text, true);
        PERFORM set_config('app.current_org_id', '', true);
        IF platform.get_current_user_id() IS DISTINCT FROM probe OR platform.get_current_org_id() IS NOT NULL THEN
            RAISE EXCEPTION '007 verify: get_current_user_id() does not return the set user';
        END IF;
        PERFORM set_config('app.current_org_id', probe::text, true);
        PERFORM set_config('app.current_user_id', '', true);
        IF platform.get_current_org_id() IS DISTINCT FROM probe OR platform.get_current_user_id() IS NOT NULL THEN
            RAISE EXCEPTION '007 verify: get_current_org_id() does not return the set organization';
        END IF;
        RAISE EXCEPTION USING errcode = 'OB000', message = 'rollback';
    EXCEPTION WHEN SQLSTATE 'OB000' THEN
        NULL;
    END;
END
$$;

DO $$
DECLARE
    fn text;
BEGIN
    FOREACH fn IN ARRAY ARRAY['platform.get_current_user_id()', 'platform.get_current_org_id()'] LOOP
        IF NOT has_function_privilege(current_setting('orgbase.app_role'), fn, 'EXECUTE')
           OR NOT has_function_privilege(current_setting('orgbase.service_role'), fn, 'EXECUTE')
           OR has_function_privilege('public', fn, 'EXECUTE') THEN
            RAISE EXCEPTION '007 verify: EXECUTE on % must be granted to the app and service roles only', fn;
        END IF;
    END LOOP;
END
$$;
