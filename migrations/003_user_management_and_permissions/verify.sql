-- Verify 003_user_management_and_permissions: raises unless every object is in place and behaves.
SET LOCAL orgbase.app_role = :"app_role";
SET LOCAL orgbase.service_role = :"service_role";

-- Inventory: every column (type, NOT NULL), constraint (kind) and index this change creates.
DO $$
DECLARE
    wrong text;
BEGIN
    SELECT string_agg(format('%s %s.%s', e.kind, e.tbl, e.name), ', ') INTO wrong
      FROM (VALUES
        ('column', 'member_roles', 'role', 'text not null'),
        ('column', 'member_roles', 'description', 'text not null'),
        ('column', 'member_roles', 'sort_order', 'smallint not null'),
        ('column', 'organization_members', 'organization_id', 'uuid not null'),
        ('column', 'organization_members', 'user_id', 'uuid not null'),
        ('column', 'organization_members', 'role', 'text not null'),
        ('column', 'organization_members', 'joined_at', 'timestamp with time zone not null'),
        ('column', 'organization_members', 'invited_by', 'uuid'),
        ('column', 'organization_members', 'updated_at', 'timestamp with time zone not null'),
        ('column', 'permissions', 'permission', 'text not null'),
        ('column', 'permissions', 'description', 'text not null'),
        ('column', 'role_permissions', 'role', 'text not null'),
        ('column', 'role_permissions', 'permission', 'text not null'),
        ('column', 'user_sessions', 'id', 'uuid not null'),
        ('column', 'user_sessions', 'user_id', 'uuid not null'),
        ('column', 'user_sessions', 'token_hash', 'text not null'),
        ('column', 'user_sessions', 'ip_address', 'text'),
        ('column', 'user_sessions', 'user_agent', 'text'),
        ('column', 'user_sessions', 'created_at', 'timestamp with time zone not null'),
        ('column', 'user_sessions', 'expires_at', 'timestamp with time zone not null'),
        ('column', 'user_sessions', 'last_activity_at', 'timestamp with time zone not null'),
        ('column', 'users', 'id', 'uuid not null'),
        ('column', 'users', 'email', 'text not null'),
        ('column', 'users', 'password_hash', 'text not null'),
        ('column', 'users', 'first_name', 'text'),
        ('column', 'users', 'last_name', 'text'),
        ('column', 'users', 'created_at', 'timestamp with time zone not null'),
        ('column', 'users', 'updated_at', 'timestamp with time zone not null'),
        ('column', 'users', 'last_sign_in_at', 'timestamp with time zone'),
        ('column', 'users', 'banned_until', 'timestamp with time zone'),
        ('column', 'users', 'deleted_at', 'timestamp with time zone'),
        ('constraint', 'member_roles', 'member_roles_pkey', 'p'),
        ('constraint', 'organization_members', 'organization_members_invited_by_fkey', 'f'),
        ('constraint', 'organization_members', 'organization_members_organization_id_fkey', 'f'),
        ('constraint', 'organization_members', 'organization_members_pkey', 'p'),
        ('constraint', 'organization_members', 'organization_members_role_known', 'f'),
        ('constraint', 'organization_members', 'organization_members_user_id_fkey', 'f'),
        ('constraint', 'permissions', 'permissions_name_format', 'c'),
        ('constraint', 'permissions', 'permissions_pkey', 'p'),
        ('constraint', 'role_permissions', 'role_permissions_permission_fkey', 'f'),
        ('constraint', 'role_permissions', 'role_permissions_pkey', 'p'),
        ('constraint', 'role_permissions', 'role_permissions_role_fkey', 'f'),
        ('constraint', 'user_sessions', 'user_sessions_expiry_after_creation', 'c'),
        ('constraint', 'user_sessions', 'user_sessions_pkey', 'p'),
        ('constraint', 'user_sessions', 'user_sessions_token_hash_key', 'u'),
        ('constraint', 'user_sessions', 'user_sessions_token_hash_length', 'c'),
        ('constraint', 'user_sessions', 'user_sessions_user_id_fkey', 'f'),
        ('constraint', 'users', 'users_email_format', 'c'),
        ('constraint', 'users', 'users_name_length', 'c'),
        ('constraint', 'users', 'users_password_hash_argon2id', 'c'),
        ('constraint', 'users', 'users_pkey', 'p'),
        ('index', 'organization_members', 'organization_members_invited_by_idx', NULL),
        ('index', 'organization_members', 'organization_members_role_idx', NULL),
        ('index', 'organization_members', 'organization_members_user_id_idx', NULL),
        ('index', 'user_sessions', 'user_sessions_expires_at_idx', NULL),
        ('index', 'user_sessions', 'user_sessions_user_id_idx', NULL),
        ('index', 'users', 'users_email_lower_key', NULL)
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
        RAISE EXCEPTION '003 verify: missing or changed: %', wrong;
    END IF;
END
$$;

DO $$
DECLARE
    wrong text;
BEGIN
    -- user_sessions has exactly the seed's eight columns, and no trigger that could touch a missing one.
    IF (SELECT count(*) FROM pg_attribute WHERE attrelid = 'platform.user_sessions'::regclass
                                            AND attnum > 0 AND NOT attisdropped) <> 8
       OR EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'platform.user_sessions'::regclass AND NOT tgisinternal) THEN
        RAISE EXCEPTION '003 verify: user_sessions must have exactly the seed''s 8 columns and no trigger';
    END IF;
    SELECT string_agg(e.t, ', ') INTO wrong
      FROM (VALUES ('users'), ('organization_members')) AS e(t)
     WHERE NOT EXISTS (SELECT 1 FROM pg_trigger g
                        WHERE g.tgrelid = to_regclass('platform.' || e.t) AND g.tgname = e.t || '_set_updated_at'
                          AND g.tgenabled = 'O' AND g.tgfoid = 'platform.set_updated_at()'::regprocedure);
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION '003 verify: missing or disabled updated_at triggers on: %', wrong;
    END IF;
