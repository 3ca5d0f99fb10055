"""Registered databases: roles, masking, encryption, the audited reveal, real connection tests, SSRF guard."""

from __future__ import annotations

import base64
import logging
import socket
import time
import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from orgbase.api.app import create_app
from orgbase.databases.probe import refusal
from tests.fixtures.api import Api, User, api_settings
from tests.fixtures.cluster import Database
from tests.fixtures.redis import RedisServer
from tests.test_api_auth import problem

pytestmark = pytest.mark.db

SECRET = "pa55-W0rd_never-shown"
REDIS_URL = f"redis://default:{SECRET}@cache.example.com:6380/2"

# role: may it read, create, update, delete, reveal (docs/schema.md's matrix).
MATRIX = {
    "owner": (True, True, True, True, True),
    "admin": (True, True, True, True, True),
    "developer": (True, True, True, True, False),
    "read_only": (True, False, False, False, False),
    "billing_admin": (False, False, False, False, False),
}


def in_project(org: str, project: str) -> str:
    return f"/api/organizations/{org}/projects/{project}/databases"


def at(org: str, db: str, action: str = "") -> str:
    return f"/api/organizations/{org}/databases/{db}" + (f"/{action}" if action else "")


class World:
    """An organization on the team plan with one project, its owner, and a helper to register databases."""

    def __init__(self, api: Api) -> None:
        self.api, self.c = api, api.client
        self.owner = api.user("owner")
        self.org = api.org(self.owner)
        with api.db.connect() as conn:
            conn.execute(
                "update platform.subscriptions set plan_id = 'team' where organization_id = %s", [self.org]
            )
        made = self.c.post(
            f"/api/organizations/{self.org}/projects", json={"name": "P"}, headers=self.owner.headers
        )
        assert made.status_code == 201, made.text
        self.project = str(made.json()["id"])

    def member(self, role: str) -> User:
        user = self.api.user(role)
        self.api.add_member(self.org, user, role)
        return user

    def register(self, url: str, kind: str, name: str | None = None, user: User | None = None) -> dict:  # type: ignore[type-arg]
        body = {"name": name or f"db-{uuid.uuid4().hex[:6]}", "type": kind, "connection_string": url}
        made = self.c.post(
            in_project(self.org, self.project), json=body, headers=(user or self.owner).headers
        )
        assert made.status_code == 201, made.text
        clean(made)
        return made.json()  # type: ignore[no-any-return]

    def stored(self, db: str) -> tuple[bytes, str, str, str]:
        """(ciphertext, key id, health status, health error or '') as the service role sees the row."""
        with self.api.db.connect() as conn:
            row = conn.execute(
                "select connection_string_encrypted, encryption_key_id, health_check_status, "
                "coalesce(health_check_error, '') from platform.databases where id = %s",
                [db],
            ).fetchone()
        assert row is not None
        return bytes(row[0]), row[1], row[2], row[3]

    def decrypt(self, db: str) -> str:
        blob, key_id, *_ = self.stored(db)
        keyring = self.c.app.state.keyring  # type: ignore[attr-defined]
        return str(keyring.decrypt(blob, key_id=key_id, row_id=db, organization_id=self.org))

    def actions(self) -> list[str]:
        with self.api.db.connect() as conn:
            rows = conn.execute(
                "select action from platform.audit_logs where organization_id = %s order by created_at, id",
                [self.org],
            ).fetchall()
        return [r[0] for r in rows]


def clean(resp: httpx.Response, *secrets: str) -> None:
    """No password and no credential field in a response that is not the reveal."""
    for secret in (SECRET, *secrets):
        assert secret not in resp.text
    assert '"connection_string":' not in resp.text and "encrypted" not in resp.text


@pytest.fixture
def world(api: Api) -> World:
    return World(api)


