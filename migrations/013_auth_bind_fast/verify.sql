-- Verify 013_auth_bind_fast: platform.auth_bind is this change's body (not 009's) with 009's contract: the
-- definer, search_path, volatility, result and EXECUTE grant, and the behaviour the API relies on (the
-- organization picked, the settings, the errors, last_activity_at), on probe rows in a subtransaction that
-- is rolled back.
SET LOCAL orgbase.app_role = :"app_role";

DO $$
DECLARE
    app text := current_setting('orgbase.app_role');
    f oid := to_regprocedure('platform.auth_bind(text, uuid, text)');
BEGIN
    IF f IS NULL OR NOT EXISTS (
        SELECT 1 FROM pg_proc p
         WHERE p.oid = f AND p.prosecdef AND p.provolatile = 'v'
           AND p.prolang = (SELECT l.oid FROM pg_language l WHERE l.lanname = 'plpgsql')
           AND 'search_path=pg_catalog, platform, pg_temp' = ANY(p.proconfig)
           AND pg_get_function_result(p.oid) = 'TABLE(user_id uuid, session_id uuid, organization_id uuid, '
               'role text, email text, first_name text, last_name text, active_org_id uuid)'
           AND p.proacl IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0)
           AND ARRAY(SELECT r.rolname::text FROM aclexplode(p.proacl) a JOIN pg_roles r ON r.oid = a.grantee
                      WHERE a.grantee <> p.proowner AND a.privilege_type = 'EXECUTE') = ARRAY[app]) THEN
        RAISE EXCEPTION '013 verify: auth_bind is missing, or not a definer with the pinned search_path, '
            'volatile, PL/pgSQL, with 009''s result and EXECUTE for % only', app;
    END IF;
    -- This change's body (or 016's, which keeps it and also seals): one lookup and RETURN NEXT, where 009's
    -- body ends with RETURN QUERY.
    IF obj_description(f, 'pg_proc') NOT LIKE '%One lookup statement (013)%'
       OR (SELECT p.prosrc FROM pg_proc p WHERE p.oid = f) LIKE '%RETURN QUERY%' THEN
        RAISE EXCEPTION '013 verify: auth_bind is not the body of 013_auth_bind_fast';
    END IF;
END
$$;

DO $$
DECLARE
    hash constant text := '$argon2id$v=19$m=65536,t=3,p=4$dmVyaWZ5$dmVyaWZ5';
    tok constant text := repeat('b', 64);
    ada uuid;
    org uuid;
    other_org uuid;
    sess uuid;
    r record;
    t record;
    got_state text;
    got_message text;
