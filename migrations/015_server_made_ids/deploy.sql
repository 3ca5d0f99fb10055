-- 015_server_made_ids: the server makes the primary keys of the rows the app role inserts.
--
-- The app role could name `id` on INSERT into projects, audit_logs, invitations and users. Under 007 a row of
-- its own organization passes the policy's WITH CHECK and then collides with another organization's row of
-- the same id: the unique violation confirms that the id exists elsewhere (an existence oracle across
-- tenants). Without the column privilege, naming `id` fails with 42501 before any row is looked at, and the
-- default (gen_random_uuid()) makes it. databases keeps it: its ciphertext is bound to the row id (AAD), so
-- the API must know the id before the INSERT (docs/credentials.md).
REVOKE INSERT (id) ON platform.projects FROM :"app_role";
REVOKE INSERT (id) ON platform.audit_logs FROM :"app_role";
REVOKE INSERT (id) ON platform.invitations FROM :"app_role";
REVOKE INSERT (id) ON platform.users FROM :"app_role";
