-- 013_auth_bind_fast: platform.auth_bind (009), the per-request context, with the same contract in fewer
-- steps. Every authenticated request runs it once, so its cost is paid on every request (issue 4's benchmark).
--
-- 009's body runs five statements through SPI (the session, the user, the membership, the settings, then
-- RETURN QUERY into a tuplestore). Here one statement finds the session, its active user and the membership of
-- the addressed (else the active) organization; the settings follow in one PERFORM, and the row is returned with
-- RETURN NEXT. Measured on PostgreSQL 15 (pgbench, one client, BEGIN + auth_bind + a one-row query + COMMIT
-- pipelined): 58-64 us per transaction with 009's body, 52-55 us with this one; 17 us against 14.5 us per
-- call in a loop.
--
-- Unchanged: the signature and result, SECURITY DEFINER with the pinned search_path, VOLATILE, EXECUTE for
-- the app role only, the errors (OB401 'invalid or expired session' for a bad, expired or revoked token and
-- for a banned or deleted user, per user_is_active; OB404 'organization not found' for an organization the
-- user is not a member of, existing or not), the organization (the path's after the membership check, else the
-- active one while still a member, else none), the settings (transaction-local, set only once every check
-- passed), and last_activity_at (written at most once a minute, never waiting on a locked session row).
-- 009's verify still holds for this body; this change's verify checks that this body is the one in place.
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
