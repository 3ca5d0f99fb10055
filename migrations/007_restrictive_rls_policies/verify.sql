-- Verify 007_restrictive_rls_policies: raises unless (1) the helpers have their designed shape (016: two read
-- the seal) and are executable by the app and service roles only, (2) every table of schema platform, including one
-- added after this change, has a restrictive policy for each of SELECT, INSERT, UPDATE and DELETE, and the
-- ones this change made are all there, (3) every restrictive predicate calls helpers only as (SELECT ...)
-- (once per statement) and holds no subquery of its own, and (4) the policies behave: in a world made and
-- rolled back here, what the app role would see and may write is computed from the catalog exactly as
-- PostgreSQL combines policies (OR of permissive, AND of restrictive), and, when the session may become the
-- app role (a superuser, or a role granted it), checked as the app role itself.
SET LOCAL orgbase.app_role = :"app_role";
SET LOCAL orgbase.service_role = :"service_role";
SET LOCAL orgbase.owner_role = :"owner_role";

-- (1) The helpers: current_user_org_ids() a STABLE PL/pgSQL definer owned by the owner with a pinned
-- search_path; current_org_if_can() and current_member_can() inlinable SQL over the seal (016); all three
-- executable by the app and service roles only.
DO $$
DECLARE
    app text := current_setting('orgbase.app_role');
    service text := current_setting('orgbase.service_role');
    wrong text;
BEGIN
    SELECT string_agg(e.sig, ', ') INTO wrong
      FROM (VALUES ('platform.current_user_org_ids()', 'uuid[]', true, 'plpgsql'),
                   ('platform.current_member_can(text)', 'boolean', false, 'sql'),
                   ('platform.current_org_if_can(text)', 'uuid', false, 'sql')) AS e(sig, result, definer, lang)
     WHERE NOT EXISTS (
        SELECT 1 FROM pg_proc p
         WHERE p.oid = to_regprocedure(e.sig)
           AND p.prosecdef = e.definer AND p.provolatile = 's'
           AND p.prolang = (SELECT l.oid FROM pg_language l WHERE l.lanname = e.lang)
           AND pg_get_function_result(p.oid) = e.result
           AND p.proconfig IS NOT DISTINCT FROM
               CASE WHEN e.definer THEN ARRAY['search_path=pg_catalog, platform, pg_temp'] END
           AND (e.definer OR p.prosrc LIKE '%orgbase_seal.org_if_can(%')
           AND p.proowner = (SELECT r.oid FROM pg_roles r WHERE r.rolname = current_setting('orgbase.owner_role'))
           AND p.proacl IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0)
           AND ARRAY(SELECT r.rolname::text FROM aclexplode(p.proacl) a JOIN pg_roles r ON r.oid = a.grantee
                      WHERE a.grantee <> p.proowner AND a.privilege_type = 'EXECUTE' ORDER BY 1)
               = ARRAY(SELECT unnest(ARRAY[app, service]) ORDER BY 1));
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION '007 verify: helpers missing or not of their designed shape (owner, no PUBLIC, EXECUTE '
                        'for the app and service roles only): %', wrong;
    END IF;
END
$$;

-- (2) The inventory: the policies this change made, by name and command, restrictive and for every role;
-- and every platform table (a later one too) covered for every command.
DO $$
DECLARE
    app oid := (SELECT oid FROM pg_roles WHERE rolname = current_setting('orgbase.app_role'));
    wrong text;
