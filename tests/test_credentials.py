"""Pure tests of credential encryption, the keyring's sources, and the Railway step's inputs (no database)."""

from __future__ import annotations

import base64
import json
import os
import pickle
import uuid
from pathlib import Path
from typing import Any, cast

import psycopg
import pytest
from pydantic import SecretStr

from orgbase.config import Settings
from orgbase.databases import keys
from orgbase.databases.crypto import NONCE_SIZE, CredentialsError, Keyring, associated_data
from orgbase.databases.endpoints import MONGODB, REDIS, Endpoint, parse_url
from orgbase.databases.registration import SKIPPED, configured_urls, register
from orgbase.errors import OrgbaseError

ROW, OTHER_ROW = uuid.uuid4(), uuid.uuid4()
ORG, OTHER_ORG = uuid.uuid4(), uuid.uuid4()
SECRET = "mongodb://admin:pa55w0rd@mongodb.railway.internal:27017/app"
KEY_A, KEY_B = bytes(range(32)), bytes(range(32, 64))
NO_DB = cast("psycopg.Connection[Any]", None)  # these paths must not reach the database


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


@pytest.fixture
def ring() -> Keyring:
    return Keyring([("new", KEY_B), ("old", KEY_A)])


def settings(tmp_path: Path, **extra: object) -> Settings:
    return Settings(home=tmp_path / "home", **extra)  # type: ignore[arg-type]


# -- crypto ---------------------------------------------------------------------------------------


def test_round_trip_uses_current_key(ring: Keyring) -> None:
    blob, kid = ring.encrypt(SECRET, row_id=ROW, organization_id=ORG)
    assert kid == "new" and len(blob) == NONCE_SIZE + len(SECRET) + 16
    assert SECRET.encode() not in blob
    assert ring.decrypt(blob, key_id=kid, row_id=ROW, organization_id=ORG) == SECRET
    assert ring.decrypt(memoryview(blob), key_id=kid, row_id=str(ROW), organization_id=str(ORG)) == SECRET


def test_nonce_is_fresh_each_time(ring: Keyring) -> None:
    first, _ = ring.encrypt(SECRET, row_id=ROW, organization_id=ORG)
    second, _ = ring.encrypt(SECRET, row_id=ROW, organization_id=ORG)
    assert first[:NONCE_SIZE] != second[:NONCE_SIZE]


def test_old_key_still_decrypts(ring: Keyring) -> None:
    blob, _ = Keyring([("old", KEY_A)]).encrypt(SECRET, row_id=ROW, organization_id=ORG)
    assert ring.decrypt(blob, key_id="old", row_id=ROW, organization_id=ORG) == SECRET


@pytest.mark.parametrize(
    ("row_id", "org_id", "key_id"),
    [(OTHER_ROW, ORG, "new"), (ROW, OTHER_ORG, "new"), (ROW, ORG, "old")],
    ids=["moved-to-another-row", "moved-to-another-org", "wrong-key-id"],
)
def test_wrong_context_fails(ring: Keyring, row_id: uuid.UUID, org_id: uuid.UUID, key_id: str) -> None:
    blob, _ = ring.encrypt(SECRET, row_id=ROW, organization_id=ORG)
    with pytest.raises(CredentialsError, match="altered, or copied") as caught:
        ring.decrypt(blob, key_id=key_id, row_id=row_id, organization_id=org_id)
    assert "pa55w0rd" not in str(caught.value)


@pytest.mark.parametrize("position", [0, NONCE_SIZE, -1], ids=["nonce", "ciphertext", "tag"])
def test_tampered_blob_fails(ring: Keyring, position: int) -> None:
    blob = bytearray(ring.encrypt(SECRET, row_id=ROW, organization_id=ORG)[0])
    blob[position] ^= 0x01
    with pytest.raises(CredentialsError):
        ring.decrypt(bytes(blob), key_id="new", row_id=ROW, organization_id=ORG)


def test_truncated_blob_fails(ring: Keyring) -> None:
    with pytest.raises(CredentialsError, match="truncated"):
        ring.decrypt(b"short", key_id="new", row_id=ROW, organization_id=ORG)


def test_unknown_key_id_is_a_domain_error(ring: Keyring) -> None:
    blob, _ = ring.encrypt(SECRET, row_id=ROW, organization_id=ORG)
    with pytest.raises(CredentialsError, match="unknown encryption key id 'gone'") as caught:
        ring.decrypt(blob, key_id="gone", row_id=ROW, organization_id=ORG)
    assert isinstance(caught.value, OrgbaseError)