def test_register_parses_encrypts_and_masks(world: World) -> None:
    made = world.register(REDIS_URL, "redis", "Cache")
    assert made["connection_string_masked"] == "redis://cache.example.com:6380"
    assert (made["host"], made["port"], made["database"], made["ssl_enabled"]) == (
        "cache.example.com",
        6380,
        "2",
        False,
    )
    assert made["health_check_status"] == "unknown" and made["organization_id"] == world.org
    blob, key_id, *_ = world.stored(made["id"])
    assert key_id == "ktest" and SECRET.encode() not in blob and world.decrypt(made["id"]) == REDIS_URL
    responses = [
        world.c.get(at(world.org, made["id"]), headers=world.owner.headers),
        world.c.get(in_project(world.org, world.project), headers=world.owner.headers),
        world.c.get(f"/api/organizations/{world.org}/databases?type=redis", headers=world.owner.headers),
    ]
    for resp in responses:
        assert resp.status_code == 200, resp.text
        clean(resp, blob.hex(), base64.b64encode(blob).decode())
    assert [d["name"] for d in responses[1].json()] == ["Cache"]
    assert (
        world.c.get(
            f"/api/organizations/{world.org}/databases?type=mongodb", headers=world.owner.headers
        ).json()
        == []
    )
    tls = world.register("mongodb+srv://u:p@cluster0.example.net/app", "mongodb")
    assert (tls["port"], tls["ssl_enabled"], tls["database"]) == (27017, True, "app")
    pg = world.register("postgres://u:p@pg.example.com/app?sslmode=require", "postgresql")
    assert (pg["connection_string_masked"], pg["ssl_enabled"]) == ("postgresql://pg.example.com:5432", True)
    assert world.actions()[-3:] == ["database.create"] * 3


@pytest.mark.parametrize("role", list(MATRIX))
def test_roles(world: World, role: str) -> None:
    read, create, update, delete, _ = MATRIX[role]
    user, c = world.member(role), world.c
    db = world.register(REDIS_URL, "redis", "Target")["id"]
    listed = c.get(in_project(world.org, world.project), headers=user.headers)
    got = c.get(at(world.org, db), headers=user.headers)
    if read:
        assert listed.status_code == 200 and [d["id"] for d in listed.json()] == [db]
        assert got.status_code == 200 and got.json()["name"] == "Target"
    else:
        problem(listed, 403, "role_forbids")
        problem(got, 403, "role_forbids")
    body = {"name": "Mine", "type": "redis", "connection_string": REDIS_URL}
    made = c.post(in_project(world.org, world.project), json=body, headers=user.headers)
    assert made.status_code == 201 if create else problem(made, 403, "role_forbids")
    renamed = c.patch(at(world.org, db), json={"name": "Renamed"}, headers=user.headers)
    assert (
        renamed.status_code == 200 and renamed.json()["name"] == "Renamed"
        if update
        else problem(renamed, 403)
    )
    gone = c.delete(at(world.org, db), headers=user.headers)
    assert gone.status_code == 204 if delete else problem(gone, 403, "role_forbids")
    for resp in (listed, got, made, renamed, gone):
        clean(resp)
    with world.api.db.connect() as conn:
        left = conn.execute("select count(*) from platform.databases where id = %s", [db]).fetchone()
    assert left == (0 if delete else 1,)


def test_update_reencrypts_and_resets_health(world: World) -> None:
    dev, c = world.member("developer"), world.c
    db = world.register(REDIS_URL, "redis")["id"]
    c.put(at(world.org, db, "health"), json={"status": "unhealthy", "error": "down"}, headers=dev.headers)
    before, _, _, _ = world.stored(db)
    new_url = "rediss://:an0ther-Secret@cache2.example.com/0"
    changed = c.patch(
        at(world.org, db),
        json={"connection_string": new_url, "metadata": {"env": "prod"}},
        headers=dev.headers,
    )
    assert changed.status_code == 200, changed.text
    clean(changed, "an0ther-Secret")
    body = changed.json()
    assert (
        body["connection_string_masked"] == "redis://cache2.example.com:6379" and body["ssl_enabled"] is True
    )
    assert body["health_check_status"] == "unknown" and body["metadata"] == {"env": "prod"}
    after, _, health, _ = world.stored(db)
    assert after != before and health == "unknown" and world.decrypt(db) == new_url
    problem(c.patch(at(world.org, db), json={"ssl": True}, headers=dev.headers), 422)
    problem(
        c.patch(at(world.org, db), json={"connection_string": "postgresql://u:p@h/db"}, headers=dev.headers),
        422,
    )
    problem(c.patch(at(world.org, db), json={"name": None}, headers=dev.headers), 422, "validation_failed")
    problem(
        c.patch(at(world.org, db), json={"type": "mongodb"}, headers=dev.headers), 422, "validation_failed"
    )
    assert world.decrypt(db) == new_url
    log = world.actions()
    assert log[-2:] == ["database.health_update", "database.update"]


