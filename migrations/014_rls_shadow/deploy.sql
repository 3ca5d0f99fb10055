-- 014_rls_shadow: shadow mode (DESIGN.md, "Row Level Security and shadow mode"). 007's restrictive predicates,
-- evaluated but not enforced: every row they would deny is recorded, and the app behaves exactly as under
-- 006's permissive policies. The evidence for the WS1 and shadow_window gates of 007.
--
-- One RESTRICTIVE policy per table and command, `<table>_shadow_<command>`, whose predicate is
--     NOT (SELECT rls_shadow.watch(table)) OR (<007's predicate, verbatim>) OR rls_shadow.deny(table, command, row org)
-- and which is therefore always true (deny() returns true), so it denies nothing:
--   * watch() runs once per statement (an InitPlan) and answers whether shadow mode watches the table; the
--     mode is a row of rls_shadow.modes (data, not DDL: switching it is no drift and needs no lock). In
--     permissive mode the first arm is true and PostgreSQL evaluates nothing else per row.
--   * In shadow mode the second arm is 007's predicate, inlinable and evaluated per row as 007 would; rows that
--     conform (the API filters by organization) stop there. Only a row 007 would deny reaches deny().
--   * deny() aggregates: the first denied row of a (table, command, user, organization, request, reason) in a
--     statement is sent at once, later rows at 2, 4, 8, ... (and the rest when the key changes), so a flood
--     of n rows costs about log2(n) writes. Sends go through dblink on a connection of their own, as the
--     shadow role, and commit there: they survive the request's rollback (a write inside the request's
--     transaction would vanish with it). The OR never costs an index: the API's own organization_id filter
--     still drives the scan; the policy is a filter on the rows it returns.
-- Only the app role's sessions are watched (the harness and 007's verify run as the service role, which may
-- SET ROLE to the app role, and must not fill the record). 007 drops these policies when it enforces and its
-- revert restores them, so enforcing costs nothing of shadow mode and reverting resumes it.
-- The policies are generated from 007's deploy script by scripts/gen_shadow_policies.py, and a test checks
-- that each holds its twin's predicate verbatim.
--
-- Needs the dblink extension in schema dblink, EXECUTE on its functions for the owner role, and the shadow
-- login role: `orgbase db bootstrap` makes them (a superuser's work, never a migration's).

SET LOCAL orgbase.app_role = :"app_role";

DO $$
BEGIN
    IF to_regprocedure('dblink.dblink_exec(text,text)') IS NULL THEN
        RAISE EXCEPTION '014 needs the dblink extension in schema dblink'
            USING HINT = 'run `orgbase db bootstrap` (as a superuser: CREATE EXTENSION dblink WITH SCHEMA dblink)';
    END IF;
END
$$;

-- The helpers of 007's predicates (here rather than in 007: shadow mode evaluates the same ones first).
-- The context user's organizations, for the organization switcher and for audit records of an organization
-- the request does not address. SECURITY DEFINER (owned by the owner, which bypasses RLS) so that a policy on
-- organization_members may call it without recursing into that table's own policies; narrow: it answers only
-- for app.current_user_id, never for an argument. Empty without a context and for a banned or deleted user
-- (platform.user_is_active, the one rule of 009). PL/pgSQL, not SQL: a SECURITY DEFINER function is never
-- inlined, and a non-inlined SQL function re-plans its body on every call, whereas PL/pgSQL keeps its plan
-- for the session (0.35 ms against 0.09 ms per statement, docs/rls.md).
CREATE FUNCTION platform.current_user_org_ids() RETURNS uuid[]
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = pg_catalog, platform, pg_temp
AS $$
BEGIN
    RETURN (SELECT coalesce(array_agg(m.organization_id ORDER BY m.organization_id), '{}')
              FROM platform.organization_members m
              JOIN platform.users u ON u.id = m.user_id
             WHERE m.user_id = platform.get_current_user_id()
               AND platform.user_is_active(u.deleted_at, u.banned_until));
END;
$$;
COMMENT ON FUNCTION platform.current_user_org_ids() IS
    'Organizations of the context''s user (app.current_user_id), active users only; empty without a context. '
    'Call it as (SELECT ...) in a policy: once per statement';

-- Whether the context's user holds p_permission in the context's organization (app.current_org_id), per the
-- matrix: false without a user or an organization in the context, for a non-member (so a forged
-- organization id gains nothing), and for a banned or deleted user. Definer for the same reason as above.
-- It agrees with platform.has_permission(platform.get_current_org_id(), p_permission) (the tests check it).
CREATE FUNCTION platform.current_member_can(p_permission text) RETURNS boolean
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

