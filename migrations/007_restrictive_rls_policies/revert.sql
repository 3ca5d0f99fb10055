-- Revert 007_restrictive_rls_policies: drop exactly the restrictive policies this change added and put back
-- the shadow policies it dropped. 006's permissive policies were never touched, so this restores the state
-- before 007 (006 + 014); the engine runs it in one transaction, so there is no moment with no policy.
DROP POLICY organizations_restrictive_select ON platform.organizations;
DROP POLICY organizations_restrictive_insert ON platform.organizations;
DROP POLICY organizations_restrictive_update ON platform.organizations;
DROP POLICY organizations_restrictive_delete ON platform.organizations;
DROP POLICY organization_members_restrictive_select ON platform.organization_members;
DROP POLICY organization_members_restrictive_insert ON platform.organization_members;
DROP POLICY organization_members_restrictive_update ON platform.organization_members;
DROP POLICY organization_members_restrictive_delete ON platform.organization_members;
DROP POLICY users_restrictive_select ON platform.users;
DROP POLICY users_restrictive_insert ON platform.users;
DROP POLICY users_restrictive_update ON platform.users;
DROP POLICY users_restrictive_delete ON platform.users;
DROP POLICY user_sessions_restrictive_select ON platform.user_sessions;
DROP POLICY user_sessions_restrictive_insert ON platform.user_sessions;
DROP POLICY user_sessions_restrictive_update ON platform.user_sessions;
DROP POLICY user_sessions_restrictive_delete ON platform.user_sessions;
DROP POLICY sign_in_attempts_restrictive_select ON platform.sign_in_attempts;
DROP POLICY sign_in_attempts_restrictive_insert ON platform.sign_in_attempts;
DROP POLICY sign_in_attempts_restrictive_update ON platform.sign_in_attempts;
DROP POLICY sign_in_attempts_restrictive_delete ON platform.sign_in_attempts;
DROP POLICY projects_restrictive_select ON platform.projects;
DROP POLICY projects_restrictive_insert ON platform.projects;
DROP POLICY projects_restrictive_update ON platform.projects;
DROP POLICY projects_restrictive_delete ON platform.projects;
DROP POLICY databases_restrictive_select ON platform.databases;
DROP POLICY databases_restrictive_insert ON platform.databases;
DROP POLICY databases_restrictive_update ON platform.databases;
DROP POLICY databases_restrictive_delete ON platform.databases;
DROP POLICY subscriptions_restrictive_select ON platform.subscriptions;
DROP POLICY subscriptions_restrictive_insert ON platform.subscriptions;
DROP POLICY subscriptions_restrictive_update ON platform.subscriptions;
DROP POLICY subscriptions_restrictive_delete ON platform.subscriptions;
DROP POLICY invoices_restrictive_select ON platform.invoices;
DROP POLICY invoices_restrictive_insert ON platform.invoices;
DROP POLICY invoices_restrictive_update ON platform.invoices;
DROP POLICY invoices_restrictive_delete ON platform.invoices;
DROP POLICY payment_methods_restrictive_select ON platform.payment_methods;
DROP POLICY payment_methods_restrictive_insert ON platform.payment_methods;
DROP POLICY payment_methods_restrictive_update ON platform.payment_methods;
DROP POLICY payment_methods_restrictive_delete ON platform.payment_methods;
DROP POLICY subscription_addons_restrictive_select ON platform.subscription_addons;
DROP POLICY subscription_addons_restrictive_insert ON platform.subscription_addons;
DROP POLICY subscription_addons_restrictive_update ON platform.subscription_addons;
DROP POLICY subscription_addons_restrictive_delete ON platform.subscription_addons;
DROP POLICY invitations_restrictive_select ON platform.invitations;
DROP POLICY invitations_restrictive_insert ON platform.invitations;
DROP POLICY invitations_restrictive_update ON platform.invitations;
DROP POLICY invitations_restrictive_delete ON platform.invitations;
DROP POLICY audit_logs_restrictive_select ON platform.audit_logs;
DROP POLICY audit_logs_restrictive_insert ON platform.audit_logs;
DROP POLICY audit_logs_restrictive_update ON platform.audit_logs;
DROP POLICY audit_logs_restrictive_delete ON platform.audit_logs;
DROP POLICY billing_plans_restrictive_select ON platform.billing_plans;
DROP POLICY billing_plans_restrictive_insert ON platform.billing_plans;
DROP POLICY billing_plans_restrictive_update ON platform.billing_plans;
DROP POLICY billing_plans_restrictive_delete ON platform.billing_plans;
DROP POLICY addons_catalog_restrictive_select ON platform.addons_catalog;
DROP POLICY addons_catalog_restrictive_insert ON platform.addons_catalog;
DROP POLICY addons_catalog_restrictive_update ON platform.addons_catalog;
DROP POLICY addons_catalog_restrictive_delete ON platform.addons_catalog;
DROP POLICY member_roles_restrictive_select ON platform.member_roles;
DROP POLICY member_roles_restrictive_insert ON platform.member_roles;
DROP POLICY member_roles_restrictive_update ON platform.member_roles;
DROP POLICY member_roles_restrictive_delete ON platform.member_roles;
DROP POLICY permissions_restrictive_select ON platform.permissions;
DROP POLICY permissions_restrictive_insert ON platform.permissions;
DROP POLICY permissions_restrictive_update ON platform.permissions;
DROP POLICY permissions_restrictive_delete ON platform.permissions;
DROP POLICY role_permissions_restrictive_select ON platform.role_permissions;
DROP POLICY role_permissions_restrictive_insert ON platform.role_permissions;
DROP POLICY role_permissions_restrictive_update ON platform.role_permissions;
DROP POLICY role_permissions_restrictive_delete ON platform.role_permissions;
-- Shadow mode's policies, as 014_rls_shadow made them (shadow mode resumes where it was).
-- BEGIN GENERATED by scripts/gen_shadow_policies.py
CREATE POLICY organizations_shadow_select ON platform.organizations AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('organizations'))
        OR (id = ANY ((SELECT platform.current_user_org_ids())::uuid[]))
        OR rls_shadow.deny('organizations', 'select', id));
