-- orgbase_seal 1.0 (see orgbase_seal.c). Nothing is executable by PUBLIC: `orgbase db bootstrap` grants
-- seal() to the owner role alone (its SECURITY DEFINER functions bind a request's context) and the readers to
-- the roles whose statements run under the policies that read them.
\echo Use "CREATE EXTENSION orgbase_seal" to load this file. \quit

CREATE FUNCTION @extschema@.seal(user_id uuid, org_id uuid, permissions text[], watched text[]) RETURNS void
    AS 'MODULE_PATHNAME', 'orgbase_seal_set' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.seal(uuid, uuid, text[], text[]) IS
    'Seal this transaction''s context: its user (NULL: none), the organization the user is a member of, the '
    'permissions held there, the tables shadow mode watches';

CREATE FUNCTION @extschema@.org_if_can(permission text) RETURNS uuid
    AS 'MODULE_PATHNAME', 'orgbase_seal_org_if_can' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.org_if_can(text) IS
    'The sealed organization of this transaction if its user holds the permission there, else NULL';

CREATE FUNCTION @extschema@.watching(table_name text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'orgbase_seal_watching' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.watching(text) IS
    'Whether shadow mode watches the table for this transaction''s sealed context; NULL when nothing is sealed';

REVOKE ALL ON FUNCTION @extschema@.seal(uuid, uuid, text[], text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.org_if_can(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.watching(text) FROM PUBLIC;
