"""``orgbase migrate`` as a user runs it: status in three formats, verify, adopt, log."""

from __future__ import annotations

import json

import pytest

from tests.fixtures.cluster import Database, orgbase_cli
from tests.fixtures.plans import PlanWriter

pytestmark = pytest.mark.db


def test_status_formats_from_the_live_database(fresh_db: Database, plan: PlanWriter) -> None:
    plan.add("001_a", "create table a (x int);", "drop table a;", "select 'a'::regclass;", note="Table a")
    plan.add("008_b", "create table b (x int);", "drop table b;", "select 'b'::regclass;", requires=["001_a"])
    plan.add("007_c", "select 1", requires=["001_a", "008_b"], gates=["ws2_active_org_tracking"])
    env = fresh_db.env(ORGBASE_MIGRATIONS_DIR=str(plan.root))

    deployed = orgbase_cli("migrate", "deploy", "--to", "001_a", env=env, check=True)
    assert "deployed: 001_a" in deployed.stdout

    data = json.loads(orgbase_cli("migrate", "status", "--format", "json", env=env, check=True).stdout)
    by_id = {m["id"]: m for m in data["migrations"]}
    assert list(by_id) == ["001_a", "008_b", "007_c"]
    assert by_id["001_a"]["state"] == "applied" and by_id["001_a"]["applied_at"].startswith("20")
    assert by_id["008_b"] == {**by_id["008_b"], "state": "pending", "applied_at": None}
    assert by_id["007_c"]["state"] == "blocked"
    assert by_id["007_c"]["requires"] == ["001_a", "008_b"]
    assert by_id["007_c"]["gates"] == [
        {
            "name": "ws2_active_org_tracking",
            "ok": False,
            "evidence": "008_add_active_org_tracking is not applied",
        }
    ]

    page = orgbase_cli("migrate", "status", "--format", "markdown", env=env, check=True).stdout
    assert "| Migration | Status | Applied Date | Notes |" in page
    assert "| 001_a | ✅ APPLIED |" in page and "| Table a |" in page
    assert "| 007_c | ❌ BLOCKED | N/A |" in page and "## 007_c Status" in page

    blocked = orgbase_cli("migrate", "deploy", "--to", "007_c", env=env)
    assert blocked.returncode == 4 and "gate ws2_active_org_tracking does not hold" in blocked.stderr
    no_reason = orgbase_cli("migrate", "deploy", "--override-gate", "ws2_active_org_tracking", env=env)
    assert no_reason.returncode != 0 and "--reason" in no_reason.stderr

    everything = orgbase_cli("migrate", "deploy", env=env, check=True)
    assert "deployed: 008_b" in everything.stdout and "blocked: 007_c" in everything.stdout
    assert "ok   001_a" in orgbase_cli("migrate", "verify", env=env, check=True).stdout
    log = orgbase_cli("migrate", "log", env=env, check=True).stdout
    assert "deploy   008_b" in log and "deploy   001_a" in log


def test_adopt_through_the_cli(fresh_db: Database, plan: PlanWriter) -> None:
    plan.add("001_a", "create table a (x int);", "drop table a;", "select 'a'::regclass;")
    with fresh_db.connect() as conn:
        conn.execute(f'set role "{fresh_db.settings.owner_role}"; create table a (x int)')
    env = fresh_db.env(ORGBASE_MIGRATIONS_DIR=str(plan.root))
    assert "adopted 001_a" in orgbase_cli("migrate", "adopt", env=env, check=True).stdout
    table = orgbase_cli("migrate", "status", env=env, check=True).stdout
    assert "APPLIED (adopted)" in table and "Unknown" in table
