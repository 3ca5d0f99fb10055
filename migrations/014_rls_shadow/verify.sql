-- Verify 014_rls_shadow: raises unless (1) 007's helpers are pinned-search_path STABLE PL/pgSQL definers
-- owned by the owner and executable by the app and service roles only, (2) every platform table has its four
-- shadow policies, restrictive and for every role, each of the shape NOT (SELECT rls_shadow.watch(...)) OR
-- (...) OR rls_shadow.deny(...), (3) the rls_shadow objects are there with their columns, owner-only where
-- secret, and the functions pinned definers with the grants of the design, and (4) every table has a mode.
-- That the policies hold 007's predicates verbatim is a test's business (tests/test_rls_shadow.py).
SET LOCAL orgbase.app_role = :"app_role";
SET LOCAL orgbase.service_role = :"service_role";
SET LOCAL orgbase.owner_role = :"owner_role";
SET LOCAL orgbase.shadow_role = :"shadow_role";

DO $$
DECLARE
    owner oid := (SELECT oid FROM pg_roles WHERE rolname = current_setting('orgbase.owner_role'));
    wrong text;
BEGIN
    -- (1) 007's helpers (current_member_can, current_org_if_can and watch: 016 makes them SQL over the seal;
    -- its verify checks that form).
    SELECT string_agg(e.sig, ', ') INTO wrong
      FROM (VALUES ('platform.current_user_org_ids()', 'uuid[]', 's', 'pg_catalog, platform, pg_temp'),
                   ('platform.current_member_can(text)', 'boolean', 's', 'pg_catalog, platform, pg_temp'),
                   ('platform.current_org_if_can(text)', 'uuid', 's', 'pg_catalog, platform, pg_temp'),
                   ('rls_shadow.watch(text)', 'boolean', 'v', 'pg_catalog, pg_temp'),
                   ('rls_shadow.deny(text,text,uuid)', 'boolean', 'v', 'pg_catalog, pg_temp'),
                   ('rls_shadow.send(text,bigint,bigint)', 'void', 'v', 'pg_catalog, pg_temp'),
                   ('rls_shadow.flush()', 'void', 'v', 'pg_catalog, pg_temp'),
                   ('rls_shadow.record(text,text,uuid,uuid,text,text,uuid,bigint,bigint)', NULL, 'v',
                    'pg_catalog, pg_temp')) AS e(sig, result, volatility, path)
     WHERE NOT (e.sig IN ('platform.current_member_can(text)', 'platform.current_org_if_can(text)',
                          'rls_shadow.watch(text)')
                AND EXISTS (SELECT 1 FROM pg_proc p WHERE p.oid = to_regprocedure(e.sig)
                               AND (SELECT prosrc FROM pg_proc WHERE oid = to_regprocedure(e.sig)) LIKE '%orgbase_seal.%'))
       AND NOT EXISTS (
        SELECT 1 FROM pg_proc p
         WHERE p.oid = to_regprocedure(e.sig)
           AND p.prosecdef AND p.provolatile = e.volatility
           AND pg_get_function_result(p.oid) IS NOT DISTINCT FROM e.result
           AND p.proconfig = ARRAY['search_path=' || e.path]
           AND p.proowner = owner
           AND p.proacl IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0));
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION '014 verify: functions missing, or not a definer owned by the owner with a pinned '
                        'search_path and no PUBLIC grant: %', wrong;
    END IF;
    -- Who may call what: deny() and watch() the app role (its policies call them), record() the shadow role,
    -- send() and flush() no one but the owner, the helpers the app and service roles.
    SELECT string_agg(e.sig, ', ') INTO wrong
      FROM (VALUES ('platform.current_user_org_ids()', ARRAY['orgbase.app_role', 'orgbase.service_role']),
                   ('platform.current_member_can(text)', ARRAY['orgbase.app_role', 'orgbase.service_role']),
                   ('platform.current_org_if_can(text)', ARRAY['orgbase.app_role', 'orgbase.service_role']),
                   ('rls_shadow.watch(text)', ARRAY['orgbase.app_role']),
                   ('rls_shadow.deny(text,text,uuid)', ARRAY['orgbase.app_role']),
                   ('rls_shadow.send(text,bigint,bigint)', ARRAY[]::text[]),
                   ('rls_shadow.flush()', ARRAY[]::text[]),
                   ('rls_shadow.record(text,text,uuid,uuid,text,text,uuid,bigint,bigint)',
                    ARRAY['orgbase.shadow_role'])) AS e(sig, grantees)
     WHERE ARRAY(SELECT r.rolname::text FROM pg_proc p CROSS JOIN aclexplode(p.proacl) a
                   JOIN pg_roles r ON r.oid = a.grantee
                  WHERE p.oid = to_regprocedure(e.sig) AND a.grantee <> p.proowner AND a.privilege_type = 'EXECUTE'
                  ORDER BY 1)
           IS DISTINCT FROM ARRAY(SELECT current_setting(g) FROM unnest(e.grantees) g ORDER BY 1);
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION '014 verify: EXECUTE granted to other roles than designed on: %', wrong;
    END IF;
END
$$;

