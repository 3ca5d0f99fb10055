-- 001_create_platform_schema: the platform schema, organizations, projects and the updated_at trigger.
-- Runs as the owner role (the engine sets it), so the owner owns every object created here.

CREATE SCHEMA platform;
COMMENT ON SCHEMA platform IS 'orgbase: the multi-tenant platform database (users, organizations, projects, billing, audit)';
GRANT USAGE ON SCHEMA platform TO :"app_role";

-- updated_at, maintained by the database so that no caller can forget or forge it.
CREATE FUNCTION platform.set_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
REVOKE ALL ON FUNCTION platform.set_updated_at() FROM PUBLIC;
COMMENT ON FUNCTION platform.set_updated_at() IS 'BEFORE UPDATE row trigger: sets updated_at to the transaction time';

CREATE TABLE platform.organizations (
    id            uuid        NOT NULL DEFAULT gen_random_uuid(),
    name          text        NOT NULL,
    slug          text        NOT NULL,
    billing_email text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT organizations_pkey PRIMARY KEY (id),
    -- The slug is a public identifier (it appears in URLs): unique across the platform.
    CONSTRAINT organizations_slug_key UNIQUE (slug),
    CONSTRAINT organizations_slug_format
        CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$' AND slug !~ '--'),
    CONSTRAINT organizations_name_length
        CHECK (char_length(btrim(name)) BETWEEN 1 AND 200),
    CONSTRAINT organizations_billing_email_format
        CHECK (billing_email IS NULL OR (char_length(billing_email) <= 254
               AND billing_email ~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$'))
);
COMMENT ON TABLE platform.organizations IS 'Tenants. Every tenant-owned row carries organization_id';
COMMENT ON COLUMN platform.organizations.slug IS 'Public identifier: 1-63 of a-z, 0-9 and single hyphens, not at either end';

CREATE TRIGGER organizations_set_updated_at BEFORE UPDATE ON platform.organizations
    FOR EACH ROW EXECUTE FUNCTION platform.set_updated_at();

CREATE TABLE platform.projects (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid        NOT NULL,
    -- Random and made by the server (the app role may not choose it), so a collision tells nobody anything.
    ref             text        NOT NULL DEFAULT substr(replace(gen_random_uuid()::text, '-', ''), 1, 20),
    name            text        NOT NULL,
    status          text        NOT NULL DEFAULT 'active',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT projects_pkey PRIMARY KEY (id),
    CONSTRAINT projects_organization_id_fkey FOREIGN KEY (organization_id)
        REFERENCES platform.organizations (id) ON DELETE CASCADE,
    -- Target of the composite foreign keys that keep children in their project's organization.
    CONSTRAINT projects_id_organization_id_key UNIQUE (id, organization_id),
    -- Names are tenant data: unique per organization; also the index that leads with organization_id.
    CONSTRAINT projects_organization_id_name_key UNIQUE (organization_id, name),
    CONSTRAINT projects_ref_key UNIQUE (ref),
    CONSTRAINT projects_ref_format CHECK (ref ~ '^[a-z0-9]{20}$'),
    CONSTRAINT projects_name_length CHECK (char_length(btrim(name)) BETWEEN 1 AND 200),
    CONSTRAINT projects_status_known CHECK (status IN ('active', 'paused', 'inactive', 'removed'))
);
COMMENT ON TABLE platform.projects IS 'Projects belong to one organization';
COMMENT ON COLUMN platform.projects.ref IS 'Random public reference made by the server (20 of a-z0-9)';

CREATE TRIGGER projects_set_updated_at BEFORE UPDATE ON platform.projects
    FOR EACH ROW EXECUTE FUNCTION platform.set_updated_at();

-- The app role: DML only, and never on identity columns (moving a row to another tenant is not an update).
GRANT SELECT, INSERT, DELETE ON platform.organizations TO :"app_role";
GRANT UPDATE (name, slug, billing_email) ON platform.organizations TO :"app_role";
GRANT SELECT, DELETE ON platform.projects TO :"app_role";
GRANT INSERT (id, organization_id, name, status) ON platform.projects TO :"app_role";
GRANT UPDATE (name, status) ON platform.projects TO :"app_role";
