-- 011_plan_limits_lock: what creating projects and databases needs to keep working under restrictive RLS
-- (007), and an index for the projects list.
--
-- A create counts the organization's rows against its plan while holding a lock on the subscription row,
-- so that concurrent creates cannot both pass the limit (a change of plan takes the same lock). Under 007 a
-- developer (who may create projects and databases) may neither read billing nor lock that row: this narrow
-- definer takes the lock for the context's user and organization, if the user holds the permission that the
-- create needs, and returns the plan's limits, nothing else.

CREATE FUNCTION platform.lock_plan_limits(p_org_id uuid, p_permission text)
    RETURNS TABLE (has_subscription boolean, max_projects integer, max_members integer, max_databases integer)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, platform, pg_temp
AS $$
BEGIN
    -- Only the organization the request is bound to: a wrong id in the app cannot reach another one.
    IF p_org_id IS NULL OR p_org_id IS DISTINCT FROM platform.get_current_org_id() THEN
        RAISE EXCEPTION 'organization not found' USING ERRCODE = 'OB404';
    END IF;
    IF NOT platform.has_permission(p_org_id, p_permission) THEN
        RAISE EXCEPTION 'your role does not allow %', p_permission USING ERRCODE = 'OB403';
    END IF;
    RETURN QUERY
        SELECT true, bp.max_projects, bp.max_members, bp.max_databases
          FROM platform.subscriptions s
          JOIN platform.billing_plans bp ON bp.id = s.plan_id
         WHERE s.organization_id = p_org_id
           FOR UPDATE OF s;
    IF NOT FOUND THEN
        RETURN QUERY SELECT false, NULL::integer, NULL::integer, NULL::integer;
    END IF;
END;
$$;
COMMENT ON FUNCTION platform.lock_plan_limits(uuid, text) IS
    'Locks the current organization''s subscription until commit and returns its plan''s limits (NULL: unlimited), for a user holding p_permission';
REVOKE ALL ON FUNCTION platform.lock_plan_limits(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform.lock_plan_limits(uuid, text) TO :"app_role";

-- Pages sorted by creation time (the projects list's second sort) without sorting the whole organization.
CREATE INDEX projects_organization_id_created_at_idx ON platform.projects (organization_id, created_at, id);
