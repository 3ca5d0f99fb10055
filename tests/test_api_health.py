"""``/healthz`` and ``/readyz``: readiness reads the ledger's summary and compares it with the plan."""

from __future__ import annotations

import pytest

from tests.fixtures.api import Api

pytestmark = pytest.mark.db


def test_health_and_readiness(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready", "problems": []}


def test_not_ready_when_a_change_drifted_or_failed(api: Api) -> None:
    with api.db.connect() as conn:
        conn.execute("update ledger.changes set checksum = 'x' where change_id = '005_create_audit_logs'")
        conn.execute("insert into ledger.events (change_id, event, by) values ('zz_later', 'fail', 'test')")
    body = api.client.get("/readyz")
    assert body.status_code == 503
    assert sorted(body.json()["problems"]) == ["005_create_audit_logs drifted", "zz_later failed"]
