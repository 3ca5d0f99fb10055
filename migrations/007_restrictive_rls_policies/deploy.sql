-- 007_restrictive_rls_policies: tenant isolation enforced by PostgreSQL (DESIGN.md, "Row Level Security").
--
-- Layering. 006's `<table>_permissive_all` policies (USING true, for the app role) stay as the permissive
-- base; this change ADDS one `AS RESTRICTIVE` policy per table and command, `<table>_restrictive_<command>`.
-- PostgreSQL AND-s every restrictive policy onto the OR of the permissive ones, so a stray permissive policy
-- added later cannot remove these checks (it happened once, in a benchmark), and restrictive policies alone
-- would show nothing. They are `TO PUBLIC`: every role that does not bypass RLS gets them (today only the
-- app role; the owner and the service role have BYPASSRLS), so a permissive policy written for some future
-- role does not arrive without them. Deploy and revert each run in one transaction (the engine), so there
-- is never a moment with no policy, and revert (drop exactly what this adds) restores 006's state.
--
-- Shape (measured, DESIGN.md "Facts"): every helper call is wrapped as `(SELECT ...)`, which PostgreSQL
-- evaluates once per statement (an InitPlan), never per row; tenant rows are matched with
-- `organization_id = (SELECT platform.get_current_org_id())`, which an index leading with organization_id
-- serves (0.16 ms against 90-195 ms for IN (subquery) or a correlated EXISTS); the user's own organizations
-- as `= ANY ((SELECT platform.current_user_org_ids())::uuid[])`. No per-row join, no IN (subquery), no EXISTS per
-- row, no `OR bypass` flag: bypassing belongs to roles. A missing context reads as NULL and matches nothing.
--
-- Permissions come from the one matrix (platform.role_permissions) through current_member_can(), which
-- answers for the context's user in the context's organization only. The flows that cannot run under these
-- policies (sign-up and sign-in before a user is known, creating an organization and its owner, accepting
-- an invitation, listing members with names) go through 009's narrow definer functions.

-- The two helpers are STABLE and called once per statement (every policy wraps them as (SELECT ...)). They are
-- PL/pgSQL, not SQL: a SECURITY DEFINER function is never inlined, and a non-inlined SQL function re-plans
-- its body on every call, whereas PL/pgSQL keeps its plan for the session. Measured on a 50-row page of
-- projects (10,000 over 100 organizations): the membership check cost 0.35 ms per statement as SQL, 0.09 ms
-- as PL/pgSQL (docs/rls.md). Per row, either would be ruinous; once per statement, PL/pgSQL is the cheap one.

-- The context user's organizations, for the organization switcher and for audit records of an organization
-- the request does not address. SECURITY DEFINER (owned by the owner, which bypasses RLS) so that a policy on
-- organization_members may call it without recursing into that table's own policies; narrow: it answers only
-- for app.current_user_id, never for an argument. Empty without a context and for a banned or deleted user
-- (platform.user_is_active, the one rule of 009).
CREATE FUNCTION platform.current_user_org_ids() RETURNS uuid[]
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = pg_catalog, platform, pg_temp
AS $$
BEGIN
    RETURN (SELECT coalesce(array_agg(m.organization_id ORDER BY m.organization_id), '{}')
              FROM platform.organization_members m
              JOIN platform.users u ON u.id = m.user_id
             WHERE m.user_id = platform.get_current_user_id()
               AND platform.user_is_active(u.deleted_at, u.banned_until));
END;
$$;
COMMENT ON FUNCTION platform.current_user_org_ids() IS
    'Organizations of the context''s user (app.current_user_id), active users only; empty without a context. '
    'Call it as (SELECT ...) in a policy: once per statement';

-- Whether the context's user holds p_permission in the context's organization (app.current_org_id), per the
-- matrix: false without a user or an organization in the context, for a non-member (so a forged
-- organization id gains nothing), and for a banned or deleted user. Definer for the same reason as above.
-- It agrees with platform.has_permission(platform.get_current_org_id(), p_permission) (the tests check it).
CREATE FUNCTION platform.current_member_can(p_permission text) RETURNS boolean
    LANGUAGE plpgsql STABLE SECURITY DEFINER PARALLEL SAFE
    SET search_path = pg_catalog, platform, pg_temp
