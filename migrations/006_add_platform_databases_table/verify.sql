-- Verify 006_add_platform_databases_table: raises unless the table, its view, helpers and the restricted
-- credentials path are in place and behave.
SET LOCAL orgbase.app_role = :"app_role";
SET LOCAL orgbase.service_role = :"service_role";

DO $$
DECLARE
    wrong text;
BEGIN
    SELECT string_agg(format('%s %s%s', e.c, e.ty, CASE WHEN e.nn THEN ' not null' ELSE '' END), ', ') INTO wrong
      FROM (VALUES
        ('id', 'uuid', true), ('organization_id', 'uuid', true), ('project_id', 'uuid', true),
        ('name', 'text', true), ('type', 'text', true), ('host', 'text', true), ('port', 'integer', true),
        ('database', 'text', false), ('connection_string_encrypted', 'bytea', true),
        ('encryption_key_id', 'text', true), ('ssl_enabled', 'boolean', true), ('config', 'jsonb', true),
        ('metadata', 'jsonb', true), ('status', 'text', true), ('health_check_status', 'text', true),
        ('health_check_error', 'text', false), ('last_health_check_at', 'timestamp with time zone', false),
        ('created_at', 'timestamp with time zone', true), ('updated_at', 'timestamp with time zone', true)
      ) AS e(c, ty, nn)
     WHERE NOT EXISTS (
        SELECT 1 FROM pg_attribute a
         WHERE a.attrelid = to_regclass('platform.databases') AND a.attname = e.c AND NOT a.attisdropped
           AND format_type(a.atttypid, a.atttypmod) = e.ty AND a.attnotnull = e.nn);
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION '006 verify: databases: missing or wrong columns: %', wrong;
    END IF;
    -- No plaintext anywhere: no other column of the table or the view may carry a connection string or password.
    IF EXISTS (SELECT 1 FROM pg_attribute
                WHERE attrelid IN ('platform.databases'::regclass, to_regclass('platform.databases_safe'))
                  AND attnum > 0 AND NOT attisdropped
                  AND attname ~ '(password|secret|connection_string)'
                  AND attname NOT IN ('connection_string_encrypted', 'connection_string_masked'))
       OR EXISTS (SELECT 1 FROM pg_attribute
                   WHERE attrelid = to_regclass('platform.databases_safe')
                     AND attname IN ('connection_string_encrypted', 'encryption_key_id')) THEN
        RAISE EXCEPTION '006 verify: a plaintext credential column exists, or databases_safe exposes the ciphertext';
    END IF;
    -- The seed's database-side crypto is deliberately absent.
    IF EXISTS (SELECT 1 FROM pg_proc WHERE pronamespace = 'platform'::regnamespace AND proname ~ '(encrypt|decrypt)')
       OR EXISTS (SELECT 1 FROM pg_class WHERE relnamespace = 'platform'::regnamespace
                                           AND relname ~ 'with_connection_string')
       OR EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'platform.databases'::regclass AND NOT tgisinternal
                                             AND tgname <> 'databases_set_updated_at') THEN
        RAISE EXCEPTION '006 verify: database-side encrypt/decrypt objects exist (keys never live in the database)';
    END IF;
    SELECT string_agg(e.n, ', ') INTO wrong
      FROM (VALUES
        ('databases_pkey'), ('databases_project_fkey'), ('databases_organization_id_project_id_name_key'),
        ('databases_name_length'), ('databases_type_known'), ('databases_host_format'), ('databases_port_range'),
        ('databases_connection_string_encrypted_length'), ('databases_encryption_key_id_format'),
        ('databases_status_known'), ('databases_health_check_status_known'), ('databases_config_object'),
        ('databases_metadata_object')
      ) AS e(n)
     WHERE NOT EXISTS (SELECT 1 FROM pg_constraint c
                        WHERE c.conrelid = 'platform.databases'::regclass AND c.conname = e.n AND c.convalidated);
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION '006 verify: missing constraints: %', wrong;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                    WHERE conrelid = 'platform.databases'::regclass AND conname = 'databases_project_fkey'
                      AND confrelid = 'platform.projects'::regclass AND confdeltype = 'c'
                      AND array_length(conkey, 1) = 2) THEN
        RAISE EXCEPTION '006 verify: databases_project_fkey must be (project_id, organization_id) -> projects ON DELETE CASCADE';
    END IF;
    SELECT string_agg(e.n, ', ') INTO wrong
      FROM (VALUES ('databases_organization_id_type_idx'), ('databases_organization_id_status_idx'),
                   ('databases_project_id_idx'), ('databases_health_check_idx'),
                   ('databases_encryption_key_id_idx')) AS e(n)
     WHERE to_regclass('platform.' || e.n) IS NULL;
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION '006 verify: missing indexes: %', wrong;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'platform.databases'::regclass
                     AND tgname = 'databases_set_updated_at' AND tgenabled = 'O'
                     AND tgfoid = 'platform.set_updated_at()'::regprocedure) THEN
        RAISE EXCEPTION '006 verify: the updated_at trigger on databases is missing or disabled';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = to_regclass('platform.databases_safe') AND relkind = 'v'
                     AND 'security_invoker=true' = ANY(reloptions)) THEN
        RAISE EXCEPTION '006 verify: view databases_safe is missing or not security_invoker';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_proc WHERE oid = to_regprocedure('platform.get_database_credentials(uuid)')
                     AND prosecdef AND provolatile = 's'
                     AND 'search_path=pg_catalog, platform, pg_temp' = ANY(proconfig))
       OR NOT EXISTS (SELECT 1 FROM pg_proc WHERE oid = to_regprocedure('platform.get_project_databases(uuid)')
                        AND NOT prosecdef AND provolatile = 's')
       OR NOT EXISTS (SELECT 1 FROM pg_proc
                       WHERE oid = to_regprocedure('platform.update_database_health(uuid, text, text)')
                         AND NOT prosecdef) THEN
        RAISE EXCEPTION '006 verify: get_database_credentials (STABLE SECURITY DEFINER, safe search_path), '
                        'get_project_databases (invoker) or update_database_health (invoker) is missing or wrong';
    END IF;