-- The context's organization when the context's user holds p_permission there, per the matrix; else NULL:
-- without a user or an organization in the context, for a non-member (a forged organization id), for a
-- banned or deleted user, and for a member whose role lacks the permission. So `organization_id =
-- (SELECT platform.current_org_if_can(p))` says in one comparison what `organization_id = (SELECT
-- platform.get_current_org_id()) AND (SELECT platform.current_member_can(p))` said in two: the same rows
-- (a NULL matches none), one call per statement instead of two InitPlans, and no per-row filter on the
-- permission: the planner turns the equality of this value and the query's own `organization_id = $1` into
-- a one-time filter. Definer for the same reason as above; the same lookup as current_member_can, with the
-- context read once into variables that the lookup takes as parameters (150k instructions a call against
-- 175k with the context read inside the query).
CREATE FUNCTION platform.current_org_if_can(p_permission text) RETURNS uuid
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

REVOKE ALL ON FUNCTION platform.current_user_org_ids() FROM PUBLIC;
REVOKE ALL ON FUNCTION platform.current_member_can(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION platform.current_org_if_can(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform.current_user_org_ids() TO :"app_role", :"service_role";
GRANT EXECUTE ON FUNCTION platform.current_member_can(text) TO :"app_role", :"service_role";
GRANT EXECUTE ON FUNCTION platform.current_org_if_can(text) TO :"app_role", :"service_role";

-- A schema of its own, not platform (007 demands its restrictive policies on every platform table).
CREATE SCHEMA rls_shadow;
COMMENT ON SCHEMA rls_shadow IS 'Shadow mode of restrictive RLS: per-table modes and the violations recorded';
GRANT USAGE ON SCHEMA rls_shadow TO :"app_role", :"shadow_role";

-- Whose traffic is watched: the app role's sessions only.
CREATE TABLE rls_shadow.config (
    singleton boolean NOT NULL DEFAULT true,
    app_role  name    NOT NULL,
    CONSTRAINT config_pkey PRIMARY KEY (singleton),
    CONSTRAINT config_singleton CHECK (singleton)
);
INSERT INTO rls_shadow.config (app_role) VALUES (current_setting('orgbase.app_role'));

CREATE TABLE rls_shadow.modes (
    table_name        text        NOT NULL,
    mode              text        NOT NULL DEFAULT 'permissive',
    since             timestamptz NOT NULL DEFAULT now(),
    changed_by        text        NOT NULL DEFAULT session_user,
    observed_at_since bigint      NOT NULL DEFAULT 0,
    failures_at_since bigint      NOT NULL DEFAULT 0,
    CONSTRAINT modes_pkey PRIMARY KEY (table_name),
    CONSTRAINT modes_mode_known CHECK (mode IN ('permissive', 'shadow'))
);
COMMENT ON TABLE rls_shadow.modes IS
    'Mode of each platform table: permissive (006) or shadow (007''s predicates recorded, not enforced); '
    'change it with `orgbase rls mode` (audited)';
COMMENT ON COLUMN rls_shadow.modes.observed_at_since IS
    'rls_shadow.observed when the mode last changed: the traffic seen since is the difference';
COMMENT ON COLUMN rls_shadow.modes.failures_at_since IS
    'rls_shadow.record_failures when the mode last changed: sends lost since are the difference';
INSERT INTO rls_shadow.modes (table_name, changed_by)
SELECT c.relname, '014_rls_shadow'
  FROM pg_class c
 WHERE c.relnamespace = 'platform'::regnamespace AND c.relkind IN ('r', 'p');

-- Statements with a user context on watched tables (the API's traffic); and sends that failed. Sequences:
-- non-transactional, so a rolled-back request still counts, and cheap enough for every statement.
CREATE SEQUENCE rls_shadow.observed AS bigint;
CREATE SEQUENCE rls_shadow.record_failures AS bigint;

CREATE TABLE rls_shadow.violations (
    id                  bigint      GENERATED ALWAYS AS IDENTITY,
    table_name          text        NOT NULL,
    command             text        NOT NULL,
    user_id             uuid,
    organization_id     uuid,
    request_id          text,
    reason              text        NOT NULL,
    row_organization_id uuid,
    first_seen          timestamptz NOT NULL DEFAULT now(),
    last_seen           timestamptz NOT NULL DEFAULT now(),
    statements          bigint      NOT NULL,
    rows                bigint      NOT NULL,
    acked_at            timestamptz,
    acked_by            text,
    ack_reason          text,
    CONSTRAINT violations_pkey PRIMARY KEY (id),
    CONSTRAINT violations_key UNIQUE NULLS NOT DISTINCT
        (table_name, command, user_id, organization_id, request_id, reason),
    CONSTRAINT violations_command_known CHECK (command IN ('select', 'insert', 'update', 'delete')),
    CONSTRAINT violations_reason_known CHECK (reason IN ('no user context', 'another organization', 'not permitted')),
    CONSTRAINT violations_counts CHECK (statements >= 0 AND rows >= 1),
    CONSTRAINT violations_time_order CHECK (last_seen >= first_seen),
    CONSTRAINT violations_ack_whole CHECK (
        (acked_at IS NULL AND acked_by IS NULL AND ack_reason IS NULL)
        OR (acked_at IS NOT NULL AND acked_by IS NOT NULL AND length(btrim(ack_reason)) > 0))
);
COMMENT ON TABLE rls_shadow.violations IS
    'Rows 007 would have denied, aggregated per (table, command, user, organization, request, reason); '
    'rows is exact within a statement up to the last power of two, and exact once the key changes';
CREATE INDEX violations_last_seen_idx ON rls_shadow.violations (last_seen DESC, id DESC);

-- Where deny() sends: a conninfo for the shadow role without dbname (the current database is added at
-- connect time, so a copy of this database records into itself). Written by `orgbase rls mode`; a secret:
-- the owner alone reads it.
CREATE TABLE rls_shadow.link (
    singleton boolean NOT NULL DEFAULT true,
    conninfo  text    NOT NULL,
    CONSTRAINT link_pkey PRIMARY KEY (singleton),
    CONSTRAINT link_singleton CHECK (singleton)
);
COMMENT ON TABLE rls_shadow.link IS 'How deny() reaches the database as the shadow role (a secret: owner only)';

-- Runs on the link's own connection, as the shadow role: the one thing that role may do. A procedure, so that
-- dblink_exec (which refuses a statement returning rows) can CALL it.
CREATE PROCEDURE rls_shadow.record(
    p_table text, p_command text, p_user uuid, p_org uuid, p_request text, p_reason text, p_row_org uuid,
    p_statements bigint, p_rows bigint)
    LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO rls_shadow.violations AS v
        (table_name, command, user_id, organization_id, request_id, reason, row_organization_id, statements, rows)
    VALUES (p_table, p_command, p_user, p_org, p_request, p_reason, p_row_org, p_statements, p_rows)
    ON CONFLICT ON CONSTRAINT violations_key DO UPDATE
       SET last_seen = greatest(v.last_seen, now()),
           statements = v.statements + excluded.statements,
           rows = v.rows + excluded.rows;
$$;
COMMENT ON PROCEDURE rls_shadow.record(text, text, uuid, uuid, text, text, uuid, bigint, bigint) IS
    'Add to a violation''s counts (the shadow role calls it through dblink, in a transaction of its own)';

-- Sends one record() call on this session's link connection, opened on first use. A failure never reaches
-- the request (shadow mode must not change what the app sees): it is counted in rls_shadow.record_failures,
-- which the gates read, logged on the server, and the connection dropped so the next send reconnects.
-- dblink takes SQL text, not parameters: each value is quoted by format('%L') (quote_literal) in deny().
CREATE FUNCTION rls_shadow.send(p_args text, p_statements bigint, p_rows bigint) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    target text;
BEGIN
    IF NOT coalesce('orgbase_shadow' = ANY (dblink.dblink_get_connections()), false) THEN
        SELECT l.conninfo INTO target FROM rls_shadow.link l;
        IF target IS NULL THEN
            RAISE EXCEPTION 'no link: run `orgbase rls mode ... shadow`, which writes it';
        END IF;
        PERFORM dblink.dblink_connect('orgbase_shadow',
            target || ' application_name=orgbase_shadow dbname='''
                   || replace(replace(current_database(), '\', '\\'), '''', '\''') || '''');
    END IF;
    PERFORM dblink.dblink_exec('orgbase_shadow',
        format('CALL rls_shadow.record(%s, %s, %s)', p_args, p_statements, p_rows));
EXCEPTION WHEN OTHERS THEN
    PERFORM nextval('rls_shadow.record_failures');
    RAISE LOG 'orgbase shadow mode could not record a violation: %', SQLERRM;
    IF coalesce('orgbase_shadow' = ANY (dblink.dblink_get_connections()), false) THEN
        PERFORM dblink.dblink_disconnect('orgbase_shadow');
    END IF;
END;
$$;

-- Sends the rows of the pending key (the last one deny() saw in this transaction) not sent yet.
CREATE FUNCTION rls_shadow.flush() RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    seen bigint;
    sent bigint;
BEGIN
    IF coalesce(current_setting('rls_shadow.key', true), '') = '' THEN
        RETURN;
    END IF;
    seen := current_setting('rls_shadow.seen')::bigint;
    sent := current_setting('rls_shadow.sent')::bigint;
    IF seen > sent THEN
        PERFORM rls_shadow.send(current_setting('rls_shadow.args'), 0, seen - sent);
        PERFORM set_config('rls_shadow.sent', seen::text, true);
    END IF;
END;
$$;

-- Called by a shadow policy in place of the row's refusal: true, always. The key of the row's violation
-- (with the statement's start time) is kept in transaction-local settings, so that the rows of one statement
-- under one key are counted here and sent at 1, 2, 4, ... 1024 rows and every 1024 after; the rest when the
-- key changes or the transaction's next statement on a watched table starts (watch()). Only the tail of a
-- transaction's last statement (under 1024 rows and under half of them) is never sent: `rows` is a floor.
CREATE FUNCTION rls_shadow.deny(p_table text, p_command text, p_row_org uuid) RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    usr text := nullif(current_setting('app.current_user_id', true), '');
    org text := nullif(current_setting('app.current_org_id', true), '');
    reason text;
    k text;
    seen bigint;
    sent bigint;
BEGIN
    reason := CASE WHEN usr IS NULL THEN 'no user context'
                   WHEN p_row_org IS NOT NULL AND p_row_org::text IS DISTINCT FROM org THEN 'another organization'
                   ELSE 'not permitted' END;
    k := concat_ws('|', statement_timestamp(), p_table, p_command, usr, org,
                   current_setting('app.request_id', true), reason);
    IF k = current_setting('rls_shadow.key', true) THEN
        seen := current_setting('rls_shadow.seen')::bigint + 1;
        PERFORM set_config('rls_shadow.seen', seen::text, true);
        IF seen & (seen - 1) = 0 OR seen % 1024 = 0 THEN  -- 2, 4, ... 1024, then every 1024
            sent := current_setting('rls_shadow.sent')::bigint;
            PERFORM rls_shadow.send(current_setting('rls_shadow.args'), 0, seen - sent);
            PERFORM set_config('rls_shadow.sent', seen::text, true);
        END IF;
        RETURN true;
    END IF;
    PERFORM rls_shadow.flush();  -- the previous key's rows not sent yet
    PERFORM set_config('rls_shadow.key', k, true),
            set_config('rls_shadow.args',
                       format('%L, %L, %L::uuid, %L::uuid, %L, %L, %L::uuid', p_table, p_command, usr, org,
                              nullif(current_setting('app.request_id', true), ''), reason, p_row_org), true),
            set_config('rls_shadow.seen', '1', true),
            set_config('rls_shadow.sent', '1', true);
    PERFORM rls_shadow.send(current_setting('rls_shadow.args'), 1, 1);
    RETURN true;
END;
$$;
COMMENT ON FUNCTION rls_shadow.deny(text, text, uuid) IS
    'Record a row 007 would deny (shadow policies call it); returns true: shadow mode enforces nothing';

-- Once per statement (an InitPlan, in every shadow policy, so in every query of the app role while 007 is
-- not deployed): whether shadow mode watches p_table for this session (the table in shadow mode, the session
-- the app role's); when it does, it counts the statement as observed traffic if it carries a user context,
-- and sends what an earlier statement of the transaction left pending (a key of another statement). In
-- permissive mode it is one lookup and nothing else: the other checks are separate statements, reached only
-- in shadow mode (an expression holding a sub-select is a query to set up even when it is not evaluated),
-- and the counter is read as an expression, not a PERFORM (a query). Per statement, in permissive mode:
-- 57k instructions against 89k before (docs/rls.md, "Measured").
CREATE FUNCTION rls_shadow.watch(p_table text) RETURNS boolean
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

REVOKE ALL ON PROCEDURE rls_shadow.record(text, text, uuid, uuid, text, text, uuid, bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION rls_shadow.send(text, bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION rls_shadow.flush() FROM PUBLIC;
REVOKE ALL ON FUNCTION rls_shadow.deny(text, text, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION rls_shadow.watch(text) FROM PUBLIC;
GRANT EXECUTE ON PROCEDURE rls_shadow.record(text, text, uuid, uuid, text, text, uuid, bigint, bigint) TO :"shadow_role";
GRANT EXECUTE ON FUNCTION rls_shadow.deny(text, text, uuid) TO :"app_role";
GRANT EXECUTE ON FUNCTION rls_shadow.watch(text) TO :"app_role";

-- BEGIN GENERATED by scripts/gen_shadow_policies.py
CREATE POLICY organizations_shadow_select ON platform.organizations AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('organizations'))
        OR (id = ANY ((SELECT platform.current_user_org_ids())::uuid[]))
        OR rls_shadow.deny('organizations', 'select', id));
CREATE POLICY organizations_shadow_insert ON platform.organizations AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (NOT (SELECT rls_shadow.watch('organizations'))
        OR (false)
        OR rls_shadow.deny('organizations', 'insert', id));
CREATE POLICY organizations_shadow_update ON platform.organizations AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('organizations'))
        OR (id = (SELECT platform.current_org_if_can('org.update')))
        OR rls_shadow.deny('organizations', 'update', id))
    WITH CHECK (NOT (SELECT rls_shadow.watch('organizations'))
        OR (id = (SELECT platform.current_org_if_can('org.update')))
        OR rls_shadow.deny('organizations', 'update', id));
CREATE POLICY organizations_shadow_delete ON platform.organizations AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('organizations'))
        OR (id = (SELECT platform.current_org_if_can('org.delete')))
        OR rls_shadow.deny('organizations', 'delete', id));
CREATE POLICY organization_members_shadow_select ON platform.organization_members AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('organization_members'))
        OR (user_id = (SELECT platform.get_current_user_id()) OR organization_id = (SELECT platform.current_org_if_can('members.read')))
        OR rls_shadow.deny('organization_members', 'select', organization_id));
CREATE POLICY organization_members_shadow_insert ON platform.organization_members AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (NOT (SELECT rls_shadow.watch('organization_members'))
        OR (organization_id = (SELECT platform.current_org_if_can('members.invite')) AND (role <> 'owner' OR (SELECT platform.current_member_can('members.grant_owner'))))
        OR rls_shadow.deny('organization_members', 'insert', organization_id));
CREATE POLICY organization_members_shadow_update ON platform.organization_members AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('organization_members'))
        OR (user_id = (SELECT platform.get_current_user_id()) OR organization_id = (SELECT platform.current_org_if_can('members.update_role')))
        OR rls_shadow.deny('organization_members', 'update', organization_id))
    WITH CHECK (NOT (SELECT rls_shadow.watch('organization_members'))
        OR (organization_id = (SELECT platform.current_org_if_can('members.update_role')) AND (role <> 'owner' OR (SELECT platform.current_member_can('members.grant_owner'))))
        OR rls_shadow.deny('organization_members', 'update', organization_id));
CREATE POLICY organization_members_shadow_delete ON platform.organization_members AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('organization_members'))
        OR (user_id = (SELECT platform.get_current_user_id()) OR (organization_id = (SELECT platform.current_org_if_can('members.remove')) AND (role <> 'owner' OR (SELECT platform.current_member_can('members.grant_owner')))))
        OR rls_shadow.deny('organization_members', 'delete', organization_id));
