-- Revert 011_plan_limits_lock.
DROP INDEX platform.projects_organization_id_created_at_idx;
DROP FUNCTION platform.lock_plan_limits(uuid, text);
