-- 002_platform_billing_schema: the plan catalog (seeded), one subscription per organization, invoices,
-- payment methods (a provider token and display fields only: never a card number), add-ons.

CREATE TABLE platform.billing_plans (
    id                  text        NOT NULL,
    name                text        NOT NULL,
    description         text,
    price_monthly_cents integer,
    max_projects        integer,
    max_members         integer,
    max_databases       integer,
    features            jsonb       NOT NULL DEFAULT '{}',
    is_active           boolean     NOT NULL DEFAULT true,
    sort_order          integer     NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT billing_plans_pkey PRIMARY KEY (id),
    CONSTRAINT billing_plans_id_format CHECK (id ~ '^[a-z][a-z0-9_]{0,39}$'),
    CONSTRAINT billing_plans_price_not_negative CHECK (price_monthly_cents IS NULL OR price_monthly_cents >= 0),
    -- NULL means unlimited.
    CONSTRAINT billing_plans_limits_positive
        CHECK (coalesce(max_projects, 1) > 0 AND coalesce(max_members, 1) > 0 AND coalesce(max_databases, 1) > 0),
    CONSTRAINT billing_plans_features_object CHECK (jsonb_typeof(features) = 'object')
);
COMMENT ON TABLE platform.billing_plans IS 'Catalog of plans; a NULL limit means unlimited, a NULL price means priced by contract';
CREATE TRIGGER billing_plans_set_updated_at BEFORE UPDATE ON platform.billing_plans
    FOR EACH ROW EXECUTE FUNCTION platform.set_updated_at();

INSERT INTO platform.billing_plans
    (id, name, description, price_monthly_cents, max_projects, max_members, max_databases, sort_order)
VALUES
    ('free', 'Free', 'For trying things out', 0, 2, 5, 2, 10),
    ('pro', 'Pro', 'For production applications', 2500, 10, 25, 20, 20),
    ('team', 'Team', 'For growing teams', 59900, 50, NULL, 100, 30),
    ('enterprise', 'Enterprise', 'Custom limits and terms', NULL, NULL, NULL, NULL, 40);

CREATE TABLE platform.subscriptions (
    id                       uuid        NOT NULL DEFAULT gen_random_uuid(),
    organization_id          uuid        NOT NULL,
    plan_id                  text        NOT NULL DEFAULT 'free',
    status                   text        NOT NULL DEFAULT 'active',
    billing_cycle            text        NOT NULL DEFAULT 'monthly',
    current_period_start     timestamptz,
    current_period_end       timestamptz,
    cancel_at_period_end     boolean     NOT NULL DEFAULT false,
    canceled_at              timestamptz,
    provider                 text,
    provider_customer_id     text,
    provider_subscription_id text,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT subscriptions_pkey PRIMARY KEY (id),
    -- One subscription per organization; also the index that leads with organization_id.
    CONSTRAINT subscriptions_organization_id_key UNIQUE (organization_id),
    CONSTRAINT subscriptions_id_organization_id_key UNIQUE (id, organization_id),
    CONSTRAINT subscriptions_organization_id_fkey FOREIGN KEY (organization_id)
        REFERENCES platform.organizations (id) ON DELETE CASCADE,
    CONSTRAINT subscriptions_plan_id_fkey FOREIGN KEY (plan_id) REFERENCES platform.billing_plans (id),
    CONSTRAINT subscriptions_status_known
        CHECK (status IN ('trialing', 'active', 'past_due', 'canceled', 'incomplete', 'unpaid')),
    CONSTRAINT subscriptions_billing_cycle_known CHECK (billing_cycle IN ('monthly', 'yearly')),
    CONSTRAINT subscriptions_period_order
        CHECK (current_period_end IS NULL OR current_period_start IS NULL OR current_period_end > current_period_start)
);
COMMENT ON TABLE platform.subscriptions IS 'The plan of an organization: at most one row per organization';
CREATE INDEX subscriptions_plan_id_idx ON platform.subscriptions (plan_id);
CREATE TRIGGER subscriptions_set_updated_at BEFORE UPDATE ON platform.subscriptions
    FOR EACH ROW EXECUTE FUNCTION platform.set_updated_at();

