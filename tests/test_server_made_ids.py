"""015_server_made_ids: under 007, naming another organization's row id on INSERT reveals nothing.

Before 015 the app role could name `id`: a row of its own organization passed 007's WITH CHECK and then hit
the other organization's primary key, and the unique violation confirmed that id. Now the column privilege is
gone, so the statement fails with 42501 before any row is looked at, whether the id exists or not.
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

from orgbase.db.tenant import set_context
from orgbase.migrate.engine import engine_for
from orgbase.migrate.plan import load_plan
from orgbase.rls.world import build_world
from tests.fixtures.cluster import ROOT, Database

pytestmark = pytest.mark.db

RLS = "007_restrictive_rls_policies"
OVERRIDES = {gate: "test: 007 on a throwaway database" for gate in load_plan(ROOT / "migrations")[RLS].gates}


def test_naming_an_id_fails_alike_whether_it_exists_elsewhere_or_not(migrated_db: Database) -> None:
    with migrated_db.connect() as conn:
        engine_for(conn, migrated_db.settings, say=lambda _: None).deploy(to=RLS, overrides=OVERRIDES)
        w = build_world(conn)
    statements: list[tuple[str, list[Any]]] = [
        ("insert into platform.projects (id, organization_id, name) values (%s, %s, 'x')", [w.a.id]),
        ("insert into platform.audit_logs (id, organization_id, action) values (%s, %s, 'x')", [w.a.id]),
        (
            "insert into platform.invitations (id, organization_id, email, role, token_hash, expires_at)"
            " values (%s, %s, 'x@example.com', 'developer', 'h', 'infinity')",
            [w.a.id],
        ),
    ]
    with migrated_db.connect("app", autocommit=False) as app:
        set_context(app, w.ada, w.a.id)
        for statement, params in statements:
            for row_id in (w.b.project, uuid.uuid4()):  # another organization's id, and a fresh one
                with pytest.raises(psycopg.errors.InsufficientPrivilege), app.transaction():
                    app.execute(statement, [row_id, *params])
        # Leaving the id to the server still works.
        made = app.execute(
            "insert into platform.projects (organization_id, name) values (%s, 'fine') returning id", [w.a.id]
        ).fetchone()
        assert made is not None and made[0] != w.b.project
        app.rollback()
