"""Credentials against the real schema: the Railway registration step and key rotation (library and CLI)."""

from __future__ import annotations

import base64
import os
import uuid
from pathlib import Path

import pytest
from pydantic import SecretStr

from orgbase.databases import keys, rotation
from orgbase.databases.crypto import Keyring
from orgbase.migrate.engine import engine_for
from tests.fixtures.cluster import Database, orgbase_cli

pytestmark = pytest.mark.db

STEP = "006_register_railway_databases_production"
MONGO = "mongodb://platform:m0ng0-" + uuid.uuid4().hex[:8] + "@mongodb.railway.internal:27017/lancio"
REDIS = "redis://default:r3dis-" + uuid.uuid4().hex[:8] + "@redis.railway.internal:6379"


def b64key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def test_railway_step_is_skipped_then_registers_encrypted_then_reverts(
    migrated_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = migrated_db.settings.model_copy(update={"encryption_keys": SecretStr(f"k1={b64key()}")})
    with migrated_db.connect() as conn:
        eng = engine_for(conn, settings, say=lambda _: None)
        assert {s.id: s.state for s in eng.status()}[STEP] == "skipped"
        monkeypatch.setenv("ORGBASE_RAILWAY_MONGODB_URL", MONGO)
        monkeypatch.setenv("ORGBASE_RAILWAY_REDIS_URL", REDIS)
        assert eng.deploy().deployed == [STEP]
        assert {s.id: s.state for s in eng.status()}[STEP] == "applied"
        masked = conn.execute(
            "select connection_string_masked from platform.databases_safe order by 1"
        ).fetchall()
        assert masked == [
            ("mongodb://mongodb.railway.internal:27017",),
            ("redis://redis.railway.internal:6379",),
        ]
        rows = conn.execute(
            "select id, organization_id, connection_string_encrypted, encryption_key_id "
            "from platform.databases order by type"
        ).fetchall()
        keyring = keys.load_keyring(settings)
        assert [
            keyring.decrypt(blob, key_id=kid, row_id=rid, organization_id=org) for rid, org, blob, kid in rows
        ] == [MONGO, REDIS]
        assert eng.deploy().deployed == []  # idempotent: nothing more to do
        assert not [o for o in eng.verify() if o.error]
        eng.revert(STEP)
        assert conn.execute("select count(*) from platform.databases").fetchone() == (0,)


def seed_rows(db: Database, keyring: Keyring, n: int) -> None:
    with db.connect() as conn:
        org = conn.execute(
            "insert into platform.organizations (name, slug) values ('R', 'r') returning id"
        ).fetchone()[0]  # type: ignore[index]
        project = conn.execute(
            "insert into platform.projects (organization_id, name) values (%s, 'p') returning id", [org]
        ).fetchone()[0]  # type: ignore[index]
        for i in range(n):
            rid = uuid.uuid4()
            blob, kid = keyring.encrypt(f"redis://:pw{i}@h{i}:6379", row_id=rid, organization_id=org)
            conn.execute(
                "insert into platform.databases (id, organization_id, project_id, name, type, host, port, "
                "connection_string_encrypted, encryption_key_id) values (%s, %s, %s, %s, 'redis', %s, "
                "6379, %s, %s)",
                [rid, org, project, f"db{i}", f"h{i}", blob, kid],
            )


def test_rotate_reencrypts_every_row_in_batches(migrated_db: Database) -> None:
    old = Keyring([("k1", os.urandom(32))])
    seed_rows(migrated_db, old, 7)
    new = old.with_current("k2", os.urandom(32))
    seen: list[tuple[int, int]] = []
    with migrated_db.connect() as conn:
        result = rotation.rotate(
            conn, new, batch_size=3, progress=lambda done, total: seen.append((done, total))
        )
        assert result.rotated == 7 and result.usage == {"k2": 7} and result.remaining == 0
        assert seen == [(3, 7), (6, 7), (7, 7)]
        assert rotation.rotate(conn, new).rotated == 0  # resumable: done rows are skipped
        rows = conn.execute(
            "select id, organization_id, connection_string_encrypted, encryption_key_id "
            "from platform.databases order by name"
        ).fetchall()
    assert [new.decrypt(b, key_id=k, row_id=r, organization_id=o) for r, o, b, k in rows] == [
        f"redis://:pw{i}@h{i}:6379" for i in range(7)
    ]


def test_rotate_key_cli_adds_a_key_and_reencrypts(migrated_db: Database, tmp_path: Path) -> None:
    key_file = tmp_path / "encryption.keys"
    keys.ensure_key_file(key_file)
    first = keys.read_key_file(key_file)
    seed_rows(migrated_db, first, 3)
    env = migrated_db.env(ORGBASE_ENCRYPTION_KEY_FILE=str(key_file))
    proc = orgbase_cli("databases", "rotate-key", "--batch-size", "2", env=env, check=True)
    after = keys.read_key_file(key_file)
    assert len(after) == 2 and after.ids[1] == first.current_id
    assert f"3 connection string(s) re-encrypted to key {after.current_id}" in proc.stderr
    with migrated_db.connect() as conn:
        assert rotation.key_usage(conn) == {after.current_id: 3}
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
