-- Revert 008_add_active_org_tracking (runs in one transaction). Dropping the column drops its foreign key,
-- its index and its comment.
DROP PROCEDURE platform.backfill_active_org(integer);
DROP FUNCTION platform.backfill_active_org_batch(uuid, uuid);
DROP TRIGGER organization_members_clear_active_org ON platform.organization_members;
DROP FUNCTION platform.clear_active_org_on_membership_delete();
DROP FUNCTION platform.get_user_active_org(uuid);
DROP FUNCTION platform.set_user_active_org(uuid, uuid);
ALTER TABLE platform.users DROP COLUMN active_org_id;