BEGIN
    SELECT string_agg(t.name || '_restrictive_' || c.name, ', ') INTO wrong
      FROM unnest(ARRAY['organizations', 'organization_members', 'users', 'user_sessions', 'sign_in_attempts',
                        'projects', 'databases', 'subscriptions', 'invoices', 'payment_methods',
                        'subscription_addons', 'invitations', 'audit_logs', 'billing_plans', 'addons_catalog',
                        'member_roles', 'permissions', 'role_permissions']) AS t(name)
     CROSS JOIN (VALUES ('select', 'r'), ('insert', 'a'), ('update', 'w'), ('delete', 'd')) AS c(name, cmd)
     WHERE NOT EXISTS (
        SELECT 1 FROM pg_policy p
         WHERE p.polrelid = to_regclass('platform.' || t.name)
           AND p.polname = t.name || '_restrictive_' || c.name
           AND NOT p.polpermissive AND p.polcmd = c.cmd AND p.polroles = ARRAY[0::oid]
           AND (p.polqual IS NOT NULL) = (c.cmd <> 'a')
           AND (p.polwithcheck IS NOT NULL) = (c.cmd IN ('a', 'w')));
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION '007 verify: restrictive policies missing or changed: %', wrong;
    END IF;
    SELECT string_agg(format('%s (%s)', c.relname, cmd.name), ', ') INTO wrong
      FROM pg_class c
     CROSS JOIN (VALUES ('select', 'r'), ('insert', 'a'), ('update', 'w'), ('delete', 'd')) AS cmd(name, cmd)
     WHERE c.relnamespace = 'platform'::regnamespace AND c.relkind IN ('r', 'p')
       AND NOT EXISTS (
        SELECT 1 FROM pg_policy p
         WHERE p.polrelid = c.oid AND NOT p.polpermissive AND p.polcmd IN (cmd.cmd, '*')
           AND (p.polroles && ARRAY[0::oid, app]));
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION '007 verify: tables with no restrictive policy for the app role for: %', wrong;
    END IF;
END
$$;

-- (3) The shape: once the helper calls wrapped as (SELECT platform.f(...)) are taken out, no restrictive
-- predicate may name anything in platform or hold a subquery (a per-row join, IN (subquery), EXISTS).
DO $$
DECLARE
    wrong text;
BEGIN
    SELECT string_agg(p.polname, ', ') INTO wrong
      FROM pg_policy p
      JOIN pg_class c ON c.oid = p.polrelid
     CROSS JOIN LATERAL (VALUES (pg_get_expr(p.polqual, p.polrelid)), (pg_get_expr(p.polwithcheck, p.polrelid))) AS e(expr)
     WHERE c.relnamespace = 'platform'::regnamespace AND NOT p.polpermissive AND e.expr IS NOT NULL
       AND regexp_replace(e.expr, '\( SELECT platform\.[a-z_]+\(([^()]*)\) AS [a-z_]+\)', '', 'g')
           ~* '(platform\.|select|exists|current_setting)';
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION '007 verify: restrictive predicates must call helpers only as (SELECT ...) and hold no '
                        'subquery: %', wrong;
    END IF;
END
$$;

