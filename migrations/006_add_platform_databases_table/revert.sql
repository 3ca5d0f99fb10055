-- Revert 006_add_platform_databases_table.
DROP FUNCTION platform.get_database_credentials(uuid);
DROP FUNCTION platform.update_database_health(uuid, text, text);
DROP FUNCTION platform.get_project_databases(uuid);
DROP VIEW platform.databases_safe;
DROP TABLE platform.databases;
