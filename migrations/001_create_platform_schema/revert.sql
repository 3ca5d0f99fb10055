-- Revert 001_create_platform_schema. RESTRICT (the default): anything left in the schema by a later
-- change that was not reverted makes this fail instead of silently dropping it.
DROP TABLE platform.projects;
DROP TABLE platform.organizations;
DROP FUNCTION platform.set_updated_at();
DROP SCHEMA platform;
