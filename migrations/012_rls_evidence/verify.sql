-- Verify 012_rls_evidence: the inventory (columns, constraints, index, owner, no app or PUBLIC access) and
-- the behaviour (a good run is accepted, a bad one refused), inside subtransactions that leave nothing.
SET LOCAL orgbase.app_role = :"app_role";  -- SET takes an identifier as a value: the role's name as text
SET LOCAL orgbase.owner_role = :"owner_role";
DO $$
DECLARE
    t oid := to_regclass('evidence.rls_runs');
    cols text;
    bad text;
BEGIN
    IF t IS NULL THEN
        RAISE EXCEPTION '012 verify: evidence.rls_runs is missing';
    END IF;
    SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod) || CASE WHEN attnotnull THEN ' nn' ELSE '' END,
                      ', ' ORDER BY attnum)
      INTO cols FROM pg_attribute WHERE attrelid = t AND attnum > 0 AND NOT attisdropped;
    IF cols IS DISTINCT FROM 'id bigint nn, started_at timestamp with time zone nn, '
        'finished_at timestamp with time zone nn, kind text nn, fingerprint text nn, passed boolean nn, '
        'checks integer nn, mismatches integer nn, summary jsonb nn, run_by text nn' THEN
        RAISE EXCEPTION '012 verify: evidence.rls_runs columns differ: %', cols;
    END IF;
    SELECT string_agg(conname, ', ' ORDER BY conname) INTO cols FROM pg_constraint WHERE conrelid = t;
    IF cols IS DISTINCT FROM 'rls_runs_counts, rls_runs_fingerprint_sha256, rls_runs_kind_known, '
        'rls_runs_passed_means_no_mismatch, rls_runs_pkey, rls_runs_summary_object, rls_runs_time_order' THEN
        RAISE EXCEPTION '012 verify: evidence.rls_runs constraints differ: %', cols;
    END IF;
    IF (SELECT pg_get_indexdef(to_regclass('evidence.rls_runs_started_at_idx'))) IS DISTINCT FROM
       'CREATE INDEX rls_runs_started_at_idx ON evidence.rls_runs USING btree (started_at DESC, id DESC)' THEN
        RAISE EXCEPTION '012 verify: rls_runs_started_at_idx is missing or different';
    END IF;
    IF (SELECT relowner::regrole::text FROM pg_class WHERE oid = t) <> quote_ident(current_setting('orgbase.owner_role'))
       OR (SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'evidence')
          <> quote_ident(current_setting('orgbase.owner_role')) THEN
        RAISE EXCEPTION '012 verify: the evidence schema and table must be owned by the owner role';
    END IF;
    IF has_schema_privilege(current_setting('orgbase.app_role'), 'evidence', 'USAGE')
       OR has_any_column_privilege(current_setting('orgbase.app_role'), t, 'SELECT, INSERT, UPDATE')
       OR has_table_privilege(current_setting('orgbase.app_role'), t, 'DELETE, TRUNCATE')
       OR has_schema_privilege('public', 'evidence', 'USAGE') THEN
        RAISE EXCEPTION '012 verify: the app role and PUBLIC must have no access to evidence';
    END IF;
    -- behaviour: a good run is accepted (then undone), each bad one refused by its constraint
    BEGIN
        INSERT INTO evidence.rls_runs (started_at, finished_at, kind, fingerprint, passed, checks, mismatches)
        VALUES (now(), now(), 'rehearsal', repeat('a', 64), true, 1, 0);
        RAISE EXCEPTION USING ERRCODE = 'OBV12';
    EXCEPTION WHEN SQLSTATE 'OBV12' THEN NULL;
    END;
    FOREACH bad IN ARRAY ARRAY[
        $q$('x', repeat('a', 64), true, 1, 0, '{}', now())$q$,
        $q$('test', 'nothex', true, 1, 0, '{}', now())$q$,
        $q$('test', repeat('a', 64), true, 2, 1, '{}', now())$q$,
        $q$('test', repeat('a', 64), false, 1, 2, '{}', now())$q$,
        $q$('test', repeat('a', 64), true, 0, 0, '{}', now())$q$,
        $q$('test', repeat('a', 64), false, 1, 1, '[]', now())$q$,
        $q$('test', repeat('a', 64), false, 1, 1, '{}', now() - interval '1 day')$q$
    ] LOOP
        BEGIN
            EXECUTE 'INSERT INTO evidence.rls_runs (kind, fingerprint, passed, checks, mismatches, summary,'
                    ' finished_at, started_at) VALUES ' || left(bad, -1) || ', now())';
            RAISE EXCEPTION '012 verify: evidence.rls_runs accepted %', bad;
        EXCEPTION WHEN check_violation THEN NULL;
        END;
    END LOOP;
END
$$;
