-- Revert 003_user_management_and_permissions (the seeded matrix goes with its tables).
DROP FUNCTION platform.has_permission(uuid, text);
DROP FUNCTION platform.role_has_permission(text, text);
DROP TABLE platform.organization_members;
DROP TABLE platform.role_permissions;
DROP TABLE platform.permissions;
DROP TABLE platform.member_roles;
DROP TABLE platform.user_sessions;
DROP TABLE platform.users;