END
$$;

-- Behaviour, in a block that is rolled back.
DO $$
DECLARE
    t record;
    got_state text;
    got_name text;
    hash constant text := '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA';
    org uuid;
    other_org uuid;
    proj uuid;
    db uuid;
    dev uuid;
    admin uuid;
    viewer uuid;
    masked text;
    n int;
BEGIN
    BEGIN
        INSERT INTO platform.organizations (name, slug) VALUES ('Verify', 'orgbase-verify-probe') RETURNING id INTO org;
        INSERT INTO platform.organizations (name, slug) VALUES ('Other', 'orgbase-verify-probe-2') RETURNING id INTO other_org;
        INSERT INTO platform.projects (organization_id, name) VALUES (org, 'p') RETURNING id INTO proj;
        PERFORM set_config('orgbase.verify_org', org::text, true);
        PERFORM set_config('orgbase.verify_other_org', other_org::text, true);
        PERFORM set_config('orgbase.verify_project', proj::text, true);
        FOR t IN SELECT * FROM (VALUES
            ('cassandra', 'h', 5432, 'org', 'databases_type_known'),
            ('postgresql', 'h', 0, 'org', 'databases_port_range'),
            ('postgresql', 'h', 65536, 'org', 'databases_port_range'),
            ('redis', 'user:pw@h', 6379, 'org', 'databases_host_format'),
            ('redis', 'h', 6379, 'other', 'databases_project_fkey')
        ) AS v(ty, host, port, which, cname)
        LOOP
            BEGIN
                INSERT INTO platform.databases (organization_id, project_id, name, type, host, port,
                                                connection_string_encrypted, encryption_key_id)
                VALUES (CASE WHEN t.which = 'org' THEN org ELSE other_org END, proj, 'probe', t.ty, t.host,
                        t.port, decode(repeat('00', 40), 'hex'), 'k1');
                got_state := 'accepted';
                got_name := NULL;
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS got_state = RETURNED_SQLSTATE, got_name = CONSTRAINT_NAME;
            END;
            IF got_name IS DISTINCT FROM t.cname THEN
                RAISE EXCEPTION '006 verify: a database (%, %, %, %) was not refused by %: got % %',
                    t.ty, t.host, t.port, t.which, t.cname, got_state, coalesce(got_name, '');
            END IF;
        END LOOP;

        INSERT INTO platform.databases (organization_id, project_id, name, type, host, port,
                                        connection_string_encrypted, encryption_key_id)
        VALUES (org, proj, 'cache', 'redis', 'redis.internal', 6379, decode(repeat('ab', 40), 'hex'), 'k1')
        RETURNING id INTO db;
        SELECT connection_string_masked INTO masked FROM platform.databases_safe WHERE id = db;
        IF masked IS DISTINCT FROM 'redis://redis.internal:6379' THEN
            RAISE EXCEPTION '006 verify: databases_safe masks as %, expected redis://redis.internal:6379', masked;
        END IF;
        IF (SELECT count(*) FROM platform.get_project_databases(proj) g WHERE g.id = db) <> 1 THEN
            RAISE EXCEPTION '006 verify: get_project_databases does not return the project''s database';
        END IF;
        -- Separate statements: a subquery of the same statement would not see the function's update.
        IF NOT platform.update_database_health(db, 'unhealthy', 'timeout') THEN
            RAISE EXCEPTION '006 verify: update_database_health did not find the database';
        END IF;
        IF NOT EXISTS (SELECT 1 FROM platform.databases WHERE id = db AND health_check_status = 'unhealthy'
                         AND health_check_error = 'timeout' AND last_health_check_at = now())
           OR platform.update_database_health(gen_random_uuid(), 'healthy') THEN
            RAISE EXCEPTION '006 verify: update_database_health does not record a health check';
        END IF;

        INSERT INTO platform.users (email, password_hash) VALUES ('dev@verify.invalid', hash) RETURNING id INTO dev;
        INSERT INTO platform.users (email, password_hash) VALUES ('ro@verify.invalid', hash) RETURNING id INTO viewer;
        INSERT INTO platform.users (email, password_hash) VALUES ('admin@verify.invalid', hash) RETURNING id INTO admin;
        INSERT INTO platform.organization_members (organization_id, user_id, role)
            VALUES (org, dev, 'developer'), (org, viewer, 'read_only'), (org, admin, 'admin');
        IF EXISTS (SELECT 1 FROM platform.get_database_credentials(db)) THEN
            RAISE EXCEPTION '006 verify: get_database_credentials returned credentials without a user in the context';
        END IF;
        PERFORM set_config('app.current_user_id', viewer::text, true);
        IF EXISTS (SELECT 1 FROM platform.get_database_credentials(db)) THEN
            RAISE EXCEPTION '006 verify: get_database_credentials returned credentials to a read_only member';
        END IF;
        PERFORM set_config('app.current_user_id', dev::text, true);
        IF EXISTS (SELECT 1 FROM platform.get_database_credentials(db)) THEN
            RAISE EXCEPTION '006 verify: get_database_credentials returned credentials to a developer';
        END IF;
        PERFORM set_config('app.current_user_id', admin::text, true);
        SELECT count(*) INTO n FROM platform.get_database_credentials(db) c
         WHERE c.ciphertext = decode(repeat('ab', 40), 'hex') AND c.key_id = 'k1' AND c.organization_id = org;
        IF n <> 1 THEN
            RAISE EXCEPTION '006 verify: get_database_credentials refused an admin of the organization';
        END IF;
        PERFORM set_config('app.current_org_id', other_org::text, true);
        IF EXISTS (SELECT 1 FROM platform.get_database_credentials(db)) THEN
            RAISE EXCEPTION '006 verify: get_database_credentials returned a database outside the context''s organization';
        END IF;
        RAISE EXCEPTION USING errcode = 'OB000', message = 'rollback';
    EXCEPTION WHEN SQLSTATE 'OB000' THEN
        NULL;
    END;
