-- The seed's test_database_health: registered databases are encrypted, no plaintext anywhere, the masked view
-- shows type://host:port only, and credentials leave the table only through the restricted path. Run by
-- tests/test_pgtap.py with psql -v app_role=... -v secret=... after it registered databases whose connection
-- strings contain :'secret'.
SET search_path = tap, pg_catalog;
SELECT no_plan();

SELECT ok(count(*) >= 2, 'registered databases exist') FROM platform.databases;

-- Encrypted: a ciphertext of at least nonce + tag, a key id, and never the password's bytes.
SELECT hasnt_column('platform', 'databases', 'connection_string', 'no plaintext connection_string column');
SELECT hasnt_column('platform', 'databases', 'password', 'no password column');
SELECT col_type_is('platform', 'databases', 'connection_string_encrypted', 'bytea', 'ciphertext is bytea');
SELECT col_not_null('platform', 'databases', 'encryption_key_id', 'every row knows its key id');
SELECT is(count(*), 0::bigint, 'no ciphertext contains the password')
  FROM platform.databases WHERE position(convert_to(:'secret', 'UTF8') IN connection_string_encrypted) > 0;
SELECT is(count(*), 0::bigint, 'no two rows share a ciphertext (random nonces)')
  FROM (SELECT connection_string_encrypted FROM platform.databases GROUP BY 1 HAVING count(*) > 1) dup;
SELECT is(count(*), 0::bigint, 'no text or json column of any platform row mentions the password')
  FROM platform.databases d
 WHERE concat_ws(' ', d.name, d.host, d.database, d.config::text, d.metadata::text, d.health_check_error)
       LIKE '%' || :'secret' || '%';

-- The seed's database-side decryption is gone: no decrypt function, no view with connection strings.
SELECT is(count(*), 0::bigint, 'no function in platform decrypts') FROM pg_proc p
  JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'platform' AND p.proname ~ 'decrypt';
SELECT is(count(*), 0::bigint, 'no trigger in platform encrypts') FROM pg_proc p
  JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'platform' AND p.proname ~ 'encrypt';
SELECT hasnt_view('platform', 'databases_with_connection_strings', 'no view with decrypted connection strings');

-- The masked view.
SELECT has_view('platform', 'databases_safe', 'the safe view exists');
SELECT hasnt_column('platform', 'databases_safe', 'connection_string_encrypted', 'the safe view has no ciphertext');
SELECT hasnt_column('platform', 'databases_safe', 'encryption_key_id', 'the safe view has no key id');
SELECT is(count(*), 0::bigint, 'masked strings are type://host:port')
  FROM platform.databases_safe s WHERE s.connection_string_masked <> s.type || '://' || s.host || ':' || s.port;
SELECT is(count(*), 0::bigint, 'masked strings carry no credentials')
  FROM platform.databases_safe s WHERE s.connection_string_masked ~ '@' OR s.connection_string_masked LIKE '%' || :'secret' || '%';
SELECT ok((SELECT c.reloptions @> ARRAY['security_invoker=true'] FROM pg_class c
            WHERE c.oid = 'platform.databases_safe'::regclass), 'the safe view runs as the caller (RLS applies)');

-- The restricted path: the app role reads neither the ciphertext nor the key id, and has only the definer.
SELECT ok(NOT has_column_privilege(:'app_role', 'platform.databases', 'connection_string_encrypted', 'SELECT'),
          'the app role cannot select the ciphertext');
SELECT ok(NOT has_column_privilege(:'app_role', 'platform.databases', 'encryption_key_id', 'SELECT'),
          'the app role cannot select the key id');
SELECT ok(has_function_privilege(:'app_role', 'platform.get_database_credentials(uuid)', 'EXECUTE'),
          'the app role may call the restricted path');
SELECT is_definer('platform', 'get_database_credentials', ARRAY['uuid'], 'the restricted path is a definer');
SELECT ok((SELECT bool_or(c LIKE 'search_path=%') FROM pg_proc p, unnest(p.proconfig) c
            WHERE p.oid = 'platform.get_database_credentials(uuid)'::regprocedure),
          'the restricted path pins its search_path');
SELECT ok(NOT has_function_privilege('public', 'platform.get_database_credentials(uuid)', 'EXECUTE'),
          'PUBLIC may not call the restricted path');

-- Health: recorded per database.
SELECT col_default_is('platform', 'databases', 'health_check_status', 'unknown'::text, 'health starts unknown');

SELECT * FROM finish();