CREATE POLICY users_shadow_select ON platform.users AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('users'))
        OR (id = (SELECT platform.get_current_user_id()))
        OR rls_shadow.deny('users', 'select', NULL));
CREATE POLICY users_shadow_insert ON platform.users AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (NOT (SELECT rls_shadow.watch('users'))
        OR (false)
        OR rls_shadow.deny('users', 'insert', NULL));
CREATE POLICY users_shadow_update ON platform.users AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('users'))
        OR (id = (SELECT platform.get_current_user_id()))
        OR rls_shadow.deny('users', 'update', NULL))
    WITH CHECK (NOT (SELECT rls_shadow.watch('users'))
        OR (id = (SELECT platform.get_current_user_id()))
        OR rls_shadow.deny('users', 'update', NULL));
CREATE POLICY users_shadow_delete ON platform.users AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('users'))
        OR (false)
        OR rls_shadow.deny('users', 'delete', NULL));
CREATE POLICY user_sessions_shadow_select ON platform.user_sessions AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('user_sessions'))
        OR (user_id = (SELECT platform.get_current_user_id()))
        OR rls_shadow.deny('user_sessions', 'select', NULL));
CREATE POLICY user_sessions_shadow_insert ON platform.user_sessions AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (NOT (SELECT rls_shadow.watch('user_sessions'))
        OR (false)
        OR rls_shadow.deny('user_sessions', 'insert', NULL));
