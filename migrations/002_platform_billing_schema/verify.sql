-- Verify 002_platform_billing_schema: raises unless every object is in place and behaves.
SET LOCAL orgbase.app_role = :"app_role";

-- Inventory: every column (type, NOT NULL), constraint (kind) and index this change creates.
DO $$
DECLARE
    wrong text;
BEGIN
    SELECT string_agg(format('%s %s.%s', e.kind, e.tbl, e.name), ', ') INTO wrong
      FROM (VALUES
        ('column', 'addons_catalog', 'id', 'text not null'),
        ('column', 'addons_catalog', 'name', 'text not null'),
        ('column', 'addons_catalog', 'description', 'text'),
        ('column', 'addons_catalog', 'price_monthly_cents', 'integer not null'),
        ('column', 'addons_catalog', 'is_active', 'boolean not null'),
        ('column', 'addons_catalog', 'created_at', 'timestamp with time zone not null'),
        ('column', 'addons_catalog', 'updated_at', 'timestamp with time zone not null'),
        ('column', 'billing_plans', 'id', 'text not null'),
        ('column', 'billing_plans', 'name', 'text not null'),
        ('column', 'billing_plans', 'description', 'text'),
        ('column', 'billing_plans', 'price_monthly_cents', 'integer'),
        ('column', 'billing_plans', 'max_projects', 'integer'),
        ('column', 'billing_plans', 'max_members', 'integer'),
        ('column', 'billing_plans', 'max_databases', 'integer'),
        ('column', 'billing_plans', 'features', 'jsonb not null'),
        ('column', 'billing_plans', 'is_active', 'boolean not null'),
        ('column', 'billing_plans', 'sort_order', 'integer not null'),
        ('column', 'billing_plans', 'created_at', 'timestamp with time zone not null'),
        ('column', 'billing_plans', 'updated_at', 'timestamp with time zone not null'),
        ('column', 'invoices', 'id', 'uuid not null'),
        ('column', 'invoices', 'organization_id', 'uuid not null'),
        ('column', 'invoices', 'subscription_id', 'uuid'),
        ('column', 'invoices', 'number', 'text not null'),
        ('column', 'invoices', 'status', 'text not null'),
        ('column', 'invoices', 'currency', 'text not null'),
        ('column', 'invoices', 'amount_due_cents', 'bigint not null'),
        ('column', 'invoices', 'amount_paid_cents', 'bigint not null'),
        ('column', 'invoices', 'period_start', 'timestamp with time zone'),
        ('column', 'invoices', 'period_end', 'timestamp with time zone'),
        ('column', 'invoices', 'due_at', 'timestamp with time zone'),
        ('column', 'invoices', 'paid_at', 'timestamp with time zone'),
        ('column', 'invoices', 'provider_invoice_id', 'text'),
        ('column', 'invoices', 'created_at', 'timestamp with time zone not null'),
        ('column', 'invoices', 'updated_at', 'timestamp with time zone not null'),
        ('column', 'payment_methods', 'id', 'uuid not null'),
        ('column', 'payment_methods', 'organization_id', 'uuid not null'),
        ('column', 'payment_methods', 'provider', 'text not null'),
        ('column', 'payment_methods', 'provider_payment_method_id', 'text not null'),
        ('column', 'payment_methods', 'brand', 'text not null'),
        ('column', 'payment_methods', 'last4', 'text not null'),
        ('column', 'payment_methods', 'exp_month', 'smallint not null'),
        ('column', 'payment_methods', 'exp_year', 'smallint not null'),
        ('column', 'payment_methods', 'is_default', 'boolean not null'),
        ('column', 'payment_methods', 'created_at', 'timestamp with time zone not null'),
        ('column', 'payment_methods', 'updated_at', 'timestamp with time zone not null'),
        ('column', 'subscription_addons', 'id', 'uuid not null'),
        ('column', 'subscription_addons', 'organization_id', 'uuid not null'),
        ('column', 'subscription_addons', 'subscription_id', 'uuid not null'),
        ('column', 'subscription_addons', 'addon_id', 'text not null'),
        ('column', 'subscription_addons', 'quantity', 'integer not null'),
        ('column', 'subscription_addons', 'created_at', 'timestamp with time zone not null'),
        ('column', 'subscription_addons', 'updated_at', 'timestamp with time zone not null'),
        ('column', 'subscriptions', 'id', 'uuid not null'),
        ('column', 'subscriptions', 'organization_id', 'uuid not null'),
        ('column', 'subscriptions', 'plan_id', 'text not null'),
        ('column', 'subscriptions', 'status', 'text not null'),
        ('column', 'subscriptions', 'billing_cycle', 'text not null'),
        ('column', 'subscriptions', 'current_period_start', 'timestamp with time zone'),
        ('column', 'subscriptions', 'current_period_end', 'timestamp with time zone'),
        ('column', 'subscriptions', 'cancel_at_period_end', 'boolean not null'),
        ('column', 'subscriptions', 'canceled_at', 'timestamp with time zone'),
        ('column', 'subscriptions', 'provider', 'text'),
        ('column', 'subscriptions', 'provider_customer_id', 'text'),
        ('column', 'subscriptions', 'provider_subscription_id', 'text'),
        ('column', 'subscriptions', 'created_at', 'timestamp with time zone not null'),
        ('column', 'subscriptions', 'updated_at', 'timestamp with time zone not null'),
        ('constraint', 'addons_catalog', 'addons_catalog_id_format', 'c'),
        ('constraint', 'addons_catalog', 'addons_catalog_pkey', 'p'),
        ('constraint', 'addons_catalog', 'addons_catalog_price_not_negative', 'c'),
        ('constraint', 'billing_plans', 'billing_plans_features_object', 'c'),
        ('constraint', 'billing_plans', 'billing_plans_id_format', 'c'),
        ('constraint', 'billing_plans', 'billing_plans_limits_positive', 'c'),
        ('constraint', 'billing_plans', 'billing_plans_pkey', 'p'),
        ('constraint', 'billing_plans', 'billing_plans_price_not_negative', 'c'),
        ('constraint', 'invoices', 'invoices_amounts_not_negative', 'c'),
        ('constraint', 'invoices', 'invoices_currency_format', 'c'),
        ('constraint', 'invoices', 'invoices_organization_id_fkey', 'f'),
        ('constraint', 'invoices', 'invoices_organization_id_number_key', 'u'),
        ('constraint', 'invoices', 'invoices_period_order', 'c'),
        ('constraint', 'invoices', 'invoices_pkey', 'p'),
        ('constraint', 'invoices', 'invoices_status_known', 'c'),
        ('constraint', 'invoices', 'invoices_subscription_fkey', 'f'),
        ('constraint', 'payment_methods', 'payment_methods_brand_known', 'c'),
        ('constraint', 'payment_methods', 'payment_methods_exp_month_range', 'c'),
        ('constraint', 'payment_methods', 'payment_methods_exp_year_range', 'c'),
        ('constraint', 'payment_methods', 'payment_methods_last4_format', 'c'),
        ('constraint', 'payment_methods', 'payment_methods_organization_id_fkey', 'f'),
        ('constraint', 'payment_methods', 'payment_methods_pkey', 'p'),
        ('constraint', 'payment_methods', 'payment_methods_provider_format', 'c'),
        ('constraint', 'payment_methods', 'payment_methods_provider_token_key', 'u'),
        ('constraint', 'payment_methods', 'payment_methods_token_not_card_number', 'c'),
        ('constraint', 'subscription_addons', 'subscription_addons_addon_id_fkey', 'f'),
        ('constraint', 'subscription_addons', 'subscription_addons_addon_key', 'u'),
        ('constraint', 'subscription_addons', 'subscription_addons_pkey', 'p'),
        ('constraint', 'subscription_addons', 'subscription_addons_quantity_positive', 'c'),
        ('constraint', 'subscription_addons', 'subscription_addons_subscription_fkey', 'f'),
        ('constraint', 'subscriptions', 'subscriptions_billing_cycle_known', 'c'),
        ('constraint', 'subscriptions', 'subscriptions_id_organization_id_key', 'u'),
        ('constraint', 'subscriptions', 'subscriptions_organization_id_fkey', 'f'),
        ('constraint', 'subscriptions', 'subscriptions_organization_id_key', 'u'),
        ('constraint', 'subscriptions', 'subscriptions_period_order', 'c'),
        ('constraint', 'subscriptions', 'subscriptions_pkey', 'p'),
        ('constraint', 'subscriptions', 'subscriptions_plan_id_fkey', 'f'),
        ('constraint', 'subscriptions', 'subscriptions_status_known', 'c'),
        ('index', 'invoices', 'invoices_organization_id_created_at_idx', NULL),
        ('index', 'invoices', 'invoices_subscription_id_idx', NULL),
        ('index', 'payment_methods', 'payment_methods_one_default_idx', NULL),
        ('index', 'subscription_addons', 'subscription_addons_addon_id_idx', NULL),
        ('index', 'subscriptions', 'subscriptions_plan_id_idx', NULL)
      ) AS e(kind, tbl, name, detail)
     WHERE NOT CASE e.kind
        WHEN 'column' THEN EXISTS (
            SELECT 1 FROM pg_attribute a
             WHERE a.attrelid = to_regclass('platform.' || e.tbl) AND a.attname = e.name AND NOT a.attisdropped
               AND format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END = e.detail)
        WHEN 'constraint' THEN EXISTS (
            SELECT 1 FROM pg_constraint k
             WHERE k.conrelid = to_regclass('platform.' || e.tbl) AND k.conname = e.name
               AND k.contype::text = e.detail AND k.convalidated)
        ELSE EXISTS (
            SELECT 1 FROM pg_index i
             WHERE i.indexrelid = to_regclass('platform.' || e.name) AND i.indrelid = to_regclass('platform.' || e.tbl)
               AND i.indisvalid)
     END;
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION '002 verify: missing or changed: %', wrong;
    END IF;