CREATE POLICY organizations_shadow_insert ON platform.organizations AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (NOT (SELECT rls_shadow.watch('organizations'))
        OR (false)
        OR rls_shadow.deny('organizations', 'insert', id));
CREATE POLICY organizations_shadow_update ON platform.organizations AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('organizations'))
        OR (id = (SELECT platform.current_org_if_can('org.update')))
        OR rls_shadow.deny('organizations', 'update', id))
    WITH CHECK (NOT (SELECT rls_shadow.watch('organizations'))
        OR (id = (SELECT platform.current_org_if_can('org.update')))
        OR rls_shadow.deny('organizations', 'update', id));
CREATE POLICY organizations_shadow_delete ON platform.organizations AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('organizations'))
        OR (id = (SELECT platform.current_org_if_can('org.delete')))
        OR rls_shadow.deny('organizations', 'delete', id));
CREATE POLICY organization_members_shadow_select ON platform.organization_members AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('organization_members'))
        OR (user_id = (SELECT platform.get_current_user_id()) OR organization_id = (SELECT platform.current_org_if_can('members.read')))
        OR rls_shadow.deny('organization_members', 'select', organization_id));
CREATE POLICY organization_members_shadow_insert ON platform.organization_members AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (NOT (SELECT rls_shadow.watch('organization_members'))
        OR (organization_id = (SELECT platform.current_org_if_can('members.invite')) AND (role <> 'owner' OR (SELECT platform.current_member_can('members.grant_owner'))))
        OR rls_shadow.deny('organization_members', 'insert', organization_id));
