-- Verify 008_add_active_org_tracking: raises unless the column, its foreign key and index, the two functions,
-- the clearing trigger and the backfill procedure are in place and behave.
SET LOCAL orgbase.app_role = :"app_role";

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'platform.users'::regclass
                     AND attname = 'active_org_id' AND NOT attisdropped AND atttypid = 'uuid'::regtype
                     AND NOT attnotnull) THEN
        RAISE EXCEPTION '008 verify: column users.active_org_id (uuid, nullable) is missing';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                    WHERE conrelid = 'platform.users'::regclass AND conname = 'users_active_org_id_fkey'
                      AND contype = 'f' AND confrelid = 'platform.organizations'::regclass AND confdeltype = 'n'
                      AND convalidated) THEN
        RAISE EXCEPTION '008 verify: users.active_org_id must reference organizations ON DELETE SET NULL (validated)';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_index i
                    WHERE i.indexrelid = to_regclass('platform.idx_users_active_org') AND i.indisvalid
                      AND i.indrelid = 'platform.users'::regclass
                      AND pg_get_expr(i.indpred, i.indrelid) = '(active_org_id IS NOT NULL)') THEN
        RAISE EXCEPTION '008 verify: the partial index idx_users_active_org is missing or invalid';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_proc WHERE oid = to_regprocedure('platform.set_user_active_org(uuid, uuid)')
                     AND prosecdef AND 'search_path=pg_catalog, platform, pg_temp' = ANY(proconfig))
       OR NOT EXISTS (SELECT 1 FROM pg_proc WHERE oid = to_regprocedure('platform.get_user_active_org(uuid)')
                        AND prosecdef AND 'search_path=pg_catalog, platform, pg_temp' = ANY(proconfig))
       OR NOT EXISTS (SELECT 1 FROM pg_proc
                       WHERE oid = to_regprocedure('platform.clear_active_org_on_membership_delete()')
                         AND prosecdef AND 'search_path=pg_catalog, platform, pg_temp' = ANY(proconfig))
       OR NOT EXISTS (SELECT 1 FROM pg_proc WHERE oid = to_regprocedure('platform.backfill_active_org(integer)')
                        AND prokind = 'p')
       OR to_regprocedure('platform.backfill_active_org_batch(uuid, uuid)') IS NULL THEN
        RAISE EXCEPTION '008 verify: set_user_active_org, get_user_active_org, clear_active_org_on_membership_delete '
                        '(SECURITY DEFINER, safe search_path) or backfill_active_org (procedure) and backfill_active_org_batch are missing';
    END IF;
    -- AFTER DELETE FOR EACH STATEMENT (tgtype 8), enabled.
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'platform.organization_members'::regclass
                     AND tgname = 'organization_members_clear_active_org' AND tgtype = 8 AND tgenabled = 'O'
                     AND tgfoid = 'platform.clear_active_org_on_membership_delete()'::regprocedure) THEN
        RAISE EXCEPTION '008 verify: trigger organization_members_clear_active_org is missing or disabled';
    END IF;
    IF NOT has_function_privilege(current_setting('orgbase.app_role'), 'platform.set_user_active_org(uuid, uuid)', 'EXECUTE')
       OR NOT has_function_privilege(current_setting('orgbase.app_role'), 'platform.get_user_active_org(uuid)', 'EXECUTE')
       OR has_function_privilege('public', 'platform.set_user_active_org(uuid, uuid)', 'EXECUTE')
       OR has_function_privilege('public', 'platform.get_user_active_org(uuid)', 'EXECUTE')
       OR has_function_privilege('public', 'platform.clear_active_org_on_membership_delete()', 'EXECUTE')
       OR has_function_privilege('public', 'platform.backfill_active_org(integer)', 'EXECUTE')
       OR has_function_privilege('public', 'platform.backfill_active_org_batch(uuid, uuid)', 'EXECUTE')
       OR has_function_privilege(current_setting('orgbase.app_role'), 'platform.backfill_active_org(integer)', 'EXECUTE')
       OR NOT has_column_privilege(current_setting('orgbase.app_role'), 'platform.users', 'active_org_id', 'SELECT')
       OR has_column_privilege(current_setting('orgbase.app_role'), 'platform.users', 'active_org_id', 'UPDATE') THEN
        RAISE EXCEPTION '008 verify: grants are wrong (app: EXECUTE on set/get_user_active_org, SELECT but not '
                        'UPDATE of active_org_id; nothing for PUBLIC)';
    END IF;
END
$$;

-- Behaviour, in a block that is rolled back.
DO $$
DECLARE
    hash constant text := '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA';
    org_a uuid;
    org_b uuid;
    alice uuid;
    bob uuid;
    carol uuid;
    big uuid;
    small uuid;
    got text;
    r record;