def test_associated_data_binds_table_row_and_org() -> None:
    aad = associated_data(row_id=str(ROW).upper(), organization_id=ORG)
    assert aad == f"platform.databases\x00{ROW}\x00{ORG}".encode()
    with pytest.raises(CredentialsError, match="row id is not a UUID"):
        associated_data(row_id="nope", organization_id=ORG)


def test_repr_and_str_show_ids_only(ring: Keyring) -> None:
    for text in (repr(ring), str(ring), f"{ring}"):
        assert "new" in text and "old" in text
        for key in (KEY_A, KEY_B):
            assert b64(key) not in text and key.hex() not in text and repr(key) not in text


def test_keyring_is_immutable_and_unpicklable(ring: Keyring) -> None:
    with pytest.raises(AttributeError):
        ring._keys = {}
    with pytest.raises(TypeError):
        pickle.dumps(ring)
    rotated = ring.with_current("newer", bytes(32))
    assert rotated.ids == ("newer", "new", "old") and ring.ids == ("new", "old")


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ([], "at least one"),
        ([("a", b"short")], "32 bytes"),
        ([("a", KEY_A), ("a", KEY_B)], "twice"),
        ([("bad id", KEY_A)], "invalid"),
        ([("a=b", KEY_A)], "invalid"),
    ],
)
def test_bad_keyrings_refused(pairs: list[tuple[str, bytes]], message: str) -> None:
    with pytest.raises(CredentialsError, match=message):
        Keyring(pairs)


# -- keys from the environment --------------------------------------------------------------------


def test_env_keys_parse_in_order(tmp_path: Path) -> None:
    value = f"k2={b64(KEY_B)}, k1={b64(KEY_A)}"
    ring = keys.load_keyring(settings(tmp_path, encryption_keys=SecretStr(value)))
    assert ring.ids == ("k2", "k1") and ring.current_id == "k2"
    assert not (tmp_path / "home").exists()  # env keys never touch the key file


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "holds no key"),
        (" , ", "holds no key"),
        ("k1", "not kid=base64key"),
        ("=abc", "not kid=base64key"),
        ("k1=", "not kid=base64key"),
        ("k1=not*base64!", "not valid base64"),
        (f"k1={b64(bytes(16))}", "decodes to 16 bytes"),
        (f"k1={b64(KEY_A)},k1={b64(KEY_B)}", "twice"),
    ],
    ids=["empty", "only-separators", "no-equals", "no-id", "no-key", "bad-base64", "wrong-length", "dup"],
)
def test_bad_env_keys_refused_without_echoing(tmp_path: Path, value: str, message: str) -> None:
    with pytest.raises(CredentialsError, match=message) as caught:
        keys.load_keyring(settings(tmp_path, encryption_keys=SecretStr(value)))
    assert keys.ENV_NAME in str(caught.value)
    assert b64(KEY_A) not in str(caught.value) and "not*base64!" not in str(caught.value)


# -- the key file ---------------------------------------------------------------------------------


def test_key_file_generated_0600_and_loaded(tmp_path: Path) -> None:
    cfg = settings(tmp_path)
    path = keys.key_file_path(cfg)
    assert path == tmp_path / "home" / "encryption.keys"
    ring = keys.load_keyring(cfg, create=True)
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert keys.ensure_key_file(path) is False  # already there: left alone
    assert keys.load_keyring(cfg).ids == ring.ids and len(ring) == 1
    assert [p.name for p in path.parent.iterdir()] == ["encryption.keys"]  # no temp file left behind


def test_missing_key_file_is_not_created_unless_asked(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="does not exist"):
        keys.load_keyring(settings(tmp_path))
    assert not (tmp_path / "home").exists()


def test_key_file_setting_overrides_home(tmp_path: Path) -> None:
    cfg = settings(tmp_path, encryption_key_file=tmp_path / "elsewhere.keys")
    assert keys.key_file_path(cfg) == tmp_path / "elsewhere.keys"


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_readable_key_file_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "encryption.keys"
    keys.ensure_key_file(path)
    path.chmod(mode)
    with pytest.raises(CredentialsError, match=f"mode {mode:04o}.*chmod 600"):
        keys.read_key_file(path)


def test_key_file_comments_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "k.keys"
    path.write_text(f"# current first, then older\n\nb={b64(KEY_B)}  # rotated today\na={b64(KEY_A)}\n")
    path.chmod(0o600)
    assert keys.read_key_file(path).ids == ("b", "a")


