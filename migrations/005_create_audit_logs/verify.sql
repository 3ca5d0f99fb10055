-- Verify 005_create_audit_logs: raises unless the trail is in place and append-only for non-owners.
SET LOCAL orgbase.app_role = :"app_role";
SET LOCAL orgbase.service_role = :"service_role";

-- Inventory: every column (type, NOT NULL), constraint (kind) and index this change creates.
DO $$
DECLARE
    wrong text;
BEGIN
    SELECT string_agg(format('%s %s.%s', e.kind, e.tbl, e.name), ', ') INTO wrong
      FROM (VALUES
        ('column', 'audit_logs', 'id', 'uuid not null'),
        ('column', 'audit_logs', 'organization_id', 'uuid'),
        ('column', 'audit_logs', 'actor_id', 'uuid'),
        ('column', 'audit_logs', 'action', 'text not null'),
        ('column', 'audit_logs', 'target_type', 'text'),
        ('column', 'audit_logs', 'target_id', 'text'),
        ('column', 'audit_logs', 'changes', 'jsonb not null'),
        ('column', 'audit_logs', 'ip_address', 'text'),
        ('column', 'audit_logs', 'user_agent', 'text'),
        ('column', 'audit_logs', 'request_id', 'text'),
        ('column', 'audit_logs', 'created_at', 'timestamp with time zone not null'),
        ('constraint', 'audit_logs', 'audit_logs_action_format', 'c'),
        ('constraint', 'audit_logs', 'audit_logs_changes_object', 'c'),
        ('constraint', 'audit_logs', 'audit_logs_field_lengths', 'c'),
        ('constraint', 'audit_logs', 'audit_logs_pkey', 'p'),
        ('constraint', 'audit_logs', 'audit_logs_target_type_format', 'c'),
        ('index', 'audit_logs', 'audit_logs_actor_id_created_at_idx', NULL),
        ('index', 'audit_logs', 'audit_logs_created_at_brin_idx', NULL),
        ('index', 'audit_logs', 'audit_logs_organization_id_created_at_idx', NULL)
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
        RAISE EXCEPTION '005 verify: missing or changed: %', wrong;
    END IF;
END
$$;

DO $$
DECLARE
    wrong text;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = 'platform.audit_logs'::regclass AND contype = 'f') THEN
        RAISE EXCEPTION '005 verify: audit_logs must have no foreign key (a record outlives what it records)';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = 'platform.audit_logs'::regclass
                                                 AND conname = 'audit_logs_action_format') THEN
        RAISE EXCEPTION '005 verify: constraint audit_logs_action_format is missing';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                    WHERE i.indrelid = 'platform.audit_logs'::regclass AND a.attname = 'organization_id'
                      AND i.indnatts >= 2
                      AND (SELECT attname FROM pg_attribute WHERE attrelid = i.indrelid AND attnum = i.indkey[1])
                          = 'created_at') THEN
        RAISE EXCEPTION '005 verify: audit_logs needs an index on (organization_id, created_at)';
    END IF;
    -- BEFORE UPDATE OR DELETE FOR EACH ROW (tgtype 1|2|8|16 = 27); BEFORE TRUNCATE per statement (2|32 = 34).
    SELECT string_agg(e.n, ', ') INTO wrong
      FROM (VALUES ('audit_logs_refuse_update_delete', 27), ('audit_logs_refuse_truncate', 34)) AS e(n, ty)
     WHERE NOT EXISTS (SELECT 1 FROM pg_trigger g
                        WHERE g.tgrelid = 'platform.audit_logs'::regclass AND g.tgname = e.n AND g.tgtype = e.ty
                          AND g.tgenabled = 'O'
                          AND g.tgfoid = to_regprocedure('platform.audit_logs_refuse_change()'));
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION '005 verify: missing, disabled or wrong triggers: %', wrong;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_proc WHERE oid = to_regprocedure('platform.purge_audit_logs(interval)')
                     AND prosecdef AND 'search_path=pg_catalog, platform, pg_temp' = ANY(proconfig)) THEN
        RAISE EXCEPTION '005 verify: purge_audit_logs(interval) must be SECURITY DEFINER with a safe search_path';
    END IF;