END
$$;

-- The permission matrix: the five roles, and every seeded grant; owner-only permissions stay owner-only.
DO $$
DECLARE
    wrong text;
BEGIN
    IF (SELECT array_agg(role ORDER BY role) FROM platform.member_roles)
       IS DISTINCT FROM ARRAY['admin', 'billing_admin', 'developer', 'owner', 'read_only'] THEN
        RAISE EXCEPTION '003 verify: member_roles must be exactly owner, admin, billing_admin, developer, read_only';
    END IF;
    SELECT string_agg(e.r || ':' || e.p, ', ') INTO wrong
      FROM (VALUES
        ('admin', 'org.read'), ('admin', 'org.update'), ('admin', 'members.read'), ('admin', 'members.invite'),
        ('admin', 'members.update_role'), ('admin', 'members.remove'), ('admin', 'projects.read'),
        ('admin', 'projects.create'), ('admin', 'projects.update'), ('admin', 'projects.delete'),
        ('admin', 'databases.read'), ('admin', 'databases.create'), ('admin', 'databases.update'),
        ('admin', 'databases.delete'), ('admin', 'databases.reveal_credentials'), ('admin', 'billing.read'),
        ('admin', 'audit.read'),
        ('billing_admin', 'org.read'), ('billing_admin', 'members.read'), ('billing_admin', 'projects.read'),
        ('billing_admin', 'billing.read'), ('billing_admin', 'billing.update'),
        ('developer', 'org.read'), ('developer', 'members.read'), ('developer', 'projects.read'),
        ('developer', 'projects.create'), ('developer', 'projects.update'), ('developer', 'databases.read'),
        ('developer', 'databases.create'), ('developer', 'databases.update'), ('developer', 'databases.delete'),
        ('read_only', 'org.read'), ('read_only', 'members.read'), ('read_only', 'projects.read'),
        ('read_only', 'databases.read')
      ) AS e(r, p)
     WHERE NOT EXISTS (SELECT 1 FROM platform.role_permissions rp WHERE rp.role = e.r AND rp.permission = e.p);
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION '003 verify: the permission matrix lacks: %', wrong;
    END IF;
    -- The owner holds every permission; org.delete, members.grant_owner, databases.reveal_credentials and
    -- billing.update are never held by roles that must not have them.
    IF EXISTS (SELECT 1 FROM platform.permissions p
                WHERE NOT EXISTS (SELECT 1 FROM platform.role_permissions rp
                                   WHERE rp.role = 'owner' AND rp.permission = p.permission))
       OR (SELECT count(*) FROM platform.permissions) < 20
       OR EXISTS (SELECT 1 FROM platform.role_permissions
                   WHERE (permission IN ('org.delete', 'members.grant_owner') AND role <> 'owner')
                      OR (permission = 'databases.reveal_credentials' AND role NOT IN ('owner', 'admin'))
                      OR (permission = 'billing.update' AND role NOT IN ('owner', 'billing_admin'))
                      OR (role = 'read_only' AND permission !~ '\.read$')) THEN
        RAISE EXCEPTION '003 verify: the permission matrix grants too much or too little to some role';
    END IF;
    IF NOT platform.role_has_permission('owner', 'members.grant_owner')
       OR platform.role_has_permission('admin', 'members.grant_owner')
       OR platform.role_has_permission('nobody', 'org.read') THEN
        RAISE EXCEPTION '003 verify: role_has_permission does not answer from the matrix';
    END IF;