END
$$;

DO $$
DECLARE
    wrong text;
BEGIN
    -- No column may hold a card number or a CVC.
    IF EXISTS (SELECT 1 FROM pg_attribute
                WHERE attrelid = 'platform.payment_methods'::regclass AND attnum > 0 AND NOT attisdropped
                  AND attname ~ '(card_number|pan|cvc|cvv)') THEN
        RAISE EXCEPTION '002 verify: payment_methods has a column for card data';
    END IF;
    SELECT string_agg(e.t, ', ') INTO wrong
      FROM (VALUES ('billing_plans'), ('subscriptions'), ('invoices'), ('payment_methods'), ('addons_catalog'),
                   ('subscription_addons')) AS e(t)
     WHERE NOT EXISTS (SELECT 1 FROM pg_trigger g
                        WHERE g.tgrelid = to_regclass('platform.' || e.t) AND g.tgname = e.t || '_set_updated_at'
                          AND g.tgenabled = 'O' AND g.tgfoid = 'platform.set_updated_at()'::regprocedure);
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION '002 verify: missing or disabled updated_at triggers on: %', wrong;
    END IF;
    -- The seeded catalog.
    IF (SELECT count(*) FROM platform.billing_plans WHERE id IN ('free', 'pro', 'team', 'enterprise')) <> 4
       OR NOT EXISTS (SELECT 1 FROM platform.billing_plans WHERE id = 'free' AND max_projects = 2) THEN
        RAISE EXCEPTION '002 verify: billing_plans is not seeded (free, pro, team, enterprise; free has 2 projects)';
    END IF;
