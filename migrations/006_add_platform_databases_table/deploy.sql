-- 006_add_platform_databases_table: external databases (PostgreSQL, MongoDB, Redis) registered to a project.
-- Credentials follow DESIGN.md "Secrets": the connection string is encrypted in Python (AES-256-GCM, the key
-- outside the database and the repository, associated data binding the ciphertext to its row) and stored as
-- nonce || ciphertext with the id of its key. There is no plaintext column. The seed's database-side encrypt
-- trigger, decrypt function and decrypted view are deliberately not created (the first implementation's key
-- was derivable from public data, and its decrypt function was executable by anyone). The app role cannot
-- select the ciphertext columns; it gets them only through platform.get_database_credentials(), which checks
-- the databases.reveal_credentials permission of the context's user.

CREATE TABLE platform.databases (
    id                          uuid        NOT NULL DEFAULT gen_random_uuid(),
    organization_id             uuid        NOT NULL,
    project_id                  uuid        NOT NULL,
    name                        text        NOT NULL,
    type                        text        NOT NULL,
    host                        text        NOT NULL,
    port                        integer     NOT NULL,
    database                    text,
    connection_string_encrypted bytea       NOT NULL,
    encryption_key_id           text        NOT NULL,
    ssl_enabled                 boolean     NOT NULL DEFAULT false,
    config                      jsonb       NOT NULL DEFAULT '{}',
    metadata                    jsonb       NOT NULL DEFAULT '{}',
    status                      text        NOT NULL DEFAULT 'active',
    health_check_status         text        NOT NULL DEFAULT 'unknown',
    health_check_error          text,
    last_health_check_at        timestamptz,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT databases_pkey PRIMARY KEY (id),
    -- A database stays in its project's organization.
    CONSTRAINT databases_project_fkey FOREIGN KEY (project_id, organization_id)
        REFERENCES platform.projects (id, organization_id) ON DELETE CASCADE,
    -- Names are tenant data: unique per project (and so per organization); the index leads with organization_id.
    CONSTRAINT databases_organization_id_project_id_name_key UNIQUE (organization_id, project_id, name),
    CONSTRAINT databases_name_length CHECK (char_length(btrim(name)) BETWEEN 1 AND 200),
    CONSTRAINT databases_type_known CHECK (type IN ('postgresql', 'mongodb', 'redis')),
    CONSTRAINT databases_host_format CHECK (char_length(host) BETWEEN 1 AND 255 AND host !~ '[[:space:]/@]'),
    CONSTRAINT databases_port_range CHECK (port BETWEEN 1 AND 65535),
    -- nonce (12 bytes) || ciphertext || GCM tag (16 bytes): at least 29 bytes.
    CONSTRAINT databases_connection_string_encrypted_length CHECK (octet_length(connection_string_encrypted) >= 29),
    CONSTRAINT databases_encryption_key_id_format CHECK (char_length(encryption_key_id) BETWEEN 1 AND 100),
    CONSTRAINT databases_config_object CHECK (jsonb_typeof(config) = 'object'),
    CONSTRAINT databases_metadata_object CHECK (jsonb_typeof(metadata) = 'object'),
    CONSTRAINT databases_status_known CHECK (status IN ('active', 'inactive', 'error')),
    CONSTRAINT databases_health_check_status_known CHECK (health_check_status IN ('unknown', 'healthy', 'unhealthy'))
);
COMMENT ON TABLE platform.databases IS
    'External databases registered to a project. Credentials only encrypted (AES-256-GCM, in Python); no plaintext';
COMMENT ON COLUMN platform.databases.connection_string_encrypted IS
    'nonce || AES-256-GCM ciphertext and tag of the connection string; associated data binds it to this row';
COMMENT ON COLUMN platform.databases.encryption_key_id IS 'Id of the key that encrypted the row (rotation re-encrypts)';

CREATE INDEX databases_organization_id_type_idx ON platform.databases (organization_id, type);
CREATE INDEX databases_organization_id_status_idx ON platform.databases (organization_id, status);
CREATE INDEX databases_project_id_idx ON platform.databases (project_id);
-- The health-check job and key rotation walk these.
CREATE INDEX databases_health_check_idx ON platform.databases (last_health_check_at NULLS FIRST)
    WHERE status = 'active';
CREATE INDEX databases_encryption_key_id_idx ON platform.databases (encryption_key_id);

