-- 007_session_helpers: the readers of the per-request context (DESIGN.md, WS1). Each API request sets
-- app.current_user_id and app.current_org_id with set_config(name, value, true), transaction-local, inside
-- its own transaction. Unset means NULL, and so does '' (what a setting reads on a connection after any
-- transaction-local set has ended): NULL matches no row, so a missing context fails closed, never errors.
-- SQL, STABLE, no SET clause: inlinable, and evaluated once per statement when wrapped as (select ...).

CREATE FUNCTION platform.get_current_user_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT nullif(current_setting('app.current_user_id', true), '')::uuid
$$;
COMMENT ON FUNCTION platform.get_current_user_id() IS
    'The user of the current request context (app.current_user_id), or NULL when unset or empty';

CREATE FUNCTION platform.get_current_org_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT nullif(current_setting('app.current_org_id', true), '')::uuid
$$;
COMMENT ON FUNCTION platform.get_current_org_id() IS
    'The organization of the current request context (app.current_org_id), or NULL when unset or empty';

REVOKE ALL ON FUNCTION platform.get_current_user_id() FROM PUBLIC;
REVOKE ALL ON FUNCTION platform.get_current_org_id() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform.get_current_user_id() TO :"app_role", :"service_role";
GRANT EXECUTE ON FUNCTION platform.get_current_org_id() TO :"app_role", :"service_role";