END
$$;

-- Behaviour: bad input refused by the named constraint; has_permission answers for the context user only.
DO $$
DECLARE
    t record;
    got_state text;
    got_name text;
    hash constant text := '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA';
    org uuid;
    dev uuid;
    banned uuid;
    stranger uuid;
BEGIN
    FOR t IN SELECT * FROM (VALUES
        ($s$INSERT INTO platform.users (email, password_hash) VALUES ('not an email', '$argon2id$v=19$x')$s$,
         '23514', 'users_email_format'),
        ($s$INSERT INTO platform.users (email, password_hash) VALUES ('verify@example.invalid', 'plaintext')$s$,
         '23514', 'users_password_hash_argon2id'),
        ($s$INSERT INTO platform.users (email, password_hash) VALUES ('verify@example.invalid', '$2b$12$bcrypt')$s$,
         '23514', 'users_password_hash_argon2id'),
        ($s$INSERT INTO platform.users (email, password_hash)
            VALUES ('Verify@Example.invalid', '$argon2id$v=19$x'), ('verify@example.INVALID', '$argon2id$v=19$x')$s$,
         '23505', 'users_email_lower_key'),
        ($s$WITH u AS (INSERT INTO platform.users (email, password_hash)
                       VALUES ('verify@example.invalid', '$argon2id$v=19$x') RETURNING id)
            INSERT INTO platform.user_sessions (user_id, token_hash, created_at, expires_at)
            SELECT id, repeat('a', 64), now(), now() - interval '1 hour' FROM u$s$,
         '23514', 'user_sessions_expiry_after_creation'),
        ($s$WITH u AS (INSERT INTO platform.users (email, password_hash)
                       VALUES ('verify@example.invalid', '$argon2id$v=19$x') RETURNING id),
                 o AS (INSERT INTO platform.organizations (name, slug) VALUES ('V', 'orgbase-verify-probe') RETURNING id)
            INSERT INTO platform.organization_members (organization_id, user_id, role)
            SELECT o.id, u.id, 'superuser' FROM o, u$s$,
         '23503', 'organization_members_role_known'),
        ($s$WITH u AS (INSERT INTO platform.users (email, password_hash)
                       VALUES ('verify@example.invalid', '$argon2id$v=19$x') RETURNING id),
                 o AS (INSERT INTO platform.organizations (name, slug) VALUES ('V', 'orgbase-verify-probe') RETURNING id)
            INSERT INTO platform.organization_members (organization_id, user_id, role, joined_at)
            SELECT o.id, u.id, 'owner', NULL FROM o, u$s$,
         '23502', NULL)
    ) AS v(stmt, state, cname)
    LOOP
        BEGIN
            EXECUTE t.stmt;
            RAISE EXCEPTION 'accepted';
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS got_state = RETURNED_SQLSTATE, got_name = CONSTRAINT_NAME;
            IF got_state <> t.state OR nullif(got_name, '') IS DISTINCT FROM t.cname THEN
                RAISE EXCEPTION '003 verify: expected % from constraint %, got % % for: %',
                    t.state, t.cname, got_state, coalesce(got_name, '(no constraint)'), t.stmt;
            END IF;
        END;
    END LOOP;

    BEGIN
        INSERT INTO platform.organizations (name, slug) VALUES ('Verify', 'orgbase-verify-probe') RETURNING id INTO org;
        INSERT INTO platform.users (email, password_hash) VALUES ('dev@verify.invalid', hash) RETURNING id INTO dev;
        INSERT INTO platform.users (email, password_hash, banned_until)
            VALUES ('banned@verify.invalid', hash, now() + interval '1 day') RETURNING id INTO banned;
        INSERT INTO platform.users (email, password_hash) VALUES ('stranger@verify.invalid', hash)
            RETURNING id INTO stranger;
        INSERT INTO platform.organization_members (organization_id, user_id, role)
            VALUES (org, dev, 'developer'), (org, banned, 'owner');
        IF platform.has_permission(org, 'org.read') THEN
            RAISE EXCEPTION '003 verify: has_permission is true without a user in the context';
        END IF;
        PERFORM set_config('app.current_user_id', '', true);
        IF platform.has_permission(org, 'org.read') THEN
            RAISE EXCEPTION '003 verify: has_permission is true with an empty user in the context';
        END IF;
        PERFORM set_config('app.current_user_id', dev::text, true);
        IF NOT platform.has_permission(org, 'databases.update')
           OR platform.has_permission(org, 'databases.reveal_credentials')
           OR platform.has_permission(org, 'org.delete')
           OR platform.has_permission(gen_random_uuid(), 'org.read') THEN
            RAISE EXCEPTION '003 verify: has_permission does not follow the matrix for a developer';
        END IF;
        PERFORM set_config('app.current_user_id', banned::text, true);
        IF platform.has_permission(org, 'org.read') THEN
            RAISE EXCEPTION '003 verify: has_permission is true for a banned user';
        END IF;
        PERFORM set_config('app.current_user_id', stranger::text, true);
        IF platform.has_permission(org, 'org.read') THEN
            RAISE EXCEPTION '003 verify: has_permission is true for a non-member';
        END IF;
        RAISE EXCEPTION USING errcode = 'OB000', message = 'rollback';
    EXCEPTION WHEN SQLSTATE 'OB000' THEN
        NULL;
    END;
