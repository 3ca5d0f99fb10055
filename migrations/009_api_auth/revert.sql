-- Revert 009_api_auth: the functions first (none is referenced by a table), then the tables (their indexes,
-- policies, grants and comments go with them). Nothing of 001-008 was changed, so nothing else to restore.
DROP FUNCTION platform.list_members(uuid);
DROP FUNCTION platform.accept_invitation(text);
DROP FUNCTION platform.create_organization(text, text, text);
DROP FUNCTION platform.auth_purge_sign_in_attempts(interval);
DROP FUNCTION platform.auth_purge_expired_sessions();
DROP FUNCTION platform.auth_refresh_session(text, text, interval);
DROP FUNCTION platform.auth_revoke_session(text);
DROP FUNCTION platform.auth_bind(text, uuid, text);
DROP FUNCTION platform.auth_create_session(uuid, text, text, text, interval);
DROP FUNCTION platform.auth_record_failure(text, text, interval);
DROP FUNCTION platform.auth_check_rate(text, text, integer, integer, interval);
DROP FUNCTION platform.auth_sign_in_lookup(text);
DROP FUNCTION platform.auth_sign_up(text, text, text, text);
DROP FUNCTION platform.sign_in_subject(text, text);
DROP FUNCTION platform.user_is_active(timestamptz, timestamptz);
DROP TABLE platform.sign_in_attempts;
DROP TABLE platform.invitations;