def test_health_update(world: World) -> None:
    dev, ro, c = world.member("developer"), world.member("read_only"), world.c
    db = world.register(REDIS_URL, "redis")["id"]
    bad = c.put(
        at(world.org, db, "health"), json={"status": "unhealthy", "error": "timeout"}, headers=dev.headers
    )
    assert bad.status_code == 200 and bad.json()["health_check_error"] == "timeout"
    assert bad.json()["last_health_check_at"] is not None
    good = c.put(
        at(world.org, db, "health"), json={"status": "healthy", "error": "ignored"}, headers=dev.headers
    )
    assert good.json()["health_check_status"] == "healthy" and good.json()["health_check_error"] is None
    problem(c.put(at(world.org, db, "health"), json={"status": "healthy"}, headers=ro.headers), 403)
    problem(c.put(at(world.org, db, "health"), json={"status": "fine"}, headers=dev.headers), 422)
    problem(
        c.put(at(world.org, str(uuid.uuid4()), "health"), json={"status": "healthy"}, headers=dev.headers),
        404,
    )


def test_reveal_owner_admin_only_and_every_attempt_audited(api: Api, world: World) -> None:
    c = world.c
    admin, dev, ro = world.member("admin"), world.member("developer"), world.member("read_only")
    db = world.register(REDIS_URL, "redis")["id"]
    for user in (world.owner, admin):
        shown = c.post(at(world.org, db, "reveal"), headers=user.headers)
        assert shown.status_code == 200 and shown.json() == {"id": db, "connection_string": REDIS_URL}
        assert shown.headers["cache-control"] == "no-store"
    for user in (dev, ro):
        denied = problem(c.post(at(world.org, db, "reveal"), headers=user.headers), 403, "role_forbids")
        assert SECRET not in str(denied)
    stranger = api.user("eve")
    nothing = problem(c.post(at(world.org, db, "reveal"), headers=stranger.headers), 404)
    unknown = problem(c.post(at(world.org, str(uuid.uuid4()), "reveal"), headers=stranger.headers), 404)
    assert nothing["code"] == unknown["code"] and nothing["title"] == unknown["title"]
    problem(c.post(at(world.org, str(uuid.uuid4()), "reveal"), headers=world.owner.headers), 404)
    with api.db.connect() as conn:
        rows = conn.execute(
            "select action, actor_id::text, changes::text from platform.audit_logs where organization_id = %s"
            " and target_id = %s and action like 'database.reveal%%' order by created_at",
            [world.org, db],
        ).fetchall()
    assert [(a, who) for a, who, _ in rows] == [
        ("database.reveal_credentials", world.owner.id),
        ("database.reveal_credentials", admin.id),
        ("database.reveal_credentials_denied", dev.id),
        ("database.reveal_credentials_denied", ro.id),
    ]
    assert all(SECRET not in changes for _, _, changes in rows)
    # The stranger's two attempts (a real database, an unknown id: the same 404) are platform events for the
    # operators, not rows of the organization's log; the owner's unknown id is no refusal and records nothing.
    with api.db.connect() as conn:
        platform = conn.execute(
            "select actor_id::text, target_id, changes->>'organization_id', changes->>'reason'"
            " from platform.audit_logs where organization_id is null"
            " and action = 'database.reveal_credentials_denied' order by created_at",
        ).fetchall()
    attempt = (stranger.id, world.org, "not_a_member")
    assert [(who, org, why) for who, _, org, why in platform] == [attempt, attempt]
    assert platform[0][1] == db


def test_connection_to_real_redis(world: World, redis_server: RedisServer) -> None:
    c, admin, dev = world.c, world.member("admin"), world.member("developer")
    good = world.register(redis_server.url, "redis", "good")["id"]
    checked = c.post(at(world.org, good, "test"), headers=admin.headers)
    assert checked.status_code == 200, checked.text
    assert checked.json()["status"] == "healthy" and checked.json()["error"] is None
    assert world.stored(good)[2] == "healthy"
    wrong_pw = "Wr0ng-" + redis_server.password[:8]
    wrong = world.register(redis_server.url.replace(redis_server.password, wrong_pw), "redis", "wrong")["id"]
    failed = c.post(at(world.org, wrong, "test"), headers=world.owner.headers)
    assert failed.status_code == 200 and failed.json()["status"] == "unhealthy"
    error = failed.json()["error"]
    assert error and "AuthenticationError" in error, error
    for text in (failed.text, world.stored(wrong)[3]):
        assert wrong_pw not in text and redis_server.password not in text
    assert world.stored(wrong)[2:] == ("unhealthy", error)
    problem(c.post(at(world.org, good, "test"), headers=dev.headers), 403, "role_forbids")
    assert world.actions().count("database.test_connection") == 2