CREATE POLICY organization_members_shadow_update ON platform.organization_members AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('organization_members'))
        OR (user_id = (SELECT platform.get_current_user_id()) OR organization_id = (SELECT platform.current_org_if_can('members.update_role')))
        OR rls_shadow.deny('organization_members', 'update', organization_id))
    WITH CHECK (NOT (SELECT rls_shadow.watch('organization_members'))
        OR (organization_id = (SELECT platform.current_org_if_can('members.update_role')) AND (role <> 'owner' OR (SELECT platform.current_member_can('members.grant_owner'))))
        OR rls_shadow.deny('organization_members', 'update', organization_id));
CREATE POLICY organization_members_shadow_delete ON platform.organization_members AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('organization_members'))
        OR (user_id = (SELECT platform.get_current_user_id()) OR (organization_id = (SELECT platform.current_org_if_can('members.remove')) AND (role <> 'owner' OR (SELECT platform.current_member_can('members.grant_owner')))))
        OR rls_shadow.deny('organization_members', 'delete', organization_id));
CREATE POLICY users_shadow_select ON platform.users AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('users'))
        OR (id = (SELECT platform.get_current_user_id()))
        OR rls_shadow.deny('users', 'select', NULL));
CREATE POLICY users_shadow_insert ON platform.users AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (NOT (SELECT rls_shadow.watch('users'))
        OR (false)
        OR rls_shadow.deny('users', 'insert', NULL));
CREATE POLICY users_shadow_update ON platform.users AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('users'))
        OR (id = (SELECT platform.get_current_user_id()))
        OR rls_shadow.deny('users', 'update', NULL))
    WITH CHECK (NOT (SELECT rls_shadow.watch('users'))
        OR (id = (SELECT platform.get_current_user_id()))
        OR rls_shadow.deny('users', 'update', NULL));
CREATE POLICY users_shadow_delete ON platform.users AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('users'))
        OR (false)
        OR rls_shadow.deny('users', 'delete', NULL));
CREATE POLICY user_sessions_shadow_select ON platform.user_sessions AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('user_sessions'))
        OR (user_id = (SELECT platform.get_current_user_id()))
        OR rls_shadow.deny('user_sessions', 'select', NULL));
CREATE POLICY user_sessions_shadow_insert ON platform.user_sessions AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (NOT (SELECT rls_shadow.watch('user_sessions'))
        OR (false)
        OR rls_shadow.deny('user_sessions', 'insert', NULL));
CREATE POLICY user_sessions_shadow_update ON platform.user_sessions AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('user_sessions'))
        OR (user_id = (SELECT platform.get_current_user_id()))
        OR rls_shadow.deny('user_sessions', 'update', NULL))
    WITH CHECK (NOT (SELECT rls_shadow.watch('user_sessions'))
        OR (user_id = (SELECT platform.get_current_user_id()))
        OR rls_shadow.deny('user_sessions', 'update', NULL));
CREATE POLICY user_sessions_shadow_delete ON platform.user_sessions AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('user_sessions'))
        OR (user_id = (SELECT platform.get_current_user_id()))
        OR rls_shadow.deny('user_sessions', 'delete', NULL));
CREATE POLICY sign_in_attempts_shadow_select ON platform.sign_in_attempts AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('sign_in_attempts'))
        OR (false)
        OR rls_shadow.deny('sign_in_attempts', 'select', NULL));
CREATE POLICY sign_in_attempts_shadow_insert ON platform.sign_in_attempts AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (NOT (SELECT rls_shadow.watch('sign_in_attempts'))
        OR (false)
        OR rls_shadow.deny('sign_in_attempts', 'insert', NULL));
CREATE POLICY sign_in_attempts_shadow_update ON platform.sign_in_attempts AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('sign_in_attempts'))
        OR (false)
        OR rls_shadow.deny('sign_in_attempts', 'update', NULL))
    WITH CHECK (NOT (SELECT rls_shadow.watch('sign_in_attempts'))
        OR (false)
        OR rls_shadow.deny('sign_in_attempts', 'update', NULL));
