-- Verify 009_api_auth: raises unless both tables (columns, constraints, indexes, RLS), every function (definer
-- or not, pinned search_path, volatility, result, EXECUTE for exactly the right roles) and the grants are in
-- place, and the functions behave as the API relies on (SQLSTATEs included).
SET LOCAL orgbase.app_role = :"app_role";
SET LOCAL orgbase.service_role = :"service_role";

-- Inventory: every column (type, NOT NULL), constraint (kind) and index this change creates.
DO $$
DECLARE
    wrong text;
BEGIN
    SELECT string_agg(format('%s %s.%s', e.kind, e.tbl, e.name), ', ') INTO wrong
      FROM (VALUES
        ('column', 'invitations', 'id', 'uuid not null'),
        ('column', 'invitations', 'organization_id', 'uuid not null'),
        ('column', 'invitations', 'email', 'text not null'),
        ('column', 'invitations', 'role', 'text not null'),
        ('column', 'invitations', 'token_hash', 'text not null'),
        ('column', 'invitations', 'invited_by', 'uuid'),
        ('column', 'invitations', 'created_at', 'timestamp with time zone not null'),
        ('column', 'invitations', 'expires_at', 'timestamp with time zone not null'),
        ('column', 'invitations', 'accepted_at', 'timestamp with time zone'),
        ('column', 'invitations', 'accepted_by', 'uuid'),
        ('column', 'sign_in_attempts', 'subject', 'text not null'),
        ('column', 'sign_in_attempts', 'window_start', 'timestamp with time zone not null'),
        ('column', 'sign_in_attempts', 'failures', 'integer not null'),
        ('constraint', 'invitations', 'invitations_pkey', 'p'),
        ('constraint', 'invitations', 'invitations_organization_id_fkey', 'f'),
        ('constraint', 'invitations', 'invitations_role_known', 'f'),
        ('constraint', 'invitations', 'invitations_invited_by_fkey', 'f'),
        ('constraint', 'invitations', 'invitations_accepted_by_fkey', 'f'),
        ('constraint', 'invitations', 'invitations_token_hash_key', 'u'),
        ('constraint', 'invitations', 'invitations_token_hash_length', 'c'),
        ('constraint', 'invitations', 'invitations_email_format', 'c'),
        ('constraint', 'invitations', 'invitations_expiry_after_creation', 'c'),
        ('constraint', 'invitations', 'invitations_accepted_by_needs_accepted_at', 'c'),
        ('constraint', 'sign_in_attempts', 'sign_in_attempts_pkey', 'p'),
        ('constraint', 'sign_in_attempts', 'sign_in_attempts_subject_format', 'c'),
        ('constraint', 'sign_in_attempts', 'sign_in_attempts_failures_not_negative', 'c'),
        ('index', 'invitations', 'invitations_organization_id_created_at_idx', NULL),
        ('index', 'invitations', 'invitations_one_pending_per_email_key', NULL),
        ('index', 'invitations', 'invitations_invited_by_idx', NULL),
        ('index', 'invitations', 'invitations_accepted_by_idx', NULL)
      ) AS e(kind, tbl, name, detail)
     WHERE NOT CASE e.kind
        WHEN 'column' THEN EXISTS (
            SELECT 1 FROM pg_attribute a
             WHERE a.attrelid = to_regclass('platform.' || e.tbl) AND a.attname = e.name AND NOT a.attisdropped
               AND format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END = e.detail)
        WHEN 'constraint' THEN EXISTS (
            SELECT 1 FROM pg_constraint k
             WHERE k.conrelid = to_regclass('platform.' || e.tbl) AND k.conname = e.name
               AND k.contype::text = e.detail AND k.convalidated)
        ELSE EXISTS (
            SELECT 1 FROM pg_index i
             WHERE i.indexrelid = to_regclass('platform.' || e.name) AND i.indrelid = to_regclass('platform.' || e.tbl)
               AND i.indisvalid)
     END;
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION '009 verify: missing or changed: %', wrong;
    END IF;
END
$$;

-- The shape of the keys: what each foreign key references and does on delete, the key columns, the indexes.
DO $$
DECLARE
    wrong text;