def test_rotation_of_key_file_keeps_old_keys(tmp_path: Path) -> None:
    path = tmp_path / "encryption.keys"
    keys.ensure_key_file(path)
    before = keys.read_key_file(path)
    blob, kid = before.encrypt(SECRET, row_id=ROW, organization_id=ORG)
    first = keys.add_key(path)
    second = keys.add_key(path)
    after = keys.read_key_file(path)
    assert after.ids == (second, first, *before.ids)
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert after.decrypt(blob, key_id=kid, row_id=ROW, organization_id=ORG) == SECRET
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == ["encryption.keys"]


def test_new_key_ids_are_unique_and_valid() -> None:
    made = {keys.new_key_id() for _ in range(200)}
    assert len(made) > 190 and all(kid.startswith("k") for kid in made)
    Keyring([(kid, bytes(32)) for kid in list(made)[:5]])  # accepted as key ids


def test_format_entry_round_trips() -> None:
    assert keys.parse_keys(keys.format_entry("x1", KEY_A), source="t").ids == ("x1",)


# -- the Railway step's inputs ------------------------------------------------------------------


def test_parse_urls() -> None:
    assert parse_url(MONGODB, SECRET) == Endpoint("mongodb", "mongodb.railway.internal", 27017, "app", False)
    assert parse_url(MONGODB, "mongodb+srv://u:p@cluster.example.com/?tls=true").ssl is True
    assert parse_url(MONGODB, "mongodb://u:p@h/?ssl=false").port == 27017
    assert parse_url(REDIS, "rediss://default:x@redis.railway.internal:6380/1") == Endpoint(
        "redis", "redis.railway.internal", 6380, "1", True
    )
    assert parse_url(REDIS, "redis://h").masked() == "redis://h:6379"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://u:pw@h:1", "must start with"),
        ("mongodb://u:pw@h:99999", "not a valid URL"),
        ("mongodb://u:pw@h:0", "outside"),
        ("mongodb://u:pw@a:1,b:2", "several hosts"),
        ("mongodb://", "no host"),
        ("mongodb://u:pw@h:abc", "not a valid URL"),
    ],
)
def test_bad_urls_refused_without_echoing(url: str, message: str) -> None:
    with pytest.raises(CredentialsError, match=message) as caught:
        parse_url(MONGODB, url)
    assert "pw" not in str(caught.value) and MONGODB.env in str(caught.value)


def test_nothing_configured_is_skipped(tmp_path: Path) -> None:
    assert configured_urls({}) == {}
    assert register(NO_DB, settings=settings(tmp_path), environ={MONGODB.env: " "}) == SKIPPED


def test_half_configured_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="ORGBASE_RAILWAY_REDIS_URL not configured"):
        register(NO_DB, settings=settings(tmp_path), environ={MONGODB.env: SECRET})


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_credentials_file(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"railway{suffix}"
    urls = {"mongodb_url": SECRET, "redis_url": "redis://default:x@redis.railway.internal:6379"}
    path.write_text(
        json.dumps(urls) if suffix == ".json" else "".join(f'{k} = "{v}"\n' for k, v in urls.items())
    )
    path.chmod(0o600)
    assert configured_urls({"ORGBASE_RAILWAY_DATABASES_FILE": str(path)}) == {
        "mongodb": SECRET,
        "redis": urls["redis_url"],
    }
    path.chmod(0o644)
    with pytest.raises(CredentialsError, match="chmod 600"):
        configured_urls({"ORGBASE_RAILWAY_DATABASES_FILE": str(path)})


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("r.toml", 'mongo_url = "x"', "unknown key"),
        ("r.json", '{"redis_url": 3}', "non-empty string"),
        ("r.json", '{"redis_url": "redis://:pw@h"', "not valid JSON"),
        ("r.yaml", "a: b", ".toml or .json"),
        ("r.toml", 'redis_url = "redis://:pw@h', "not valid TOML"),
    ],
)
def test_bad_credentials_file(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    path.chmod(0o600)
    with pytest.raises(CredentialsError, match=message) as caught:
        configured_urls({"ORGBASE_RAILWAY_DATABASES_FILE": str(path)})
    assert ":pw@" not in str(caught.value)


def test_variable_and_file_conflict(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_text(f'mongodb_url = "{SECRET}"\n')
    path.chmod(0o600)
    with pytest.raises(CredentialsError, match="both set"):
        configured_urls({"ORGBASE_RAILWAY_DATABASES_FILE": str(path), MONGODB.env: SECRET})