END
$$;

-- Grants: credentials are not selectable by the app role; the restricted path is the app role's only.
DO $$
DECLARE
    app text := current_setting('orgbase.app_role');
    service text := current_setting('orgbase.service_role');
    wrong text;
BEGIN
    SELECT string_agg(format('%s %s %s', CASE WHEN e.ok THEN 'lacks' ELSE 'has' END, e.c, e.p), ', ') INTO wrong
      FROM (VALUES
        ('connection_string_encrypted', 'SELECT', false), ('encryption_key_id', 'SELECT', false),
        ('connection_string_encrypted', 'INSERT', true), ('connection_string_encrypted', 'UPDATE', true),
        ('id', 'SELECT', true), ('organization_id', 'SELECT', true), ('project_id', 'SELECT', true),
        ('name', 'SELECT', true), ('type', 'SELECT', true), ('host', 'SELECT', true), ('port', 'SELECT', true),
        ('database', 'SELECT', true), ('ssl_enabled', 'SELECT', true), ('config', 'SELECT', true),
        ('metadata', 'SELECT', true), ('status', 'SELECT', true), ('health_check_status', 'SELECT', true),
        ('health_check_error', 'SELECT', true), ('last_health_check_at', 'SELECT', true),
        ('created_at', 'SELECT', true), ('updated_at', 'SELECT', true),
        ('name', 'INSERT', true), ('project_id', 'INSERT', true), ('id', 'INSERT', true),
        ('organization_id', 'UPDATE', false), ('project_id', 'UPDATE', false), ('id', 'UPDATE', false)
      ) AS e(c, p, ok)
     WHERE has_column_privilege(app, 'platform.databases', e.c, e.p) <> e.ok;
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION '006 verify: role % on databases: %', app, wrong;
    END IF;
    IF has_table_privilege(app, 'platform.databases', 'SELECT')
       OR has_table_privilege(app, 'platform.databases', 'TRUNCATE')
       OR NOT has_table_privilege(app, 'platform.databases', 'DELETE')
       OR NOT has_table_privilege(app, 'platform.databases_safe', 'SELECT')
       OR has_table_privilege(app, 'platform.databases_safe', 'INSERT, UPDATE, DELETE') THEN
        RAISE EXCEPTION '006 verify: role % has wrong table privileges on databases or databases_safe', app;
    END IF;
    IF NOT has_function_privilege(app, 'platform.get_database_credentials(uuid)', 'EXECUTE')
       OR NOT has_function_privilege(app, 'platform.get_project_databases(uuid)', 'EXECUTE')
       OR NOT has_function_privilege(app, 'platform.update_database_health(uuid, text, text)', 'EXECUTE')
       OR has_function_privilege('public', 'platform.get_database_credentials(uuid)', 'EXECUTE')
       OR has_function_privilege('public', 'platform.get_project_databases(uuid)', 'EXECUTE')
       OR has_function_privilege('public', 'platform.update_database_health(uuid, text, text)', 'EXECUTE')
       OR EXISTS (SELECT 1 FROM pg_proc p, aclexplode(p.proacl) a
                   WHERE p.oid = 'platform.get_database_credentials(uuid)'::regprocedure
                     AND a.grantee NOT IN (p.proowner, (SELECT oid FROM pg_roles WHERE rolname = app))) THEN
        RAISE EXCEPTION '006 verify: EXECUTE on the databases functions is wrong (credentials: app role only)';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_class c, aclexplode(c.relacl) a
                WHERE c.relnamespace = 'platform'::regnamespace AND a.grantee = 0) THEN
        RAISE EXCEPTION '006 verify: something in schema platform is granted to PUBLIC';
    END IF;
END
$$;
