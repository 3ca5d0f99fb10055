"""``orgbase migrate status`` on a freshly migrated database shows the seed's timeline, from the ledger."""

from __future__ import annotations

import json

import pytest

from tests.fixtures.cluster import Database, orgbase_cli

pytestmark = pytest.mark.db

APPLIED = [
    "001_create_platform_schema",
    "002_platform_billing_schema",
    "003_user_management_and_permissions",
    "004_create_lancio_org",
    "005_create_audit_logs",
    "006_add_platform_databases_table",
    "006_permissive_rls",
    "007_session_helpers",
    "008_add_active_org_tracking",
    "009_api_auth",
]


def test_fresh_deploy_shows_the_seed_timeline(migrated_db: Database) -> None:
    env = migrated_db.env()
    data = json.loads(orgbase_cli("migrate", "status", "--format", "json", env=env, check=True).stdout)
    states = {m["id"]: m for m in data["migrations"]}
    for change_id in APPLIED:
        assert states[change_id]["state"] == "applied", change_id
        assert states[change_id]["applied_at"], f"{change_id} has no applied date"
    railway = states["006_register_railway_databases_production"]
    assert railway["state"] == "skipped" and "no credentials" in railway["reason"]
    assert states.get("007_restrictive_rls_policies", {}).get("state") != "applied"
    page = orgbase_cli("migrate", "status", "--format", "markdown", env=env, check=True).stdout
    assert "| 001_create_platform_schema | ✅ APPLIED | 20" in page  # a date, not "Unknown"
    assert "| 008_add_active_org_tracking | ✅ APPLIED | 20" in page
    verified = orgbase_cli("migrate", "verify", env=env, check=True).stdout
    assert "FAIL" not in verified and all(f"ok   {change_id}" in verified for change_id in APPLIED)