END
$$;

-- Behaviour: bad input refused by the named constraint.
DO $$
DECLARE
    t record;
    got_state text;
    got_name text;
BEGIN
    FOR t IN SELECT * FROM (VALUES
        ($s$WITH o AS (INSERT INTO platform.organizations (name, slug) VALUES ('V', 'orgbase-verify-probe') RETURNING id)
            INSERT INTO platform.payment_methods (organization_id, provider_payment_method_id, last4, exp_month, exp_year)
            SELECT id, '4242 4242 4242 4242', '4242', 12, 2030 FROM o$s$,
         '23514', 'payment_methods_token_not_card_number'),
        ($s$WITH o AS (INSERT INTO platform.organizations (name, slug) VALUES ('V', 'orgbase-verify-probe') RETURNING id)
            INSERT INTO platform.payment_methods (organization_id, provider_payment_method_id, last4, exp_month, exp_year)
            SELECT id, 'pm_verify', '42a2', 12, 2030 FROM o$s$,
         '23514', 'payment_methods_last4_format'),
        ($s$WITH o AS (INSERT INTO platform.organizations (name, slug) VALUES ('V', 'orgbase-verify-probe') RETURNING id)
            INSERT INTO platform.payment_methods (organization_id, provider_payment_method_id, last4, exp_month, exp_year)
            SELECT id, 'pm_verify', '4242', 13, 2030 FROM o$s$,
         '23514', 'payment_methods_exp_month_range'),
        ($s$WITH o AS (INSERT INTO platform.organizations (name, slug) VALUES ('V', 'orgbase-verify-probe') RETURNING id)
            INSERT INTO platform.subscriptions (organization_id, plan_id) SELECT id, 'no-such-plan' FROM o$s$,
         '23503', 'subscriptions_plan_id_fkey'),
        ($s$WITH o AS (INSERT INTO platform.organizations (name, slug) VALUES ('V', 'orgbase-verify-probe') RETURNING id),
                 s AS (INSERT INTO platform.subscriptions (organization_id) SELECT id FROM o)
            INSERT INTO platform.subscriptions (organization_id) SELECT id FROM o$s$,
         '23505', 'subscriptions_organization_id_key'),
        -- A child row cannot sit in another organization than its subscription.
        ($s$WITH o AS (INSERT INTO platform.organizations (name, slug) VALUES ('V', 'orgbase-verify-probe') RETURNING id),
                 p AS (INSERT INTO platform.organizations (name, slug) VALUES ('W', 'orgbase-verify-probe-2') RETURNING id),
                 s AS (INSERT INTO platform.subscriptions (organization_id) SELECT id FROM o RETURNING id)
            INSERT INTO platform.subscription_addons (organization_id, subscription_id, addon_id)
            SELECT p.id, s.id, 'ipv4' FROM p, s$s$,
         '23503', 'subscription_addons_subscription_fkey')
    ) AS v(stmt, state, cname)
    LOOP
        BEGIN
            EXECUTE t.stmt;
            RAISE EXCEPTION 'accepted';
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS got_state = RETURNED_SQLSTATE, got_name = CONSTRAINT_NAME;
            IF got_state <> t.state OR got_name IS DISTINCT FROM t.cname THEN
                RAISE EXCEPTION '002 verify: expected % from constraint %, got % % for: %',
                    t.state, t.cname, got_state, coalesce(got_name, '(no constraint)'), t.stmt;
            END IF;
        END;
    END LOOP;