def test_connection_to_the_test_postgresql(api: Api, world: World) -> None:
    parts = urlsplit(api.db.app_url)
    port = parse_qs(parts.query)["port"][0]
    url = f"postgresql://{parts.username}:{parts.password}@127.0.0.1:{port}{parts.path}"
    db = world.register(url, "postgresql")["id"]
    checked = world.c.post(at(world.org, db, "test"), headers=world.owner.headers)
    assert checked.status_code == 200 and checked.json()["status"] == "healthy", checked.text
    bad = world.register(url.replace(f":{parts.password}@", ":nope-Secret@"), "postgresql")["id"]
    failed = world.c.post(at(world.org, bad, "test"), headers=world.owner.headers).json()
    assert failed["status"] == "unhealthy" and "password authentication failed" in failed["error"]
    assert "nope-Secret" not in failed["error"]


def test_connection_to_mongodb_nothing_listening(world: World) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    db = world.register(f"mongodb://app:{SECRET}@127.0.0.1:{port}/app", "mongodb")["id"]
    started = time.monotonic()
    checked = world.c.post(at(world.org, db, "test"), headers=world.owner.headers)
    assert time.monotonic() - started < 10
    assert checked.status_code == 200 and checked.json()["status"] == "unhealthy", checked.text
    assert checked.json()["error"] and SECRET not in checked.text
    assert world.stored(db)[2] == "unhealthy" and SECRET not in world.stored(db)[3]


@pytest.fixture
def strict_client(api: Api) -> Iterator[TestClient]:
    """The same database and keys, but private targets refused (production's default)."""
    settings = api.client.app.state.settings.model_copy(update={"allow_private_targets": False})  # type: ignore[attr-defined]
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",
        "[::1]",
        "[fe80::1]",
        "[fd00::1]",
        "224.0.0.1",
        "[::ffff:10.0.0.1]",
        "100.64.0.1",
    ],
)
def test_ssrf_guard_refuses_internal_targets(world: World, strict_client: TestClient, host: str) -> None:
    db = world.register(f"redis://:{SECRET}@{host}:6379/0", "redis")["id"]
    refused = problem(
        strict_client.post(at(world.org, db, "test"), headers=world.owner.headers), 422, "target_not_allowed"
    )
    assert SECRET not in str(refused)
    assert world.stored(db)[2] == "unknown"  # nothing was attempted, nothing recorded


def test_refusal_classifies_addresses() -> None:
    assert refusal("8.8.8.8") is None and refusal("2606:4700:4700::1111") is None
    assert refusal("127.0.0.2") == "loopback" and refusal("::1") == "loopback"
    assert refusal("169.254.169.254") == "link-local" and refusal("fe80::1%eth0") == "link-local"
    assert refusal("10.0.0.1") == "private" and refusal("fc00::1") == "private"
    assert refusal("::ffff:192.168.0.1") == "private" and refusal("0.0.0.0") == "unspecified"
    assert refusal("ff02::1") == "multicast" and refusal("100.64.0.1") == "non-public"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"type": "mysql", "connection_string": "mysql://u:p@h/db"}, "validation_failed"),
        ({"type": "redis", "connection_string": "not a url"}, "validation_failed"),
        ({"type": "redis", "connection_string": "cache.example.com:6379"}, "invalid_connection_string"),
        ({"type": "redis", "connection_string": f"redis://:{SECRET}@h:70000/0"}, "invalid_connection_string"),
        ({"type": "redis", "connection_string": f"redis://:{SECRET}@h:0/0"}, "invalid_connection_string"),
        ({"type": "redis", "connection_string": f"redis://:{SECRET}@/0"}, "invalid_connection_string"),
        ({"type": "redis", "connection_string": f"redis://:{SECRET}@h/abc"}, "invalid_connection_string"),
        (
            {"type": "redis", "connection_string": f"postgresql://u:{SECRET}@h/db"},
            "invalid_connection_string",
        ),
        ({"type": "mongodb", "connection_string": f"redis://:{SECRET}@h/0"}, "invalid_connection_string"),
        (
            {"type": "postgresql", "connection_string": f"postgresql://u:{SECRET}@a,b/db"},
            "invalid_connection_string",
        ),
        (
            {"type": "redis", "connection_string": f"rediss://:{SECRET}@h/0", "ssl": False},
            "invalid_connection_string",
        ),
        ({"type": "redis", "connection_string": f"redis://:{SECRET}@h/0", "owner": "x"}, "validation_failed"),
        ({"type": "redis", "connection_string": f"redis://:{SECRET}@h/0", "config": []}, "validation_failed"),
    ],
)
def test_bad_inputs(world: World, body: dict, code: str) -> None:  # type: ignore[type-arg]
    resp = world.c.post(
        in_project(world.org, world.project), json={"name": "x", **body}, headers=world.owner.headers
    )
    problem(resp, 422, code)
    clean(resp)


