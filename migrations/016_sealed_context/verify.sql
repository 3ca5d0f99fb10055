-- Verify 016_sealed_context: raises unless (1) the orgbase_seal extension is there, seal() executable by the
-- owner (and its members) but not the app role, and org_if_can() by the owner, app and service roles; (2) the policies' helpers are inlinable SQL
-- over the seal (no definer, no SET); bind_context is a pinned definer for the app and service roles, and
-- auth_bind is this change's body; (3) on probe rows rolled back here: binding seals the organization and
-- the permissions of a member, nothing for a non-member, and a later set_config of app.current_org_id changes
-- nothing the helpers answer.
SET LOCAL orgbase.app_role = :"app_role";
SET LOCAL orgbase.service_role = :"service_role";
SET LOCAL orgbase.owner_role = :"owner_role";

DO $$
DECLARE
    app text := current_setting('orgbase.app_role');
    service text := current_setting('orgbase.service_role');
    owner text := current_setting('orgbase.owner_role');
    wrong text;
BEGIN
    -- (1) The extension and who may call it.
    IF to_regprocedure('orgbase_seal.seal(uuid, uuid, text[], text[])') IS NULL
       OR to_regprocedure('orgbase_seal.org_if_can(text)') IS NULL
       OR to_regprocedure('orgbase_seal.watching(text)') IS NULL THEN
        RAISE EXCEPTION '016 verify: the orgbase_seal extension is missing';
    END IF;
    -- (The service role is a member of the owner and bypasses RLS anyway: what matters is the app role.)
    IF NOT has_function_privilege(owner, 'orgbase_seal.seal(uuid, uuid, text[], text[])', 'EXECUTE')
       OR has_function_privilege(app, 'orgbase_seal.seal(uuid, uuid, text[], text[])', 'EXECUTE')
       OR EXISTS (SELECT 1 FROM pg_proc p CROSS JOIN aclexplode(p.proacl) a
                   WHERE p.pronamespace = 'orgbase_seal'::regnamespace AND a.grantee = 0) THEN
        RAISE EXCEPTION '016 verify: orgbase_seal.seal() must be executable by % (and its members), not by % '
                        'nor PUBLIC', owner, app;
    END IF;
    SELECT string_agg(r, ', ') INTO wrong FROM unnest(ARRAY[owner, app, service]) r
     WHERE NOT has_function_privilege(r, 'orgbase_seal.org_if_can(text)', 'EXECUTE')
        OR NOT has_function_privilege(r, 'orgbase_seal.watching(text)', 'EXECUTE')
        OR NOT has_schema_privilege(r, 'orgbase_seal', 'USAGE');
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION '016 verify: these roles cannot read the seal (orgbase_seal.org_if_can): %', wrong;
    END IF;

    -- (2) The helpers: SQL over the seal, inlinable.
    SELECT string_agg(e.sig, ', ') INTO wrong
      FROM (VALUES ('platform.current_org_if_can(text)'), ('platform.current_member_can(text)')) AS e(sig)
     WHERE NOT EXISTS (
        SELECT 1 FROM pg_proc p
         WHERE p.oid = to_regprocedure(e.sig) AND NOT p.prosecdef AND p.proconfig IS NULL
           AND p.provolatile = 's' AND p.proparallel = 'r'
           AND p.prolang = (SELECT l.oid FROM pg_language l WHERE l.lanname = 'sql')
           AND p.prosrc LIKE '%orgbase_seal.org_if_can(p_permission)%');
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION '016 verify: not inlinable SQL over orgbase_seal.org_if_can: %', wrong;
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM pg_proc p
         WHERE p.oid = to_regprocedure('rls_shadow.watch(text)') AND NOT p.prosecdef AND p.proconfig IS NULL
           AND p.prolang = (SELECT l.oid FROM pg_language l WHERE l.lanname = 'sql')
           AND p.prosrc LIKE '%orgbase_seal.watching(p_table)%' AND p.prosrc LIKE '%rls_shadow.watch_lookup(p_table)%')
       OR NOT EXISTS (
        SELECT 1 FROM pg_proc p
         WHERE p.oid = to_regprocedure('rls_shadow.watch_lookup(text)') AND p.prosecdef
           AND p.proconfig = ARRAY['search_path=pg_catalog, pg_temp']
           AND NOT EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0)
           AND ARRAY(SELECT r.rolname::text FROM aclexplode(p.proacl) a JOIN pg_roles r ON r.oid = a.grantee
                      WHERE a.grantee <> p.proowner AND a.privilege_type = 'EXECUTE') = ARRAY[app]) THEN
        RAISE EXCEPTION '016 verify: rls_shadow.watch is not SQL over the seal with watch_lookup behind it, or '
                        'watch_lookup not a pinned definer for the app role alone';
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM pg_proc p
         WHERE p.oid = to_regprocedure('platform.bind_context(uuid, uuid, text)') AND p.prosecdef
           AND p.proconfig = ARRAY['search_path=pg_catalog, platform, pg_temp']
           AND NOT EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0)
           AND ARRAY(SELECT r.rolname::text FROM aclexplode(p.proacl) a JOIN pg_roles r ON r.oid = a.grantee
                      WHERE a.grantee <> p.proowner AND a.privilege_type = 'EXECUTE' ORDER BY 1)
               = ARRAY(SELECT unnest(ARRAY[app, service]) ORDER BY 1)) THEN
        RAISE EXCEPTION '016 verify: bind_context is missing, not a pinned definer, or executable by others '
                        'than % and %', app, service;
    END IF;
    IF has_function_privilege(app, 'platform.seal_request(uuid, uuid, text[])', 'EXECUTE') THEN
        RAISE EXCEPTION '016 verify: seal_request must be the owner''s alone';
    END IF;
    IF obj_description(to_regprocedure('platform.auth_bind(text, uuid, text)'), 'pg_proc') NOT LIKE '%sealed (016)'
       OR (SELECT p.prosrc FROM pg_proc p WHERE p.oid = to_regprocedure('platform.auth_bind(text, uuid, text)'))
          NOT LIKE '%platform.seal_request(%' THEN
        RAISE EXCEPTION '016 verify: auth_bind is not the body of 016_sealed_context';
    END IF;