AS $$
BEGIN
    RETURN EXISTS (
        SELECT 1
          FROM platform.organization_members m
          JOIN platform.role_permissions rp ON rp.role = m.role AND rp.permission = p_permission
          JOIN platform.users u ON u.id = m.user_id
         WHERE m.organization_id = platform.get_current_org_id()
           AND m.user_id = platform.get_current_user_id()
           AND platform.user_is_active(u.deleted_at, u.banned_until));
END;
$$;
COMMENT ON FUNCTION platform.current_member_can(text) IS
    'Whether the context''s user holds p_permission in the context''s organization; false without a context. '
    'Call it as (SELECT ...) in a policy: once per statement';

REVOKE ALL ON FUNCTION platform.current_user_org_ids() FROM PUBLIC;
REVOKE ALL ON FUNCTION platform.current_member_can(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform.current_user_org_ids() TO :"app_role", :"service_role";
GRANT EXECUTE ON FUNCTION platform.current_member_can(text) TO :"app_role", :"service_role";

-- organizations. SELECT: the user's own organizations (the org switcher; a request addressing another one
-- was already refused by auth_bind). Writes: only the organization the request addresses, with the matrix's
-- permission. INSERT: never (platform.create_organization creates it with its owner membership).
CREATE POLICY organizations_restrictive_select ON platform.organizations AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (id = ANY ((SELECT platform.current_user_org_ids())::uuid[]));
CREATE POLICY organizations_restrictive_insert ON platform.organizations AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (false);
CREATE POLICY organizations_restrictive_update ON platform.organizations AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (id = (SELECT platform.get_current_org_id()) AND (SELECT platform.current_member_can('org.update')))
    WITH CHECK (id = (SELECT platform.get_current_org_id()) AND (SELECT platform.current_member_can('org.update')));
CREATE POLICY organizations_restrictive_delete ON platform.organizations AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (id = (SELECT platform.get_current_org_id()) AND (SELECT platform.current_member_can('org.delete')));

-- organization_members. SELECT: the user's own memberships (any organization: the switcher) or, for a member
-- with members.read, the rows of the current organization. Writes only in the current organization, per the
-- matrix. Owner rows ("grant the owner role, or change or remove an owner": members.grant_owner): INSERT and
-- UPDATE's WITH CHECK refuse a new or changed row with the owner role, DELETE refuses removing an owner,
-- without members.grant_owner. UPDATE's USING carries no owner rule and also reaches the user's own rows,
-- because PostgreSQL applies it to SELECT ... FOR UPDATE, with which the API locks the membership it is about
-- to judge (an admin demoting an owner must see the row to get 403; someone leaving or accepting an
-- invitation locks their own). So demoting an owner (old row owner, new row not) is the API's check alone:
-- WITH CHECK sees only the new row. A user may always delete their own membership (leave); 008's trigger
-- then clears an active_org_id that pointed at it.
CREATE POLICY organization_members_restrictive_select ON platform.organization_members AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (user_id = (SELECT platform.get_current_user_id())
           OR (organization_id = (SELECT platform.get_current_org_id())
               AND (SELECT platform.current_member_can('members.read'))));
CREATE POLICY organization_members_restrictive_insert ON platform.organization_members AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (organization_id = (SELECT platform.get_current_org_id())
                AND (SELECT platform.current_member_can('members.invite'))
                AND (role <> 'owner' OR (SELECT platform.current_member_can('members.grant_owner'))));
CREATE POLICY organization_members_restrictive_update ON platform.organization_members AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (user_id = (SELECT platform.get_current_user_id())
           OR (organization_id = (SELECT platform.get_current_org_id())
               AND (SELECT platform.current_member_can('members.update_role'))))
    WITH CHECK (organization_id = (SELECT platform.get_current_org_id())
                AND (SELECT platform.current_member_can('members.update_role'))
                AND (role <> 'owner' OR (SELECT platform.current_member_can('members.grant_owner'))));
CREATE POLICY organization_members_restrictive_delete ON platform.organization_members AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (user_id = (SELECT platform.get_current_user_id())
           OR (organization_id = (SELECT platform.get_current_org_id())
               AND (SELECT platform.current_member_can('members.remove'))
               AND (role <> 'owner' OR (SELECT platform.current_member_can('members.grant_owner')))));

