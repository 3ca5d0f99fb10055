"""The gates of 007, checked from evidence in a real database."""

from __future__ import annotations

import pytest

from orgbase.migrate.gates import default_gates
from tests.fixtures.cluster import Database
from tests.fixtures.plans import PlanWriter, engine_on

pytestmark = pytest.mark.db

ALL = ["ws1_request_context", "ws2_active_org_tracking", "ws3_roles", "ws4_rls_harness", "shadow_window"]


def gate_results(db: Database, plan: PlanWriter) -> dict[str, tuple[bool, str]]:
    plan.add("gated", "select 1", gates=ALL)
    with engine_on(db, plan, gates=default_gates()) as eng:
        (status,) = [s for s in eng.status() if s.id == "gated"]
    return {g.name: (g.ok, g.evidence) for g in status.gates}


def test_ws3_holds_on_the_migrated_schema_and_the_rest_say_what_is_missing(
    migrated_db: Database, plan: PlanWriter
) -> None:
    results = gate_results(migrated_db, plan)
    assert results["ws3_roles"][0], results["ws3_roles"][1]
    assert results["ws2_active_org_tracking"] == (True, "008_add_active_org_tracking is applied")
    assert results["ws4_rls_harness"][0] is False
    assert results["ws4_rls_harness"][1].startswith("no evidence recorded yet")
    for name in ("ws1_request_context", "shadow_window"):
        assert results[name][0] is False and results[name][1].startswith("shadow mode is off for: ")


def test_ws3_fails_when_a_table_is_not_forced(migrated_db: Database, plan: PlanWriter) -> None:
    with migrated_db.connect("superuser") as conn:
        conn.execute("alter table platform.projects no force row level security")
    ok, evidence = gate_results(migrated_db, plan)["ws3_roles"]
    assert not ok and evidence == "RLS not enabled and forced on: projects"