CREATE POLICY sign_in_attempts_shadow_delete ON platform.sign_in_attempts AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('sign_in_attempts'))
        OR (false)
        OR rls_shadow.deny('sign_in_attempts', 'delete', NULL));
CREATE POLICY projects_shadow_select ON platform.projects AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('projects'))
        OR (organization_id = (SELECT platform.current_org_if_can('projects.read')))
        OR rls_shadow.deny('projects', 'select', organization_id));
CREATE POLICY projects_shadow_insert ON platform.projects AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (NOT (SELECT rls_shadow.watch('projects'))
        OR (organization_id = (SELECT platform.current_org_if_can('projects.create')))
        OR rls_shadow.deny('projects', 'insert', organization_id));
CREATE POLICY projects_shadow_update ON platform.projects AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('projects'))
        OR (organization_id = (SELECT platform.current_org_if_can('projects.update')))
        OR rls_shadow.deny('projects', 'update', organization_id))
    WITH CHECK (NOT (SELECT rls_shadow.watch('projects'))
        OR (organization_id = (SELECT platform.current_org_if_can('projects.update')))
        OR rls_shadow.deny('projects', 'update', organization_id));
CREATE POLICY projects_shadow_delete ON platform.projects AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('projects'))
        OR (organization_id = (SELECT platform.current_org_if_can('projects.delete')))
        OR rls_shadow.deny('projects', 'delete', organization_id));
CREATE POLICY databases_shadow_select ON platform.databases AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('databases'))
        OR (organization_id = (SELECT platform.current_org_if_can('databases.read')))
        OR rls_shadow.deny('databases', 'select', organization_id));
CREATE POLICY databases_shadow_insert ON platform.databases AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (NOT (SELECT rls_shadow.watch('databases'))
        OR (organization_id = (SELECT platform.current_org_if_can('databases.create')))
        OR rls_shadow.deny('databases', 'insert', organization_id));
CREATE POLICY databases_shadow_update ON platform.databases AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('databases'))
        OR (organization_id = (SELECT platform.current_org_if_can('databases.update')))
        OR rls_shadow.deny('databases', 'update', organization_id))
    WITH CHECK (NOT (SELECT rls_shadow.watch('databases'))
        OR (organization_id = (SELECT platform.current_org_if_can('databases.update')))
        OR rls_shadow.deny('databases', 'update', organization_id));
CREATE POLICY databases_shadow_delete ON platform.databases AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('databases'))
        OR (organization_id = (SELECT platform.current_org_if_can('databases.delete')))
        OR rls_shadow.deny('databases', 'delete', organization_id));
CREATE POLICY subscriptions_shadow_select ON platform.subscriptions AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('subscriptions'))
        OR (organization_id = (SELECT platform.current_org_if_can('billing.read')))
        OR rls_shadow.deny('subscriptions', 'select', organization_id));
CREATE POLICY subscriptions_shadow_insert ON platform.subscriptions AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (NOT (SELECT rls_shadow.watch('subscriptions'))
        OR (organization_id = (SELECT platform.current_org_if_can('billing.update')))
        OR rls_shadow.deny('subscriptions', 'insert', organization_id));
CREATE POLICY subscriptions_shadow_update ON platform.subscriptions AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('subscriptions'))
        OR (organization_id = (SELECT platform.current_org_if_can('billing.update')) OR organization_id = (SELECT platform.current_org_if_can('billing.change_plan')))
        OR rls_shadow.deny('subscriptions', 'update', organization_id))
    WITH CHECK (NOT (SELECT rls_shadow.watch('subscriptions'))
        OR (organization_id = (SELECT platform.current_org_if_can('billing.update')) OR organization_id = (SELECT platform.current_org_if_can('billing.change_plan')))
        OR rls_shadow.deny('subscriptions', 'update', organization_id));
