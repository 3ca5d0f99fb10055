-- Verify 001_create_platform_schema: raises unless every object is in place and behaves.
-- Role names, for the checks below (SET accepts the quoted identifier as the value).
SET LOCAL orgbase.app_role = :"app_role";

DO $$
DECLARE
    wrong text;
BEGIN
    IF to_regnamespace('platform') IS NULL THEN
        RAISE EXCEPTION '001 verify: schema platform is missing';
    END IF;
    -- Columns: name, type, NOT NULL.
    SELECT string_agg(format('%s.%s %s%s', e.t, e.c, e.ty, CASE WHEN e.nn THEN ' not null' ELSE '' END), ', ')
      INTO wrong
      FROM (VALUES
        ('organizations', 'id', 'uuid', true), ('organizations', 'name', 'text', true),
        ('organizations', 'slug', 'text', true), ('organizations', 'billing_email', 'text', false),
        ('organizations', 'created_at', 'timestamp with time zone', true),
        ('organizations', 'updated_at', 'timestamp with time zone', true),
        ('projects', 'id', 'uuid', true), ('projects', 'organization_id', 'uuid', true),
        ('projects', 'ref', 'text', true), ('projects', 'name', 'text', true),
        ('projects', 'status', 'text', true),
        ('projects', 'created_at', 'timestamp with time zone', true),
        ('projects', 'updated_at', 'timestamp with time zone', true)
      ) AS e(t, c, ty, nn)
     WHERE NOT EXISTS (
        SELECT 1 FROM pg_attribute a
         WHERE a.attrelid = to_regclass('platform.' || e.t) AND a.attname = e.c AND NOT a.attisdropped
           AND format_type(a.atttypid, a.atttypmod) = e.ty AND a.attnotnull = e.nn);
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION '001 verify: missing or wrong columns: %', wrong;
    END IF;
    -- Constraints, by name and kind.
    SELECT string_agg(e.n, ', ') INTO wrong
      FROM (VALUES
        ('organizations_pkey', 'p'), ('organizations_slug_key', 'u'), ('organizations_slug_format', 'c'),
        ('organizations_name_length', 'c'), ('organizations_billing_email_format', 'c'),
        ('projects_pkey', 'p'), ('projects_organization_id_fkey', 'f'),
        ('projects_id_organization_id_key', 'u'), ('projects_organization_id_name_key', 'u'),
        ('projects_ref_key', 'u'), ('projects_ref_format', 'c'), ('projects_name_length', 'c'),
        ('projects_status_known', 'c')
      ) AS e(n, k)
     WHERE NOT EXISTS (
        SELECT 1 FROM pg_constraint c
         WHERE c.connamespace = 'platform'::regnamespace AND c.conname = e.n AND c.contype = e.k
           AND c.convalidated);
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION '001 verify: missing constraints: %', wrong;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'projects_organization_id_fkey'
                     AND conrelid = 'platform.projects'::regclass AND confdeltype = 'c') THEN
        RAISE EXCEPTION '001 verify: projects_organization_id_fkey must be ON DELETE CASCADE';
    END IF;
    -- The updated_at triggers, enabled.
    SELECT string_agg(e.n, ', ') INTO wrong
      FROM (VALUES ('organizations', 'organizations_set_updated_at'), ('projects', 'projects_set_updated_at')) AS e(t, n)
     WHERE NOT EXISTS (
        SELECT 1 FROM pg_trigger g
         WHERE g.tgrelid = to_regclass('platform.' || e.t) AND g.tgname = e.n AND g.tgenabled = 'O'
           AND g.tgfoid = to_regprocedure('platform.set_updated_at()'));
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION '001 verify: missing or disabled triggers: %', wrong;
    END IF;
END
$$;

-- Behaviour: bad input is refused by the named constraint; updated_at moves on update.
DO $$
DECLARE
    t record;
    got_state text;
    got_name text;
    org uuid;
    stamp timestamptz;