BEGIN
    BEGIN
        INSERT INTO platform.organizations (name, slug) VALUES ('A', 'orgbase-verify-probe-a') RETURNING id INTO org_a;
        INSERT INTO platform.organizations (name, slug) VALUES ('B', 'orgbase-verify-probe-b') RETURNING id INTO org_b;
        INSERT INTO platform.users (email, password_hash) VALUES ('alice@verify.invalid', hash) RETURNING id INTO alice;
        INSERT INTO platform.users (email, password_hash) VALUES ('bob@verify.invalid', hash) RETURNING id INTO bob;
        -- Equal joined_at: the tie is broken by organization_id.
        INSERT INTO platform.organization_members (organization_id, user_id, role, joined_at)
            VALUES (org_a, alice, 'developer', now() - interval '1 day'),
                   (org_b, alice, 'owner', now() - interval '1 day'),
                   (org_b, bob, 'read_only', now());

        -- No context: refused.
        BEGIN
            PERFORM platform.set_user_active_org(alice, org_a);
            got := 'accepted';
        EXCEPTION WHEN insufficient_privilege THEN
            got := 'refused';
        END;
        IF got <> 'refused' THEN
            RAISE EXCEPTION '008 verify: set_user_active_org acted without a user in the context';
        END IF;
        IF EXISTS (SELECT 1 FROM platform.get_user_active_org()) THEN
            RAISE EXCEPTION '008 verify: get_user_active_org returned a row without a user in the context';
        END IF;

        PERFORM set_config('app.current_user_id', bob::text, true);
        -- For another user, for a non-member organization, for an unknown organization: refused.
        FOR r IN SELECT * FROM (VALUES (alice, org_b), (bob, org_a), (NULL::uuid, org_a), (bob, gen_random_uuid()))
                                AS v(u, o) LOOP
            BEGIN
                PERFORM platform.set_user_active_org(r.u, r.o);
                got := 'accepted';
            EXCEPTION WHEN insufficient_privilege THEN
                got := 'refused';
            END;
            IF got <> 'refused' THEN
                RAISE EXCEPTION '008 verify: set_user_active_org accepted user % and organization %', r.u, r.o;
            END IF;
        END LOOP;
        BEGIN
            PERFORM * FROM platform.get_user_active_org(alice);
            got := 'accepted';
        EXCEPTION WHEN insufficient_privilege THEN
            got := 'refused';
        END;
        IF got <> 'refused' THEN
            RAISE EXCEPTION '008 verify: get_user_active_org answered for another user than the context''s';
        END IF;
        PERFORM platform.set_user_active_org(bob, org_b);
        SELECT * INTO r FROM platform.get_user_active_org(bob);
        IF r.organization_id IS DISTINCT FROM org_b OR r.role IS DISTINCT FROM 'read_only'
           OR r.organization_slug IS DISTINCT FROM 'orgbase-verify-probe-b' THEN
            RAISE EXCEPTION '008 verify: get_user_active_org does not return the organization and role that were set';
        END IF;
        -- Removing the membership clears it.
        DELETE FROM platform.organization_members WHERE organization_id = org_b AND user_id = bob;
        IF (SELECT active_org_id FROM platform.users WHERE id = bob) IS NOT NULL
           OR EXISTS (SELECT 1 FROM platform.get_user_active_org()) THEN
            RAISE EXCEPTION '008 verify: removing a membership did not clear the active organization';
        END IF;

        -- The backfill, deterministic: the earliest joined_at wins even against a smaller organization id
        -- (alice), and equal joined_at is broken by the smaller organization id (carol).
        INSERT INTO platform.users (email, password_hash) VALUES ('carol@verify.invalid', hash) RETURNING id INTO carol;
        big := greatest(org_a, org_b);
        small := least(org_a, org_b);
        DELETE FROM platform.organization_members WHERE user_id = alice;
        INSERT INTO platform.organization_members (organization_id, user_id, role, joined_at)
            VALUES (big, alice, 'developer', now() - interval '2 days'),
                   (small, alice, 'owner', now() - interval '1 day'),
                   (big, carol, 'developer', now()), (small, carol, 'developer', now());
        UPDATE platform.users SET active_org_id = NULL WHERE id IN (alice, carol);
        PERFORM platform.backfill_active_org_batch(least(alice, bob, carol), greatest(alice, bob, carol));
        IF (SELECT active_org_id FROM platform.users WHERE id = alice) IS DISTINCT FROM big
           OR (SELECT active_org_id FROM platform.users WHERE id = carol) IS DISTINCT FROM small
           OR (SELECT active_org_id FROM platform.users WHERE id = bob) IS NOT NULL THEN
            RAISE EXCEPTION '008 verify: the backfill did not pick the earliest membership (ties by organization id)';
        END IF;
        -- Deleting an organization clears it too (ON DELETE SET NULL and the trigger).
        DELETE FROM platform.organizations WHERE id = big;
        IF (SELECT active_org_id FROM platform.users WHERE id = alice) IS NOT NULL THEN
            RAISE EXCEPTION '008 verify: deleting an organization left an active_org_id pointing at it';
        END IF;
        RAISE EXCEPTION USING errcode = 'OB000', message = 'rollback';
    EXCEPTION WHEN SQLSTATE 'OB000' THEN
        NULL;
    END;
END
$$;