-- users: the context's own row only (others' names come from platform.list_members). INSERT: never
-- (platform.auth_sign_up); DELETE: never (accounts are soft-deleted, and the app role holds no DELETE).
CREATE POLICY users_restrictive_select ON platform.users AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (id = (SELECT platform.get_current_user_id()));
CREATE POLICY users_restrictive_insert ON platform.users AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (false);
CREATE POLICY users_restrictive_update ON platform.users AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (id = (SELECT platform.get_current_user_id()))
    WITH CHECK (id = (SELECT platform.get_current_user_id()));
CREATE POLICY users_restrictive_delete ON platform.users AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (false);

-- user_sessions and sign_in_attempts: the app role holds no privilege on them (009's definer functions do
-- the work). The policies make sure a future grant cannot open them: a user's own sessions at most (never
-- created outside auth_create_session), and no sign-in counter at all.
CREATE POLICY user_sessions_restrictive_select ON platform.user_sessions AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (user_id = (SELECT platform.get_current_user_id()));
CREATE POLICY user_sessions_restrictive_insert ON platform.user_sessions AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (false);
CREATE POLICY user_sessions_restrictive_update ON platform.user_sessions AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (user_id = (SELECT platform.get_current_user_id()))
    WITH CHECK (user_id = (SELECT platform.get_current_user_id()));
CREATE POLICY user_sessions_restrictive_delete ON platform.user_sessions AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (user_id = (SELECT platform.get_current_user_id()));

CREATE POLICY sign_in_attempts_restrictive_select ON platform.sign_in_attempts AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (false);
CREATE POLICY sign_in_attempts_restrictive_insert ON platform.sign_in_attempts AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (false);
CREATE POLICY sign_in_attempts_restrictive_update ON platform.sign_in_attempts AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (false) WITH CHECK (false);
CREATE POLICY sign_in_attempts_restrictive_delete ON platform.sign_in_attempts AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (false);

-- Tenant tables: organization_id = the current organization AND the matrix's permission for the command.
-- WITH CHECK on INSERT and UPDATE, so that no row is written into, or moved to, another organization.
CREATE POLICY projects_restrictive_select ON platform.projects AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (organization_id = (SELECT platform.get_current_org_id())
           AND (SELECT platform.current_member_can('projects.read')));
CREATE POLICY projects_restrictive_insert ON platform.projects AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (organization_id = (SELECT platform.get_current_org_id())
                AND (SELECT platform.current_member_can('projects.create')));
CREATE POLICY projects_restrictive_update ON platform.projects AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (organization_id = (SELECT platform.get_current_org_id())
           AND (SELECT platform.current_member_can('projects.update')))
    WITH CHECK (organization_id = (SELECT platform.get_current_org_id())
                AND (SELECT platform.current_member_can('projects.update')));
CREATE POLICY projects_restrictive_delete ON platform.projects AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (organization_id = (SELECT platform.get_current_org_id())
           AND (SELECT platform.current_member_can('projects.delete')));

-- databases: the same, with the databases.* permissions. The ciphertext columns are not granted at all;
-- databases_safe (security_invoker) and get_project_databases() (invoker) run under these policies.
CREATE POLICY databases_restrictive_select ON platform.databases AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (organization_id = (SELECT platform.get_current_org_id())
           AND (SELECT platform.current_member_can('databases.read')));
CREATE POLICY databases_restrictive_insert ON platform.databases AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (organization_id = (SELECT platform.get_current_org_id())
                AND (SELECT platform.current_member_can('databases.create')));
CREATE POLICY databases_restrictive_update ON platform.databases AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (organization_id = (SELECT platform.get_current_org_id())
           AND (SELECT platform.current_member_can('databases.update')))
    WITH CHECK (organization_id = (SELECT platform.get_current_org_id())
                AND (SELECT platform.current_member_can('databases.update')));
CREATE POLICY databases_restrictive_delete ON platform.databases AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (organization_id = (SELECT platform.get_current_org_id())
           AND (SELECT platform.current_member_can('databases.delete')));

-- subscriptions: read with billing.read; changed with billing.update or billing.change_plan (010: owner,
-- admin and billing_admin may change the plan). RLS is per row: which columns a change of plan touches is
-- the API's rule. The row lock (SELECT ... FOR UPDATE) that serialises plan changes and project creation
-- needs the UPDATE policy too, as PostgreSQL applies it to FOR UPDATE.
CREATE POLICY subscriptions_restrictive_select ON platform.subscriptions AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (organization_id = (SELECT platform.get_current_org_id())
           AND (SELECT platform.current_member_can('billing.read')));
