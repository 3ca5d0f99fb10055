-- Revert 013_auth_bind_fast: platform.auth_bind exactly as 009_api_auth made it (body and comment; the grants
-- were never changed).
CREATE OR REPLACE FUNCTION platform.auth_bind(p_token_hash text, p_org_id uuid, p_request_id text)
    RETURNS TABLE (user_id uuid, session_id uuid, organization_id uuid, role text, email text, first_name text,
                   last_name text, active_org_id uuid)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, platform, pg_temp
AS $$
DECLARE
    sess record;
    usr record;
    org uuid;
    org_role text;
BEGIN
    SELECT s.id, s.user_id, s.last_activity_at INTO sess
      FROM platform.user_sessions s
     WHERE s.token_hash = p_token_hash AND s.expires_at > now();
    IF NOT FOUND THEN
        RAISE EXCEPTION 'invalid or expired session' USING ERRCODE = 'OB401';
    END IF;
    SELECT u.email, u.first_name, u.last_name, u.active_org_id INTO usr
      FROM platform.users u
     WHERE u.id = sess.user_id AND platform.user_is_active(u.deleted_at, u.banned_until);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'invalid or expired session' USING ERRCODE = 'OB401';
    END IF;

    IF p_org_id IS NOT NULL THEN
        SELECT m.role INTO org_role
          FROM platform.organization_members m
         WHERE m.organization_id = p_org_id AND m.user_id = sess.user_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'organization not found' USING ERRCODE = 'OB404';
        END IF;
        org := p_org_id;
    ELSIF usr.active_org_id IS NOT NULL THEN
        SELECT m.role INTO org_role
          FROM platform.organization_members m
         WHERE m.organization_id = usr.active_org_id AND m.user_id = sess.user_id;
        IF FOUND THEN
            org := usr.active_org_id;
        END IF;
    END IF;

    PERFORM set_config('app.current_user_id', sess.user_id::text, true),
            set_config('app.current_org_id', coalesce(org::text, ''), true),
            set_config('app.request_id', coalesce(p_request_id, ''), true);

    IF sess.last_activity_at < now() - interval '1 minute' THEN
        UPDATE platform.user_sessions s
           SET last_activity_at = now()
         WHERE s.id = (SELECT l.id FROM platform.user_sessions l
                        WHERE l.id = sess.id AND l.last_activity_at < now() - interval '1 minute'
                          FOR NO KEY UPDATE SKIP LOCKED);
    END IF;

    RETURN QUERY SELECT sess.user_id, sess.id, org, org_role, usr.email, usr.first_name, usr.last_name,
                        usr.active_org_id;
END;
$$;
COMMENT ON FUNCTION platform.auth_bind(text, uuid, text) IS
    'Per-request context: validates the session, picks the organization, sets app.current_user_id, '
    'app.current_org_id and app.request_id (transaction-local); OB401 / OB404';