CREATE TABLE platform.invoices (
    id                  uuid        NOT NULL DEFAULT gen_random_uuid(),
    organization_id     uuid        NOT NULL,
    subscription_id     uuid,
    number              text        NOT NULL,
    status              text        NOT NULL DEFAULT 'draft',
    currency            text        NOT NULL DEFAULT 'USD',
    amount_due_cents    bigint      NOT NULL DEFAULT 0,
    amount_paid_cents   bigint      NOT NULL DEFAULT 0,
    period_start        timestamptz,
    period_end          timestamptz,
    due_at              timestamptz,
    paid_at             timestamptz,
    provider_invoice_id text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT invoices_pkey PRIMARY KEY (id),
    CONSTRAINT invoices_organization_id_fkey FOREIGN KEY (organization_id)
        REFERENCES platform.organizations (id) ON DELETE CASCADE,
    -- An invoice stays in its subscription's organization, and outlives the subscription row.
    CONSTRAINT invoices_subscription_fkey FOREIGN KEY (subscription_id, organization_id)
        REFERENCES platform.subscriptions (id, organization_id) ON DELETE SET NULL (subscription_id),
    -- Invoice numbers are tenant data: unique per organization.
    CONSTRAINT invoices_organization_id_number_key UNIQUE (organization_id, number),
    CONSTRAINT invoices_status_known CHECK (status IN ('draft', 'open', 'paid', 'void', 'uncollectible')),
    CONSTRAINT invoices_currency_format CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT invoices_amounts_not_negative CHECK (amount_due_cents >= 0 AND amount_paid_cents >= 0),
    CONSTRAINT invoices_period_order CHECK (period_end IS NULL OR period_start IS NULL OR period_end >= period_start)
);
COMMENT ON TABLE platform.invoices IS 'Invoices of an organization, written by the billing job (the app role only reads them)';
CREATE INDEX invoices_organization_id_created_at_idx ON platform.invoices (organization_id, created_at DESC);
CREATE INDEX invoices_subscription_id_idx ON platform.invoices (subscription_id) WHERE subscription_id IS NOT NULL;
CREATE TRIGGER invoices_set_updated_at BEFORE UPDATE ON platform.invoices
    FOR EACH ROW EXECUTE FUNCTION platform.set_updated_at();

CREATE TABLE platform.payment_methods (
    id                         uuid        NOT NULL DEFAULT gen_random_uuid(),
    organization_id            uuid        NOT NULL,
    provider                   text        NOT NULL DEFAULT 'stripe',
    provider_payment_method_id text        NOT NULL,
    brand                      text        NOT NULL DEFAULT 'unknown',
    last4                      text        NOT NULL,
    exp_month                  smallint    NOT NULL,
    exp_year                   smallint    NOT NULL,
    is_default                 boolean     NOT NULL DEFAULT false,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT payment_methods_pkey PRIMARY KEY (id),
    CONSTRAINT payment_methods_organization_id_fkey FOREIGN KEY (organization_id)
        REFERENCES platform.organizations (id) ON DELETE CASCADE,
    CONSTRAINT payment_methods_provider_token_key UNIQUE (organization_id, provider, provider_payment_method_id),
    CONSTRAINT payment_methods_provider_format CHECK (provider ~ '^[a-z][a-z0-9_]{0,39}$'),
    -- The provider's token (e.g. pm_...), never a card number: 12-19 digits, spaced or not, are refused.
    CONSTRAINT payment_methods_token_not_card_number
        CHECK (char_length(provider_payment_method_id) BETWEEN 1 AND 255
               AND regexp_replace(provider_payment_method_id, '[[:space:]-]', '', 'g') !~ '^[0-9]{12,19}$'),
    CONSTRAINT payment_methods_brand_known
        CHECK (brand IN ('visa', 'mastercard', 'amex', 'discover', 'diners', 'jcb', 'unionpay', 'unknown')),
    CONSTRAINT payment_methods_last4_format CHECK (last4 ~ '^[0-9]{4}$'),
    CONSTRAINT payment_methods_exp_month_range CHECK (exp_month BETWEEN 1 AND 12),
    CONSTRAINT payment_methods_exp_year_range CHECK (exp_year BETWEEN 2000 AND 2100)
);
COMMENT ON TABLE platform.payment_methods IS 'A provider token and display fields (brand, last4, expiry); never a card number or CVC';
-- At most one default payment method per organization.
CREATE UNIQUE INDEX payment_methods_one_default_idx ON platform.payment_methods (organization_id) WHERE is_default;
CREATE TRIGGER payment_methods_set_updated_at BEFORE UPDATE ON platform.payment_methods
    FOR EACH ROW EXECUTE FUNCTION platform.set_updated_at();