CREATE POLICY subscriptions_restrictive_insert ON platform.subscriptions AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (organization_id = (SELECT platform.get_current_org_id())
                AND (SELECT platform.current_member_can('billing.update')));
CREATE POLICY subscriptions_restrictive_update ON platform.subscriptions AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (organization_id = (SELECT platform.get_current_org_id())
           AND ((SELECT platform.current_member_can('billing.update'))
                OR (SELECT platform.current_member_can('billing.change_plan'))))
    WITH CHECK (organization_id = (SELECT platform.get_current_org_id())
                AND ((SELECT platform.current_member_can('billing.update'))
                     OR (SELECT platform.current_member_can('billing.change_plan'))));
CREATE POLICY subscriptions_restrictive_delete ON platform.subscriptions AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (organization_id = (SELECT platform.get_current_org_id())
           AND (SELECT platform.current_member_can('billing.update')));

-- invoices: read with billing.read; written only by the billing job (service role), never by the app role
-- (which holds only SELECT), so every write is refused here too.
CREATE POLICY invoices_restrictive_select ON platform.invoices AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (organization_id = (SELECT platform.get_current_org_id())
           AND (SELECT platform.current_member_can('billing.read')));
CREATE POLICY invoices_restrictive_insert ON platform.invoices AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (false);
CREATE POLICY invoices_restrictive_update ON platform.invoices AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (false) WITH CHECK (false);
CREATE POLICY invoices_restrictive_delete ON platform.invoices AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (false);

CREATE POLICY payment_methods_restrictive_select ON platform.payment_methods AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (organization_id = (SELECT platform.get_current_org_id())
           AND (SELECT platform.current_member_can('billing.read')));
CREATE POLICY payment_methods_restrictive_insert ON platform.payment_methods AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (organization_id = (SELECT platform.get_current_org_id())
                AND (SELECT platform.current_member_can('billing.update')));
CREATE POLICY payment_methods_restrictive_update ON platform.payment_methods AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (organization_id = (SELECT platform.get_current_org_id())
           AND (SELECT platform.current_member_can('billing.update')))
    WITH CHECK (organization_id = (SELECT platform.get_current_org_id())
                AND (SELECT platform.current_member_can('billing.update')));
CREATE POLICY payment_methods_restrictive_delete ON platform.payment_methods AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (organization_id = (SELECT platform.get_current_org_id())
           AND (SELECT platform.current_member_can('billing.update')));

CREATE POLICY subscription_addons_restrictive_select ON platform.subscription_addons AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (organization_id = (SELECT platform.get_current_org_id())
           AND (SELECT platform.current_member_can('billing.read')));
CREATE POLICY subscription_addons_restrictive_insert ON platform.subscription_addons AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (organization_id = (SELECT platform.get_current_org_id())
                AND (SELECT platform.current_member_can('billing.update')));
CREATE POLICY subscription_addons_restrictive_update ON platform.subscription_addons AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (organization_id = (SELECT platform.get_current_org_id())
           AND (SELECT platform.current_member_can('billing.update')))
    WITH CHECK (organization_id = (SELECT platform.get_current_org_id())
                AND (SELECT platform.current_member_can('billing.update')));
CREATE POLICY subscription_addons_restrictive_delete ON platform.subscription_addons AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (organization_id = (SELECT platform.get_current_org_id())
           AND (SELECT platform.current_member_can('billing.update')));

-- invitations: everything needs members.invite in the current organization (withdrawing is part of
-- inviting); an invitation with the owner role also needs members.grant_owner, as adding an owner does.
-- Accepting goes through platform.accept_invitation() (the invitee is not yet a member).
CREATE POLICY invitations_restrictive_select ON platform.invitations AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (organization_id = (SELECT platform.get_current_org_id())
           AND (SELECT platform.current_member_can('members.invite')));
CREATE POLICY invitations_restrictive_insert ON platform.invitations AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (organization_id = (SELECT platform.get_current_org_id())
                AND (SELECT platform.current_member_can('members.invite'))
                AND (role <> 'owner' OR (SELECT platform.current_member_can('members.grant_owner'))));