CREATE POLICY user_sessions_shadow_update ON platform.user_sessions AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('user_sessions'))
        OR (user_id = (SELECT platform.get_current_user_id()))
        OR rls_shadow.deny('user_sessions', 'update', NULL))
    WITH CHECK (NOT (SELECT rls_shadow.watch('user_sessions'))
        OR (user_id = (SELECT platform.get_current_user_id()))
        OR rls_shadow.deny('user_sessions', 'update', NULL));
CREATE POLICY user_sessions_shadow_delete ON platform.user_sessions AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('user_sessions'))
        OR (user_id = (SELECT platform.get_current_user_id()))
        OR rls_shadow.deny('user_sessions', 'delete', NULL));
CREATE POLICY sign_in_attempts_shadow_select ON platform.sign_in_attempts AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('sign_in_attempts'))
        OR (false)
        OR rls_shadow.deny('sign_in_attempts', 'select', NULL));
CREATE POLICY sign_in_attempts_shadow_insert ON platform.sign_in_attempts AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (NOT (SELECT rls_shadow.watch('sign_in_attempts'))
        OR (false)
        OR rls_shadow.deny('sign_in_attempts', 'insert', NULL));
CREATE POLICY sign_in_attempts_shadow_update ON platform.sign_in_attempts AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('sign_in_attempts'))
        OR (false)
        OR rls_shadow.deny('sign_in_attempts', 'update', NULL))
    WITH CHECK (NOT (SELECT rls_shadow.watch('sign_in_attempts'))
        OR (false)
        OR rls_shadow.deny('sign_in_attempts', 'update', NULL));
