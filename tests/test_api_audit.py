"""``GET /api/organizations/{org_id}/audit``: owner and admin only, filters, keyset pages, one org."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from psycopg.types.json import Jsonb

from tests.fixtures.api import Api, User
from tests.test_api_auth import problem

pytestmark = pytest.mark.db

ROLES = ("owner", "admin", "billing_admin", "developer", "read_only")


def team(api: Api) -> tuple[str, dict[str, User]]:
    """An organization with one member of every role."""
    users = {role: api.user(role) for role in ROLES}
    org = api.org(users["owner"])
    for role in ROLES[1:]:
        api.add_member(org, users[role], role)
    return org, users


def seed(api: Api, org: str, entries: list[tuple[str, str | None, str | None, str | None, str]]) -> None:
    """Write (action, actor, target_type, target_id, created_at) records directly, as the service role."""
    with api.db.connect() as conn:
        for action, actor, target_type, target_id, at in entries:
            conn.execute(
                "insert into platform.audit_logs (organization_id, actor_id, action, target_type, target_id,"
                " changes, created_at) values (%s, %s, %s, %s, %s, %s, %s)",
                [org, actor, action, target_type, target_id, Jsonb({"n": len(action)}), at],
            )


def walk(api: Api, org: str, user: User, **params: Any) -> list[dict[str, Any]]:
    """Every record the filters keep, page by page."""
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        page = api.client.get(f"/api/organizations/{org}/audit", params=query, headers=user.headers)
        assert page.status_code == 200, page.text
        seen += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return seen


def test_only_owner_and_admin_read_the_log(api: Api) -> None:
    org, users = team(api)
    url = f"/api/organizations/{org}/audit"
    for role, user in users.items():
        got = api.client.get(url, headers=user.headers)
        if role in ("owner", "admin"):
            assert got.status_code == 200, role
            assert [e["action"] for e in got.json()["items"]] == ["organization.create"]
        else:
            problem(got, 403, "role_forbids")
    stranger = api.user("stranger")
    problem(api.client.get(url, headers=stranger.headers), 404, "not_found")
    problem(api.client.get(f"/api/organizations/{uuid.uuid4()}/audit", headers=stranger.headers), 404)
    problem(api.client.get(url), 401)


def test_pages_cover_everything_once_newest_first(api: Api) -> None:
    owner = api.user("owner")
    org = api.org(owner)
    # 31 records, many sharing a timestamp (one transaction's records all do): the id breaks the ties.
    seed(
        api,
        org,
        [
            (f"project.step_{n}", owner.id, "project", str(n), f"2024-05-0{1 + n % 3}T12:00:00Z")
            for n in range(31)
        ],
    )
    seen = walk(api, org, owner, limit=4)
    assert len(seen) == 32 and len({e["id"] for e in seen}) == 32
    keys = [(e["created_at"], e["id"]) for e in seen]
    assert keys == sorted(keys, reverse=True)
    assert seen[0]["action"] == "organization.create"  # written now, after 2024
    assert [e["id"] for e in walk(api, org, owner, limit=200)] == [e["id"] for e in seen]
    first = api.client.get(f"/api/organizations/{org}/audit", headers=owner.headers).json()
    assert len(first["items"]) == 32 and first["next_cursor"] is None  # default limit 50


def test_filters(api: Api) -> None:
    org, users = team(api)
    ada, bob = users["owner"].id, users["admin"].id
    seed(
        api,
        org,
        [
            ("project.create", ada, "project", "p1", "2024-01-01T00:00:00Z"),
            ("project.update", bob, "project", "p1", "2024-02-01T00:00:00Z"),
            ("project", ada, None, None, "2024-03-01T00:00:00Z"),
            ("payment_method.add", bob, "payment_method", "m1", "2024-04-01T00:00:00Z"),
            ("paymentxmethod.add", bob, "payment_method", "m2", "2024-05-01T00:00:00Z"),
            ("database.reveal_credentials", ada, "database", "d1", "2024-06-01T00:00:00+02:00"),
        ],
    )

    def actions(**params: Any) -> list[str]:
        return [e["action"] for e in walk(api, org, users["admin"], limit=2, **params)]

    assert actions(action="project.") == ["project.update", "project.create"]
    assert actions(action="project") == ["project"]
    assert actions(action="payment_method.") == ["payment_method.add"]  # "_" is no wildcard
    assert actions(actor_id=bob) == ["paymentxmethod.add", "payment_method.add", "project.update"]
    assert actions(target_type="project", target_id="p1") == ["project.update", "project.create"]
    assert actions(target_id="nope") == []
    assert actions(since="2024-02-01T00:00:00Z", until="2024-04-01T00:00:00Z") == [
        "project",
        "project.update",
    ]
    assert actions(since="2024-05-31T23:00:00+01:00", until="2024-06-01T00:00:00+01:00") == [
        "database.reveal_credentials"
    ]
    assert actions(actor_id=ada, action="database.", since="2024-01-01T00:00:00Z") == [
        "database.reveal_credentials"
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "not a cursor"},
        {"cursor": base64.urlsafe_b64encode(b"[1,2]").decode()},
        {
            "cursor": base64.urlsafe_b64encode(
                json.dumps(["2024-01-01T00:00:00", str(uuid.uuid4())]).encode()
            ).decode()
        },
        {"cursor": base64.urlsafe_b64encode(json.dumps(["2024-01-01T00:00:00Z", "x"]).encode()).decode()},
        {"cursor": "x" * 600},
        {"limit": 0},
        {"limit": 201},
        {"limit": "ten"},
        {"action": "Project.create"},
        {"action": "project.%"},
        {"action": "project..create"},
        {"actor_id": "not-a-uuid"},
        {"target_type": "Project"},
        {"target_id": "x" * 201},
        {"since": "yesterday"},
        {"since": "2024-01-01T00:00:00"},  # no zone: ambiguous
        {"until": "2024-13-01T00:00:00Z"},
    ],
)
def test_bad_inputs_are_422(api: Api, params: dict[str, Any]) -> None:
    owner = api.user("owner")
    org = api.org(owner)
    problem(api.client.get(f"/api/organizations/{org}/audit", params=params, headers=owner.headers), 422)


def test_a_log_never_shows_another_organizations_rows(api: Api) -> None:
    ada, eve = api.user("ada"), api.user("eve")
    mine, theirs = api.org(ada), api.org(eve)
    seed(api, theirs, [("secret.thing", eve.id, "project", "p9", "2024-01-01T00:00:00Z")] * 5)
    seed(api, mine, [("my.thing", ada.id, "project", "p1", "2024-01-01T00:00:00Z")] * 5)
    with api.db.connect() as conn:  # a platform event, in no organization
        conn.execute(
            "insert into platform.audit_logs (actor_id, action) values (%s, 'auth.signin_failed')", [ada.id]
        )
    seen = walk(api, mine, ada, limit=3)
    assert len(seen) == 6 and {e["organization_id"] for e in seen} == {mine}
    assert walk(api, mine, ada, actor_id=eve.id) == [] and walk(api, mine, ada, action="secret.") == []
    # Eve's cursor is only a position: in Ada's organization it still shows Ada's rows alone.
    eves = api.client.get(
        f"/api/organizations/{theirs}/audit", params={"limit": 2}, headers=eve.headers
    ).json()
    resumed = walk(api, mine, ada, cursor=eves["next_cursor"])
    assert {e["organization_id"] for e in resumed} <= {mine}
    problem(api.client.get(f"/api/organizations/{theirs}/audit", headers=ada.headers), 404)