CREATE POLICY invitations_restrictive_update ON platform.invitations AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (organization_id = (SELECT platform.get_current_org_id())
           AND (SELECT platform.current_member_can('members.invite'))
           AND (role <> 'owner' OR (SELECT platform.current_member_can('members.grant_owner'))))
    WITH CHECK (organization_id = (SELECT platform.get_current_org_id())
                AND (SELECT platform.current_member_can('members.invite'))
                AND (role <> 'owner' OR (SELECT platform.current_member_can('members.grant_owner'))));
CREATE POLICY invitations_restrictive_delete ON platform.invitations AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (organization_id = (SELECT platform.get_current_org_id())
           AND (SELECT platform.current_member_can('members.invite')));

-- audit_logs. SELECT: the current organization's records, with audit.read. INSERT: a platform event
-- (organization_id NULL: a sign-up or a failed sign-in, written before any user is in the context), or an
-- event of one of the user's own organizations, which need not be the one the request addresses (creating
-- an organization, accepting an invitation and setting the active organization audit themselves in the
-- organization they just joined or chose). UPDATE and DELETE: never (also refused by grants and triggers).
CREATE POLICY audit_logs_restrictive_select ON platform.audit_logs AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (organization_id = (SELECT platform.get_current_org_id())
           AND (SELECT platform.current_member_can('audit.read')));
CREATE POLICY audit_logs_restrictive_insert ON platform.audit_logs AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (organization_id IS NULL OR organization_id = ANY ((SELECT platform.current_user_org_ids())::uuid[]));
CREATE POLICY audit_logs_restrictive_update ON platform.audit_logs AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (false) WITH CHECK (false);
CREATE POLICY audit_logs_restrictive_delete ON platform.audit_logs AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (false);

-- Catalogs (plans, add-ons, the permission matrix): public, no tenant data, readable in any context;
-- written only by migrations and the service role. The SELECT policy is `true` on purpose: every table
-- carries a restrictive policy for every command, so that verify can demand it of tables added later.
CREATE POLICY billing_plans_restrictive_select ON platform.billing_plans AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (true);
CREATE POLICY billing_plans_restrictive_insert ON platform.billing_plans AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (false);
CREATE POLICY billing_plans_restrictive_update ON platform.billing_plans AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (false) WITH CHECK (false);
CREATE POLICY billing_plans_restrictive_delete ON platform.billing_plans AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (false);
CREATE POLICY addons_catalog_restrictive_select ON platform.addons_catalog AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (true);
CREATE POLICY addons_catalog_restrictive_insert ON platform.addons_catalog AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (false);
CREATE POLICY addons_catalog_restrictive_update ON platform.addons_catalog AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (false) WITH CHECK (false);
CREATE POLICY addons_catalog_restrictive_delete ON platform.addons_catalog AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (false);
CREATE POLICY member_roles_restrictive_select ON platform.member_roles AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (true);
CREATE POLICY member_roles_restrictive_insert ON platform.member_roles AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (false);
CREATE POLICY member_roles_restrictive_update ON platform.member_roles AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (false) WITH CHECK (false);
CREATE POLICY member_roles_restrictive_delete ON platform.member_roles AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (false);
CREATE POLICY permissions_restrictive_select ON platform.permissions AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (true);
CREATE POLICY permissions_restrictive_insert ON platform.permissions AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (false);
CREATE POLICY permissions_restrictive_update ON platform.permissions AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (false) WITH CHECK (false);
CREATE POLICY permissions_restrictive_delete ON platform.permissions AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (false);
CREATE POLICY role_permissions_restrictive_select ON platform.role_permissions AS RESTRICTIVE FOR SELECT TO PUBLIC
    USING (true);
CREATE POLICY role_permissions_restrictive_insert ON platform.role_permissions AS RESTRICTIVE FOR INSERT TO PUBLIC
    WITH CHECK (false);
CREATE POLICY role_permissions_restrictive_update ON platform.role_permissions AS RESTRICTIVE FOR UPDATE TO PUBLIC
    USING (false) WITH CHECK (false);
CREATE POLICY role_permissions_restrictive_delete ON platform.role_permissions AS RESTRICTIVE FOR DELETE TO PUBLIC
    USING (false);