CREATE POLICY subscriptions_shadow_delete ON platform.subscriptions AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('subscriptions'))
        OR (organization_id = (SELECT platform.current_org_if_can('billing.update')))
        OR rls_shadow.deny('subscriptions', 'delete', organization_id));
CREATE POLICY invoices_shadow_select ON platform.invoices AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('invoices'))
        OR (organization_id = (SELECT platform.current_org_if_can('billing.read')))
        OR rls_shadow.deny('invoices', 'select', organization_id));
CREATE POLICY invoices_shadow_insert ON platform.invoices AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (NOT (SELECT rls_shadow.watch('invoices'))
        OR (false)
        OR rls_shadow.deny('invoices', 'insert', organization_id));
CREATE POLICY invoices_shadow_update ON platform.invoices AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('invoices'))
        OR (false)
        OR rls_shadow.deny('invoices', 'update', organization_id))
    WITH CHECK (NOT (SELECT rls_shadow.watch('invoices'))
        OR (false)
        OR rls_shadow.deny('invoices', 'update', organization_id));
CREATE POLICY invoices_shadow_delete ON platform.invoices AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('invoices'))
        OR (false)
        OR rls_shadow.deny('invoices', 'delete', organization_id));
CREATE POLICY payment_methods_shadow_select ON platform.payment_methods AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('payment_methods'))
        OR (organization_id = (SELECT platform.current_org_if_can('billing.read')))
        OR rls_shadow.deny('payment_methods', 'select', organization_id));
CREATE POLICY payment_methods_shadow_insert ON platform.payment_methods AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (NOT (SELECT rls_shadow.watch('payment_methods'))
        OR (organization_id = (SELECT platform.current_org_if_can('billing.update')))
        OR rls_shadow.deny('payment_methods', 'insert', organization_id));
CREATE POLICY payment_methods_shadow_update ON platform.payment_methods AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('payment_methods'))
        OR (organization_id = (SELECT platform.current_org_if_can('billing.update')))
        OR rls_shadow.deny('payment_methods', 'update', organization_id))
    WITH CHECK (NOT (SELECT rls_shadow.watch('payment_methods'))
        OR (organization_id = (SELECT platform.current_org_if_can('billing.update')))
        OR rls_shadow.deny('payment_methods', 'update', organization_id));
CREATE POLICY payment_methods_shadow_delete ON platform.payment_methods AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('payment_methods'))
        OR (organization_id = (SELECT platform.current_org_if_can('billing.update')))
        OR rls_shadow.deny('payment_methods', 'delete', organization_id));
CREATE POLICY subscription_addons_shadow_select ON platform.subscription_addons AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('subscription_addons'))
        OR (organization_id = (SELECT platform.current_org_if_can('billing.read')))
        OR rls_shadow.deny('subscription_addons', 'select', organization_id));
CREATE POLICY subscription_addons_shadow_insert ON platform.subscription_addons AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (NOT (SELECT rls_shadow.watch('subscription_addons'))
        OR (organization_id = (SELECT platform.current_org_if_can('billing.update')))
        OR rls_shadow.deny('subscription_addons', 'insert', organization_id));
CREATE POLICY subscription_addons_shadow_update ON platform.subscription_addons AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('subscription_addons'))
        OR (organization_id = (SELECT platform.current_org_if_can('billing.update')))
        OR rls_shadow.deny('subscription_addons', 'update', organization_id))
    WITH CHECK (NOT (SELECT rls_shadow.watch('subscription_addons'))
        OR (organization_id = (SELECT platform.current_org_if_can('billing.update')))
        OR rls_shadow.deny('subscription_addons', 'update', organization_id));
