-- 010_billing_change_plan: changing the plan is allowed to owner, admin and billing_admin (the API issue),
-- while add-ons and payment methods stay billing.update (owner, billing_admin). A permission of its own
-- rather than granting billing.update to admin: that would give admins the payment methods too, and 003's
-- verify (re-run by `migrate verify` and adopt) rightly refuses billing.update for any role but those two.
INSERT INTO platform.permissions (permission, description) VALUES
    ('billing.change_plan', 'Change the subscription''s plan and billing cycle');

INSERT INTO platform.role_permissions (role, permission) VALUES
    ('owner', 'billing.change_plan'),
    ('admin', 'billing.change_plan'),
    ('billing_admin', 'billing.change_plan');
