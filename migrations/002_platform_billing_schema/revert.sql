-- Revert 002_platform_billing_schema (the seeded catalog rows go with their tables).
DROP TABLE platform.subscription_addons;
DROP TABLE platform.addons_catalog;
DROP TABLE platform.payment_methods;
DROP TABLE platform.invoices;
DROP TABLE platform.subscriptions;
DROP TABLE platform.billing_plans;
