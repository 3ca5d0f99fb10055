-- 016_sealed_context: the request's organization and permissions decided once per transaction, when the
-- context is bound, and sealed where the app role cannot write them (the orgbase_seal extension,
-- ext/orgbase_seal). 007's and 014's policies read them back at the price of a function call.
--
-- Why. Every tenant predicate asks "the context's organization, if its user holds permission p there"
-- (platform.current_org_if_can). 014 answered with a PL/pgSQL definer looking up the membership on every
-- statement: ~150k instructions, +0.1 ms on a 0.3 ms page, far past issue 5's 1.10x (docs/rls.md,
-- "Measured"). Any lookup per statement costs too much there: an inlined SQL lookup of one index-only row
-- still measured 1.13-1.27x on pages. And the settings cannot carry the answer: set_config is open to every
-- role, so app.current_org_id proves nothing. The extension keeps (organization, permissions) in backend
-- memory for the one transaction that sealed it (cleared at its end and when the subtransaction that sealed it
-- aborts); only the owner may seal (bootstrap grants seal() to it alone), that is only the definers below,
-- after they checked the membership.
--
-- What changes for callers: nothing in the API (auth_bind keeps its contract and also seals). Code that played
-- a request with raw set_config calls platform.bind_context(user, org, request_id) instead: it sets the same
-- settings and seals what the membership grants (a user who is not a member of the organization named gets
-- the settings as asked and no organization sealed: nothing of it visible, as before). Setting
-- app.current_org_id afterwards changes nothing the policies let through.
--
-- The helpers keep their names, so 007's and 014's policies are unchanged: current_org_if_can(p) and
-- current_member_can(p) become inlinable SQL over orgbase_seal.org_if_can(p), PARALLEL RESTRICTED (the seal
-- is in the leader's memory). current_user_org_ids() stays a lookup: a request that creates an organization
-- or accepts an invitation must see the new membership in the same transaction, and the org switcher is not
-- a hot path.

DO $$
BEGIN
    IF to_regprocedure('orgbase_seal.seal(uuid, uuid, text[], text[])') IS NULL
       OR to_regprocedure('orgbase_seal.org_if_can(text)') IS NULL
       OR to_regprocedure('orgbase_seal.watching(text)') IS NULL THEN
        RAISE EXCEPTION 'the orgbase_seal extension is missing from this database'
            USING HINT = 'Install it on the server (scripts/build-seal.sh, run by make) and run '
                         '`orgbase db bootstrap` as a superuser: it creates the extension in each database.';
    END IF;
END
$$;

-- Seal a request's context: its user, the organization if the user holds permissions there (p_permissions
-- NULL: not a member, no organization), and the tables shadow mode watches for this session (the app role's
-- sessions only, as 014's watch() decided per statement), which watch() then reads from the seal. A request
-- bound while some table is watched counts once as observed traffic (014 counted every statement: a sequence
-- call per statement, now one per request). Called by the definers below, as the owner; nobody else; not a
-- definer itself (its callers pinned search_path; every name here is qualified). PL/pgSQL, not SQL: a SQL
-- function with a SET clause is planned again on every call (194 us a bind_context against 77 us, pgbench).
-- The arrays are not sorted: the seal only tests membership, and sorting cost ~8 us a request.
CREATE FUNCTION platform.seal_request(p_user_id uuid, p_org_id uuid, p_permissions text[]) RETURNS void
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    watched text[];
BEGIN
    SELECT ARRAY(SELECT m.table_name FROM rls_shadow.modes m WHERE m.mode = 'shadow') INTO watched
      FROM rls_shadow.config c
     WHERE c.app_role = session_user;
    PERFORM orgbase_seal.seal(p_user_id, CASE WHEN p_permissions IS NOT NULL THEN p_org_id END, p_permissions,
                              watched);
    IF p_user_id IS NOT NULL AND cardinality(watched) > 0 THEN
        PERFORM nextval('rls_shadow.observed');
    END IF;
END;
$$;
COMMENT ON FUNCTION platform.seal_request(uuid, uuid, text[]) IS
    'Seal (orgbase_seal) the request''s user, organization and permissions, and the tables shadow mode watches';
REVOKE ALL ON FUNCTION platform.seal_request(uuid, uuid, text[]) FROM PUBLIC;

-- A request's context without a token: the settings exactly as given (as a transaction-local set_config
-- would), and the seal the membership allows. For the RLS harness, its rehearsal of 007, benchmarks and
-- tests, which play requests as the app role. It grants nothing set_config did not: the user is taken as
-- given (the threat model: SQL run as the app role can claim a user), the organization only if that user is a
-- member of it with an active account.
CREATE FUNCTION platform.bind_context(p_user_id uuid, p_org_id uuid, p_request_id text DEFAULT '')
    RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, platform, pg_temp
AS $$
DECLARE
    permissions text[];
BEGIN
    SELECT array_agg(rp.permission) INTO permissions
      FROM platform.organization_members m
      JOIN platform.role_permissions rp ON rp.role = m.role
      JOIN platform.users u ON u.id = m.user_id
     WHERE m.organization_id = p_org_id AND m.user_id = p_user_id
       AND platform.user_is_active(u.deleted_at, u.banned_until);
    PERFORM set_config('app.current_user_id', coalesce(p_user_id::text, ''), true),
            set_config('app.current_org_id', coalesce(p_org_id::text, ''), true),
            set_config('app.request_id', coalesce(p_request_id, ''), true),
            platform.seal_request(p_user_id, p_org_id, permissions);