END
$$;

-- Behaviour: the owner may change the trail; another role holding the privileges (the service role, a
-- member of the owner) is refused UPDATE, DELETE and TRUNCATE by the triggers, and purges only through
-- purge_audit_logs. All inside a block that is rolled back.
DO $$
DECLARE
    probe uuid;
    step text;
    got text;
BEGIN
    BEGIN
        INSERT INTO platform.audit_logs (action, target_type, target_id)
            VALUES ('verify.probe', 'verify', 'probe') RETURNING id INTO probe;
        UPDATE platform.audit_logs SET target_id = 'owner-may' WHERE id = probe;
        PERFORM set_config('role', current_setting('orgbase.service_role'), true);
        FOREACH step IN ARRAY ARRAY['UPDATE', 'DELETE', 'TRUNCATE'] LOOP
            BEGIN
                CASE step
                    WHEN 'UPDATE' THEN UPDATE platform.audit_logs SET target_id = 'x' WHERE id = probe;
                    WHEN 'DELETE' THEN DELETE FROM platform.audit_logs WHERE id = probe;
                    ELSE TRUNCATE platform.audit_logs;
                END CASE;
                got := 'accepted';
            EXCEPTION WHEN insufficient_privilege THEN
                got := 'refused';
            END;
            IF got <> 'refused' THEN
                RAISE EXCEPTION '005 verify: % of audit_logs by a non-owner role was not refused', step;
            END IF;
        END LOOP;
        BEGIN
            PERFORM platform.purge_audit_logs(interval '1 hour');
            got := 'accepted';
        EXCEPTION WHEN invalid_parameter_value THEN
            got := 'refused';
        END;
        IF got <> 'refused' THEN
            RAISE EXCEPTION '005 verify: purge_audit_logs accepted a retention under one day';
        END IF;
        IF platform.purge_audit_logs(interval '1000 years') <> 0 THEN
            RAISE EXCEPTION '005 verify: purge_audit_logs deleted records younger than the retention period';
        END IF;
        IF NOT EXISTS (SELECT 1 FROM platform.audit_logs WHERE id = probe AND target_id = 'owner-may') THEN
            RAISE EXCEPTION '005 verify: the probe record did not survive';
        END IF;
        RAISE EXCEPTION USING errcode = 'OB000', message = 'rollback';
    EXCEPTION WHEN SQLSTATE 'OB000' THEN
        NULL;
    END;
END
$$;

DO $$
DECLARE
    app text := current_setting('orgbase.app_role');
    service text := current_setting('orgbase.service_role');
BEGIN
    IF NOT has_table_privilege(app, 'platform.audit_logs', 'SELECT')
       OR NOT has_column_privilege(app, 'platform.audit_logs', 'action', 'INSERT')
       OR NOT has_column_privilege(app, 'platform.audit_logs', 'organization_id', 'INSERT') THEN
        RAISE EXCEPTION '005 verify: % must be able to INSERT and SELECT audit_logs', app;
    END IF;
    IF has_table_privilege(app, 'platform.audit_logs', 'UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES')
       OR has_any_column_privilege(app, 'platform.audit_logs', 'UPDATE')
       OR has_column_privilege(app, 'platform.audit_logs', 'created_at', 'INSERT') THEN
        RAISE EXCEPTION '005 verify: % may change, delete, truncate or back-date audit_logs', app;
    END IF;
    IF NOT has_function_privilege(service, 'platform.purge_audit_logs(interval)', 'EXECUTE')
       OR has_function_privilege(app, 'platform.purge_audit_logs(interval)', 'EXECUTE')
       OR has_function_privilege('public', 'platform.purge_audit_logs(interval)', 'EXECUTE')
       OR has_function_privilege('public', 'platform.audit_logs_refuse_change()', 'EXECUTE') THEN
        RAISE EXCEPTION '005 verify: purge_audit_logs must be executable by the service role only';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_class c, aclexplode(c.relacl) a
                WHERE c.relnamespace = 'platform'::regnamespace AND a.grantee = 0) THEN
        RAISE EXCEPTION '005 verify: something in schema platform is granted to PUBLIC';
    END IF;
END
$$;
