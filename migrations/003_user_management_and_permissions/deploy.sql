-- 003_user_management_and_permissions: users, their sessions, organization memberships, and THE permission
-- matrix (member_roles x permissions -> role_permissions) that SQL (has_permission, RLS policies) and the API
-- both read. The first implementation had four matrices that disagreed; this is the only one.

CREATE TABLE platform.users (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    email           text        NOT NULL,
    password_hash   text        NOT NULL,
    first_name      text,
    last_name       text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    last_sign_in_at timestamptz,
    banned_until    timestamptz,
    deleted_at      timestamptz,
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_email_format
        CHECK (char_length(email) <= 254 AND email ~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$'),
    -- argon2id only (PHC string format); a plain or weaker hash is refused.
    CONSTRAINT users_password_hash_argon2id
        CHECK (password_hash LIKE '$argon2id$%' AND char_length(password_hash) <= 512),
    CONSTRAINT users_name_length
        CHECK (coalesce(char_length(first_name), 0) <= 100 AND coalesce(char_length(last_name), 0) <= 100)
);
COMMENT ON TABLE platform.users IS 'Accounts. Soft-deleted (deleted_at) and banned (banned_until) users keep their row';
COMMENT ON COLUMN platform.users.password_hash IS 'argon2id PHC string, made in Python; never a password';
-- The email is a public identifier: unique across the platform, case-insensitively.
CREATE UNIQUE INDEX users_email_lower_key ON platform.users (lower(email));
CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON platform.users
    FOR EACH ROW EXECUTE FUNCTION platform.set_updated_at();

-- Exactly the seed's columns. No updated_at column, so no updated_at trigger (the first implementation had
-- the trigger without the column, and every session update failed).
CREATE TABLE platform.user_sessions (
    id               uuid        NOT NULL DEFAULT gen_random_uuid(),
    user_id          uuid        NOT NULL,
    token_hash       text        NOT NULL,
    ip_address       text,
    user_agent       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL,
    last_activity_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_sessions_pkey PRIMARY KEY (id),
    CONSTRAINT user_sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES platform.users (id) ON DELETE CASCADE,
    CONSTRAINT user_sessions_token_hash_key UNIQUE (token_hash),
    CONSTRAINT user_sessions_token_hash_length CHECK (char_length(token_hash) BETWEEN 32 AND 256),
    CONSTRAINT user_sessions_expiry_after_creation CHECK (expires_at > created_at)
);
COMMENT ON TABLE platform.user_sessions IS 'Sessions: only the hash of the random token is stored. No app-role access';
CREATE INDEX user_sessions_user_id_idx ON platform.user_sessions (user_id);
CREATE INDEX user_sessions_expires_at_idx ON platform.user_sessions (expires_at);

-- The permission matrix.
CREATE TABLE platform.member_roles (
    role        text     NOT NULL,
    description text     NOT NULL,
    sort_order  smallint NOT NULL,
    CONSTRAINT member_roles_pkey PRIMARY KEY (role)
);
COMMENT ON TABLE platform.member_roles IS 'The roles a member may hold in an organization';

CREATE TABLE platform.permissions (
    permission  text NOT NULL,
    description text NOT NULL,
    CONSTRAINT permissions_pkey PRIMARY KEY (permission),
    CONSTRAINT permissions_name_format CHECK (permission ~ '^[a-z_]+\.[a-z_]+$')
);
COMMENT ON TABLE platform.permissions IS 'Everything a member may be allowed to do, named <resource>.<action>';

CREATE TABLE platform.role_permissions (
    role       text NOT NULL,
    permission text NOT NULL,
    CONSTRAINT role_permissions_pkey PRIMARY KEY (role, permission),
    CONSTRAINT role_permissions_role_fkey FOREIGN KEY (role) REFERENCES platform.member_roles (role),
    CONSTRAINT role_permissions_permission_fkey FOREIGN KEY (permission) REFERENCES platform.permissions (permission)
);
COMMENT ON TABLE platform.role_permissions IS 'THE permission matrix: a row means the role has the permission';

INSERT INTO platform.member_roles (role, description, sort_order) VALUES
    ('owner', 'Full control, including deleting the organization and granting the owner role', 1),
    ('admin', 'Manages members, projects and databases; cannot delete the organization or grant owner', 2),
    ('billing_admin', 'Manages billing; reads the organization, its members and projects', 3),
    ('developer', 'Works on projects and databases (credentials write-only); cannot delete projects or manage members', 4),
    ('read_only', 'Reads the organization, its members, projects and databases', 5);

INSERT INTO platform.permissions (permission, description) VALUES
    ('org.read', 'Read the organization'),
    ('org.update', 'Rename the organization, change its slug or billing email'),
    ('org.delete', 'Delete the organization'),
    ('members.read', 'List members and their roles'),
    ('members.invite', 'Invite or add members (with a role other than owner)'),
    ('members.update_role', 'Change a member''s role (to a role other than owner)'),
    ('members.remove', 'Remove a member'),
    ('members.grant_owner', 'Grant the owner role, or change or remove an owner'),
    ('projects.read', 'List and read projects'),
    ('projects.create', 'Create projects'),
    ('projects.update', 'Rename projects or change their status'),
    ('projects.delete', 'Delete projects'),
    ('databases.read', 'List registered databases (masked, without credentials)'),
    ('databases.create', 'Register databases'),
    ('databases.update', 'Change registered databases, including their credentials'),
    ('databases.delete', 'Remove registered databases'),
    ('databases.reveal_credentials', 'Read the decrypted connection string of a database (audited; owner and admin)'),
    ('billing.read', 'Read the subscription, invoices and payment methods'),
    ('billing.update', 'Change the plan, add-ons and payment methods'),
    ('audit.read', 'Read the organization''s audit log');

