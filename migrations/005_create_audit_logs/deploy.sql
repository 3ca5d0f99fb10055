-- 005_create_audit_logs: the audit trail, defined once (the first implementation defined it twice, with
-- different columns, and audit writes failed silently). Append-only for every role but the owner: the app
-- role is granted only INSERT and SELECT, and triggers refuse UPDATE, DELETE and TRUNCATE to any other role
-- that holds the privilege (the service role does, as a member of the owner). Retention is
-- platform.purge_audit_logs(), run by the service role. No foreign keys to users or organizations: the record
-- outlives what it records, and deleting an organization must not fail on it.

CREATE TABLE platform.audit_logs (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid,
    actor_id        uuid,
    action          text        NOT NULL,
    target_type     text,
    target_id       text,
    changes         jsonb       NOT NULL DEFAULT '{}',
    ip_address      text,
    user_agent      text,
    request_id      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT audit_logs_pkey PRIMARY KEY (id),
    CONSTRAINT audit_logs_action_format CHECK (action ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$' AND char_length(action) <= 100),
    CONSTRAINT audit_logs_target_type_format CHECK (target_type IS NULL OR target_type ~ '^[a-z][a-z0-9_]{0,62}$'),
    CONSTRAINT audit_logs_changes_object CHECK (jsonb_typeof(changes) = 'object'),
    CONSTRAINT audit_logs_field_lengths
        CHECK (coalesce(char_length(target_id), 0) <= 200 AND coalesce(char_length(ip_address), 0) <= 64
               AND coalesce(char_length(user_agent), 0) <= 1024 AND coalesce(char_length(request_id), 0) <= 200)
);
COMMENT ON TABLE platform.audit_logs IS
    'Append-only audit trail. No foreign keys on purpose: a record outlives the user and organization it names';
COMMENT ON COLUMN platform.audit_logs.organization_id IS 'The organization the event belongs to; NULL for platform events (e.g. a failed sign-in)';
COMMENT ON COLUMN platform.audit_logs.actor_id IS 'The user who acted; NULL for the system or an unknown user';
COMMENT ON COLUMN platform.audit_logs.action IS 'What happened, dotted lower case, e.g. database.reveal_credentials';
COMMENT ON COLUMN platform.audit_logs.changes IS 'Before/after values or other details; never a secret';

-- An organization's log, newest first.
CREATE INDEX audit_logs_organization_id_created_at_idx ON platform.audit_logs (organization_id, created_at DESC);
CREATE INDEX audit_logs_actor_id_created_at_idx ON platform.audit_logs (actor_id, created_at DESC)
    WHERE actor_id IS NOT NULL;
-- Retention deletes by age; a BRIN index is tiny for an append-only table.
CREATE INDEX audit_logs_created_at_brin_idx ON platform.audit_logs USING brin (created_at);

-- Refuses a change to the audit trail unless the current role is the table's owner itself (not merely a
-- member of it). Compared by oid, so no role name is written into the function.
CREATE FUNCTION platform.audit_logs_refuse_change() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = TG_RELID)
       IS DISTINCT FROM (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
        RAISE EXCEPTION 'audit_logs is append-only: % refused for role %', TG_OP, current_user
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Old records are removed by platform.purge_audit_logs(), run by the service role.';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END;
$$;
REVOKE ALL ON FUNCTION platform.audit_logs_refuse_change() FROM PUBLIC;
COMMENT ON FUNCTION platform.audit_logs_refuse_change() IS
    'Trigger: refuses UPDATE, DELETE and TRUNCATE of audit_logs to every role but its owner';

CREATE TRIGGER audit_logs_refuse_update_delete BEFORE UPDATE OR DELETE ON platform.audit_logs
    FOR EACH ROW EXECUTE FUNCTION platform.audit_logs_refuse_change();
CREATE TRIGGER audit_logs_refuse_truncate BEFORE TRUNCATE ON platform.audit_logs
    FOR EACH STATEMENT EXECUTE FUNCTION platform.audit_logs_refuse_change();

-- Retention: delete records older than p_older_than (at least one day); returns how many were deleted.
-- SECURITY DEFINER, owned by the owner: the only path by which records leave the trail.
CREATE FUNCTION platform.purge_audit_logs(p_older_than interval) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, platform, pg_temp
AS $$
DECLARE
    deleted bigint;
BEGIN
    IF p_older_than IS NULL OR p_older_than < interval '1 day' THEN
        RAISE EXCEPTION 'purge_audit_logs: the retention period must be at least 1 day, not %', p_older_than
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    DELETE FROM platform.audit_logs WHERE created_at < now() - p_older_than;
    GET DIAGNOSTICS deleted = ROW_COUNT;
    RETURN deleted;
END;
$$;
COMMENT ON FUNCTION platform.purge_audit_logs(interval) IS
    'Retention job: deletes audit records older than p_older_than (>= 1 day); service role only';
REVOKE ALL ON FUNCTION platform.purge_audit_logs(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform.purge_audit_logs(interval) TO :"service_role";

-- The app role writes and reads (the API shows an organization its log, under RLS); nothing else. The time
-- of a record is the database's (created_at is not insertable), so a record cannot be back-dated.
GRANT SELECT ON platform.audit_logs TO :"app_role";
GRANT INSERT (id, organization_id, actor_id, action, target_type, target_id, changes, ip_address, user_agent,
              request_id) ON platform.audit_logs TO :"app_role";