END;
$$;
COMMENT ON FUNCTION platform.bind_context(uuid, uuid, text) IS
    'Set a request context as given (transaction-local) and seal the organization if the user is a member: '
    'the harness''s and tests'' way to play a request';
REVOKE ALL ON FUNCTION platform.bind_context(uuid, uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform.bind_context(uuid, uuid, text) TO :"app_role", :"service_role";

-- auth_bind (013's body and contract) also seals: its lookup already found the membership and the role.
CREATE OR REPLACE FUNCTION platform.auth_bind(p_token_hash text, p_org_id uuid, p_request_id text)
    RETURNS TABLE (user_id uuid, session_id uuid, organization_id uuid, role text, email text, first_name text,
                   last_name text, active_org_id uuid)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, platform, pg_temp
AS $$
DECLARE
    last_seen timestamptz;
    permissions text[];
BEGIN
    -- The result columns are this function's OUT variables: every column below is qualified by its table.
    -- The membership is looked up for the path's organization if there is one, else for the active one; a
    -- unique key (token hash, user id, membership) makes at most one row.
    SELECT s.user_id, s.id, m.organization_id, m.role, u.email, u.first_name, u.last_name, u.active_org_id,
           s.last_activity_at,
           (SELECT array_agg(rp.permission) FROM platform.role_permissions rp
             WHERE rp.role = m.role)
      INTO user_id, session_id, organization_id, role, email, first_name, last_name, active_org_id, last_seen,
           permissions
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
    -- only search_path is in its SET clause. The seal, too, lasts until the transaction ends.
    PERFORM set_config('app.current_user_id', user_id::text, true),
            set_config('app.current_org_id', coalesce(organization_id::text, ''), true),
            set_config('app.request_id', coalesce(p_request_id, ''), true),
            platform.seal_request(user_id, organization_id, permissions);

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
    'app.current_org_id and app.request_id (transaction-local) and seals the organization and permissions; '
    'OB401 / OB404. One lookup statement (013), sealed (016)';
REVOKE ALL ON FUNCTION platform.auth_bind(text, uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform.auth_bind(text, uuid, text) TO :"app_role";

-- The policies' helpers read the seal. SQL with one expression, not a definer, no SET: PostgreSQL inlines
-- them into the (SELECT ...) of each policy, an InitPlan that costs one C call per statement.
CREATE OR REPLACE FUNCTION platform.current_org_if_can(p_permission text) RETURNS uuid
    LANGUAGE sql STABLE PARALLEL RESTRICTED
AS $$
    SELECT orgbase_seal.org_if_can(p_permission)
$$;
COMMENT ON FUNCTION platform.current_org_if_can(text) IS
    'The sealed organization of this transaction if its user holds p_permission there, else NULL (matches no '
    'row). Call it as (SELECT ...) in a policy: once per statement';

CREATE OR REPLACE FUNCTION platform.current_member_can(p_permission text) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL RESTRICTED
AS $$
    SELECT orgbase_seal.org_if_can(p_permission) IS NOT NULL
$$;
COMMENT ON FUNCTION platform.current_member_can(text) IS
    'Whether the sealed user of this transaction holds p_permission in the sealed organization; false without '
    'a context. Call it as (SELECT ...) in a policy: once per statement';

-- Shadow mode's watch(), called once per statement by every shadow policy: the sealed answer (one C call,
-- inlined) when the request's context is sealed and no violation of an earlier statement is pending; else
-- 014's lookup, kept as watch_lookup(): a statement with no sealed context (exactly what the WS1 gate looks
-- for: tenant data read without a user context) is still watched from rls_shadow.modes, and a pending
-- violation is still flushed when the next statement starts. Same name and OID: the 72 policies follow.
CREATE FUNCTION rls_shadow.watch_lookup(p_table text) RETURNS boolean
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
    IF nullif(current_setting('app.current_user_id', true), '') IS NOT NULL
       AND orgbase_seal.watching(p_table) IS NULL THEN  -- a sealed request was counted when it was bound
        observed := nextval('rls_shadow.observed');
    END IF;
    IF coalesce(current_setting('rls_shadow.key', true), '') <> ''
       AND split_part(current_setting('rls_shadow.key', true), '|', 1) <> statement_timestamp()::text THEN
        PERFORM rls_shadow.flush();  -- what an earlier statement of this transaction left pending
    END IF;
    RETURN true;
END;
$$;
COMMENT ON FUNCTION rls_shadow.watch_lookup(text) IS
    'watch() without a sealed context, or with a violation pending: the mode looked up in rls_shadow.modes';
REVOKE ALL ON FUNCTION rls_shadow.watch_lookup(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rls_shadow.watch_lookup(text) TO :"app_role";

CREATE OR REPLACE FUNCTION rls_shadow.watch(p_table text) RETURNS boolean
    LANGUAGE sql VOLATILE
AS $$
    SELECT coalesce(CASE WHEN coalesce(current_setting('rls_shadow.key', true), '') = ''
                         THEN orgbase_seal.watching(p_table) END,
                    rls_shadow.watch_lookup(p_table))
$$;
COMMENT ON FUNCTION rls_shadow.watch(text) IS
    'Whether shadow mode watches the table for this session (call it as (SELECT ...): once per statement); '
    'from the seal when there is one (016)';