-- (4) Behaviour, in a world made here and rolled back (the OB000 trick of 007_session_helpers' verify).
-- Organizations A and B; ada owns A, bob owns B, rita is read_only in A; a project, a subscription and an
-- audit record in each. preds maps '<table>:<key>' to what the app role may reach there: the OR of the
-- permissive and the AND of the restrictive predicates that apply to it, as PostgreSQL combines them
-- (key r = SELECT, d = DELETE, w = UPDATE's USING, w+ = UPDATE's WITH CHECK, a = INSERT's WITH CHECK).
DO $$
DECLARE
    app text := current_setting('orgbase.app_role');
    app_oid oid := (SELECT oid FROM pg_roles WHERE rolname = current_setting('orgbase.app_role'));
    tag text := substr(md5(random()::text), 1, 10);
    org_a uuid := gen_random_uuid();
    org_b uuid := gen_random_uuid();
    ada uuid := gen_random_uuid();
    bob uuid := gen_random_uuid();
    rita uuid := gen_random_uuid();
    proj_a uuid := gen_random_uuid();
    proj_b uuid := gen_random_uuid();
    hash constant text := '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA';
    preds jsonb;
    t text;
    n bigint;
    c record;
BEGIN
    SELECT jsonb_object_agg(k.tbl || ':' || k.key, k.pred) INTO preds
      FROM (SELECT cl.relname AS tbl, m.key,
                   '(' || coalesce(string_agg('(' || e.expr || ')', ' OR ') FILTER (WHERE p.polpermissive), 'false')
                   || ') AND (' || coalesce(string_agg('(' || e.expr || ')', ' AND ') FILTER (WHERE NOT p.polpermissive),
                                            'true') || ')' AS pred
              FROM pg_class cl
             CROSS JOIN (VALUES ('r', 'r', false), ('d', 'd', false), ('w', 'w', false), ('w+', 'w', true),
                                ('a', 'a', true)) AS m(key, cmd, checks)
              LEFT JOIN pg_policy p
                ON p.polrelid = cl.oid AND p.polcmd IN (m.cmd, '*') AND p.polroles && ARRAY[0::oid, app_oid]
              LEFT JOIN LATERAL (
                    SELECT CASE WHEN m.checks
                                THEN coalesce(pg_get_expr(p.polwithcheck, p.polrelid), pg_get_expr(p.polqual, p.polrelid))
                                ELSE pg_get_expr(p.polqual, p.polrelid) END) AS e(expr) ON true
             WHERE cl.relnamespace = 'platform'::regnamespace AND cl.relkind IN ('r', 'p')
             GROUP BY cl.relname, m.key) AS k;
    BEGIN
        INSERT INTO platform.organizations (id, name, slug) VALUES
            (org_a, 'Verify A', 'verify-007-a-' || tag), (org_b, 'Verify B', 'verify-007-b-' || tag);
        INSERT INTO platform.users (id, email, password_hash) VALUES
            (ada, 'ada-' || tag || '@verify.invalid', hash), (bob, 'bob-' || tag || '@verify.invalid', hash),
            (rita, 'rita-' || tag || '@verify.invalid', hash);
        INSERT INTO platform.organization_members (organization_id, user_id, role) VALUES
            (org_a, ada, 'owner'), (org_b, bob, 'owner'), (org_a, rita, 'read_only');
        INSERT INTO platform.projects (id, organization_id, name) VALUES (proj_a, org_a, 'a'), (proj_b, org_b, 'b');
        INSERT INTO platform.subscriptions (organization_id) VALUES (org_a), (org_b);
        INSERT INTO platform.audit_logs (organization_id, actor_id, action) VALUES
            (org_a, ada, 'verify.a'), (org_b, bob, 'verify.b'), (NULL, NULL, 'verify.platform');

        -- No context: nothing of any tenant, no user, no organization, no membership, no session.
        PERFORM platform.bind_context(NULL, NULL);
        FOREACH t IN ARRAY ARRAY['projects', 'databases', 'subscriptions', 'invoices', 'payment_methods',
                                 'subscription_addons', 'invitations', 'audit_logs', 'organizations',
                                 'organization_members', 'users', 'user_sessions', 'sign_in_attempts'] LOOP
            EXECUTE format('SELECT count(*) FROM platform.%I WHERE %s', t, preds ->> (t || ':r')) INTO n;
            IF n <> 0 THEN
                RAISE EXCEPTION '007 verify: with no context the app role would see % row(s) of %', n, t;
            END IF;
        END LOOP;

        -- (table, key, condition, rows expected) under a context (user, organization).
        FOR c IN
            SELECT * FROM (VALUES
                -- ada, owner of A, in A: A's rows only, her own user row, her organizations.
                (ada, org_a, 'projects', 'r', format('id = %L', proj_a), 1),
                (ada, org_a, 'projects', 'r', format('id = %L', proj_b), 0),
                (ada, org_a, 'subscriptions', 'r', format('organization_id = %L', org_b), 0),
                (ada, org_a, 'subscriptions', 'r', format('organization_id = %L', org_a), 1),
                (ada, org_a, 'audit_logs', 'r', format('organization_id IS DISTINCT FROM %L', org_a), 0),
                (ada, org_a, 'organizations', 'r', format('id = %L', org_b), 0),
                (ada, org_a, 'organizations', 'r', format('id = %L', org_a), 1),
                (ada, org_a, 'users', 'r', format('id <> %L', ada), 0),
                (ada, org_a, 'users', 'r', format('id = %L', ada), 1),
                (ada, org_a, 'organization_members', 'r', format('organization_id = %L', org_b), 0),
                (ada, org_a, 'organization_members', 'r', format('organization_id = %L', org_a), 2),
                -- writes: nothing into or out of B; in A what the owner may do.
                (ada, org_a, 'projects', 'a', format('id = %L', proj_b), 0),
                (ada, org_a, 'projects', 'a', format('id = %L', proj_a), 1),
                (ada, org_a, 'projects', 'w', format('id = %L', proj_b), 0),
                (ada, org_a, 'projects', 'w+', format('id = %L', proj_b), 0),
                (ada, org_a, 'projects', 'd', format('id = %L', proj_b), 0),
                (ada, org_a, 'projects', 'd', format('id = %L', proj_a), 1),
                (ada, org_a, 'audit_logs', 'a', 'action = ''verify.b''', 0),
                (ada, org_a, 'audit_logs', 'a', 'action = ''verify.a''', 1),
                (ada, org_a, 'audit_logs', 'a', 'action = ''verify.platform''', 1),
                (ada, org_a, 'audit_logs', 'w', 'true', 0),
                (ada, org_a, 'audit_logs', 'd', 'true', 0),
                (ada, org_a, 'organizations', 'a', 'true', 0),
                (ada, org_a, 'users', 'a', 'true', 0),
                -- ada with a forged organization (B, not hers): nothing of B, only her own memberships.
                (ada, org_b, 'projects', 'r', 'true', 0),
                (ada, org_b, 'subscriptions', 'r', 'true', 0),
                (ada, org_b, 'audit_logs', 'r', 'true', 0),
                (ada, org_b, 'organization_members', 'r', format('user_id <> %L', ada), 0),
                (ada, org_b, 'projects', 'a', format('id = %L', proj_b), 0),
                (ada, org_b, 'organizations', 'w', format('id = %L', org_b), 0),
                (ada, org_b, 'organizations', 'd', format('id = %L', org_b), 0),
                -- rita, read_only in A: reads projects, writes nothing, no billing, no audit log.
                (rita, org_a, 'projects', 'r', format('id = %L', proj_a), 1),
                (rita, org_a, 'projects', 'a', format('id = %L', proj_a), 0),
                (rita, org_a, 'projects', 'w', format('id = %L', proj_a), 0),
                (rita, org_a, 'projects', 'd', format('id = %L', proj_a), 0),
                (rita, org_a, 'subscriptions', 'r', 'true', 0),
                (rita, org_a, 'audit_logs', 'r', 'true', 0),
                (rita, org_a, 'organizations', 'w', format('id = %L', org_a), 0)
            ) AS v(usr, org, tbl, key, cond, expected)
        LOOP
            PERFORM platform.bind_context(c.usr, c.org);
            EXECUTE format('SELECT count(*) FROM platform.%I WHERE (%s) AND (%s)', c.tbl,
                           preds ->> (c.tbl || ':' || c.key), c.cond) INTO n;
            IF n <> c.expected THEN
                RAISE EXCEPTION '007 verify: as % in %, %:% where % reaches % row(s), not %',
                    CASE c.usr WHEN ada THEN 'ada (owner of A)' ELSE 'rita (read_only in A)' END,
                    CASE c.org WHEN org_a THEN 'A' ELSE 'B (forged)' END, c.tbl, c.key, c.cond, n, c.expected;
            END IF;
        END LOOP;

        -- A banned user reaches nothing, even in their own organization.
        UPDATE platform.users SET banned_until = now() + interval '1 day' WHERE id = ada;
        PERFORM platform.bind_context(ada, org_a);
        EXECUTE format('SELECT count(*) FROM platform.projects WHERE %s', preds ->> 'projects:r') INTO n;
        IF n <> 0 THEN
            RAISE EXCEPTION '007 verify: a banned user would still see % project(s)', n;
        END IF;
        UPDATE platform.users SET banned_until = NULL WHERE id = ada;

        -- As the app role itself, when this session may become it (a superuser: the tests' rehearsal). The
        -- service role that deploys is not a member of the app role, so there the check above stands alone.
        IF pg_has_role(session_user, app, 'MEMBER') THEN
            EXECUTE format('SET LOCAL ROLE %I', app);
            PERFORM platform.bind_context(NULL, NULL);
            IF (SELECT count(*) FROM platform.projects) <> 0 THEN
                RAISE EXCEPTION '007 verify: as the app role with no context, projects are visible';
            END IF;
            PERFORM platform.bind_context(ada, org_a);
            IF (SELECT array_agg(id) FROM platform.projects) IS DISTINCT FROM ARRAY[proj_a] THEN
                RAISE EXCEPTION '007 verify: as the app role in A, projects other than A''s are visible';
            END IF;
            BEGIN
                SET LOCAL row_security = off;
                PERFORM count(*) FROM platform.projects;
                RAISE EXCEPTION '007 verify: SET row_security = off did not raise for the app role';
            EXCEPTION WHEN insufficient_privilege THEN
                NULL;
            END;
        END IF;
        RAISE EXCEPTION USING errcode = 'OB000', message = 'rollback';
    EXCEPTION WHEN SQLSTATE 'OB000' THEN
        NULL;
    END;
END
$$;