BEGIN
    -- confdeltype: c = CASCADE, n = SET NULL, a = NO ACTION.
    SELECT string_agg(e.n, ', ') INTO wrong
      FROM (VALUES
        ('invitations_organization_id_fkey', 'platform.organizations', 'c', ARRAY['organization_id']),
        ('invitations_role_known', 'platform.member_roles', 'a', ARRAY['role']),
        ('invitations_invited_by_fkey', 'platform.users', 'n', ARRAY['invited_by']),
        ('invitations_accepted_by_fkey', 'platform.users', 'n', ARRAY['accepted_by'])
      ) AS e(n, target, del, cols)
     WHERE NOT EXISTS (
        SELECT 1 FROM pg_constraint k
         WHERE k.conrelid = 'platform.invitations'::regclass AND k.conname = e.n AND k.contype = 'f'
           AND k.confrelid = e.target::regclass AND k.confdeltype = e.del
           AND ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY AS c(attnum, i)
                       JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = c.attnum ORDER BY c.i) = e.cols);
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION '009 verify: foreign keys with a wrong target, columns or ON DELETE: %', wrong;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint k
                    WHERE k.conrelid = 'platform.sign_in_attempts'::regclass AND k.conname = 'sign_in_attempts_pkey'
                      AND pg_get_constraintdef(k.oid) = 'PRIMARY KEY (subject, window_start)')
       OR NOT EXISTS (SELECT 1 FROM pg_constraint k
                       WHERE k.conrelid = 'platform.invitations'::regclass AND k.conname = 'invitations_token_hash_key'
                         AND pg_get_constraintdef(k.oid) = 'UNIQUE (token_hash)') THEN
        RAISE EXCEPTION '009 verify: sign_in_attempts must be keyed by (subject, window_start) and invitations.token_hash unique';
    END IF;
    -- One pending invitation per organization and lower(email): unique, partial on accepted_at IS NULL.
    IF NOT EXISTS (SELECT 1 FROM pg_index i
                    WHERE i.indexrelid = to_regclass('platform.invitations_one_pending_per_email_key')
                      AND i.indisunique AND i.indnatts = 2
                      AND pg_get_indexdef(i.indexrelid, 1, true) = 'organization_id'
                      AND pg_get_indexdef(i.indexrelid, 2, true) = 'lower(email)'
                      AND pg_get_expr(i.indpred, i.indrelid) = '(accepted_at IS NULL)') THEN
        RAISE EXCEPTION '009 verify: invitations_one_pending_per_email_key must be UNIQUE (organization_id, lower(email)) WHERE accepted_at IS NULL';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_index i
                    WHERE i.indexrelid = to_regclass('platform.invitations_organization_id_created_at_idx')
                      AND pg_get_indexdef(i.indexrelid, 1, true) = 'organization_id')
       OR NOT EXISTS (SELECT 1 FROM pg_index i
                       WHERE i.indexrelid = to_regclass('platform.invitations_invited_by_idx')
                         AND pg_get_indexdef(i.indexrelid, 1, true) = 'invited_by')
       OR NOT EXISTS (SELECT 1 FROM pg_index i
                       WHERE i.indexrelid = to_regclass('platform.invitations_accepted_by_idx')
                         AND pg_get_indexdef(i.indexrelid, 1, true) = 'accepted_by') THEN
        RAISE EXCEPTION '009 verify: the invitations indexes must lead with organization_id, invited_by, accepted_by';
    END IF;
END
$$;

-- RLS as on every platform table: enabled, forced, and the allow-all permissive policy for the app role.
DO $$
DECLARE
    wrong text;
BEGIN
    SELECT string_agg(e.t, ', ') INTO wrong
      FROM (VALUES ('invitations'), ('sign_in_attempts')) AS e(t)
     WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = to_regclass('platform.' || e.t)
                                                  AND c.relrowsecurity AND c.relforcerowsecurity)
        OR NOT EXISTS (
            SELECT 1 FROM pg_policy p
             WHERE p.polrelid = to_regclass('platform.' || e.t) AND p.polname = e.t || '_permissive_all'
               AND p.polpermissive AND p.polcmd = '*'
               AND p.polroles = ARRAY[(SELECT oid FROM pg_roles WHERE rolname = current_setting('orgbase.app_role'))]
               AND pg_get_expr(p.polqual, p.polrelid) = 'true'
               AND pg_get_expr(p.polwithcheck, p.polrelid) = 'true');
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION '009 verify: RLS not enabled and forced, or no allow-all permissive policy for the app role, on: %', wrong;
    END IF;
END
$$;

-- Functions: definer (with the pinned search_path) or invoker, volatility, language, result, and EXECUTE
-- granted to exactly the listed roles (besides the owner), never to PUBLIC.
DO $$
DECLARE
    app text := current_setting('orgbase.app_role');
    service text := current_setting('orgbase.service_role');
    wrong text;