CREATE POLICY subscription_addons_shadow_delete ON platform.subscription_addons AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('subscription_addons'))
        OR (organization_id = (SELECT platform.current_org_if_can('billing.update')))
        OR rls_shadow.deny('subscription_addons', 'delete', organization_id));
CREATE POLICY invitations_shadow_select ON platform.invitations AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('invitations'))
        OR (organization_id = (SELECT platform.current_org_if_can('members.invite')))
        OR rls_shadow.deny('invitations', 'select', organization_id));
CREATE POLICY invitations_shadow_insert ON platform.invitations AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (NOT (SELECT rls_shadow.watch('invitations'))
        OR (organization_id = (SELECT platform.current_org_if_can('members.invite')) AND (role <> 'owner' OR (SELECT platform.current_member_can('members.grant_owner'))))
        OR rls_shadow.deny('invitations', 'insert', organization_id));
CREATE POLICY invitations_shadow_update ON platform.invitations AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('invitations'))
        OR (organization_id = (SELECT platform.current_org_if_can('members.invite')) AND (role <> 'owner' OR (SELECT platform.current_member_can('members.grant_owner'))))
        OR rls_shadow.deny('invitations', 'update', organization_id))
    WITH CHECK (NOT (SELECT rls_shadow.watch('invitations'))
        OR (organization_id = (SELECT platform.current_org_if_can('members.invite')) AND (role <> 'owner' OR (SELECT platform.current_member_can('members.grant_owner'))))
        OR rls_shadow.deny('invitations', 'update', organization_id));
CREATE POLICY invitations_shadow_delete ON platform.invitations AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('invitations'))
        OR (organization_id = (SELECT platform.current_org_if_can('members.invite')))
        OR rls_shadow.deny('invitations', 'delete', organization_id));
CREATE POLICY audit_logs_shadow_select ON platform.audit_logs AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('audit_logs'))
        OR (organization_id = (SELECT platform.current_org_if_can('audit.read')))
        OR rls_shadow.deny('audit_logs', 'select', organization_id));
CREATE POLICY audit_logs_shadow_insert ON platform.audit_logs AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (NOT (SELECT rls_shadow.watch('audit_logs'))
        OR (organization_id IS NULL OR organization_id = ANY ((SELECT platform.current_user_org_ids())::uuid[]))
        OR rls_shadow.deny('audit_logs', 'insert', organization_id));
CREATE POLICY audit_logs_shadow_update ON platform.audit_logs AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('audit_logs'))
        OR (false)
        OR rls_shadow.deny('audit_logs', 'update', organization_id))
    WITH CHECK (NOT (SELECT rls_shadow.watch('audit_logs'))
        OR (false)
        OR rls_shadow.deny('audit_logs', 'update', organization_id));
CREATE POLICY audit_logs_shadow_delete ON platform.audit_logs AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('audit_logs'))
        OR (false)
        OR rls_shadow.deny('audit_logs', 'delete', organization_id));
CREATE POLICY billing_plans_shadow_select ON platform.billing_plans AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('billing_plans'))
        OR (true)
        OR rls_shadow.deny('billing_plans', 'select', NULL));
CREATE POLICY billing_plans_shadow_insert ON platform.billing_plans AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (NOT (SELECT rls_shadow.watch('billing_plans'))
        OR (false)
        OR rls_shadow.deny('billing_plans', 'insert', NULL));
CREATE POLICY billing_plans_shadow_update ON platform.billing_plans AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('billing_plans'))
        OR (false)
        OR rls_shadow.deny('billing_plans', 'update', NULL))
    WITH CHECK (NOT (SELECT rls_shadow.watch('billing_plans'))
        OR (false)
        OR rls_shadow.deny('billing_plans', 'update', NULL));
CREATE POLICY billing_plans_shadow_delete ON platform.billing_plans AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('billing_plans'))
        OR (false)
        OR rls_shadow.deny('billing_plans', 'delete', NULL));
