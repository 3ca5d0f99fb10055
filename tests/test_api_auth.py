"""``/api/auth`` against the real app, pool and database: sessions, limits, validate, active organization."""

from __future__ import annotations

import uuid

import pytest

from tests.fixtures.api import Api

pytestmark = pytest.mark.db


def problem(resp, status: int, code: str | None = None) -> dict:  # type: ignore[no-untyped-def, type-arg]
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["status"] == status and body["request_id"] == resp.headers["x-request-id"]
    assert "Traceback" not in resp.text
    if code:
        assert body["code"] == code, body
    return body  # type: ignore[no-any-return]


def test_signup_validates_and_refuses_duplicates(api: Api) -> None:
    c = api.client
    ok = c.post("/api/auth/signup", json={"email": "Ada@Example.com", "password": "long enough pw"})
    assert ok.status_code == 201
    problem(
        c.post("/api/auth/signup", json={"email": "ada@example.COM", "password": "another pw!"}),
        409,
        "duplicate",
    )
    body = problem(
        c.post("/api/auth/signup", json={"email": "nope", "password": "short"}), 422, "validation_failed"
    )
    assert {e["field"] for e in body["errors"]} == {"email", "password"}
    body = problem(
        c.post("/api/auth/signup", json={"email": "x@y.io", "password": "long enough", "is_admin": True}), 422
    )
    assert body["errors"][0]["field"] == "is_admin"
    problem(
        c.post("/api/auth/signup", content=b"x" * 70_000, headers={"content-type": "application/json"}),
        413,
        "payload_too_large",
    )


def test_sql_metacharacters_are_stored_verbatim(api: Api) -> None:
    name = "Robert'); DROP TABLE platform.users;--"
    made = api.client.post(
        "/api/auth/signup", json={"email": "bobby@example.com", "password": "long enough", "first_name": name}
    )
    assert made.status_code == 201
    token = api.client.post(
        "/api/auth/signin", json={"email": "bobby@example.com", "password": "long enough"}
    )
    me = api.client.get("/api/auth/validate", headers={"Authorization": f"Bearer {token.json()['token']}"})
    assert me.json()["user"]["firstName"] == name


def test_signin_signout_refresh_and_forged_tokens(api: Api) -> None:
    user = api.user("ada")
    c = api.client
    me = c.get("/api/auth/validate", headers=user.headers)
    assert me.status_code == 200 and me.json()["user"]["email"] == user.email
    assert me.json()["user"]["activeOrgId"] is None and me.json()["organizations"] == []
    problem(c.get("/api/auth/validate"), 401, "unauthenticated")
    problem(c.get("/api/auth/validate", headers={"Authorization": "Bearer forged-token"}), 401)
    problem(c.get("/api/auth/validate", headers={"Authorization": "Basic abc"}), 401)

    rotated = c.post("/api/auth/refresh", headers=user.headers)
    assert rotated.status_code == 200
    new = {"Authorization": f"Bearer {rotated.json()['token']}"}
    problem(c.get("/api/auth/validate", headers=user.headers), 401)  # the old token stopped working
    assert c.get("/api/auth/validate", headers=new).status_code == 200

    assert c.post("/api/auth/signout", headers=new).status_code == 204
    problem(c.get("/api/auth/validate", headers=new), 401)


def test_expired_and_banned_sessions_are_refused(api: Api) -> None:
    user, other = api.user("ada"), api.user("bob")
    with api.db.connect() as conn:
        conn.execute(
            # Every SET expression reads the old row: creation two hours back, expiry one hour back.
            "update platform.user_sessions set created_at = now() - interval '2 hours', "
            "expires_at = now() - interval '1 hour' where user_id = %s",
            [user.id],
        )
        conn.execute(
            "update platform.users set banned_until = now() + interval '1 day' where id = %s", [other.id]
        )
    problem(api.client.get("/api/auth/validate", headers=user.headers), 401)
    problem(api.client.get("/api/auth/validate", headers=other.headers), 401)
    problem(
        api.client.post("/api/auth/signin", json={"email": other.email, "password": "correct horse battery"}),
        401,
        "wrong_credentials",
    )


def test_failed_signins_are_counted_and_limited(api: Api) -> None:
    user = api.user("ada")
    c = api.client
    wrong = {"email": user.email, "password": "not the password"}
    unknown = problem(
        c.post("/api/auth/signin", json={"email": "ghost@example.com", "password": "whatever!"}), 401
    )
    for _ in range(4):
        body = problem(c.post("/api/auth/signin", json=wrong), 401, "wrong_credentials")
    assert body["title"] == unknown["title"]  # an unknown account is indistinguishable
    problem(c.post("/api/auth/signin", json=wrong), 401)
    right = {"email": user.email, "password": "correct horse battery"}
    problem(c.post("/api/auth/signin", json=right), 429, "rate_limited")  # the limit holds even for the owner
    with api.db.connect() as conn:
        failures = conn.execute(
            "select sum(failures) from platform.sign_in_attempts where subject like 'email:%%' "
            "and subject = %s",
            ["email:" + user.email.lower()],
        ).fetchone()
        audited = conn.execute(
            "select count(*) from platform.audit_logs where action = 'auth.sign_in_failed'"
        ).fetchone()
    assert failures == (5,) and audited == (6,)


def test_set_active_org_has_no_existence_oracle(api: Api) -> None:
    ada, bob = api.user("ada"), api.user("bob")
    mine, theirs = api.org(ada), api.org(bob)
    c = api.client
    assert (
        c.post("/api/auth/set-active-org", json={"organizationId": theirs}, headers=ada.headers).status_code
        == 403
    )
    denied = problem(
        c.post("/api/auth/set-active-org", json={"organizationId": theirs}, headers=ada.headers), 403
    )
    unknown = problem(
        c.post("/api/auth/set-active-org", json={"organizationId": str(uuid.uuid4())}, headers=ada.headers),
        403,
    )
    assert {k: v for k, v in denied.items() if k != "request_id"} == {
        k: v for k, v in unknown.items() if k != "request_id"
    }
    second = api.org(ada)
    assert (
        c.post("/api/auth/set-active-org", json={"organizationId": second}, headers=ada.headers).status_code
        == 204
    )
    me = c.get("/api/auth/validate", headers=ada.headers).json()
    assert me["user"]["activeOrgId"] == second
    assert sorted(o["id"] for o in me["organizations"]) == sorted([mine, second])
    assert {o["role"] for o in me["organizations"]} == {"owner"}
    with api.db.connect() as conn:
        actions = [
            r[0]
            for r in conn.execute(
                "select action from platform.audit_logs where actor_id = %s order by created_at, action",
                [ada.id],
            )
        ]
    assert actions.count("user.set_active_org_denied") == 3 and actions.count("user.set_active_org") == 1
