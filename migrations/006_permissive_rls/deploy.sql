-- 006_permissive_rls: the seed's applied state. Row Level Security is ENABLED and FORCED on every table of
-- schema platform (FORCE: even the table owner is subject to it unless it bypasses RLS, which only the owner
-- and service roles do), with one allow-all PERMISSIVE policy per table for the app role. Tenant isolation at
-- this stage is the application's job; 007_restrictive_rls_policies adds the database's.
-- A table created later must enable and force RLS in its own change: this change's verify checks every table.

ALTER TABLE platform.organizations ENABLE ROW LEVEL SECURITY;
ALTER TABLE platform.organizations FORCE ROW LEVEL SECURITY;
CREATE POLICY organizations_permissive_all ON platform.organizations AS PERMISSIVE FOR ALL TO :"app_role" USING (true) WITH CHECK (true);
ALTER TABLE platform.projects ENABLE ROW LEVEL SECURITY;
ALTER TABLE platform.projects FORCE ROW LEVEL SECURITY;
CREATE POLICY projects_permissive_all ON platform.projects AS PERMISSIVE FOR ALL TO :"app_role" USING (true) WITH CHECK (true);
ALTER TABLE platform.billing_plans ENABLE ROW LEVEL SECURITY;
ALTER TABLE platform.billing_plans FORCE ROW LEVEL SECURITY;
CREATE POLICY billing_plans_permissive_all ON platform.billing_plans AS PERMISSIVE FOR ALL TO :"app_role" USING (true) WITH CHECK (true);
ALTER TABLE platform.subscriptions ENABLE ROW LEVEL SECURITY;
ALTER TABLE platform.subscriptions FORCE ROW LEVEL SECURITY;
CREATE POLICY subscriptions_permissive_all ON platform.subscriptions AS PERMISSIVE FOR ALL TO :"app_role" USING (true) WITH CHECK (true);
ALTER TABLE platform.invoices ENABLE ROW LEVEL SECURITY;
ALTER TABLE platform.invoices FORCE ROW LEVEL SECURITY;
CREATE POLICY invoices_permissive_all ON platform.invoices AS PERMISSIVE FOR ALL TO :"app_role" USING (true) WITH CHECK (true);
ALTER TABLE platform.payment_methods ENABLE ROW LEVEL SECURITY;
ALTER TABLE platform.payment_methods FORCE ROW LEVEL SECURITY;
CREATE POLICY payment_methods_permissive_all ON platform.payment_methods AS PERMISSIVE FOR ALL TO :"app_role" USING (true) WITH CHECK (true);
ALTER TABLE platform.addons_catalog ENABLE ROW LEVEL SECURITY;
ALTER TABLE platform.addons_catalog FORCE ROW LEVEL SECURITY;
CREATE POLICY addons_catalog_permissive_all ON platform.addons_catalog AS PERMISSIVE FOR ALL TO :"app_role" USING (true) WITH CHECK (true);
ALTER TABLE platform.subscription_addons ENABLE ROW LEVEL SECURITY;
ALTER TABLE platform.subscription_addons FORCE ROW LEVEL SECURITY;
CREATE POLICY subscription_addons_permissive_all ON platform.subscription_addons AS PERMISSIVE FOR ALL TO :"app_role" USING (true) WITH CHECK (true);
ALTER TABLE platform.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE platform.users FORCE ROW LEVEL SECURITY;
CREATE POLICY users_permissive_all ON platform.users AS PERMISSIVE FOR ALL TO :"app_role" USING (true) WITH CHECK (true);
ALTER TABLE platform.user_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE platform.user_sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY user_sessions_permissive_all ON platform.user_sessions AS PERMISSIVE FOR ALL TO :"app_role" USING (true) WITH CHECK (true);
ALTER TABLE platform.member_roles ENABLE ROW LEVEL SECURITY;
ALTER TABLE platform.member_roles FORCE ROW LEVEL SECURITY;
CREATE POLICY member_roles_permissive_all ON platform.member_roles AS PERMISSIVE FOR ALL TO :"app_role" USING (true) WITH CHECK (true);
ALTER TABLE platform.permissions ENABLE ROW LEVEL SECURITY;
ALTER TABLE platform.permissions FORCE ROW LEVEL SECURITY;
CREATE POLICY permissions_permissive_all ON platform.permissions AS PERMISSIVE FOR ALL TO :"app_role" USING (true) WITH CHECK (true);
ALTER TABLE platform.role_permissions ENABLE ROW LEVEL SECURITY;
ALTER TABLE platform.role_permissions FORCE ROW LEVEL SECURITY;
CREATE POLICY role_permissions_permissive_all ON platform.role_permissions AS PERMISSIVE FOR ALL TO :"app_role" USING (true) WITH CHECK (true);
ALTER TABLE platform.organization_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE platform.organization_members FORCE ROW LEVEL SECURITY;
CREATE POLICY organization_members_permissive_all ON platform.organization_members AS PERMISSIVE FOR ALL TO :"app_role" USING (true) WITH CHECK (true);
ALTER TABLE platform.audit_logs ENABLE ROW LEVEL SECURITY;
ALTER TABLE platform.audit_logs FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_logs_permissive_all ON platform.audit_logs AS PERMISSIVE FOR ALL TO :"app_role" USING (true) WITH CHECK (true);
ALTER TABLE platform.databases ENABLE ROW LEVEL SECURITY;
ALTER TABLE platform.databases FORCE ROW LEVEL SECURITY;
CREATE POLICY databases_permissive_all ON platform.databases AS PERMISSIVE FOR ALL TO :"app_role" USING (true) WITH CHECK (true);