BEGIN
    FOR t IN SELECT * FROM (VALUES
        ($s$INSERT INTO platform.organizations (name, slug) VALUES ('Verify', 'Bad Slug')$s$,
         '23514', 'organizations_slug_format'),
        ($s$INSERT INTO platform.organizations (name, slug) VALUES ('Verify', '-verify')$s$,
         '23514', 'organizations_slug_format'),
        ($s$INSERT INTO platform.organizations (name, slug) VALUES ('  ', 'orgbase-verify-probe')$s$,
         '23514', 'organizations_name_length'),
        ($s$INSERT INTO platform.organizations (name, slug, billing_email) VALUES ('V', 'orgbase-verify-probe', 'not-an-email')$s$,
         '23514', 'organizations_billing_email_format'),
        ($s$INSERT INTO platform.projects (organization_id, name) VALUES (gen_random_uuid(), 'p')$s$,
         '23503', 'projects_organization_id_fkey'),
        ($s$WITH o AS (INSERT INTO platform.organizations (name, slug) VALUES ('V', 'orgbase-verify-probe') RETURNING id)
            INSERT INTO platform.projects (organization_id, name, status) SELECT id, 'p', 'exploded' FROM o$s$,
         '23514', 'projects_status_known'),
        ($s$WITH o AS (INSERT INTO platform.organizations (name, slug) VALUES ('V', 'orgbase-verify-probe') RETURNING id)
            INSERT INTO platform.projects (organization_id, name, ref) SELECT id, 'p', 'NOT-RANDOM' FROM o$s$,
         '23514', 'projects_ref_format')
    ) AS v(stmt, state, cname)
    LOOP
        BEGIN
            EXECUTE t.stmt;
            RAISE EXCEPTION 'accepted';
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS got_state = RETURNED_SQLSTATE, got_name = CONSTRAINT_NAME;
            IF got_state <> t.state OR got_name IS DISTINCT FROM t.cname THEN
                RAISE EXCEPTION '001 verify: expected % from constraint %, got % % for: %',
                    t.state, t.cname, got_state, coalesce(got_name, '(no constraint)'), t.stmt;
            END IF;
        END;
    END LOOP;

    -- A probe inside a block that is always rolled back.
    BEGIN
        INSERT INTO platform.organizations (name, slug, created_at, updated_at)
        VALUES ('Verify', 'orgbase-verify-probe', now() - interval '1 day', now() - interval '1 day')
        RETURNING id INTO org;
        UPDATE platform.organizations SET name = 'Verify 2' WHERE id = org RETURNING updated_at INTO stamp;
        IF stamp IS DISTINCT FROM now() THEN
            RAISE EXCEPTION '001 verify: the updated_at trigger did not set updated_at';
        END IF;
        INSERT INTO platform.projects (organization_id, name) VALUES (org, 'p');
        IF NOT EXISTS (SELECT 1 FROM platform.projects WHERE organization_id = org AND ref ~ '^[a-z0-9]{20}$') THEN
            RAISE EXCEPTION '001 verify: a project got no random ref';
        END IF;
        DELETE FROM platform.organizations WHERE id = org;
        IF EXISTS (SELECT 1 FROM platform.projects WHERE organization_id = org) THEN
            RAISE EXCEPTION '001 verify: deleting an organization did not delete its projects';
        END IF;
        RAISE EXCEPTION USING errcode = 'OB000', message = 'rollback';
    EXCEPTION WHEN SQLSTATE 'OB000' THEN
        NULL;
    END;
END
$$;

-- Grants: the app role may use the schema and do DML, never change identity columns; nothing for PUBLIC.
DO $$
DECLARE
    app text := current_setting('orgbase.app_role');
    wrong text;
BEGIN
    IF NOT has_schema_privilege(app, 'platform', 'USAGE') OR has_schema_privilege(app, 'platform', 'CREATE') THEN
        RAISE EXCEPTION '001 verify: % must have USAGE (only) on schema platform', app;
    END IF;
    -- (table, column or NULL, privilege, expected): each privilege checked alone.
    SELECT string_agg(format('%s %s%s %s', CASE WHEN e.ok THEN 'lacks' ELSE 'has' END, e.t,
                             coalesce('.' || e.c, ''), e.p), ', ') INTO wrong
      FROM (VALUES
        ('organizations', NULL, 'SELECT', true), ('organizations', NULL, 'INSERT', true),
        ('organizations', NULL, 'DELETE', true), ('organizations', 'name', 'UPDATE', true),
        ('organizations', 'slug', 'UPDATE', true), ('organizations', 'id', 'UPDATE', false),
        ('organizations', NULL, 'TRUNCATE', false),
        ('projects', NULL, 'SELECT', true), ('projects', 'name', 'INSERT', true),
        ('projects', 'organization_id', 'INSERT', true), ('projects', NULL, 'DELETE', true),
        ('projects', 'name', 'UPDATE', true), ('projects', 'status', 'UPDATE', true),
        ('projects', 'ref', 'INSERT', false), ('projects', 'ref', 'UPDATE', false),
        ('projects', 'organization_id', 'UPDATE', false), ('projects', 'id', 'UPDATE', false),
        ('projects', NULL, 'TRUNCATE', false)
      ) AS e(t, c, p, ok)
     WHERE CASE WHEN e.c IS NULL THEN has_table_privilege(app, 'platform.' || e.t, e.p)
                ELSE has_column_privilege(app, 'platform.' || e.t, e.c, e.p) END <> e.ok;
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION '001 verify: role %: %', app, wrong;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_namespace n, aclexplode(n.nspacl) a
                WHERE n.nspname = 'platform' AND a.grantee = 0)
       OR EXISTS (SELECT 1 FROM pg_class c, aclexplode(c.relacl) a
                   WHERE c.relnamespace = 'platform'::regnamespace AND a.grantee = 0)
       OR has_function_privilege('public', 'platform.set_updated_at()', 'EXECUTE') THEN
        RAISE EXCEPTION '001 verify: something in schema platform is granted to PUBLIC';
    END IF;
END
$$;
