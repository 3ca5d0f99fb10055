-- Revert 007_session_helpers.
DROP FUNCTION platform.get_current_org_id();
DROP FUNCTION platform.get_current_user_id();