END
$$;

-- Grants: catalogs and invoices read-only for the app role; tenant rows DML; nothing for PUBLIC.
DO $$
DECLARE
    app text := current_setting('orgbase.app_role');
    wrong text;
BEGIN
    -- (table, column or NULL, privilege, expected): each privilege checked alone.
    SELECT string_agg(format('%s %s%s %s', CASE WHEN e.ok THEN 'lacks' ELSE 'has' END, e.t,
                             coalesce('.' || e.c, ''), e.p), ', ') INTO wrong
      FROM (VALUES
        ('billing_plans', NULL, 'SELECT', true), ('billing_plans', NULL, 'INSERT', false),
        ('billing_plans', 'name', 'UPDATE', false), ('billing_plans', NULL, 'DELETE', false),
        ('addons_catalog', NULL, 'SELECT', true), ('addons_catalog', NULL, 'INSERT', false),
        ('addons_catalog', 'name', 'UPDATE', false), ('addons_catalog', NULL, 'DELETE', false),
        ('invoices', NULL, 'SELECT', true), ('invoices', NULL, 'INSERT', false),
        ('invoices', 'status', 'UPDATE', false), ('invoices', NULL, 'DELETE', false),
        ('subscriptions', NULL, 'SELECT', true), ('subscriptions', NULL, 'INSERT', true),
        ('subscriptions', NULL, 'DELETE', true), ('subscriptions', 'plan_id', 'UPDATE', true),
        ('subscriptions', 'organization_id', 'UPDATE', false),
        ('payment_methods', NULL, 'SELECT', true), ('payment_methods', NULL, 'INSERT', true),
        ('payment_methods', NULL, 'DELETE', true), ('payment_methods', 'is_default', 'UPDATE', true),
        ('payment_methods', 'organization_id', 'UPDATE', false),
        ('payment_methods', 'provider_payment_method_id', 'UPDATE', false),
        ('subscription_addons', NULL, 'SELECT', true), ('subscription_addons', NULL, 'INSERT', true),
        ('subscription_addons', NULL, 'DELETE', true), ('subscription_addons', 'quantity', 'UPDATE', true),
        ('subscription_addons', 'organization_id', 'UPDATE', false),
        ('subscriptions', NULL, 'TRUNCATE', false), ('payment_methods', NULL, 'TRUNCATE', false)
      ) AS e(t, c, p, ok)
     WHERE CASE WHEN e.c IS NULL THEN has_table_privilege(app, 'platform.' || e.t, e.p)
                ELSE has_column_privilege(app, 'platform.' || e.t, e.c, e.p) END <> e.ok;
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION '002 verify: role %: %', app, wrong;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_class c, aclexplode(c.relacl) a
                WHERE c.relnamespace = 'platform'::regnamespace AND a.grantee = 0) THEN
        RAISE EXCEPTION '002 verify: something in schema platform is granted to PUBLIC';
    END IF;
END
$$;
