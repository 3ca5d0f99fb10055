-- 009_api_auth: what the API needs before it knows who is calling, and the flows that must keep working once
-- 007_restrictive_rls_policies enforces isolation (lesson 5): sign-up, sign-in, sessions, the per-request
-- context, sign-in rate limits, creating an organization with its owner, invitations, listing members.
--
-- All of it goes through narrow SECURITY DEFINER functions owned by the owner (which has BYPASSRLS, so it
-- sees rows under FORCE), with search_path pinned and EXECUTE granted only to the roles that call them. The
-- app role still cannot read user_sessions, password hashes (except through auth_sign_in_lookup, for the one
-- email it asks about) or the sign-in counters. Functions that act for a user take that user from the request
-- context (app.current_user_id, set by auth_bind), never from an argument (DESIGN.md, threat model).
--
-- Errors carry SQLSTATEs that src/orgbase/db/errors.py maps: OB401 unauthenticated (bad, expired or revoked
-- token, banned or deleted user, no user in the context), OB404 not found (also "not a member": no existence
-- oracle), OB429 rate limited, OB403 forbidden, 23505 duplicate.

-- Invitations: an organization invites an email address with a role; the invitee accepts with the token,
-- of which only the hash is stored. Who may invite whom (only members.grant_owner may invite an owner) is the
-- API's rule, read from the permission matrix; this table stores.
CREATE TABLE platform.invitations (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid        NOT NULL,
    email           text        NOT NULL,
    role            text        NOT NULL,
    token_hash      text        NOT NULL,
    invited_by      uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    accepted_at     timestamptz,
    accepted_by     uuid,
    CONSTRAINT invitations_pkey PRIMARY KEY (id),
    CONSTRAINT invitations_organization_id_fkey FOREIGN KEY (organization_id)
        REFERENCES platform.organizations (id) ON DELETE CASCADE,
    -- An unknown role is refused here: the roles live in the matrix, nowhere else.
    CONSTRAINT invitations_role_known FOREIGN KEY (role) REFERENCES platform.member_roles (role),
    -- The record of who invited and who accepted outlives those accounts.
    CONSTRAINT invitations_invited_by_fkey FOREIGN KEY (invited_by)
        REFERENCES platform.users (id) ON DELETE SET NULL,
    CONSTRAINT invitations_accepted_by_fkey FOREIGN KEY (accepted_by)
        REFERENCES platform.users (id) ON DELETE SET NULL,
    -- The hash of a random 256-bit token: global uniqueness tells nobody anything.
    CONSTRAINT invitations_token_hash_key UNIQUE (token_hash),
    CONSTRAINT invitations_token_hash_length CHECK (char_length(token_hash) BETWEEN 32 AND 256),
    CONSTRAINT invitations_email_format
        CHECK (char_length(email) <= 254 AND email ~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$'),
    CONSTRAINT invitations_expiry_after_creation CHECK (expires_at > created_at),
    -- accepted_by without accepted_at would be an acceptance with no time (the reverse is an accepter deleted).
    CONSTRAINT invitations_accepted_by_needs_accepted_at CHECK (accepted_by IS NULL OR accepted_at IS NOT NULL)
);
COMMENT ON TABLE platform.invitations IS
    'Invitations of an email address to an organization with a role; only the hash of the token is stored';
COMMENT ON COLUMN platform.invitations.token_hash IS 'Hash of the random invitation token (never the token); not readable by the app role';
COMMENT ON COLUMN platform.invitations.accepted_at IS 'NULL while pending; accepted through platform.accept_invitation()';
-- An organization's invitations, newest first (the index that leads with organization_id).
CREATE INDEX invitations_organization_id_created_at_idx ON platform.invitations (organization_id, created_at DESC);
-- At most one pending invitation per organization and email, case-insensitively. An expired pending
-- invitation still counts (an index predicate cannot read the clock): the API deletes it before inviting again.
CREATE UNIQUE INDEX invitations_one_pending_per_email_key ON platform.invitations (organization_id, lower(email))
    WHERE accepted_at IS NULL;
-- ON DELETE SET NULL from users must not scan the table.
CREATE INDEX invitations_invited_by_idx ON platform.invitations (invited_by) WHERE invited_by IS NOT NULL;
CREATE INDEX invitations_accepted_by_idx ON platform.invitations (accepted_by) WHERE accepted_by IS NOT NULL;

-- Failed sign-ins, counted per subject ('email:<address>' or 'ip:<client address>') per fixed window, in the
-- database so that the limit holds across workers and restarts (lesson 15: the first implementation kept it
-- in one process's memory). Read and written only through the auth_* functions below.
CREATE TABLE platform.sign_in_attempts (
    subject      text        NOT NULL,
    window_start timestamptz NOT NULL,
    failures     integer     NOT NULL DEFAULT 0,
    CONSTRAINT sign_in_attempts_pkey PRIMARY KEY (subject, window_start),
    CONSTRAINT sign_in_attempts_subject_format
        CHECK (subject ~ '^(email|ip):' AND char_length(subject) <= 300),
    CONSTRAINT sign_in_attempts_failures_not_negative CHECK (failures >= 0)
);
COMMENT ON TABLE platform.sign_in_attempts IS
    'Failed sign-ins per subject (email:<address> or ip:<address>) per fixed window. No app-role access';

-- RLS as on every platform table (006_permissive_rls): enabled, forced, and the allow-all permissive policy
-- for the app role, the state 007_restrictive_rls_policies starts from. sign_in_attempts gets it too, for
-- uniformity, although the app role holds no privilege on it.
ALTER TABLE platform.invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE platform.invitations FORCE ROW LEVEL SECURITY;
CREATE POLICY invitations_permissive_all ON platform.invitations AS PERMISSIVE FOR ALL TO :"app_role" USING (true) WITH CHECK (true);
ALTER TABLE platform.sign_in_attempts ENABLE ROW LEVEL SECURITY;
ALTER TABLE platform.sign_in_attempts FORCE ROW LEVEL SECURITY;
CREATE POLICY sign_in_attempts_permissive_all ON platform.sign_in_attempts AS PERMISSIVE FOR ALL TO :"app_role" USING (true) WITH CHECK (true);

-- THE one place that decides whether an account may act: not soft-deleted and not banned now. Every auth
-- function below calls it (lesson 15: the first implementation checked bans differently on each path).
-- Invoker SQL, STABLE (it reads the clock), no SET clause: inlinable where a query calls it.
CREATE FUNCTION platform.user_is_active(p_deleted_at timestamptz, p_banned_until timestamptz) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT p_deleted_at IS NULL AND (p_banned_until IS NULL OR p_banned_until <= now())
$$;
COMMENT ON FUNCTION platform.user_is_active(timestamptz, timestamptz) IS
    'Whether an account with these deleted_at and banned_until may act now: the one rule for every auth path';

-- THE one normalization of a rate-limit subject: the counters are written, read and cleared under the same
-- key. The email is trimmed and lower-cased as sign-up and sign-in compare it (else " Alice@x" and "alice@x"
-- would be separate budgets), and both values are cut to a bounded length, so that recording a failure never
-- fails on an oversized input (no account has an email over 254 characters anyway). NULL in, NULL out.
-- Called only by the definer functions below (as the owner); nobody else needs it.
CREATE FUNCTION platform.sign_in_subject(p_kind text, p_value text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT CASE p_kind
               WHEN 'email' THEN 'email:' || left(lower(btrim(p_value)), 254)
               WHEN 'ip' THEN 'ip:' || left(btrim(p_value), 64)
           END
$$;
COMMENT ON FUNCTION platform.sign_in_subject(text, text) IS
    'Rate-limit key of an email or client address (email:<trimmed lower email>, ip:<address>); NULL for NULL';

-- Sign-up: a new account. The email is stored trimmed; its uniqueness is users_email_lower_key
-- (case-insensitive), so a taken email raises 23505. A definer function because under restrictive RLS there
-- is no user in the context yet to insert as.
CREATE FUNCTION platform.auth_sign_up(p_email text, p_password_hash text, p_first_name text, p_last_name text)
    RETURNS uuid
    LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog, platform, pg_temp
AS $$
    INSERT INTO platform.users (email, password_hash, first_name, last_name)
    VALUES (btrim(p_email), p_password_hash, p_first_name, p_last_name)
    RETURNING id
$$;
COMMENT ON FUNCTION platform.auth_sign_up(text, text, text, text) IS
    'Creates an account (email trimmed; argon2id hash made in Python) and returns its id; 23505 if the email is taken';

-- Sign-in, step one: the account with this email (case-insensitively, trimmed as sign-up stores it), its
-- argon2id hash for Python to verify, and whether it may act. No row when there is none: Python then verifies
-- against a dummy hash so that the answer takes the same time. Hashes leave the table only here, one email
-- at a time.
CREATE FUNCTION platform.auth_sign_in_lookup(p_email text)
    RETURNS TABLE (user_id uuid, password_hash text, active boolean)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, platform, pg_temp
AS $$
    SELECT u.id, u.password_hash, platform.user_is_active(u.deleted_at, u.banned_until)
      FROM platform.users u
     WHERE lower(u.email) = lower(btrim(p_email))
$$;
COMMENT ON FUNCTION platform.auth_sign_in_lookup(text) IS
    'The account of an email (case-insensitive): id, password hash, active; no row if none';

-- Sign-in, before anything else: OB429 if the account or the client address has reached its limit of
-- failures in the current fixed window (date_bin of the window length from the epoch). p_ip may be NULL
-- (then only the account is checked). Counting failures for emails that have no account too means the limit
-- answers the same whether the account exists.
CREATE FUNCTION platform.auth_check_rate(p_email text, p_ip text, p_max_per_account integer, p_max_per_ip integer,
                                         p_window interval) RETURNS void
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, platform, pg_temp
AS $$
DECLARE
    this_window timestamptz;
BEGIN
    IF p_max_per_account IS NULL OR p_max_per_account < 1 OR p_max_per_ip IS NULL OR p_max_per_ip < 1
       OR p_window IS NULL OR p_window <= interval '0' THEN
        RAISE EXCEPTION 'auth_check_rate: the limits and the window must be positive, not %, % and %',
            p_max_per_account, p_max_per_ip, p_window
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    this_window := date_bin(p_window, now(), timestamptz 'epoch');
    IF EXISTS (SELECT 1 FROM platform.sign_in_attempts a
                WHERE a.subject = platform.sign_in_subject('email', p_email)
                  AND a.window_start = this_window AND a.failures >= p_max_per_account)
       OR EXISTS (SELECT 1 FROM platform.sign_in_attempts a
                   WHERE a.subject = platform.sign_in_subject('ip', p_ip)
                     AND a.window_start = this_window AND a.failures >= p_max_per_ip) THEN
        RAISE EXCEPTION 'too many failed sign-ins; try again later' USING ERRCODE = 'OB429';
    END IF;
END;
$$;
COMMENT ON FUNCTION platform.auth_check_rate(text, text, integer, integer, interval) IS
    'Raises OB429 if the email or the client address (may be NULL) reached its failure limit in the current window';

-- A failed sign-in: one more failure for the email and for the client address (if known) in the current
-- window. The API calls it in a transaction of its own, so that it counts although the request fails. One
-- statement, subjects always in the same order (email, then address): concurrent failures do not deadlock.
CREATE FUNCTION platform.auth_record_failure(p_email text, p_ip text, p_window interval) RETURNS void
    LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog, platform, pg_temp
AS $$
    INSERT INTO platform.sign_in_attempts AS a (subject, window_start, failures)
    SELECT s.subject, date_bin(p_window, now(), timestamptz 'epoch'), 1
      FROM unnest(ARRAY[platform.sign_in_subject('email', p_email), platform.sign_in_subject('ip', p_ip)])
           WITH ORDINALITY AS s (subject, n)
     WHERE s.subject IS NOT NULL
     ORDER BY s.n
    ON CONFLICT ON CONSTRAINT sign_in_attempts_pkey DO UPDATE SET failures = a.failures + 1
$$;
COMMENT ON FUNCTION platform.auth_record_failure(text, text, interval) IS
    'Counts one failed sign-in for the email and the client address (if not NULL) in the current window';

-- Sign-in, after Python verified the password: a session for an active user (else OB401), holding only the
-- hash of the token. Records the sign-in time and clears the account's failure counters (every window; the
-- client address keeps its own). The active check and the update are one statement, so a ban committed
-- meanwhile is not missed. The user agent and address are client-controlled: cut, never a reason to fail.
CREATE FUNCTION platform.auth_create_session(p_user_id uuid, p_token_hash text, p_ip text, p_user_agent text,
                                             p_ttl interval)
    RETURNS TABLE (session_id uuid, expires_at timestamptz)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, platform, pg_temp
AS $$
DECLARE
    user_email text;
BEGIN
    IF p_ttl IS NULL OR p_ttl <= interval '0' THEN
        RAISE EXCEPTION 'auth_create_session: the session lifetime must be positive, not %', p_ttl
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE platform.users u
       SET last_sign_in_at = now()
     WHERE u.id = p_user_id AND platform.user_is_active(u.deleted_at, u.banned_until)
    RETURNING u.email INTO user_email;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'user not found or not active' USING ERRCODE = 'OB401';
    END IF;
    DELETE FROM platform.sign_in_attempts a WHERE a.subject = platform.sign_in_subject('email', user_email);
    RETURN QUERY
        INSERT INTO platform.user_sessions AS s (user_id, token_hash, ip_address, user_agent, expires_at)
        VALUES (p_user_id, p_token_hash, left(p_ip, 64), left(p_user_agent, 1024), now() + p_ttl)
        RETURNING s.id, s.expires_at;
END;
$$;
COMMENT ON FUNCTION platform.auth_create_session(uuid, text, text, text, interval) IS
    'Opens a session (token hash, address, user agent, lifetime) for an active user; OB401 otherwise';

-- THE per-request context (WS1). Every authenticated request calls it first, in its own transaction: the
-- session of the token hash (unexpired) and its user (active, per user_is_active), else OB401. The
-- organization of the request: p_org_id if the user is a member of it, else OB404 (the same for one that
-- does not exist); without p_org_id, the user's active organization if still a member, else none. Then the
-- context, transaction-local (set_config(.., true): never a session-level SET, which leaks on a pool); it
-- outlives this function because only search_path is in its SET clause.
-- Fast: three lookups by unique index. last_activity_at is written at most once a minute (a write per request
-- would cost throughput), and never waits: a session row locked by a concurrent request is left alone.
CREATE FUNCTION platform.auth_bind(p_token_hash text, p_org_id uuid, p_request_id text)
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

-- Sign-out: the session of the token hash is gone; true if there was one (idempotent for the API).
CREATE FUNCTION platform.auth_revoke_session(p_token_hash text) RETURNS boolean
    LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog, platform, pg_temp
AS $$
    WITH revoked AS (
        DELETE FROM platform.user_sessions s WHERE s.token_hash = p_token_hash RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM revoked)
$$;
COMMENT ON FUNCTION platform.auth_revoke_session(text) IS 'Deletes the session of a token hash; true if one was deleted';

-- Refresh: rotates a valid session (unexpired, user active) to a new token hash and a new expiry, in one
-- statement; the old token stops working. Two refreshes racing with the same token: the second finds the
-- hash changed and gets OB401.
CREATE FUNCTION platform.auth_refresh_session(p_token_hash text, p_new_token_hash text, p_ttl interval)
    RETURNS TABLE (session_id uuid, expires_at timestamptz)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, platform, pg_temp
AS $$
BEGIN
    IF p_ttl IS NULL OR p_ttl <= interval '0' THEN
        RAISE EXCEPTION 'auth_refresh_session: the session lifetime must be positive, not %', p_ttl
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
        UPDATE platform.user_sessions s
           SET token_hash = p_new_token_hash, expires_at = now() + p_ttl, last_activity_at = now()
          FROM platform.users u
         WHERE s.token_hash = p_token_hash AND s.expires_at > now()
           AND u.id = s.user_id AND platform.user_is_active(u.deleted_at, u.banned_until)
        RETURNING s.id, s.expires_at;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'invalid or expired session' USING ERRCODE = 'OB401';
    END IF;
END;
$$;
COMMENT ON FUNCTION platform.auth_refresh_session(text, text, interval) IS
    'Rotates a valid session to a new token hash and expiry; OB401 if the session or its user is not valid';

-- The expired-sessions job (service role): deletes sessions past their expiry; returns how many.
CREATE FUNCTION platform.auth_purge_expired_sessions() RETURNS bigint
    LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog, platform, pg_temp
AS $$
    WITH purged AS (DELETE FROM platform.user_sessions s WHERE s.expires_at <= now() RETURNING 1)
    SELECT count(*) FROM purged
$$;
COMMENT ON FUNCTION platform.auth_purge_expired_sessions() IS 'Job: deletes expired sessions, returns how many; service role only';

-- The sign-in counters' job (service role): windows that started more than p_older_than ago are over (pass
-- at least the longest window the API uses); without it, one row per address or email ever tried stays.
CREATE FUNCTION platform.auth_purge_sign_in_attempts(p_older_than interval) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, platform, pg_temp
AS $$
DECLARE
    deleted bigint;
BEGIN
    IF p_older_than IS NULL OR p_older_than <= interval '0' THEN
        RAISE EXCEPTION 'auth_purge_sign_in_attempts: the age must be positive, not %', p_older_than
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    DELETE FROM platform.sign_in_attempts a WHERE a.window_start < now() - p_older_than;
    GET DIAGNOSTICS deleted = ROW_COUNT;
    RETURN deleted;
END;
$$;
COMMENT ON FUNCTION platform.auth_purge_sign_in_attempts(interval) IS
    'Job: deletes sign-in counters of windows that started more than p_older_than ago; service role only';

-- Creating an organization: the context's user (active, else OB401) becomes its owner in the same
-- transaction, it starts on the free plan, and it becomes the user's active organization if they have none.
-- Under restrictive RLS the creator is not yet a member and could insert none of this (lesson 5). A taken
-- slug raises 23505 (slugs are public identifiers).
CREATE FUNCTION platform.create_organization(p_name text, p_slug text, p_billing_email text) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, platform, pg_temp
AS $$
DECLARE
    me constant uuid := platform.get_current_user_id();
    org uuid;
BEGIN
    PERFORM 1 FROM platform.users u
      WHERE u.id = me AND platform.user_is_active(u.deleted_at, u.banned_until)
      FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no active user in the request context' USING ERRCODE = 'OB401';
    END IF;
    INSERT INTO platform.organizations AS o (name, slug, billing_email)
    VALUES (p_name, p_slug, p_billing_email)
    RETURNING o.id INTO org;
    INSERT INTO platform.organization_members (organization_id, user_id, role, joined_at)
    VALUES (org, me, 'owner', now());
    INSERT INTO platform.subscriptions (organization_id, plan_id, status, billing_cycle, current_period_start)
    VALUES (org, 'free', 'active', 'monthly', now());
    UPDATE platform.users u SET active_org_id = org WHERE u.id = me AND u.active_org_id IS NULL;
    RETURN org;
END;
$$;
COMMENT ON FUNCTION platform.create_organization(text, text, text) IS
    'Creates an organization owned by the context''s user, on the free plan; returns its id. OB401 without a user';

-- Accepting an invitation: the context's user (active, else OB401) accepts the pending, unexpired invitation
-- with this token hash addressed to their own email (case-insensitively). Anything else is OB404 with one
-- message whatever the reason (no oracle for tokens or emails). Already a member: 23505. The membership gets
-- the invited role; the invitation is marked accepted; the organization becomes the user's active one if they
-- have none (as for create_organization). The invitation row is locked: two accepts cannot both succeed.
CREATE FUNCTION platform.accept_invitation(p_token_hash text) RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, platform, pg_temp
AS $$
DECLARE
    me constant uuid := platform.get_current_user_id();
    my_email text;
    inv record;
BEGIN
    SELECT u.email INTO my_email FROM platform.users u
     WHERE u.id = me AND platform.user_is_active(u.deleted_at, u.banned_until)
       FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no active user in the request context' USING ERRCODE = 'OB401';
    END IF;
    SELECT i.id, i.organization_id, i.role, i.invited_by INTO inv
      FROM platform.invitations i
     WHERE i.token_hash = p_token_hash AND i.accepted_at IS NULL AND i.expires_at > now()
       AND lower(i.email) = lower(my_email)
       FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'invitation not found or expired' USING ERRCODE = 'OB404';
    END IF;
    IF EXISTS (SELECT 1 FROM platform.organization_members m
                WHERE m.organization_id = inv.organization_id AND m.user_id = me) THEN
        RAISE EXCEPTION 'already a member of this organization' USING ERRCODE = 'unique_violation';
    END IF;
    INSERT INTO platform.organization_members (organization_id, user_id, role, joined_at, invited_by)
    VALUES (inv.organization_id, me, inv.role, now(), inv.invited_by);
    UPDATE platform.invitations i SET accepted_at = now(), accepted_by = me WHERE i.id = inv.id;
    UPDATE platform.users u SET active_org_id = inv.organization_id WHERE u.id = me AND u.active_org_id IS NULL;
    RETURN inv.organization_id;
END;
$$;
COMMENT ON FUNCTION platform.accept_invitation(text) IS
    'The context''s user accepts a pending invitation to their email; returns the organization. OB401, OB404, 23505';

-- The members of an organization with their names and emails, for a context user holding members.read in it
-- (has_permission: active member, per the matrix), else OB404, the same as for an organization that does not
-- exist; also OB404 when the context names another organization (a wrong id in the app must not cross over).
-- Under restrictive RLS a member cannot read other users' rows: hence a definer function.
CREATE FUNCTION platform.list_members(p_org_id uuid)
    RETURNS TABLE (user_id uuid, email text, first_name text, last_name text, role text, joined_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, platform, pg_temp
AS $$
BEGIN
    IF platform.get_current_user_id() IS NULL THEN
        RAISE EXCEPTION 'no user in the request context' USING ERRCODE = 'OB401';
    END IF;
    IF p_org_id IS DISTINCT FROM coalesce(platform.get_current_org_id(), p_org_id)
       OR NOT platform.has_permission(p_org_id, 'members.read') THEN
        RAISE EXCEPTION 'organization not found' USING ERRCODE = 'OB404';
    END IF;
    RETURN QUERY
        SELECT m.user_id, u.email, u.first_name, u.last_name, m.role, m.joined_at
          FROM platform.organization_members m
          JOIN platform.users u ON u.id = m.user_id
         WHERE m.organization_id = p_org_id
         ORDER BY m.joined_at, m.user_id;
END;
$$;
COMMENT ON FUNCTION platform.list_members(uuid) IS
    'Members of an organization (id, email, names, role, joined_at) for a context user with members.read; OB404 otherwise';

-- Grants. Nothing for PUBLIC. The app role calls the API's functions; the service role the jobs (it also
-- reaches everything as a member of the owner, but the grant states the intent). sign_in_subject is called
-- only by the functions above, as their owner.
REVOKE ALL ON FUNCTION platform.user_is_active(timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION platform.sign_in_subject(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION platform.auth_sign_up(text, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION platform.auth_sign_in_lookup(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION platform.auth_check_rate(text, text, integer, integer, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION platform.auth_record_failure(text, text, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION platform.auth_create_session(uuid, text, text, text, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION platform.auth_bind(text, uuid, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION platform.auth_revoke_session(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION platform.auth_refresh_session(text, text, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION platform.auth_purge_expired_sessions() FROM PUBLIC;
REVOKE ALL ON FUNCTION platform.auth_purge_sign_in_attempts(interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION platform.create_organization(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION platform.accept_invitation(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION platform.list_members(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform.user_is_active(timestamptz, timestamptz) TO :"app_role", :"service_role";
GRANT EXECUTE ON FUNCTION platform.auth_sign_up(text, text, text, text) TO :"app_role";
GRANT EXECUTE ON FUNCTION platform.auth_sign_in_lookup(text) TO :"app_role";
GRANT EXECUTE ON FUNCTION platform.auth_check_rate(text, text, integer, integer, interval) TO :"app_role";
GRANT EXECUTE ON FUNCTION platform.auth_record_failure(text, text, interval) TO :"app_role";
GRANT EXECUTE ON FUNCTION platform.auth_create_session(uuid, text, text, text, interval) TO :"app_role";
GRANT EXECUTE ON FUNCTION platform.auth_bind(text, uuid, text) TO :"app_role";
GRANT EXECUTE ON FUNCTION platform.auth_revoke_session(text) TO :"app_role";
GRANT EXECUTE ON FUNCTION platform.auth_refresh_session(text, text, interval) TO :"app_role";
GRANT EXECUTE ON FUNCTION platform.auth_purge_expired_sessions() TO :"service_role";
GRANT EXECUTE ON FUNCTION platform.auth_purge_sign_in_attempts(interval) TO :"service_role";
GRANT EXECUTE ON FUNCTION platform.create_organization(text, text, text) TO :"app_role";
GRANT EXECUTE ON FUNCTION platform.accept_invitation(text) TO :"app_role";
GRANT EXECUTE ON FUNCTION platform.list_members(uuid) TO :"app_role";

-- The app role on invitations: list them (never the token hash: a reader could accept for someone else),
-- create (the token hash is written once, by the API that mailed the token), and withdraw. No UPDATE:
-- accepting goes through accept_invitation(). sign_in_attempts: nothing.
GRANT SELECT (id, organization_id, email, role, invited_by, created_at, expires_at, accepted_at, accepted_by)
    ON platform.invitations TO :"app_role";
GRANT INSERT (id, organization_id, email, role, token_hash, invited_by, expires_at) ON platform.invitations TO :"app_role";
GRANT DELETE ON platform.invitations TO :"app_role";