CREATE POLICY sign_in_attempts_shadow_delete ON platform.sign_in_attempts AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('sign_in_attempts'))
        OR (false)
        OR rls_shadow.deny('sign_in_attempts', 'delete', NULL));
CREATE POLICY projects_shadow_select ON platform.projects AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('projects'))
        OR (organization_id = (SELECT platform.current_org_if_can('projects.read')))
        OR rls_shadow.deny('projects', 'select', organization_id));
CREATE POLICY projects_shadow_insert ON platform.projects AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (NOT (SELECT rls_shadow.watch('projects'))
        OR (organization_id = (SELECT platform.current_org_if_can('projects.create')))
        OR rls_shadow.deny('projects', 'insert', organization_id));
CREATE POLICY projects_shadow_update ON platform.projects AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('projects'))
        OR (organization_id = (SELECT platform.current_org_if_can('projects.update')))
        OR rls_shadow.deny('projects', 'update', organization_id))
    WITH CHECK (NOT (SELECT rls_shadow.watch('projects'))
        OR (organization_id = (SELECT platform.current_org_if_can('projects.update')))
        OR rls_shadow.deny('projects', 'update', organization_id));
CREATE POLICY projects_shadow_delete ON platform.projects AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('projects'))
        OR (organization_id = (SELECT platform.current_org_if_can('projects.delete')))
        OR rls_shadow.deny('projects', 'delete', organization_id));
