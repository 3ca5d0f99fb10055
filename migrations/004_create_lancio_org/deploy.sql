-- 004_create_lancio_org: the Lancio organization, which operates the platform. Idempotent (an organization
-- already holding the slug is kept as it is). No personal data and no secrets: no billing email, no members;
-- people join it through the application like any other organization.
INSERT INTO platform.organizations (name, slug)
VALUES ('Lancio', 'lancio')
ON CONFLICT (slug) DO NOTHING;
