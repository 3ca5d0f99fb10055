-- Revert 016_sealed_context: 014's lookup helpers and 013's auth_bind, verbatim (the policies, unchanged,
-- then look up the membership on every statement again), and the binding functions go. The extension stays:
-- bootstrap put it there, for every database of the cluster.
CREATE OR REPLACE FUNCTION platform.current_org_if_can(p_permission text) RETURNS uuid
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = pg_catalog, platform, pg_temp
AS $$
DECLARE
    org uuid := platform.get_current_org_id();
    usr uuid := platform.get_current_user_id();
    found_org uuid;
BEGIN
    SELECT m.organization_id INTO found_org
      FROM platform.organization_members m
      JOIN platform.role_permissions rp ON rp.role = m.role AND rp.permission = p_permission
      JOIN platform.users u ON u.id = m.user_id
     WHERE m.organization_id = org
       AND m.user_id = usr
       AND platform.user_is_active(u.deleted_at, u.banned_until);
    RETURN found_org;
END;
$$;
COMMENT ON FUNCTION platform.current_org_if_can(text) IS
    'The context''s organization if the context''s user holds p_permission there, else NULL (matches no row). '
    'Call it as (SELECT ...) in a policy: once per statement';

CREATE OR REPLACE FUNCTION platform.current_member_can(p_permission text) RETURNS boolean
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = pg_catalog, platform, pg_temp
AS $$
BEGIN
    RETURN EXISTS (
        SELECT 1
          FROM platform.organization_members m
          JOIN platform.role_permissions rp ON rp.role = m.role AND rp.permission = p_permission
          JOIN platform.users u ON u.id = m.user_id
         WHERE m.organization_id = platform.get_current_org_id()
           AND m.user_id = platform.get_current_user_id()
           AND platform.user_is_active(u.deleted_at, u.banned_until));
END;
$$;
COMMENT ON FUNCTION platform.current_member_can(text) IS
    'Whether the context''s user holds p_permission in the context''s organization; false without a context. '
    'Call it as (SELECT ...) in a policy: once per statement';

CREATE OR REPLACE FUNCTION platform.auth_bind(p_token_hash text, p_org_id uuid, p_request_id text)
    RETURNS TABLE (user_id uuid, session_id uuid, organization_id uuid, role text, email text, first_name text,
                   last_name text, active_org_id uuid)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, platform, pg_temp
AS $$
DECLARE
    last_seen timestamptz;
BEGIN
    -- The result columns are this function's OUT variables: every column below is qualified by its table.
    -- The membership is looked up for the path's organization if there is one, else for the active one; a
    -- unique key (token hash, user id, membership) makes at most one row.
    SELECT s.user_id, s.id, m.organization_id, m.role, u.email, u.first_name, u.last_name, u.active_org_id,
           s.last_activity_at
      INTO user_id, session_id, organization_id, role, email, first_name, last_name, active_org_id, last_seen
      FROM platform.user_sessions s
      JOIN platform.users u ON u.id = s.user_id AND platform.user_is_active(u.deleted_at, u.banned_until)
      LEFT JOIN platform.organization_members m
        ON m.organization_id = coalesce(p_org_id, u.active_org_id) AND m.user_id = s.user_id
     WHERE s.token_hash = p_token_hash AND s.expires_at > now();
    IF NOT FOUND THEN
        RAISE EXCEPTION 'invalid or expired session' USING ERRCODE = 'OB401';
    END IF;
    IF p_org_id IS NOT NULL AND organization_id IS NULL THEN
        RAISE EXCEPTION 'organization not found' USING ERRCODE = 'OB404';
    END IF;

    -- Transaction-local (never a session-level SET, which leaks on a pool); it outlives this function because
    -- only search_path is in its SET clause.
    PERFORM set_config('app.current_user_id', user_id::text, true),
            set_config('app.current_org_id', coalesce(organization_id::text, ''), true),
            set_config('app.request_id', coalesce(p_request_id, ''), true);

    IF last_seen < now() - interval '1 minute' THEN
        UPDATE platform.user_sessions s
           SET last_activity_at = now()
         WHERE s.id = (SELECT l.id FROM platform.user_sessions l
                        WHERE l.id = session_id AND l.last_activity_at < now() - interval '1 minute'
                          FOR NO KEY UPDATE SKIP LOCKED);
    END IF;

    RETURN NEXT;
END;
$$;
COMMENT ON FUNCTION platform.auth_bind(text, uuid, text) IS
    'Per-request context: validates the session, picks the organization, sets app.current_user_id, '
    'app.current_org_id and app.request_id (transaction-local); OB401 / OB404. One lookup statement (013)';
-- CREATE OR REPLACE keeps 009's grants; stated again so that this script alone says who may call it.
REVOKE ALL ON FUNCTION platform.auth_bind(text, uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform.auth_bind(text, uuid, text) TO :"app_role";


CREATE OR REPLACE FUNCTION rls_shadow.watch(p_table text) RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    watched boolean;
    observed bigint;
BEGIN
    SELECT m.mode = 'shadow' INTO watched FROM rls_shadow.modes m WHERE m.table_name = p_table;
    IF watched IS NOT TRUE THEN
        RETURN false;
    END IF;
    IF session_user IS DISTINCT FROM (SELECT c.app_role FROM rls_shadow.config c) THEN
        RETURN false;
    END IF;
    IF nullif(current_setting('app.current_user_id', true), '') IS NOT NULL THEN
        observed := nextval('rls_shadow.observed');
    END IF;
    IF coalesce(current_setting('rls_shadow.key', true), '') <> ''
       AND split_part(current_setting('rls_shadow.key', true), '|', 1) <> statement_timestamp()::text THEN
        PERFORM rls_shadow.flush();  -- what an earlier statement of this transaction left pending
    END IF;
    RETURN true;
END;
$$;
COMMENT ON FUNCTION rls_shadow.watch(text) IS
    'Whether shadow mode watches the table for this session (call it as (SELECT ...): once per statement)';

DROP FUNCTION rls_shadow.watch_lookup(text);
DROP FUNCTION platform.bind_context(uuid, uuid, text);
DROP FUNCTION platform.seal_request(uuid, uuid, text[]);