CREATE TABLE platform.addons_catalog (
    id                  text        NOT NULL,
    name                text        NOT NULL,
    description         text,
    price_monthly_cents integer     NOT NULL,
    is_active           boolean     NOT NULL DEFAULT true,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT addons_catalog_pkey PRIMARY KEY (id),
    CONSTRAINT addons_catalog_id_format CHECK (id ~ '^[a-z][a-z0-9_]{0,39}$'),
    CONSTRAINT addons_catalog_price_not_negative CHECK (price_monthly_cents >= 0)
);
COMMENT ON TABLE platform.addons_catalog IS 'Catalog of add-ons a subscription may carry';
CREATE TRIGGER addons_catalog_set_updated_at BEFORE UPDATE ON platform.addons_catalog
    FOR EACH ROW EXECUTE FUNCTION platform.set_updated_at();

INSERT INTO platform.addons_catalog (id, name, description, price_monthly_cents) VALUES
    ('custom_domain', 'Custom domain', 'Serve the API from your own domain', 1000),
    ('pitr_7', 'Point-in-time recovery, 7 days', 'Restore to any point of the last 7 days', 10000),
    ('ipv4', 'Dedicated IPv4 address', 'A static IPv4 address for the database', 400);

CREATE TABLE platform.subscription_addons (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    organization_id uuid        NOT NULL,
    subscription_id uuid        NOT NULL,
    addon_id        text        NOT NULL,
    quantity        integer     NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT subscription_addons_pkey PRIMARY KEY (id),
    CONSTRAINT subscription_addons_subscription_fkey FOREIGN KEY (subscription_id, organization_id)
        REFERENCES platform.subscriptions (id, organization_id) ON DELETE CASCADE,
    CONSTRAINT subscription_addons_addon_id_fkey FOREIGN KEY (addon_id) REFERENCES platform.addons_catalog (id),
    CONSTRAINT subscription_addons_addon_key UNIQUE (organization_id, subscription_id, addon_id),
    CONSTRAINT subscription_addons_quantity_positive CHECK (quantity > 0)
);
COMMENT ON TABLE platform.subscription_addons IS 'Add-ons carried by a subscription, in its organization';
CREATE INDEX subscription_addons_addon_id_idx ON platform.subscription_addons (addon_id);
CREATE TRIGGER subscription_addons_set_updated_at BEFORE UPDATE ON platform.subscription_addons
    FOR EACH ROW EXECUTE FUNCTION platform.set_updated_at();

-- The app role: catalogs and invoices read-only; tenant billing rows DML, never their identity columns.
GRANT SELECT ON platform.billing_plans, platform.addons_catalog, platform.invoices TO :"app_role";
GRANT SELECT, INSERT, DELETE ON platform.subscriptions, platform.payment_methods, platform.subscription_addons
    TO :"app_role";
GRANT UPDATE (plan_id, status, billing_cycle, current_period_start, current_period_end, cancel_at_period_end,
              canceled_at, provider, provider_customer_id, provider_subscription_id)
    ON platform.subscriptions TO :"app_role";
GRANT UPDATE (brand, last4, exp_month, exp_year, is_default) ON platform.payment_methods TO :"app_role";
GRANT UPDATE (quantity) ON platform.subscription_addons TO :"app_role";