CREATE POLICY databases_shadow_select ON platform.databases AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('databases'))
        OR (organization_id = (SELECT platform.current_org_if_can('databases.read')))
        OR rls_shadow.deny('databases', 'select', organization_id));
CREATE POLICY databases_shadow_insert ON platform.databases AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (NOT (SELECT rls_shadow.watch('databases'))
        OR (organization_id = (SELECT platform.current_org_if_can('databases.create')))
        OR rls_shadow.deny('databases', 'insert', organization_id));
CREATE POLICY databases_shadow_update ON platform.databases AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('databases'))
        OR (organization_id = (SELECT platform.current_org_if_can('databases.update')))
        OR rls_shadow.deny('databases', 'update', organization_id))
    WITH CHECK (NOT (SELECT rls_shadow.watch('databases'))
        OR (organization_id = (SELECT platform.current_org_if_can('databases.update')))
        OR rls_shadow.deny('databases', 'update', organization_id));
CREATE POLICY databases_shadow_delete ON platform.databases AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('databases'))
        OR (organization_id = (SELECT platform.current_org_if_can('databases.delete')))
        OR rls_shadow.deny('databases', 'delete', organization_id));
CREATE POLICY subscriptions_shadow_select ON platform.subscriptions AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('subscriptions'))
        OR (organization_id = (SELECT platform.current_org_if_can('billing.read')))
        OR rls_shadow.deny('subscriptions', 'select', organization_id));
CREATE POLICY subscriptions_shadow_insert ON platform.subscriptions AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (NOT (SELECT rls_shadow.watch('subscriptions'))
        OR (organization_id = (SELECT platform.current_org_if_can('billing.update')))
        OR rls_shadow.deny('subscriptions', 'insert', organization_id));
CREATE POLICY subscriptions_shadow_update ON platform.subscriptions AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('subscriptions'))
        OR (organization_id = (SELECT platform.current_org_if_can('billing.update')) OR organization_id = (SELECT platform.current_org_if_can('billing.change_plan')))
        OR rls_shadow.deny('subscriptions', 'update', organization_id))
    WITH CHECK (NOT (SELECT rls_shadow.watch('subscriptions'))
        OR (organization_id = (SELECT platform.current_org_if_can('billing.update')) OR organization_id = (SELECT platform.current_org_if_can('billing.change_plan')))
        OR rls_shadow.deny('subscriptions', 'update', organization_id));
CREATE POLICY subscriptions_shadow_delete ON platform.subscriptions AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('subscriptions'))
        OR (organization_id = (SELECT platform.current_org_if_can('billing.update')))
        OR rls_shadow.deny('subscriptions', 'delete', organization_id));
CREATE POLICY invoices_shadow_select ON platform.invoices AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('invoices'))
        OR (organization_id = (SELECT platform.current_org_if_can('billing.read')))
        OR rls_shadow.deny('invoices', 'select', organization_id));
CREATE POLICY invoices_shadow_insert ON platform.invoices AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (NOT (SELECT rls_shadow.watch('invoices'))
        OR (false)
        OR rls_shadow.deny('invoices', 'insert', organization_id));
CREATE POLICY invoices_shadow_update ON platform.invoices AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('invoices'))
        OR (false)
        OR rls_shadow.deny('invoices', 'update', organization_id))
    WITH CHECK (NOT (SELECT rls_shadow.watch('invoices'))
        OR (false)
        OR rls_shadow.deny('invoices', 'update', organization_id));
CREATE POLICY invoices_shadow_delete ON platform.invoices AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('invoices'))
        OR (false)
        OR rls_shadow.deny('invoices', 'delete', organization_id));
CREATE POLICY payment_methods_shadow_select ON platform.payment_methods AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('payment_methods'))
        OR (organization_id = (SELECT platform.current_org_if_can('billing.read')))
        OR rls_shadow.deny('payment_methods', 'select', organization_id));