CREATE POLICY addons_catalog_shadow_select ON platform.addons_catalog AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('addons_catalog'))
        OR (true)
        OR rls_shadow.deny('addons_catalog', 'select', NULL));
CREATE POLICY addons_catalog_shadow_insert ON platform.addons_catalog AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (NOT (SELECT rls_shadow.watch('addons_catalog'))
        OR (false)
        OR rls_shadow.deny('addons_catalog', 'insert', NULL));
CREATE POLICY addons_catalog_shadow_update ON platform.addons_catalog AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('addons_catalog'))
        OR (false)
        OR rls_shadow.deny('addons_catalog', 'update', NULL))
    WITH CHECK (NOT (SELECT rls_shadow.watch('addons_catalog'))
        OR (false)
        OR rls_shadow.deny('addons_catalog', 'update', NULL));
CREATE POLICY addons_catalog_shadow_delete ON platform.addons_catalog AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('addons_catalog'))
        OR (false)
        OR rls_shadow.deny('addons_catalog', 'delete', NULL));
CREATE POLICY member_roles_shadow_select ON platform.member_roles AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('member_roles'))
        OR (true)
        OR rls_shadow.deny('member_roles', 'select', NULL));
CREATE POLICY member_roles_shadow_insert ON platform.member_roles AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (NOT (SELECT rls_shadow.watch('member_roles'))
        OR (false)
        OR rls_shadow.deny('member_roles', 'insert', NULL));
CREATE POLICY member_roles_shadow_update ON platform.member_roles AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('member_roles'))
        OR (false)
        OR rls_shadow.deny('member_roles', 'update', NULL))
    WITH CHECK (NOT (SELECT rls_shadow.watch('member_roles'))
        OR (false)
        OR rls_shadow.deny('member_roles', 'update', NULL));
CREATE POLICY member_roles_shadow_delete ON platform.member_roles AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('member_roles'))
        OR (false)
        OR rls_shadow.deny('member_roles', 'delete', NULL));
CREATE POLICY permissions_shadow_select ON platform.permissions AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('permissions'))
        OR (true)
        OR rls_shadow.deny('permissions', 'select', NULL));
CREATE POLICY permissions_shadow_insert ON platform.permissions AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (NOT (SELECT rls_shadow.watch('permissions'))
        OR (false)
        OR rls_shadow.deny('permissions', 'insert', NULL));
CREATE POLICY permissions_shadow_update ON platform.permissions AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('permissions'))
        OR (false)
        OR rls_shadow.deny('permissions', 'update', NULL))
    WITH CHECK (NOT (SELECT rls_shadow.watch('permissions'))
        OR (false)
        OR rls_shadow.deny('permissions', 'update', NULL));
CREATE POLICY permissions_shadow_delete ON platform.permissions AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('permissions'))
        OR (false)
        OR rls_shadow.deny('permissions', 'delete', NULL));
CREATE POLICY role_permissions_shadow_select ON platform.role_permissions AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('role_permissions'))
        OR (true)
        OR rls_shadow.deny('role_permissions', 'select', NULL));
CREATE POLICY role_permissions_shadow_insert ON platform.role_permissions AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (NOT (SELECT rls_shadow.watch('role_permissions'))
        OR (false)
        OR rls_shadow.deny('role_permissions', 'insert', NULL));
CREATE POLICY role_permissions_shadow_update ON platform.role_permissions AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('role_permissions'))
        OR (false)
        OR rls_shadow.deny('role_permissions', 'update', NULL))
    WITH CHECK (NOT (SELECT rls_shadow.watch('role_permissions'))
        OR (false)
        OR rls_shadow.deny('role_permissions', 'update', NULL));
CREATE POLICY role_permissions_shadow_delete ON platform.role_permissions AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (NOT (SELECT rls_shadow.watch('role_permissions'))
        OR (false)
        OR rls_shadow.deny('role_permissions', 'delete', NULL));
-- END GENERATED