def test_names_quotas_and_metacharacters(world: World) -> None:
    name = "x'); drop table platform.databases;--"
    assert world.register(REDIS_URL, "redis", name)["name"] == name
    dup = {"name": name, "type": "redis", "connection_string": REDIS_URL}
    problem(
        world.c.post(in_project(world.org, world.project), json=dup, headers=world.owner.headers),
        409,
        "duplicate",
    )
    with world.api.db.connect() as conn:
        conn.execute(
            "update platform.subscriptions set plan_id = 'free' where organization_id = %s", [world.org]
        )
    world.register(REDIS_URL, "redis")
    more = {"name": "third", "type": "redis", "connection_string": REDIS_URL}
    problem(
        world.c.post(in_project(world.org, world.project), json=more, headers=world.owner.headers),
        409,
        "plan_limit_exceeded",
    )


def test_a_strangers_reveal_answers_404_even_when_it_cannot_be_audited(
    migrated_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """A pool of one: the request holds the only connection, so the record apart cannot get one. It waits a
    bounded time (a stranger must not be able to starve the pool), logs the attempt and keeps the 404."""
    settings = api_settings(migrated_db, pool_min_size=1, pool_max_size=1)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        api = Api(client, migrated_db)
        ada, eve = api.user("ada"), api.user("eve")
        org = api.org(ada)
        with caplog.at_level(logging.WARNING, logger="orgbase.databases"):
            started = time.monotonic()
            resp = client.post(at(org, str(uuid.uuid4()), "reveal"), headers=eve.headers)
            waited = time.monotonic() - started
        problem(resp, 404)
        assert "not audited: PoolTimeout" in caplog.text and waited < 4, (waited, caplog.text)
        assert eve.token not in caplog.text


def test_other_organizations_ids_are_404_and_nothing_changes(api: Api, world: World) -> None:
    c, db = world.c, world.register(REDIS_URL, "redis", "Theirs")["id"]
    other = World(api)
    mine = other.register(REDIS_URL, "redis", "Mine")["id"]
    h = other.owner.headers
    for resp in (
        c.get(at(other.org, db), headers=h),
        c.patch(at(other.org, db), json={"name": "Pwned"}, headers=h),
        c.delete(at(other.org, db), headers=h),
        c.post(at(other.org, db, "test"), headers=h),
        c.post(at(other.org, db, "reveal"), headers=h),
        c.put(at(other.org, db, "health"), json={"status": "unhealthy"}, headers=h),
        c.get(in_project(other.org, world.project), headers=h),
        c.post(
            in_project(other.org, world.project),
            json={"name": "x", "type": "redis", "connection_string": REDIS_URL},
            headers=h,
        ),
        c.get(at(world.org, db), headers=h),  # a stranger to the organization of the path
        c.get(at(world.org, mine), headers=world.owner.headers),
        c.get(at(world.org, "not-a-uuid"), headers=world.owner.headers),
    ):
        problem(resp, 422 if "not-a-uuid" in str(resp.request.url) else 404)
        clean(resp)
    got = c.get(at(world.org, db), headers=world.owner.headers).json()
    assert got["name"] == "Theirs" and got["health_check_status"] == "unknown"
    assert world.decrypt(db) == REDIS_URL
    assert "database.reveal_credentials_denied" not in other.actions() + world.actions()
