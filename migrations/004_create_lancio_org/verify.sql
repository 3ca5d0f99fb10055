-- Verify 004_create_lancio_org: the Lancio organization exists, exactly once.
DO $$
BEGIN
    IF (SELECT count(*) FROM platform.organizations WHERE slug = 'lancio') <> 1 THEN
        RAISE EXCEPTION '004 verify: the Lancio organization (slug lancio) is missing';
    END IF;
END
$$;