BEGIN
    BEGIN
        ada := platform.auth_sign_up('ada@verify013.invalid', hash, 'Ada', 'Probe');
        INSERT INTO platform.organizations (name, slug) VALUES ('Verify', 'orgbase-verify-013') RETURNING id INTO org;
        INSERT INTO platform.organizations (name, slug) VALUES ('Other', 'orgbase-verify-013-2')
            RETURNING id INTO other_org;
        INSERT INTO platform.organization_members (organization_id, user_id, role) VALUES (org, ada, 'admin');
        SELECT s.session_id INTO sess FROM platform.auth_create_session(ada, tok, NULL, NULL, interval '1 hour') s;
        PERFORM set_config('orgbase.verify013_other_org', other_org::text, true);

        -- No organization named and none active: the user alone; the context set transaction-local.
        SELECT * INTO r FROM platform.auth_bind(tok, NULL, 'verify-013');
        IF r.user_id IS DISTINCT FROM ada OR r.session_id IS DISTINCT FROM sess OR r.organization_id IS NOT NULL
           OR r.role IS NOT NULL OR r.email IS DISTINCT FROM 'ada@verify013.invalid' OR r.first_name IS DISTINCT FROM 'Ada'
           OR r.last_name IS DISTINCT FROM 'Probe' OR r.active_org_id IS NOT NULL
           OR current_setting('app.current_user_id', true) IS DISTINCT FROM ada::text
           OR current_setting('app.current_org_id', true) IS DISTINCT FROM ''
           OR current_setting('app.request_id', true) IS DISTINCT FROM 'verify-013' THEN
            RAISE EXCEPTION '013 verify: auth_bind did not return the user or set the context';
        END IF;
        -- The organization named, for a member, with the role.
        SELECT * INTO r FROM platform.auth_bind(tok, org, NULL);
        IF r.organization_id IS DISTINCT FROM org OR r.role IS DISTINCT FROM 'admin'
           OR current_setting('app.current_org_id', true) IS DISTINCT FROM org::text
           OR current_setting('app.request_id', true) IS DISTINCT FROM '' THEN
            RAISE EXCEPTION '013 verify: auth_bind did not bind the organization of the request';
        END IF;
        -- Else the active organization while a member, else none.
        UPDATE platform.users u SET active_org_id = org WHERE u.id = ada;
        SELECT * INTO r FROM platform.auth_bind(tok, NULL, NULL);
        IF r.organization_id IS DISTINCT FROM org OR r.role IS DISTINCT FROM 'admin' OR r.active_org_id IS DISTINCT FROM org THEN
            RAISE EXCEPTION '013 verify: auth_bind did not fall back to the active organization';
        END IF;
        UPDATE platform.users u SET active_org_id = other_org WHERE u.id = ada;
        SELECT * INTO r FROM platform.auth_bind(tok, NULL, NULL);
        IF r.organization_id IS NOT NULL OR r.role IS NOT NULL OR r.active_org_id IS DISTINCT FROM other_org
           OR current_setting('app.current_org_id', true) IS DISTINCT FROM '' THEN
            RAISE EXCEPTION '013 verify: auth_bind bound an active organization the user is not a member of';
        END IF;
        -- last_activity_at: touched when older than a minute, left alone otherwise.
        UPDATE platform.user_sessions s SET last_activity_at = now() - interval '5 minutes' WHERE s.id = sess;
        PERFORM platform.auth_bind(tok, NULL, NULL);
        IF (SELECT s.last_activity_at FROM platform.user_sessions s WHERE s.id = sess) IS DISTINCT FROM now() THEN
            RAISE EXCEPTION '013 verify: auth_bind did not touch a session idle for more than a minute';
        END IF;
        UPDATE platform.user_sessions s SET last_activity_at = now() - interval '30 seconds' WHERE s.id = sess;
        PERFORM platform.auth_bind(tok, NULL, NULL);
        IF (SELECT s.last_activity_at FROM platform.user_sessions s WHERE s.id = sess)
           IS DISTINCT FROM now() - interval '30 seconds' THEN
            RAISE EXCEPTION '013 verify: auth_bind wrote last_activity_at although it was less than a minute old';
        END IF;

        -- Refusals, each leaving the context as it was (checked against the last good bind: ada, no org).
        FOR t IN SELECT * FROM (VALUES
            (1, $s$SELECT * FROM platform.auth_bind(repeat('z', 64), NULL, 'refused')$s$, 'OB401', 'invalid or expired session'),
            (2, $s$SELECT * FROM platform.auth_bind(NULL, NULL, 'refused')$s$, 'OB401', 'invalid or expired session'),
            (3, $s$SELECT * FROM platform.auth_bind(repeat('b', 64), current_setting('orgbase.verify013_other_org')::uuid,
                                                    'refused')$s$, 'OB404', 'organization not found'),
            (4, $s$SELECT * FROM platform.auth_bind(repeat('b', 64), gen_random_uuid(), 'refused')$s$,
             'OB404', 'organization not found'),
            -- Banned, deleted, expired: the one rule of user_is_active and the session's expiry.
            (5, $s$UPDATE platform.users SET banned_until = now() + interval '1 day' WHERE email = 'ada@verify013.invalid';
                   SELECT * FROM platform.auth_bind(repeat('b', 64), NULL, 'refused')$s$, 'OB401', 'invalid or expired session'),
            (6, $s$UPDATE platform.users SET deleted_at = now() WHERE email = 'ada@verify013.invalid';
                   SELECT * FROM platform.auth_bind(repeat('b', 64), NULL, 'refused')$s$, 'OB401', 'invalid or expired session'),
            (7, $s$UPDATE platform.user_sessions SET created_at = now() - interval '2 hours',
                                                     expires_at = now() - interval '1 second'
                    WHERE token_hash = repeat('b', 64);
                   SELECT * FROM platform.auth_bind(repeat('b', 64), NULL, 'refused')$s$, 'OB401', 'invalid or expired session')
        ) AS v(n, stmt, state, message) ORDER BY v.n
        LOOP
            BEGIN
                EXECUTE t.stmt;
                got_state := 'accepted';
                got_message := '';
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS got_state = RETURNED_SQLSTATE, got_message = MESSAGE_TEXT;
            END;
            IF got_state <> t.state OR got_message <> t.message
               OR current_setting('app.current_user_id', true) IS DISTINCT FROM ada::text
               OR current_setting('app.current_org_id', true) IS DISTINCT FROM ''
               OR current_setting('app.request_id', true) IS DISTINCT FROM '' THEN
                RAISE EXCEPTION '013 verify: expected % (%) and the context unchanged, got % (%) for: %',
                    t.state, t.message, got_state, got_message, t.stmt;
            END IF;
        END LOOP;
        RAISE EXCEPTION USING errcode = 'OB000', message = 'rollback';
    EXCEPTION WHEN SQLSTATE 'OB000' THEN
        NULL;
    END;
END
$$;