DO $$
DECLARE
    wrong text;
BEGIN
    -- (2) The shadow policies: four per platform table, restrictive, for every role, of the designed shape;
    -- none while 007 enforces (it sets them aside, and its revert puts them back).
    IF to_regclass('platform.projects') IS NOT NULL AND EXISTS (
        SELECT 1 FROM pg_policy WHERE polrelid = 'platform.projects'::regclass
           AND polname = 'projects_restrictive_select') THEN
        SELECT string_agg(polname, ', ') INTO wrong FROM pg_policy WHERE polname LIKE '%\_shadow\_%';
        IF wrong IS NOT NULL THEN
            RAISE EXCEPTION '014 verify: 007 enforces, yet shadow policies remain: %', wrong;
        END IF;
        RETURN;
    END IF;
    SELECT string_agg(format('%s_shadow_%s', c.relname, cmd.name), ', ') INTO wrong
      FROM pg_class c
     CROSS JOIN (VALUES ('select', 'r'), ('insert', 'a'), ('update', 'w'), ('delete', 'd')) AS cmd(name, cmd)
     WHERE c.relnamespace = 'platform'::regnamespace AND c.relkind IN ('r', 'p')
       AND EXISTS (SELECT 1 FROM rls_shadow.modes m WHERE m.table_name = c.relname)
       AND NOT EXISTS (
        SELECT 1 FROM pg_policy p
         WHERE p.polrelid = c.oid AND p.polname = format('%s_shadow_%s', c.relname, cmd.name)
           AND NOT p.polpermissive AND p.polcmd = cmd.cmd AND p.polroles = ARRAY[0::oid]
           AND (p.polqual IS NOT NULL) = (cmd.cmd <> 'a')
           AND (p.polwithcheck IS NOT NULL) = (cmd.cmd IN ('a', 'w'))
           AND (SELECT bool_and(e ~ ('^\(\(NOT \( SELECT rls_shadow\.watch\(''' || c.relname || '''::text\) AS watch\)\) OR .* OR rls_shadow\.deny\(''' || c.relname || '''::text, ''' || cmd.name || '''::text, '))
                  FROM unnest(ARRAY[pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)]) e
                 WHERE e IS NOT NULL));
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION '014 verify: shadow policies missing or changed: %', wrong;
    END IF;
END
$$;

DO $$
DECLARE
    owner oid := (SELECT oid FROM pg_roles WHERE rolname = current_setting('orgbase.owner_role'));
    wrong text;
BEGIN
    -- (3) The schema's tables and their columns; the link and the record owner-only.
    SELECT string_agg(e.name, ', ') INTO wrong
      FROM (VALUES ('config', 'singleton boolean, app_role name'),
                   ('modes', 'table_name text, mode text, since timestamp with time zone, changed_by text, '
                             'observed_at_since bigint, failures_at_since bigint'),
                   ('violations', 'id bigint, table_name text, command text, user_id uuid, organization_id uuid, '
                                  'request_id text, reason text, row_organization_id uuid, '
                                  'first_seen timestamp with time zone, last_seen timestamp with time zone, '
                                  'statements bigint, rows bigint, acked_at timestamp with time zone, '
                                  'acked_by text, ack_reason text'),
                   ('link', 'singleton boolean, conninfo text')) AS e(name, cols)
     WHERE (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
              FROM pg_attribute a
             WHERE a.attrelid = to_regclass('rls_shadow.' || e.name) AND a.attnum > 0 AND NOT a.attisdropped)
           IS DISTINCT FROM e.cols
        OR (SELECT c.relowner FROM pg_class c WHERE c.oid = to_regclass('rls_shadow.' || e.name)) <> owner;
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION '014 verify: rls_shadow tables missing or changed: %', wrong;
    END IF;
    IF to_regclass('rls_shadow.observed') IS NULL OR to_regclass('rls_shadow.record_failures') IS NULL
       OR to_regclass('rls_shadow.violations_last_seen_idx') IS NULL
       OR NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'violations_key'
                       AND conrelid = 'rls_shadow.violations'::regclass AND contype = 'u') THEN
        RAISE EXCEPTION '014 verify: a sequence, the violations index or its key is missing';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_class c CROSS JOIN aclexplode(c.relacl) a
                WHERE c.relnamespace = 'rls_shadow'::regnamespace AND a.grantee <> c.relowner) THEN
        RAISE EXCEPTION '014 verify: a table or sequence of rls_shadow is granted to another role than its owner';
    END IF;
    IF (SELECT app_role FROM rls_shadow.config) IS DISTINCT FROM current_setting('orgbase.app_role') THEN
        RAISE EXCEPTION '014 verify: rls_shadow.config does not name the app role';
    END IF;
    -- (4) A mode for every platform table.
    SELECT string_agg(c.relname, ', ') INTO wrong
      FROM pg_class c
     WHERE c.relnamespace = 'platform'::regnamespace AND c.relkind IN ('r', 'p')
       AND NOT EXISTS (SELECT 1 FROM rls_shadow.modes m WHERE m.table_name = c.relname);
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION '014 verify: platform tables without a mode: %', wrong;
    END IF;
END
$$;
