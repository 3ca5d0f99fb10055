-- Revert 004_create_lancio_org: delete the organization (its projects, memberships and subscription
-- cascade with it; the changes that require this one are reverted first).
DELETE FROM platform.organizations WHERE slug = 'lancio';
