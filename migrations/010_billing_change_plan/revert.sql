-- Revert 010_billing_change_plan: the grants, then the permission they name.
DELETE FROM platform.role_permissions WHERE permission = 'billing.change_plan';
DELETE FROM platform.permissions WHERE permission = 'billing.change_plan';