BEGIN
    SELECT string_agg(e.sig, ', ') INTO wrong
      FROM (VALUES
        ('platform.user_is_active(timestamptz, timestamptz)', false, 's', 'sql', 'boolean', ARRAY['app', 'service']),
        ('platform.sign_in_subject(text, text)', false, 'i', 'sql', 'text', ARRAY[]::text[]),
        ('platform.auth_sign_up(text, text, text, text)', true, 'v', 'sql', 'uuid', ARRAY['app']),
        ('platform.auth_sign_in_lookup(text)', true, 's', 'sql',
         'TABLE(user_id uuid, password_hash text, active boolean)', ARRAY['app']),
        ('platform.auth_check_rate(text, text, integer, integer, interval)', true, 's', 'plpgsql', 'void', ARRAY['app']),
        ('platform.auth_record_failure(text, text, interval)', true, 'v', 'sql', 'void', ARRAY['app']),
        ('platform.auth_create_session(uuid, text, text, text, interval)', true, 'v', 'plpgsql',
         'TABLE(session_id uuid, expires_at timestamp with time zone)', ARRAY['app']),
        ('platform.auth_bind(text, uuid, text)', true, 'v', 'plpgsql',
         'TABLE(user_id uuid, session_id uuid, organization_id uuid, role text, email text, first_name text, '
         'last_name text, active_org_id uuid)', ARRAY['app']),
        ('platform.auth_revoke_session(text)', true, 'v', 'sql', 'boolean', ARRAY['app']),
        ('platform.auth_refresh_session(text, text, interval)', true, 'v', 'plpgsql',
         'TABLE(session_id uuid, expires_at timestamp with time zone)', ARRAY['app']),
        ('platform.auth_purge_expired_sessions()', true, 'v', 'sql', 'bigint', ARRAY['service']),
        ('platform.auth_purge_sign_in_attempts(interval)', true, 'v', 'plpgsql', 'bigint', ARRAY['service']),
        ('platform.create_organization(text, text, text)', true, 'v', 'plpgsql', 'uuid', ARRAY['app']),
        ('platform.accept_invitation(text)', true, 'v', 'plpgsql', 'uuid', ARRAY['app']),
        ('platform.list_members(uuid)', true, 's', 'plpgsql',
         'TABLE(user_id uuid, email text, first_name text, last_name text, role text, joined_at timestamp with time zone)',
         ARRAY['app'])
      ) AS e(sig, definer, volatility, lang, result, grantees)
     WHERE NOT EXISTS (
        SELECT 1 FROM pg_proc p
         WHERE p.oid = to_regprocedure(e.sig)
           AND p.prosecdef = e.definer AND p.provolatile = e.volatility
           AND p.prolang = (SELECT l.oid FROM pg_language l WHERE l.lanname = e.lang)
           AND pg_get_function_result(p.oid) = e.result
           -- a definer pins search_path; an invoker sets nothing (it runs with its caller's, and stays inlinable)
           AND CASE WHEN e.definer THEN 'search_path=pg_catalog, platform, pg_temp' = ANY(p.proconfig)
                    ELSE p.proconfig IS NULL END
           -- a NULL acl is the default: EXECUTE for PUBLIC
           AND p.proacl IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0)
           AND ARRAY(SELECT CASE r.rolname::text WHEN app THEN 'app' WHEN service THEN 'service' ELSE r.rolname::text END
                       FROM aclexplode(p.proacl) a JOIN pg_roles r ON r.oid = a.grantee
                      WHERE a.grantee <> p.proowner AND a.privilege_type = 'EXECUTE'
                      ORDER BY 1) = e.grantees);
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION '009 verify: functions missing, or with a wrong definer/search_path/volatility/result/EXECUTE: %',
            wrong;
    END IF;
END
$$;

-- Grants on the tables: invitations readable but for the token hash, insertable with the API's columns,
-- deletable, never updatable; sign_in_attempts: nothing at all.
DO $$
DECLARE
    app text := current_setting('orgbase.app_role');
    wrong text;
BEGIN
    SELECT string_agg(format('%s %s %s', CASE WHEN e.ok THEN 'lacks' ELSE 'has' END, e.c, e.p), ', ') INTO wrong
      FROM (VALUES
        ('id', 'SELECT', true), ('organization_id', 'SELECT', true), ('email', 'SELECT', true),
        ('role', 'SELECT', true), ('invited_by', 'SELECT', true), ('created_at', 'SELECT', true),
        ('expires_at', 'SELECT', true), ('accepted_at', 'SELECT', true), ('accepted_by', 'SELECT', true),
        ('token_hash', 'SELECT', false),
        ('organization_id', 'INSERT', true), ('email', 'INSERT', true),
        ('role', 'INSERT', true), ('token_hash', 'INSERT', true), ('invited_by', 'INSERT', true),
        ('expires_at', 'INSERT', true), ('created_at', 'INSERT', false), ('accepted_at', 'INSERT', false),
        ('accepted_by', 'INSERT', false),
        ('id', 'UPDATE', false), ('organization_id', 'UPDATE', false), ('email', 'UPDATE', false),
        ('role', 'UPDATE', false), ('token_hash', 'UPDATE', false), ('expires_at', 'UPDATE', false),
        ('accepted_at', 'UPDATE', false), ('accepted_by', 'UPDATE', false)
      ) AS e(c, p, ok)
     WHERE has_column_privilege(app, 'platform.invitations', e.c, e.p) <> e.ok;
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION '009 verify: role % on invitations: %', app, wrong;
    END IF;
    IF NOT has_table_privilege(app, 'platform.invitations', 'DELETE')
       OR has_table_privilege(app, 'platform.invitations', 'SELECT, UPDATE, TRUNCATE, REFERENCES, TRIGGER') THEN
        RAISE EXCEPTION '009 verify: role % must delete invitations and hold no table-wide SELECT, UPDATE or TRUNCATE', app;
    END IF;
    IF has_table_privilege(app, 'platform.sign_in_attempts',
                           'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
       OR has_any_column_privilege(app, 'platform.sign_in_attempts', 'SELECT, INSERT, UPDATE, REFERENCES') THEN
        RAISE EXCEPTION '009 verify: % has a privilege on sign_in_attempts (only the auth functions may touch it)', app;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_class c, aclexplode(c.relacl) a
                WHERE c.relnamespace = 'platform'::regnamespace AND a.grantee = 0) THEN
        RAISE EXCEPTION '009 verify: something in schema platform is granted to PUBLIC';
    END IF;
END
$$;

-- Behaviour of sign-up, sign-in, rate limits and sessions, in a block that is rolled back. Statements that
-- must fail run from a list with the SQLSTATE (and constraint, or message) they must fail with; the ids they
-- need are passed through orgbase.verify_* settings.
DO $$
DECLARE
    hash constant text := '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA';
    tok_a constant text := repeat('a', 64);
    tok_b constant text := repeat('b', 64);
    win constant interval := interval '15 minutes';
    alice uuid;
    bob uuid;
    org uuid;
    other_org uuid;
    sess uuid;
    r record;
    t record;
    got_state text;
    got_name text;
    got_message text;
    n bigint;
    revoked boolean;
