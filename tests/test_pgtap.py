"""The seed's SQL test files, as pgTAP (Debian's postgresql-15-pgtap), run with psql from pytest."""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest

from orgbase.databases.crypto import Keyring
from tests.fixtures.cluster import Database

pytestmark = pytest.mark.db

HERE = Path(__file__).parent / "pgtap"
SECRET = "s3cret-" + uuid.uuid4().hex[:12]
KEYRING = Keyring([("ktest", os.urandom(32))])


def run_pgtap(db: Database, name: str, **variables: str) -> list[str]:
    """Run one pgTAP file as the superuser; return its TAP lines after checking nothing failed."""
    with db.connect("superuser") as conn:
        try:
            conn.execute("create schema if not exists tap; create extension if not exists pgtap schema tap")
        except psycopg.errors.FeatureNotSupported as exc:  # pragma: no cover - a machine without pgtap
            pytest.fail(f"pgTAP is not installed ({exc}): `make test` installs postgresql-15-pgtap")
    args = ["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-f", str(HERE / name), db.superuser_url]
    for key, value in variables.items():
        args[1:1] = ["-v", f"{key}={value}"]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    failed = [line for line in lines if line.startswith("not ok")]
    assert not failed, "\n".join(failed + [line for line in lines if line.startswith("#")])
    assert any(re.match(r"^1\.\.\d+$", line) for line in lines), "no TAP plan line: the file did not finish"
    return lines


def register(db: Database, org: uuid.UUID, project: uuid.UUID, name: str, url: str, host: str) -> uuid.UUID:
    row = uuid.uuid4()
    blob, kid = KEYRING.encrypt(url, row_id=row, organization_id=org)
    with db.connect() as conn:
        conn.execute(
            "insert into platform.databases (id, organization_id, project_id, name, type, host, port, "
            "connection_string_encrypted, encryption_key_id) values (%s, %s, %s, %s, 'redis', %s, 6379, "
            "%s, %s)",
            [row, org, project, name, host, blob, kid],
        )
    return row


@pytest.fixture
def registered(migrated_db: Database) -> dict[str, uuid.UUID]:
    ids = {k: uuid.uuid4() for k in ("org", "project", "owner", "dev")}
    with migrated_db.connect() as conn:
        conn.execute(
            "insert into platform.organizations (id, name, slug) values (%s, 'Acme', 'acme')", [ids["org"]]
        )
        conn.execute(
            "insert into platform.projects (id, organization_id, name) values (%s, %s, 'Shop')",
            [ids["project"], ids["org"]],
        )
        for who, role in (("owner", "owner"), ("dev", "developer")):
            conn.execute(
                "insert into platform.users (id, email, password_hash) values (%s, %s, "
                "'$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA')",
                [ids[who], f"{who}@acme.test"],
            )
            conn.execute(
                "insert into platform.organization_members (organization_id, user_id, role) "
                "values (%s, %s, %s)",
                [ids["org"], ids[who], role],
            )
    ids["cache"] = register(
        migrated_db, ids["org"], ids["project"], "cache", f"redis://:{SECRET}@cache.acme:6379", "cache.acme"
    )
    ids["queue"] = register(
        migrated_db,
        ids["org"],
        ids["project"],
        "queue",
        f"redis://default:{SECRET}@queue.acme:6379/2",
        "queue.acme",
    )
    return ids


def test_006_permissive_policies(migrated_db: Database) -> None:
    lines = run_pgtap(migrated_db, "test_006_permissive_policies.sql", app_role=migrated_db.settings.app_role)
    assert sum(line.startswith("ok") for line in lines) > 50


def test_database_health(migrated_db: Database, registered: dict[str, uuid.UUID]) -> None:
    run_pgtap(migrated_db, "test_database_health.sql", app_role=migrated_db.settings.app_role, secret=SECRET)
    dump = subprocess.run(
        ["pg_dump", "--data-only", migrated_db.superuser_url], capture_output=True, text=True, check=True
    ).stdout
    assert SECRET not in dump, "a password is stored in plain text somewhere"


def test_credentials_leave_only_through_the_restricted_path(
    migrated_db: Database, registered: dict[str, uuid.UUID]
) -> None:
    reveal = "select ciphertext, key_id, organization_id from platform.get_database_credentials(%s)"
    with migrated_db.connect("app", autocommit=False) as conn:
        assert conn.execute(reveal, [registered["cache"]]).fetchall() == []  # no context: nothing
        for who, expected in (("dev", 0), ("owner", 1)):
            conn.execute("select set_config('app.current_user_id', %s, true)", [str(registered[who])])
            found = conn.execute(reveal, [registered["cache"]]).fetchall()
            assert len(found) == expected, who
            conn.rollback()
        conn.execute("select set_config('app.current_user_id', %s, true)", [str(registered["owner"])])
        ((blob, kid, org),) = conn.execute(reveal, [registered["cache"]]).fetchall()
    url = KEYRING.decrypt(blob, key_id=kid, row_id=registered["cache"], organization_id=org)
    assert url == f"redis://:{SECRET}@cache.acme:6379"
