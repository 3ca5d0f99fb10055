"""Status formatting is pure: from ChangeStatus literals to the seed's page, a table and JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from orgbase.migrate.gates import GateResult
from orgbase.migrate.report import as_json, markdown, table
from orgbase.migrate.state import ChangeStatus

WHEN = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
STATUSES = [
    ChangeStatus("001_create_platform_schema", "applied", "Platform schema creation", how="adopted"),
    ChangeStatus("006_x", "applied", "Databases | Railway", applied_at=WHEN, how="deployed"),
    ChangeStatus(
        "007_restrictive",
        "blocked",
        "Restrictive RLS",
        ("006_x",),
        reason="gate ws1: no traffic observed",
        gates=(GateResult("ws1", False, "no traffic observed"), GateResult("ws2", True, "008 applied")),
    ),
    ChangeStatus("009_y", "pending", "Later"),
]


def test_markdown_has_the_seed_shape() -> None:
    page = markdown(STATUSES, database="orgbase", generated_at=WHEN)
    assert "| Migration | Status | Applied Date | Notes |" in page
    assert "| 001_create_platform_schema | ✅ APPLIED | Unknown |" in page
    assert "| 006_x | ✅ APPLIED | 2026-11-21 10:00:00 UTC | Databases \\| Railway |" in page
    assert "| 007_restrictive | ❌ BLOCKED | N/A |" in page
    assert "## 007_restrictive Status" in page
    assert "- [ ] ws1: no traffic observed" in page and "- [x] ws2: 008 applied" in page
    assert "## 009_y Status" not in page


def test_json_lists_every_change_with_gates() -> None:
    data = json.loads(as_json(STATUSES))
    first, blocked = data["migrations"][0], data["migrations"][2]
    assert first["applied_at"] is None and first["state"] == "applied" and first["how"] == "adopted"
    assert data["migrations"][1]["applied_at"] == "2026-11-21T10:00:00+00:00"
    assert blocked["requires"] == ["006_x"]
    assert blocked["gates"] == [
        {"name": "ws1", "ok": False, "evidence": "no traffic observed"},
        {"name": "ws2", "ok": True, "evidence": "008 applied"},
    ]


def test_table_aligns_and_explains() -> None:
    lines = table(STATUSES).splitlines()
    assert lines[0].split() == ["Migration", "Status", "Applied", "Date", "Notes"]
    assert "APPLIED (adopted)" in lines[2] and "Unknown" in lines[2]
    assert "BLOCKED" in lines[4] and "gate ws1: no traffic observed" in lines[4]
