-- Revert 015_server_made_ids: the app role may name the id again, as before.
GRANT INSERT (id) ON platform.projects TO :"app_role";
GRANT INSERT (id) ON platform.audit_logs TO :"app_role";
GRANT INSERT (id) ON platform.invitations TO :"app_role";
GRANT INSERT (id) ON platform.users TO :"app_role";