END
$$;

-- (3) Behaviour, on probe rows in a subtransaction that is rolled back.
DO $$
DECLARE
    ada uuid;
    org uuid;
    other_org uuid;
BEGIN
    BEGIN
        ada := platform.auth_sign_up('ada@verify016.invalid',
                                     '$argon2id$v=19$m=65536,t=3,p=4$dmVyaWZ5$dmVyaWZ5', 'Ada', 'Probe');
        INSERT INTO platform.organizations (name, slug) VALUES ('Verify', 'orgbase-verify-016') RETURNING id INTO org;
        INSERT INTO platform.organizations (name, slug) VALUES ('Other', 'orgbase-verify-016-2')
            RETURNING id INTO other_org;
        INSERT INTO platform.organization_members (organization_id, user_id, role) VALUES (org, ada, 'developer');

        PERFORM platform.bind_context(ada, org, 'verify-016');
        IF platform.current_org_if_can('projects.read') IS DISTINCT FROM org
           OR platform.current_org_if_can('org.delete') IS NOT NULL
           OR NOT platform.current_member_can('projects.read') OR platform.current_member_can('org.delete')
           OR current_setting('app.current_user_id', true) IS DISTINCT FROM ada::text
           OR current_setting('app.current_org_id', true) IS DISTINCT FROM org::text
           OR current_setting('app.request_id', true) IS DISTINCT FROM 'verify-016' THEN
            RAISE EXCEPTION '016 verify: bind_context did not seal a developer''s organization and permissions';
        END IF;
        -- A forged organization afterwards: the seal does not follow it.
        PERFORM set_config('app.current_org_id', other_org::text, true);
        IF platform.current_org_if_can('projects.read') IS DISTINCT FROM org THEN
            RAISE EXCEPTION '016 verify: the seal followed a set_config of app.current_org_id';
        END IF;
        -- A non-member: the settings as asked, nothing sealed.
        PERFORM platform.bind_context(ada, other_org, NULL);
        IF platform.current_org_if_can('projects.read') IS NOT NULL OR platform.current_member_can('projects.read')
           OR current_setting('app.current_org_id', true) IS DISTINCT FROM other_org::text THEN
            RAISE EXCEPTION '016 verify: bind_context sealed an organization the user is not a member of';
        END IF;
        -- No user: nothing.
        PERFORM platform.bind_context(NULL, org, NULL);
        IF platform.current_org_if_can('projects.read') IS NOT NULL THEN
            RAISE EXCEPTION '016 verify: bind_context sealed an organization without a user';
        END IF;
        RAISE EXCEPTION USING errcode = 'OB000', message = 'rollback';
    EXCEPTION WHEN SQLSTATE 'OB000' THEN
        NULL;
    END;
END
$$;