BEGIN
    BEGIN
        -- Each function that writes is called in a statement of its own: a later part of the same statement
        -- would not see its changes.
        -- THE active rule.
        IF NOT platform.user_is_active(NULL, NULL) OR platform.user_is_active(now(), NULL)
           OR platform.user_is_active(NULL, now() + interval '1 hour')
           OR NOT platform.user_is_active(NULL, now() - interval '1 hour')
           OR platform.user_is_active(now(), now() - interval '1 hour') THEN
            RAISE EXCEPTION '009 verify: user_is_active does not answer "not deleted and not banned now"';
        END IF;

        -- Sign-up stores the email trimmed; sign-in finds it case-insensitively; no row for an unknown email.
        alice := platform.auth_sign_up('  Alice@Verify.invalid ', hash, 'Alice', 'Probe');
        bob := platform.auth_sign_up('bob@verify.invalid', hash, 'Bob', NULL);
        IF (SELECT u.email FROM platform.users u WHERE u.id = alice) IS DISTINCT FROM 'Alice@Verify.invalid' THEN
            RAISE EXCEPTION '009 verify: auth_sign_up did not store the email trimmed';
        END IF;
        SELECT * INTO r FROM platform.auth_sign_in_lookup(' ALICE@verify.INVALID');
        IF r.user_id IS DISTINCT FROM alice OR r.password_hash IS DISTINCT FROM hash OR r.active IS DISTINCT FROM true
           OR EXISTS (SELECT 1 FROM platform.auth_sign_in_lookup('nobody@verify.invalid')) THEN
            RAISE EXCEPTION '009 verify: auth_sign_in_lookup does not find the account case-insensitively, or finds a stranger';
        END IF;

        INSERT INTO platform.organizations (name, slug) VALUES ('Verify', 'orgbase-verify-probe') RETURNING id INTO org;
        INSERT INTO platform.organizations (name, slug) VALUES ('Other', 'orgbase-verify-probe-2')
            RETURNING id INTO other_org;
        INSERT INTO platform.organization_members (organization_id, user_id, role) VALUES (org, alice, 'developer');
        PERFORM set_config('orgbase.verify_alice', alice::text, true),
                set_config('orgbase.verify_bob', bob::text, true),
                set_config('orgbase.verify_other_org', other_org::text, true);

        -- Sessions: created for an active user, with the sign-in time recorded.
        SELECT * INTO r FROM platform.auth_create_session(alice, tok_a, '192.0.2.1', 'verify', interval '1 hour');
        sess := r.session_id;
        IF r.expires_at IS DISTINCT FROM now() + interval '1 hour'
           OR NOT EXISTS (SELECT 1 FROM platform.user_sessions s
                           WHERE s.id = sess AND s.user_id = alice AND s.token_hash = tok_a
                             AND s.ip_address = '192.0.2.1' AND s.user_agent = 'verify')
           OR (SELECT u.last_sign_in_at FROM platform.users u WHERE u.id = alice) IS DISTINCT FROM now() THEN
            RAISE EXCEPTION '009 verify: auth_create_session did not open the session or record the sign-in';
        END IF;

        -- auth_bind: the user, no organization, and the context set transaction-local (it outlives the call).
        SELECT * INTO r FROM platform.auth_bind(tok_a, NULL, 'verify-request');
        IF r.user_id IS DISTINCT FROM alice OR r.session_id IS DISTINCT FROM sess OR r.organization_id IS NOT NULL
           OR r.role IS NOT NULL OR r.email IS DISTINCT FROM 'Alice@Verify.invalid'
           OR r.first_name IS DISTINCT FROM 'Alice' OR r.last_name IS DISTINCT FROM 'Probe' OR r.active_org_id IS NOT NULL
           OR current_setting('app.current_user_id', true) IS DISTINCT FROM alice::text
           OR current_setting('app.current_org_id', true) IS DISTINCT FROM ''
           OR current_setting('app.request_id', true) IS DISTINCT FROM 'verify-request' THEN
            RAISE EXCEPTION '009 verify: auth_bind did not return the user or set the context';
        END IF;
        -- The organization named by the request, for a member, with the role.
        SELECT * INTO r FROM platform.auth_bind(tok_a, org, NULL);
        IF r.organization_id IS DISTINCT FROM org OR r.role IS DISTINCT FROM 'developer'
           OR current_setting('app.current_org_id', true) IS DISTINCT FROM org::text
           OR current_setting('app.request_id', true) IS DISTINCT FROM '' THEN
            RAISE EXCEPTION '009 verify: auth_bind did not bind the organization of the request';
        END IF;
        -- Else the active organization while still a member, else none.
        UPDATE platform.users u SET active_org_id = org WHERE u.id = alice;
        SELECT * INTO r FROM platform.auth_bind(tok_a, NULL, NULL);
        IF r.organization_id IS DISTINCT FROM org OR r.role IS DISTINCT FROM 'developer'
           OR r.active_org_id IS DISTINCT FROM org THEN
            RAISE EXCEPTION '009 verify: auth_bind did not fall back to the active organization';
        END IF;
        UPDATE platform.users u SET active_org_id = other_org WHERE u.id = alice;
        SELECT * INTO r FROM platform.auth_bind(tok_a, NULL, NULL);
        IF r.organization_id IS NOT NULL OR r.role IS NOT NULL
           OR current_setting('app.current_org_id', true) IS DISTINCT FROM '' THEN
            RAISE EXCEPTION '009 verify: auth_bind bound an active organization the user is not a member of';
        END IF;
        -- last_activity_at: touched when older than a minute, left alone otherwise.
        UPDATE platform.user_sessions s SET last_activity_at = now() - interval '5 minutes' WHERE s.id = sess;
        PERFORM platform.auth_bind(tok_a, NULL, NULL);
        IF (SELECT s.last_activity_at FROM platform.user_sessions s WHERE s.id = sess) IS DISTINCT FROM now() THEN
            RAISE EXCEPTION '009 verify: auth_bind did not touch a session idle for more than a minute';
        END IF;
        UPDATE platform.user_sessions s SET last_activity_at = now() - interval '30 seconds' WHERE s.id = sess;
        PERFORM platform.auth_bind(tok_a, NULL, NULL);
        IF (SELECT s.last_activity_at FROM platform.user_sessions s WHERE s.id = sess)
           IS DISTINCT FROM now() - interval '30 seconds' THEN
            RAISE EXCEPTION '009 verify: auth_bind wrote last_activity_at although it was less than a minute old';
        END IF;

        -- Rate limits: failures counted per normalized email and per address in the current window.
        PERFORM platform.auth_check_rate('bob@verify.invalid', '192.0.2.7', 2, 3, win);
        PERFORM platform.auth_record_failure(' BOB@verify.invalid', '192.0.2.7', win);
        PERFORM platform.auth_record_failure('bob@verify.invalid', NULL, win);
        PERFORM platform.auth_record_failure('carol@verify.invalid', '192.0.2.7', win);
        IF (SELECT a.failures FROM platform.sign_in_attempts a
             WHERE a.subject = 'email:bob@verify.invalid' AND a.window_start = date_bin(win, now(), timestamptz 'epoch'))
           IS DISTINCT FROM 2
           OR (SELECT a.failures FROM platform.sign_in_attempts a
                WHERE a.subject = 'ip:192.0.2.7' AND a.window_start = date_bin(win, now(), timestamptz 'epoch'))
              IS DISTINCT FROM 2 THEN
            RAISE EXCEPTION '009 verify: auth_record_failure does not count per normalized email and per address';
        END IF;
        -- Below both limits: no error.
        PERFORM platform.auth_check_rate('carol@verify.invalid', '192.0.2.7', 2, 3, win);
        PERFORM platform.auth_check_rate('bob@verify.invalid', '192.0.2.7', 3, 3, win);
        PERFORM platform.auth_record_failure('dave@verify.invalid', '192.0.2.7', win);

        FOR t IN SELECT * FROM (VALUES
            (1, $s$SELECT * FROM platform.auth_bind(repeat('z', 64), NULL, NULL)$s$, 'OB401', 'invalid or expired session'),
            (2, $s$SELECT * FROM platform.auth_bind(NULL, NULL, NULL)$s$, 'OB401', 'invalid or expired session'),
            (3, $s$SELECT * FROM platform.auth_bind(repeat('a', 64), current_setting('orgbase.verify_other_org')::uuid, NULL)$s$,
             'OB404', 'organization not found'),
            (4, $s$SELECT * FROM platform.auth_bind(repeat('a', 64), gen_random_uuid(), NULL)$s$,
             'OB404', 'organization not found'),
            (5, $s$SELECT * FROM platform.auth_create_session(gen_random_uuid(), repeat('c', 64), NULL, NULL, '1 hour')$s$,
             'OB401', NULL),
            (6, $s$SELECT * FROM platform.auth_refresh_session(repeat('z', 64), repeat('y', 64), '1 hour')$s$,
             'OB401', 'invalid or expired session'),
            (7, $s$SELECT platform.auth_sign_up('BOB@verify.INVALID', '$argon2id$v=19$x', NULL, NULL)$s$,
             '23505', 'users_email_lower_key'),
            -- The account reached 2 failures, the address 3.
            (8, $s$SELECT platform.auth_check_rate('bob@verify.invalid', NULL, 2, 3, '15 minutes')$s$,
             'OB429', 'too many failed sign-ins; try again later'),
            (9, $s$SELECT platform.auth_check_rate('nobody@verify.invalid', '192.0.2.7', 5, 3, '15 minutes')$s$,
             'OB429', 'too many failed sign-ins; try again later'),
            (10, $s$SELECT platform.auth_check_rate('bob@verify.invalid', NULL, 2, 0, '15 minutes')$s$, '22023', NULL),
            (11, $s$SELECT * FROM platform.auth_create_session(current_setting('orgbase.verify_bob')::uuid,
                                                               repeat('c', 64), NULL, NULL, '0')$s$, '22023', NULL)
        ) AS v(n, stmt, state, detail) ORDER BY v.n
        LOOP
            BEGIN
                EXECUTE t.stmt;
                got_state := 'accepted';
                got_name := '';
                got_message := '';
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS got_state = RETURNED_SQLSTATE, got_name = CONSTRAINT_NAME,
                                        got_message = MESSAGE_TEXT;
            END;
            IF got_state <> t.state
               OR (t.detail IS NOT NULL AND t.detail NOT IN (got_name, got_message)) THEN
                RAISE EXCEPTION '009 verify: expected % (%), got % % % for: %',
                    t.state, coalesce(t.detail, '-'), got_state, got_name, got_message, t.stmt;
            END IF;
        END LOOP;

        -- A sign-in clears the account's counters (not the address's).
        PERFORM platform.auth_create_session(bob, tok_b, NULL, NULL, interval '1 hour');
        PERFORM platform.auth_check_rate('bob@verify.invalid', NULL, 2, 3, win);
        IF EXISTS (SELECT 1 FROM platform.sign_in_attempts a WHERE a.subject = 'email:bob@verify.invalid')
           OR NOT EXISTS (SELECT 1 FROM platform.sign_in_attempts a WHERE a.subject = 'ip:192.0.2.7') THEN
            RAISE EXCEPTION '009 verify: auth_create_session must clear the account''s failures and only those';
        END IF;
        -- Old windows go with the job; current ones stay.
        INSERT INTO platform.sign_in_attempts (subject, window_start, failures)
            VALUES ('ip:192.0.2.8', now() - interval '2 days', 9);
        n := platform.auth_purge_sign_in_attempts(interval '1 day');
        IF n < 1
           OR EXISTS (SELECT 1 FROM platform.sign_in_attempts a WHERE a.subject = 'ip:192.0.2.8')
           OR NOT EXISTS (SELECT 1 FROM platform.sign_in_attempts a WHERE a.subject = 'ip:192.0.2.7') THEN
            RAISE EXCEPTION '009 verify: auth_purge_sign_in_attempts does not delete exactly the old windows';
        END IF;

        -- Refresh rotates: the old token stops working, the new one binds.
        SELECT * INTO r FROM platform.auth_refresh_session(tok_b, repeat('d', 64), interval '2 hours');
        IF r.expires_at IS DISTINCT FROM now() + interval '2 hours'
           OR EXISTS (SELECT 1 FROM platform.user_sessions s WHERE s.token_hash = tok_b)
           OR (SELECT b.user_id FROM platform.auth_bind(repeat('d', 64), NULL, NULL) b) IS DISTINCT FROM bob THEN
            RAISE EXCEPTION '009 verify: auth_refresh_session did not rotate the session';
        END IF;
        -- A banned user: no bind, no refresh, no new session; sign-in lookup says inactive.
        UPDATE platform.users u SET banned_until = now() + interval '1 day' WHERE u.id = bob;
        FOR t IN SELECT * FROM (VALUES
            (1, $s$SELECT * FROM platform.auth_bind(repeat('d', 64), NULL, NULL)$s$),
            (2, $s$SELECT * FROM platform.auth_refresh_session(repeat('d', 64), repeat('e', 64), '1 hour')$s$),
            (3, $s$SELECT * FROM platform.auth_create_session(current_setting('orgbase.verify_bob')::uuid,
                                                               repeat('e', 64), NULL, NULL, '1 hour')$s$)
        ) AS v(n, stmt) ORDER BY v.n
        LOOP
            BEGIN
                EXECUTE t.stmt;
                got_state := 'accepted';
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS got_state = RETURNED_SQLSTATE;
            END;
            IF got_state <> 'OB401' THEN
                RAISE EXCEPTION '009 verify: a banned user got % instead of OB401 from: %', got_state, t.stmt;
            END IF;
        END LOOP;
        IF (SELECT l.active FROM platform.auth_sign_in_lookup('bob@verify.invalid') l) IS DISTINCT FROM false THEN
            RAISE EXCEPTION '009 verify: auth_sign_in_lookup says a banned user is active';
        END IF;
        -- An expired session binds no more, and the job deletes it.
        UPDATE platform.user_sessions s
           SET created_at = now() - interval '2 hours', expires_at = now() - interval '1 hour'
         WHERE s.id = sess;
        BEGIN
            PERFORM platform.auth_bind(tok_a, NULL, NULL);
            got_state := 'accepted';
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS got_state = RETURNED_SQLSTATE;
        END;
        IF got_state <> 'OB401' THEN
            RAISE EXCEPTION '009 verify: an expired session got % instead of OB401 from auth_bind', got_state;
        END IF;
        n := platform.auth_purge_expired_sessions();
        IF n < 1
           OR EXISTS (SELECT 1 FROM platform.user_sessions s WHERE s.id = sess)
           OR NOT EXISTS (SELECT 1 FROM platform.user_sessions s WHERE s.token_hash = repeat('d', 64)) THEN
            RAISE EXCEPTION '009 verify: auth_purge_expired_sessions does not delete exactly the expired sessions';
        END IF;
        -- Sign-out.
        revoked := platform.auth_revoke_session(repeat('d', 64));
        IF NOT revoked OR platform.auth_revoke_session(repeat('d', 64)) THEN
            RAISE EXCEPTION '009 verify: auth_revoke_session does not delete the session once';
        END IF;
        RAISE EXCEPTION USING errcode = 'OB000', message = 'rollback';
    EXCEPTION WHEN SQLSTATE 'OB000' THEN
        NULL;
    END;
