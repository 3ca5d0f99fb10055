-- Verify 010_billing_change_plan: the permission exists and exactly owner, admin and billing_admin hold it.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM platform.permissions WHERE permission = 'billing.change_plan') THEN
        RAISE EXCEPTION '010 verify: permission billing.change_plan is missing';
    END IF;
    IF (SELECT array_agg(role ORDER BY role) FROM platform.role_permissions
         WHERE permission = 'billing.change_plan')
       IS DISTINCT FROM ARRAY['admin', 'billing_admin', 'owner'] THEN
        RAISE EXCEPTION '010 verify: billing.change_plan must be held by exactly owner, admin and billing_admin';
    END IF;
    IF NOT platform.role_has_permission('admin', 'billing.change_plan')
       OR platform.role_has_permission('developer', 'billing.change_plan') THEN
        RAISE EXCEPTION '010 verify: role_has_permission does not answer billing.change_plan from the matrix';
    END IF;
END
$$;