CREATE TRIGGER databases_set_updated_at BEFORE UPDATE ON platform.databases
    FOR EACH ROW EXECUTE FUNCTION platform.set_updated_at();

-- What the API returns: everything but the credentials, with a masked connection string.
CREATE VIEW platform.databases_safe WITH (security_invoker = true) AS
SELECT d.id, d.organization_id, d.project_id, d.name, d.type, d.host, d.port, d.database, d.ssl_enabled,
       d.config, d.metadata, d.status, d.health_check_status, d.health_check_error, d.last_health_check_at,
       d.created_at, d.updated_at,
       d.type || '://' || d.host || ':' || d.port AS connection_string_masked
  FROM platform.databases d;
COMMENT ON VIEW platform.databases_safe IS
    'Registered databases without credentials; connection_string_masked is type://host:port. security_invoker: RLS applies';

-- A project's databases (through the safe view, so as the caller and under RLS).
CREATE FUNCTION platform.get_project_databases(p_project_id uuid) RETURNS SETOF platform.databases_safe
    LANGUAGE sql STABLE
AS $$
    SELECT * FROM platform.databases_safe s WHERE s.project_id = p_project_id ORDER BY s.name
$$;
COMMENT ON FUNCTION platform.get_project_databases(uuid) IS 'The databases of a project, masked (databases_safe), as the caller';

-- Records a health check (as the caller: the app role may update these columns, under RLS).
CREATE FUNCTION platform.update_database_health(p_database_id uuid, p_status text, p_error text DEFAULT NULL)
    RETURNS boolean
    LANGUAGE sql
AS $$
    WITH updated AS (
        UPDATE platform.databases
           SET health_check_status = p_status,
               health_check_error = CASE WHEN p_status = 'healthy' THEN NULL ELSE p_error END,
               last_health_check_at = now()
         WHERE id = p_database_id
        RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM updated)
$$;
COMMENT ON FUNCTION platform.update_database_health(uuid, text, text) IS
    'Records a health check (healthy|unhealthy|unknown, error text); true if the database exists for the caller';

-- The restricted path to credentials: the ciphertext, its key id and its organization (associated data for
-- decryption in Python), only if the context's user holds databases.reveal_credentials in the database's
-- organization (and, when the context names an organization, only a database of that organization).
-- Otherwise no row: a denied and an unknown database look the same. The caller audits the reveal.
CREATE FUNCTION platform.get_database_credentials(p_database_id uuid)
    RETURNS TABLE (ciphertext bytea, key_id text, organization_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, platform, pg_temp
AS $$
    SELECT d.connection_string_encrypted, d.encryption_key_id, d.organization_id
      FROM platform.databases d
     WHERE d.id = p_database_id
       AND d.organization_id = coalesce(nullif(current_setting('app.current_org_id', true), '')::uuid,
                                        d.organization_id)
       AND platform.has_permission(d.organization_id, 'databases.reveal_credentials')
$$;
COMMENT ON FUNCTION platform.get_database_credentials(uuid) IS
    'Ciphertext, key id and organization of a database, only for a context user with databases.reveal_credentials';

REVOKE ALL ON FUNCTION platform.get_project_databases(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION platform.update_database_health(uuid, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION platform.get_database_credentials(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform.get_project_databases(uuid) TO :"app_role", :"service_role";
GRANT EXECUTE ON FUNCTION platform.update_database_health(uuid, text, text) TO :"app_role", :"service_role";
GRANT EXECUTE ON FUNCTION platform.get_database_credentials(uuid) TO :"app_role";

-- The app role: every column but the credentials is readable; credentials are write-only (register, change).
GRANT SELECT (id, organization_id, project_id, name, type, host, port, database, ssl_enabled, config, metadata,
              status, health_check_status, health_check_error, last_health_check_at, created_at, updated_at)
    ON platform.databases TO :"app_role";
GRANT INSERT (id, organization_id, project_id, name, type, host, port, database, connection_string_encrypted,
              encryption_key_id, ssl_enabled, config, metadata, status)
    ON platform.databases TO :"app_role";
GRANT UPDATE (name, host, port, database, connection_string_encrypted, encryption_key_id, ssl_enabled, config,
              metadata, status, health_check_status, health_check_error, last_health_check_at)
    ON platform.databases TO :"app_role";
GRANT DELETE ON platform.databases TO :"app_role";
GRANT SELECT ON platform.databases_safe TO :"app_role";