INSERT INTO platform.role_permissions (role, permission)
SELECT 'owner', permission FROM platform.permissions
UNION ALL
SELECT 'admin', p FROM unnest(ARRAY[
    'org.read', 'org.update', 'members.read', 'members.invite', 'members.update_role', 'members.remove',
    'projects.read', 'projects.create', 'projects.update', 'projects.delete',
    'databases.read', 'databases.create', 'databases.update', 'databases.delete', 'databases.reveal_credentials',
    'billing.read', 'audit.read']) AS p
UNION ALL
SELECT 'billing_admin', p FROM unnest(ARRAY[
    'org.read', 'members.read', 'projects.read', 'billing.read', 'billing.update']) AS p
UNION ALL
SELECT 'developer', p FROM unnest(ARRAY[
    'org.read', 'members.read', 'projects.read', 'projects.create', 'projects.update',
    'databases.read', 'databases.create', 'databases.update', 'databases.delete']) AS p
UNION ALL
SELECT 'read_only', p FROM unnest(ARRAY['org.read', 'members.read', 'projects.read', 'databases.read']) AS p;

CREATE TABLE platform.organization_members (
    organization_id uuid        NOT NULL,
    user_id         uuid        NOT NULL,
    role            text        NOT NULL,
    joined_at       timestamptz NOT NULL DEFAULT now(),
    invited_by      uuid,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- Leads with organization_id: the index for "members of this organization".
    CONSTRAINT organization_members_pkey PRIMARY KEY (organization_id, user_id),
    CONSTRAINT organization_members_organization_id_fkey FOREIGN KEY (organization_id)
        REFERENCES platform.organizations (id) ON DELETE CASCADE,
    CONSTRAINT organization_members_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES platform.users (id) ON DELETE CASCADE,
    CONSTRAINT organization_members_invited_by_fkey FOREIGN KEY (invited_by)
        REFERENCES platform.users (id) ON DELETE SET NULL,
    -- An unknown role is refused by this constraint: the roles live in the matrix, nowhere else.
    CONSTRAINT organization_members_role_known FOREIGN KEY (role) REFERENCES platform.member_roles (role)
);
COMMENT ON TABLE platform.organization_members IS 'Who belongs to which organization, with which role (see role_permissions)';
-- "The organizations of this user", earliest first (the 008 backfill and the RLS membership lookup).
CREATE INDEX organization_members_user_id_idx ON platform.organization_members (user_id, joined_at, organization_id);
CREATE INDEX organization_members_invited_by_idx ON platform.organization_members (invited_by)
    WHERE invited_by IS NOT NULL;
CREATE INDEX organization_members_role_idx ON platform.organization_members (role);
CREATE TRIGGER organization_members_set_updated_at BEFORE UPDATE ON platform.organization_members
    FOR EACH ROW EXECUTE FUNCTION platform.set_updated_at();

-- Matrix lookup for a role the caller already knows. Invoker, no SET clause: inlinable into a query.
CREATE FUNCTION platform.role_has_permission(p_role text, p_permission text) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT EXISTS (SELECT 1 FROM platform.role_permissions rp
                    WHERE rp.role = p_role AND rp.permission = p_permission)
$$;
COMMENT ON FUNCTION platform.role_has_permission(text, text) IS 'Whether member role p_role has p_permission, per role_permissions';

-- Whether the user of the current request context may do p_permission in organization p_org_id.
-- SECURITY DEFINER so that RLS policies on organization_members may call it without recursing, and narrow:
-- it answers only for the context's user (never one given as an argument), and is false without a context,
-- for a non-member, or for a deleted or banned user. It reads the setting as platform.get_current_user_id()
-- (007_session_helpers) does: nullif(.., '') because a setting once set reads '' afterwards, never NULL.
CREATE FUNCTION platform.has_permission(p_org_id uuid, p_permission text) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, platform, pg_temp
AS $$
    SELECT EXISTS (
        SELECT 1
          FROM platform.organization_members m
          JOIN platform.role_permissions rp ON rp.role = m.role AND rp.permission = p_permission
          JOIN platform.users u ON u.id = m.user_id
         WHERE m.organization_id = p_org_id
           AND m.user_id = nullif(current_setting('app.current_user_id', true), '')::uuid
           AND u.deleted_at IS NULL
           AND (u.banned_until IS NULL OR u.banned_until <= now()))
$$;
COMMENT ON FUNCTION platform.has_permission(uuid, text) IS
    'Whether the current context''s user (app.current_user_id) holds p_permission in p_org_id; false without a context';

REVOKE ALL ON FUNCTION platform.role_has_permission(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION platform.has_permission(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform.role_has_permission(text, text) TO :"app_role", :"service_role";
GRANT EXECUTE ON FUNCTION platform.has_permission(uuid, text) TO :"app_role", :"service_role";

-- The app role. users: read every column but the password hash (sign-in checks it through a definer
-- function, so a forgotten filter cannot leak hashes), sign up, update non-secret columns (not the hash, not
-- bans), never delete (accounts are soft-deleted). user_sessions: nothing (read through definer functions).
GRANT SELECT (id, email, first_name, last_name, created_at, updated_at, last_sign_in_at, banned_until, deleted_at)
    ON platform.users TO :"app_role";
GRANT INSERT (id, email, password_hash, first_name, last_name) ON platform.users TO :"app_role";
GRANT UPDATE (email, first_name, last_name, last_sign_in_at, deleted_at) ON platform.users TO :"app_role";
GRANT SELECT ON platform.member_roles, platform.permissions, platform.role_permissions TO :"app_role";
GRANT SELECT, INSERT, DELETE ON platform.organization_members TO :"app_role";
GRANT UPDATE (role) ON platform.organization_members TO :"app_role";