END
$$;

-- Functions and grants.
DO $$
DECLARE
    app text := current_setting('orgbase.app_role');
    service text := current_setting('orgbase.service_role');
    wrong text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_proc WHERE oid = to_regprocedure('platform.has_permission(uuid, text)')
                     AND prosecdef AND provolatile = 's'
                     AND 'search_path=pg_catalog, platform, pg_temp' = ANY(proconfig)) THEN
        RAISE EXCEPTION '003 verify: has_permission must be STABLE SECURITY DEFINER with a safe search_path';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_proc WHERE oid = to_regprocedure('platform.role_has_permission(text, text)')
                     AND NOT prosecdef AND provolatile = 's') THEN
        RAISE EXCEPTION '003 verify: role_has_permission must be a STABLE invoker function';
    END IF;
    IF NOT has_function_privilege(app, 'platform.has_permission(uuid, text)', 'EXECUTE')
       OR NOT has_function_privilege(service, 'platform.has_permission(uuid, text)', 'EXECUTE')
       OR NOT has_function_privilege(app, 'platform.role_has_permission(text, text)', 'EXECUTE')
       OR has_function_privilege('public', 'platform.has_permission(uuid, text)', 'EXECUTE')
       OR has_function_privilege('public', 'platform.role_has_permission(text, text)', 'EXECUTE') THEN
        RAISE EXCEPTION '003 verify: EXECUTE on the permission functions is wrong (app and service only)';
    END IF;
    SELECT string_agg(format('%s %s%s %s', CASE WHEN e.ok THEN 'lacks' ELSE 'has' END, e.t,
                             coalesce('.' || e.c, ''), e.p), ', ') INTO wrong
      FROM (VALUES
        ('users', 'email', 'SELECT', true), ('users', 'deleted_at', 'SELECT', true),
        ('users', 'password_hash', 'SELECT', false), ('users', 'email', 'INSERT', true),
        ('users', 'password_hash', 'INSERT', true), ('users', 'first_name', 'UPDATE', true),
        ('users', 'last_sign_in_at', 'UPDATE', true), ('users', 'deleted_at', 'UPDATE', true),
        ('users', 'password_hash', 'UPDATE', false), ('users', 'banned_until', 'UPDATE', false),
        ('users', 'id', 'UPDATE', false), ('users', NULL, 'DELETE', false), ('users', NULL, 'TRUNCATE', false),
        ('organization_members', NULL, 'SELECT', true), ('organization_members', NULL, 'INSERT', true),
        ('organization_members', NULL, 'DELETE', true), ('organization_members', 'role', 'UPDATE', true),
        ('organization_members', 'organization_id', 'UPDATE', false),
        ('organization_members', 'user_id', 'UPDATE', false),
        ('member_roles', NULL, 'SELECT', true), ('member_roles', NULL, 'INSERT', false),
        ('permissions', NULL, 'SELECT', true), ('permissions', NULL, 'INSERT', false),
        ('role_permissions', NULL, 'SELECT', true), ('role_permissions', NULL, 'INSERT', false),
        ('role_permissions', NULL, 'DELETE', false)
      ) AS e(t, c, p, ok)
     WHERE CASE WHEN e.c IS NULL THEN has_table_privilege(app, 'platform.' || e.t, e.p)
                ELSE has_column_privilege(app, 'platform.' || e.t, e.c, e.p) END <> e.ok;
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION '003 verify: role %: %', app, wrong;
    END IF;
    -- No privilege at all on sessions, not even on one column.
    IF has_table_privilege(app, 'platform.user_sessions',
                           'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
       OR has_any_column_privilege(app, 'platform.user_sessions', 'SELECT, INSERT, UPDATE, REFERENCES') THEN
        RAISE EXCEPTION '003 verify: % has a privilege on user_sessions', app;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_class c, aclexplode(c.relacl) a
                WHERE c.relnamespace = 'platform'::regnamespace AND a.grantee = 0) THEN
        RAISE EXCEPTION '003 verify: something in schema platform is granted to PUBLIC';
    END IF;
END
$$;