END
$$;

-- Behaviour of organizations, invitations and member lists, in a block that is rolled back.
DO $$
DECLARE
    hash constant text := '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA';
    alice uuid;
    bob uuid;
    carol uuid;
    org uuid;
    second_org uuid;
    accepted uuid;
    t record;
    got_state text;
    got_name text;
    got_message text;
BEGIN
    BEGIN
        INSERT INTO platform.users (email, password_hash) VALUES ('alice@verify.invalid', hash) RETURNING id INTO alice;
        INSERT INTO platform.users (email, password_hash) VALUES ('Bob@Verify.invalid', hash) RETURNING id INTO bob;
        INSERT INTO platform.users (email, password_hash) VALUES ('carol@verify.invalid', hash) RETURNING id INTO carol;

        -- An organization: its creator the owner, on the free plan, and their active organization if none.
        PERFORM set_config('app.current_user_id', alice::text, true);
        org := platform.create_organization('Verify', 'orgbase-verify-probe', NULL);
        second_org := platform.create_organization('Verify 2', 'orgbase-verify-probe-2', 'billing@verify.invalid');
        IF NOT EXISTS (SELECT 1 FROM platform.organization_members m
                        WHERE m.organization_id = org AND m.user_id = alice AND m.role = 'owner' AND m.joined_at = now())
           OR NOT EXISTS (SELECT 1 FROM platform.subscriptions s
                           WHERE s.organization_id = org AND s.plan_id = 'free' AND s.status = 'active')
           OR (SELECT u.active_org_id FROM platform.users u WHERE u.id = alice) IS DISTINCT FROM org THEN
            RAISE EXCEPTION '009 verify: create_organization did not make the owner, the free subscription or the active organization';
        END IF;
        PERFORM set_config('orgbase.verify_org', org::text, true),
                set_config('orgbase.verify_alice', alice::text, true),
                set_config('orgbase.verify_bob', bob::text, true),
                set_config('orgbase.verify_carol', carol::text, true);
        UPDATE platform.organization_members m SET joined_at = now() - interval '1 day'
         WHERE m.organization_id = org AND m.user_id = alice;

        INSERT INTO platform.invitations (organization_id, email, role, token_hash, invited_by, expires_at)
            VALUES (org, 'BOB@verify.invalid', 'developer', repeat('i', 64), alice, now() + interval '7 days');
        INSERT INTO platform.invitations (organization_id, email, role, token_hash, invited_by, created_at, expires_at)
            VALUES (org, 'carol@verify.invalid', 'admin', repeat('k', 64), alice,
                    now() - interval '8 days', now() - interval '1 day');

        FOR t IN SELECT * FROM (VALUES
            -- Constraints of invitations.
            (1, $s$INSERT INTO platform.invitations (organization_id, email, role, token_hash, expires_at)
                   VALUES (current_setting('orgbase.verify_org')::uuid, 'not an email', 'developer', repeat('x', 64),
                           now() + interval '1 day')$s$, '23514', 'invitations_email_format'),
            (2, $s$INSERT INTO platform.invitations (organization_id, email, role, token_hash, expires_at)
                   VALUES (current_setting('orgbase.verify_org')::uuid, 'x@verify.invalid', 'superuser', repeat('x', 64),
                           now() + interval '1 day')$s$, '23503', 'invitations_role_known'),
            (3, $s$INSERT INTO platform.invitations (organization_id, email, role, token_hash, expires_at)
                   VALUES (current_setting('orgbase.verify_org')::uuid, 'x@verify.invalid', 'developer', 'short',
                           now() + interval '1 day')$s$, '23514', 'invitations_token_hash_length'),
            (4, $s$INSERT INTO platform.invitations (organization_id, email, role, token_hash, expires_at)
                   VALUES (current_setting('orgbase.verify_org')::uuid, 'x@verify.invalid', 'developer', repeat('x', 64),
                           now())$s$, '23514', 'invitations_expiry_after_creation'),
            (5, $s$INSERT INTO platform.invitations (organization_id, email, role, token_hash, expires_at)
                   VALUES (current_setting('orgbase.verify_org')::uuid, 'bob@VERIFY.invalid', 'admin', repeat('x', 64),
                           now() + interval '1 day')$s$, '23505', 'invitations_one_pending_per_email_key'),
            (6, $s$INSERT INTO platform.invitations (organization_id, email, role, token_hash, expires_at)
                   VALUES (current_setting('orgbase.verify_org')::uuid, 'x@verify.invalid', 'developer', repeat('i', 64),
                           now() + interval '1 day')$s$, '23505', 'invitations_token_hash_key'),
            (7, $s$INSERT INTO platform.invitations (organization_id, email, role, token_hash, expires_at, accepted_by)
                   VALUES (current_setting('orgbase.verify_org')::uuid, 'x@verify.invalid', 'developer', repeat('x', 64),
                           now() + interval '1 day', current_setting('orgbase.verify_alice')::uuid)$s$,
             '23514', 'invitations_accepted_by_needs_accepted_at'),
            (8, $s$INSERT INTO platform.invitations (organization_id, email, role, token_hash, expires_at)
                   VALUES (gen_random_uuid(), 'x@verify.invalid', 'developer', repeat('x', 64),
                           now() + interval '1 day')$s$, '23503', 'invitations_organization_id_fkey'),
            (9, $s$INSERT INTO platform.sign_in_attempts (subject, window_start) VALUES ('user:x', now())$s$,
             '23514', 'sign_in_attempts_subject_format'),
            -- A taken slug.
            (10, $s$SELECT platform.create_organization('Dup', 'orgbase-verify-probe', NULL)$s$,
             '23505', 'organizations_slug_key'),
            -- Invitations: the same message whatever the reason (not addressed to the user, unknown, expired).
            (11, $s$SELECT set_config('app.current_user_id', current_setting('orgbase.verify_alice'), true),
                           platform.accept_invitation(repeat('i', 64))$s$, 'OB404', 'invitation not found or expired'),
            (12, $s$SELECT set_config('app.current_user_id', current_setting('orgbase.verify_bob'), true),
                           platform.accept_invitation(repeat('z', 64))$s$, 'OB404', 'invitation not found or expired'),
            (13, $s$SELECT set_config('app.current_user_id', current_setting('orgbase.verify_carol'), true),
                           platform.accept_invitation(repeat('k', 64))$s$, 'OB404', 'invitation not found or expired'),
            -- Members: only for a member holding members.read, in the context's organization if one is set.
            (14, $s$SELECT set_config('app.current_user_id', current_setting('orgbase.verify_carol'), true),
                           platform.list_members(current_setting('orgbase.verify_org')::uuid)$s$,
             'OB404', 'organization not found'),
            (15, $s$SELECT set_config('app.current_user_id', current_setting('orgbase.verify_alice'), true),
                           platform.list_members(gen_random_uuid())$s$, 'OB404', 'organization not found'),
            (16, $s$SELECT set_config('app.current_user_id', current_setting('orgbase.verify_alice'), true),
                           set_config('app.current_org_id', gen_random_uuid()::text, true),
                           platform.list_members(current_setting('orgbase.verify_org')::uuid)$s$,
             'OB404', 'organization not found'),
            -- No user in the context: unauthenticated.
            (17, $s$SELECT set_config('app.current_user_id', '', true),
                           platform.create_organization('Nobody', 'orgbase-verify-probe-3', NULL)$s$, 'OB401', NULL),
            (18, $s$SELECT set_config('app.current_user_id', '', true), platform.accept_invitation(repeat('i', 64))$s$,
             'OB401', NULL),
            (19, $s$SELECT set_config('app.current_user_id', '', true),
                           platform.list_members(current_setting('orgbase.verify_org')::uuid)$s$, 'OB401', NULL)
        ) AS v(n, stmt, state, detail) ORDER BY v.n
        LOOP
            BEGIN
                EXECUTE t.stmt;
                got_state := 'accepted';
                got_name := '';
                got_message := '';
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS got_state = RETURNED_SQLSTATE, got_name = CONSTRAINT_NAME,
                                        got_message = MESSAGE_TEXT;
            END;
            IF got_state <> t.state
               OR (t.detail IS NOT NULL AND t.detail NOT IN (got_name, got_message)) THEN
                RAISE EXCEPTION '009 verify: expected % (%), got % % % for: %',
                    t.state, coalesce(t.detail, '-'), got_state, got_name, got_message, t.stmt;
            END IF;
        END LOOP;

        -- Bob accepts his invitation (addressed case-differently): member with the invited role, invitation
        -- marked, and his active organization since he had none.
        PERFORM set_config('app.current_user_id', bob::text, true);
        accepted := platform.accept_invitation(repeat('i', 64));
        IF accepted IS DISTINCT FROM org
           OR NOT EXISTS (SELECT 1 FROM platform.organization_members m
                           WHERE m.organization_id = org AND m.user_id = bob AND m.role = 'developer'
                             AND m.invited_by = alice)
           OR NOT EXISTS (SELECT 1 FROM platform.invitations i
                           WHERE i.token_hash = repeat('i', 64) AND i.accepted_at = now() AND i.accepted_by = bob)
           OR (SELECT u.active_org_id FROM platform.users u WHERE u.id = bob) IS DISTINCT FROM org THEN
            RAISE EXCEPTION '009 verify: accept_invitation did not add the member with the invited role';
        END IF;
        -- Accepted once only; a new invitation (allowed: the first is no longer pending) finds a member.
        INSERT INTO platform.invitations (organization_id, email, role, token_hash, expires_at)
            VALUES (org, 'bob@verify.invalid', 'admin', repeat('j', 64), now() + interval '7 days');
        FOR t IN SELECT * FROM (VALUES
            (1, $s$SELECT platform.accept_invitation(repeat('i', 64))$s$, 'OB404'),
            (2, $s$SELECT platform.accept_invitation(repeat('j', 64))$s$, '23505')
        ) AS v(n, stmt, state) ORDER BY v.n
        LOOP
            BEGIN
                EXECUTE t.stmt;
                got_state := 'accepted';
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS got_state = RETURNED_SQLSTATE;
            END;
            IF got_state <> t.state THEN
                RAISE EXCEPTION '009 verify: expected % from %, got %', t.state, t.stmt, got_state;
            END IF;
        END LOOP;

        -- The member list, for a member (developers hold members.read), ordered by joined_at.
        PERFORM set_config('app.current_org_id', org::text, true);
        IF ARRAY(SELECT ROW(l.user_id, l.email, l.role)::text FROM platform.list_members(org) l)
           IS DISTINCT FROM ARRAY[ROW(alice, 'alice@verify.invalid', 'owner')::text,
                                  ROW(bob, 'Bob@Verify.invalid', 'developer')::text] THEN
            RAISE EXCEPTION '009 verify: list_members does not list the members in joining order';
        END IF;
        -- Deleting the organization takes its invitations along.
        DELETE FROM platform.organizations o WHERE o.id = org;
        IF EXISTS (SELECT 1 FROM platform.invitations i WHERE i.organization_id = org) THEN
            RAISE EXCEPTION '009 verify: deleting an organization left its invitations';
        END IF;
        RAISE EXCEPTION USING errcode = 'OB000', message = 'rollback';
    EXCEPTION WHEN SQLSTATE 'OB000' THEN
        NULL;
    END;
END
$$;
