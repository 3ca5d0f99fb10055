-- Verify 015_server_made_ids: the app role may not name the id of these tables on INSERT, and still may
-- insert their other columns (the grant was narrowed, not dropped).
SET LOCAL orgbase.app_role = :"app_role";
DO $$
DECLARE
    app text := current_setting('orgbase.app_role');
    wrong text;
BEGIN
    SELECT string_agg(t, ', ') INTO wrong
      FROM unnest(ARRAY['platform.projects', 'platform.audit_logs', 'platform.invitations', 'platform.users']) AS t
     WHERE has_column_privilege(app, t, 'id', 'INSERT')
        OR NOT has_any_column_privilege(app, t, 'INSERT');
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION '015 verify: the app role may name the id on INSERT, or may not insert at all, into: %', wrong;
    END IF;
END
$$;