CREATE POLICY payment_methods_shadow_insert ON platform.payment_methods AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (NOT (SELECT rls_shadow.watch('payment_methods'))
        OR (organization_id = (SELECT platform.current_org_if_can('billing.update')))
        OR rls_shadow.deny('payment_methods', 'insert', organization_id));
CREATE POLICY payment_methods_shadow_update ON platform.payment_methods AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('payment_methods'))
        OR (organization_id = (SELECT platform.current_org_if_can('billing.update')))
        OR rls_shadow.deny('payment_methods', 'update', organization_id))
    WITH CHECK (NOT (SELECT rls_shadow.watch('payment_methods'))
        OR (organization_id = (SELECT platform.current_org_if_can('billing.update')))
        OR rls_shadow.deny('payment_methods', 'update', organization_id));
CREATE POLICY payment_methods_shadow_delete ON platform.payment_methods AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('payment_methods'))
        OR (organization_id = (SELECT platform.current_org_if_can('billing.update')))
        OR rls_shadow.deny('payment_methods', 'delete', organization_id));
CREATE POLICY subscription_addons_shadow_select ON platform.subscription_addons AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('subscription_addons'))
        OR (organization_id = (SELECT platform.current_org_if_can('billing.read')))
        OR rls_shadow.deny('subscription_addons', 'select', organization_id));
CREATE POLICY subscription_addons_shadow_insert ON platform.subscription_addons AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (NOT (SELECT rls_shadow.watch('subscription_addons'))
        OR (organization_id = (SELECT platform.current_org_if_can('billing.update')))
        OR rls_shadow.deny('subscription_addons', 'insert', organization_id));
CREATE POLICY subscription_addons_shadow_update ON platform.subscription_addons AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('subscription_addons'))
        OR (organization_id = (SELECT platform.current_org_if_can('billing.update')))
        OR rls_shadow.deny('subscription_addons', 'update', organization_id))
    WITH CHECK (NOT (SELECT rls_shadow.watch('subscription_addons'))
        OR (organization_id = (SELECT platform.current_org_if_can('billing.update')))
        OR rls_shadow.deny('subscription_addons', 'update', organization_id));
CREATE POLICY subscription_addons_shadow_delete ON platform.subscription_addons AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('subscription_addons'))
        OR (organization_id = (SELECT platform.current_org_if_can('billing.update')))
        OR rls_shadow.deny('subscription_addons', 'delete', organization_id));
CREATE POLICY invitations_shadow_select ON platform.invitations AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('invitations'))
        OR (organization_id = (SELECT platform.current_org_if_can('members.invite')))
        OR rls_shadow.deny('invitations', 'select', organization_id));
CREATE POLICY invitations_shadow_insert ON platform.invitations AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (NOT (SELECT rls_shadow.watch('invitations'))
        OR (organization_id = (SELECT platform.current_org_if_can('members.invite')) AND (role <> 'owner' OR (SELECT platform.current_member_can('members.grant_owner'))))
        OR rls_shadow.deny('invitations', 'insert', organization_id));
CREATE POLICY invitations_shadow_update ON platform.invitations AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('invitations'))
        OR (organization_id = (SELECT platform.current_org_if_can('members.invite')) AND (role <> 'owner' OR (SELECT platform.current_member_can('members.grant_owner'))))
        OR rls_shadow.deny('invitations', 'update', organization_id))
    WITH CHECK (NOT (SELECT rls_shadow.watch('invitations'))
        OR (organization_id = (SELECT platform.current_org_if_can('members.invite')) AND (role <> 'owner' OR (SELECT platform.current_member_can('members.grant_owner'))))
        OR rls_shadow.deny('invitations', 'update', organization_id));
CREATE POLICY invitations_shadow_delete ON platform.invitations AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('invitations'))
        OR (organization_id = (SELECT platform.current_org_if_can('members.invite')))
        OR rls_shadow.deny('invitations', 'delete', organization_id));
CREATE POLICY audit_logs_shadow_select ON platform.audit_logs AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('audit_logs'))
        OR (organization_id = (SELECT platform.current_org_if_can('audit.read')))
        OR rls_shadow.deny('audit_logs', 'select', organization_id));
CREATE POLICY audit_logs_shadow_insert ON platform.audit_logs AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (NOT (SELECT rls_shadow.watch('audit_logs'))
        OR (organization_id IS NULL OR organization_id = ANY ((SELECT platform.current_user_org_ids())::uuid[]))
        OR rls_shadow.deny('audit_logs', 'insert', organization_id));
CREATE POLICY audit_logs_shadow_update ON platform.audit_logs AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('audit_logs'))
        OR (false)
        OR rls_shadow.deny('audit_logs', 'update', organization_id))
    WITH CHECK (NOT (SELECT rls_shadow.watch('audit_logs'))
        OR (false)
        OR rls_shadow.deny('audit_logs', 'update', organization_id));
CREATE POLICY audit_logs_shadow_delete ON platform.audit_logs AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('audit_logs'))
        OR (false)
        OR rls_shadow.deny('audit_logs', 'delete', organization_id));
