"""orgbase's own plan: every change deploys, verifies, and reverts to exactly the schema before it."""

from __future__ import annotations

import pytest

from orgbase.migrate.engine import Engine, engine_for
from orgbase.migrate.plan import load_plan
from tests.fixtures.cluster import ROOT, Database

pytestmark = [pytest.mark.db, pytest.mark.slow]

PLAN = load_plan(ROOT / "migrations")


def engine(conn, db: Database) -> Engine:  # type: ignore[no-untyped-def]
    return engine_for(conn, db.settings, say=lambda _: None, plan=PLAN)


def test_each_change_reverts_to_exactly_the_schema_before_it(fresh_db: Database) -> None:
    with fresh_db.connect() as conn:
        eng = engine(conn, fresh_db)
        eng.deploy(dry_run=True)
        for change in PLAN.changes:
            if change.gates:
                continue
            before = fresh_db.schema_dump()
            eng.deploy(to=change.id)
            assert not [o for o in eng.verify() if o.error], change.id
            eng.revert(change.id)
            assert fresh_db.schema_dump() == before, f"{change.id}: revert did not restore the schema"
            eng.deploy(to=change.id)


def test_deploy_revert_all_deploy_leaves_an_identical_schema(fresh_db: Database) -> None:
    with fresh_db.connect() as conn:
        eng = engine(conn, fresh_db)
        report = eng.deploy()
        recorded = {*report.deployed, *(cid for cid, _ in report.skipped)}
        first = fresh_db.schema_dump()
        for change_id in reversed(PLAN.ids()):
            if change_id in recorded:
                eng.revert(change_id)
        assert eng.deploy().deployed == report.deployed
    assert fresh_db.schema_dump() == first