CREATE POLICY billing_plans_shadow_select ON platform.billing_plans AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('billing_plans'))
        OR (true)
        OR rls_shadow.deny('billing_plans', 'select', NULL));
CREATE POLICY billing_plans_shadow_insert ON platform.billing_plans AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (NOT (SELECT rls_shadow.watch('billing_plans'))
        OR (false)
        OR rls_shadow.deny('billing_plans', 'insert', NULL));
CREATE POLICY billing_plans_shadow_update ON platform.billing_plans AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('billing_plans'))
        OR (false)
        OR rls_shadow.deny('billing_plans', 'update', NULL))
    WITH CHECK (NOT (SELECT rls_shadow.watch('billing_plans'))
        OR (false)
        OR rls_shadow.deny('billing_plans', 'update', NULL));
CREATE POLICY billing_plans_shadow_delete ON platform.billing_plans AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('billing_plans'))
        OR (false)
        OR rls_shadow.deny('billing_plans', 'delete', NULL));
CREATE POLICY addons_catalog_shadow_select ON platform.addons_catalog AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('addons_catalog'))
        OR (true)
        OR rls_shadow.deny('addons_catalog', 'select', NULL));
CREATE POLICY addons_catalog_shadow_insert ON platform.addons_catalog AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (NOT (SELECT rls_shadow.watch('addons_catalog'))
        OR (false)
        OR rls_shadow.deny('addons_catalog', 'insert', NULL));
CREATE POLICY addons_catalog_shadow_update ON platform.addons_catalog AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('addons_catalog'))
        OR (false)
        OR rls_shadow.deny('addons_catalog', 'update', NULL))
    WITH CHECK (NOT (SELECT rls_shadow.watch('addons_catalog'))
        OR (false)
        OR rls_shadow.deny('addons_catalog', 'update', NULL));
CREATE POLICY addons_catalog_shadow_delete ON platform.addons_catalog AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('addons_catalog'))
        OR (false)
        OR rls_shadow.deny('addons_catalog', 'delete', NULL));
CREATE POLICY member_roles_shadow_select ON platform.member_roles AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('member_roles'))
        OR (true)
        OR rls_shadow.deny('member_roles', 'select', NULL));
CREATE POLICY member_roles_shadow_insert ON platform.member_roles AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (NOT (SELECT rls_shadow.watch('member_roles'))
        OR (false)
        OR rls_shadow.deny('member_roles', 'insert', NULL));
CREATE POLICY member_roles_shadow_update ON platform.member_roles AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('member_roles'))
        OR (false)
        OR rls_shadow.deny('member_roles', 'update', NULL))
    WITH CHECK (NOT (SELECT rls_shadow.watch('member_roles'))
        OR (false)
        OR rls_shadow.deny('member_roles', 'update', NULL));
CREATE POLICY member_roles_shadow_delete ON platform.member_roles AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('member_roles'))
        OR (false)
        OR rls_shadow.deny('member_roles', 'delete', NULL));
CREATE POLICY permissions_shadow_select ON platform.permissions AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('permissions'))
        OR (true)
        OR rls_shadow.deny('permissions', 'select', NULL));
CREATE POLICY permissions_shadow_insert ON platform.permissions AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (NOT (SELECT rls_shadow.watch('permissions'))
        OR (false)
        OR rls_shadow.deny('permissions', 'insert', NULL));
CREATE POLICY permissions_shadow_update ON platform.permissions AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('permissions'))
        OR (false)
        OR rls_shadow.deny('permissions', 'update', NULL))
    WITH CHECK (NOT (SELECT rls_shadow.watch('permissions'))
        OR (false)
        OR rls_shadow.deny('permissions', 'update', NULL));
CREATE POLICY permissions_shadow_delete ON platform.permissions AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('permissions'))
        OR (false)
        OR rls_shadow.deny('permissions', 'delete', NULL));
CREATE POLICY role_permissions_shadow_select ON platform.role_permissions AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('role_permissions'))
        OR (true)
        OR rls_shadow.deny('role_permissions', 'select', NULL));
CREATE POLICY role_permissions_shadow_insert ON platform.role_permissions AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (NOT (SELECT rls_shadow.watch('role_permissions'))
        OR (false)
        OR rls_shadow.deny('role_permissions', 'insert', NULL));
CREATE POLICY role_permissions_shadow_update ON platform.role_permissions AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('role_permissions'))
        OR (false)
        OR rls_shadow.deny('role_permissions', 'update', NULL))
    WITH CHECK (NOT (SELECT rls_shadow.watch('role_permissions'))
        OR (false)
        OR rls_shadow.deny('role_permissions', 'update', NULL));
CREATE POLICY role_permissions_shadow_delete ON platform.role_permissions AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('role_permissions'))
        OR (false)
        OR rls_shadow.deny('role_permissions', 'delete', NULL));
-- END GENERATED
