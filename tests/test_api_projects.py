"""Projects API: roles, the plan's limit under concurrency, keyset pages, other organizations' ids."""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from orgbase.api.app import create_app
from tests.fixtures.api import Api, User
from tests.test_api_auth import problem

pytestmark = pytest.mark.db

# role: may it create, update, delete (docs/schema.md's matrix); every member may list and read.
MATRIX = {
    "owner": (True, True, True),
    "admin": (True, True, True),
    "billing_admin": (False, False, False),
    "developer": (True, True, False),
    "read_only": (False, False, False),
}


def url(org: str, project: str | None = None) -> str:
    return f"/api/organizations/{org}/projects" + (f"/{project}" if project else "")


def set_plan(api: Api, org: str, plan: str) -> None:
    with api.db.connect() as conn:
        conn.execute("update platform.subscriptions set plan_id = %s where organization_id = %s", [plan, org])


def rows(api: Api, org: str) -> list[tuple[str, str]]:
    """(name, status) of the organization's projects, straight from the database, by name."""
    with api.db.connect() as conn:
        cur = conn.execute(
            "select name, status from platform.projects where organization_id = %s order by name", [org]
        )
        return cur.fetchall()


def make(api: Api, user: User, org: str, name: str) -> dict:  # type: ignore[type-arg]
    made = api.client.post(url(org), json={"name": name}, headers=user.headers)
    assert made.status_code == 201, made.text
    return made.json()  # type: ignore[no-any-return]


def test_create_get_update_delete_with_audit(api: Api) -> None:
    ada = api.user("ada")
    org = api.org(ada)
    c = api.client
    made = make(api, ada, org, "  Web shop  ")
    assert made["name"] == "Web shop" and made["status"] == "active" and made["organization_id"] == org
    assert re.fullmatch("[0-9a-f]{20}", made["ref"])  # not islower(): an all-digit ref has no letter
    pid = made["id"]
    assert c.get(url(org, pid), headers=ada.headers).json() == made
    changed = c.patch(url(org, pid), json={"name": "Shop", "status": "paused"}, headers=ada.headers)
    assert changed.status_code == 200 and changed.json()["name"] == "Shop"
    assert changed.json()["status"] == "paused" and changed.json()["ref"] == made["ref"]
    assert c.patch(url(org, pid), json={}, headers=ada.headers).json()["name"] == "Shop"  # no-op, no audit
    page = c.get(url(org), headers=ada.headers).json()
    assert [p["id"] for p in page["items"]] == [pid] and page["next_cursor"] is None
    assert c.delete(url(org, pid), headers=ada.headers).status_code == 204
    problem(c.get(url(org, pid), headers=ada.headers), 404, "not_found")
    problem(c.delete(url(org, pid), headers=ada.headers), 404)
    with api.db.connect() as conn:
        audit = conn.execute(
            "select action, actor_id::text, target_type, target_id, changes from platform.audit_logs "
            "where organization_id = %s and action like 'project.%%' order by created_at, id",
            [org],
        ).fetchall()
    assert [a[0] for a in audit] == ["project.create", "project.update", "project.delete"]
    assert all(a[1:4] == (ada.id, "project", pid) for a in audit)
    assert audit[1][4] == {"name": "Shop", "status": "paused"}


def expect(resp, allowed: bool, status: int) -> None:  # type: ignore[no-untyped-def]
    if allowed:
        assert resp.status_code == status, resp.text
    else:
        problem(resp, 403, "role_forbids")


@pytest.mark.parametrize("role", MATRIX)
def test_each_role_gets_what_the_matrix_allows(api: Api, role: str) -> None:
    ada, member = api.user("ada"), api.user(role)
    org = api.org(ada)
    set_plan(api, org, "enterprise")
    api.add_member(org, member, role)
    c, h = api.client, member.headers
    pid = make(api, ada, org, "existing")["id"]
    assert [p["id"] for p in c.get(url(org), headers=h).json()["items"]] == [pid]
    assert c.get(url(org, pid), headers=h).json()["name"] == "existing"
    may_create, may_update, may_delete = MATRIX[role]
    expect(c.post(url(org), json={"name": f"by {role}"}, headers=h), may_create, 201)
    expect(c.patch(url(org, pid), json={"status": "paused"}, headers=h), may_update, 200)
    expect(c.delete(url(org, pid), headers=h), may_delete, 204)
    existing = [] if may_delete else [("existing", "paused" if may_update else "active")]
    created = [(f"by {role}", "active")] if may_create else []
    assert rows(api, org) == sorted(existing + created)


def test_free_plan_allows_two_projects_and_unlimited_plans_none_less(api: Api) -> None:
    ada = api.user("ada")
    org = api.org(ada)
    c = api.client
    first = make(api, ada, org, "one")
    make(api, ada, org, "two")
    body = problem(c.post(url(org), json={"name": "three"}, headers=ada.headers), 409, "plan_limit_exceeded")
    assert "2" in body["title"]
    assert c.delete(url(org, first["id"]), headers=ada.headers).status_code == 204
    make(api, ada, org, "three")
    set_plan(api, org, "enterprise")  # max_projects NULL: unlimited
    for i in range(5):
        make(api, ada, org, f"more {i}")
    assert len(rows(api, org)) == 7
    set_plan(api, org, "free")  # a downgrade keeps what exists, and refuses more
    problem(c.post(url(org), json={"name": "eight"}, headers=ada.headers), 409, "plan_limit_exceeded")


def test_plan_limit_holds_under_concurrent_creates(api: Api) -> None:
    ada = api.user("ada")
    orgs = [api.org(ada) for _ in range(3)]  # three rounds: one race can be won by luck, three rarely
    # A pool as large as the burst, so that all ten creates really are in the database at once.
    settings = api.client.app.state.settings.model_copy(update={"pool_max_size": 10})  # type: ignore[attr-defined]
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        for org in orgs:
            start = threading.Barrier(10)

            def create(i: int, org: str = org, start: threading.Barrier = start) -> tuple[int, str | None]:
                start.wait()
                resp = client.post(url(org), json={"name": f"race {i}"}, headers=ada.headers)
                return resp.status_code, resp.json().get("code")

            with ThreadPoolExecutor(max_workers=10) as pool:
                statuses = list(pool.map(create, range(10)))
            assert sorted(statuses) == [(201, None)] * 2 + [(409, "plan_limit_exceeded")] * 8, statuses
            assert len(rows(api, org)) == 2
    with api.db.connect() as conn:
        audited = conn.execute(
            "select count(*) from platform.audit_logs where organization_id = any(%s::uuid[]) "
            "and action = 'project.create'",
            [orgs],
        ).fetchone()
    assert audited == (6,)  # refused creates left no audit row behind


def test_an_organization_without_a_subscription_cannot_create(api: Api) -> None:
    ada = api.user("ada")
    org = api.org(ada)
    with api.db.connect() as conn:
        conn.execute("delete from platform.subscriptions where organization_id = %s", [org])
    problem(api.client.post(url(org), json={"name": "x"}, headers=ada.headers), 409, "no_subscription")
    assert rows(api, org) == []


def test_filters_and_sorts(api: Api) -> None:
    ada = api.user("ada")
    org = api.org(ada)
    set_plan(api, org, "enterprise")
    c = api.client
    names = ["Alpha", "beta", "GAMMA ray", "alphabet", "100%_real", "x_y"]
    made = {n: make(api, ada, org, n) for n in names}
    c.patch(url(org, made["beta"]["id"]), json={"status": "paused"}, headers=ada.headers)

    def names_of(**params: str) -> list[str]:
        resp = c.get(url(org), params=params, headers=ada.headers)
        assert resp.status_code == 200, resp.text
        return [p["name"] for p in resp.json()["items"]]

    assert sorted(names_of(name="ALPHA")) == ["Alpha", "alphabet"] and names_of(name="ray") == ["GAMMA ray"]
    assert names_of(name="%") == ["100%_real"] and names_of(name="_") == ["100%_real", "x_y"]
    assert names_of(status="paused") == ["beta"] and "beta" not in names_of(status="active")
    assert names_of(status="paused", name="alp") == []
    by_name = names_of(sort="name")
    assert by_name == names_of() and names_of(sort="name", order="desc") == by_name[::-1]
    assert names_of(sort="created_at") == names
    assert names_of(sort="created_at", order="desc") == names[::-1]


@pytest.mark.parametrize(
    ("sort", "order"), [("name", "asc"), ("name", "desc"), ("created_at", "asc"), ("created_at", "desc")]
)
def test_keyset_pages_have_no_duplicates_or_gaps(api: Api, sort: str, order: str) -> None:
    ada = api.user("ada")
    org, other = api.org(ada), api.org(ada)
    names = [f"p{i % 7}-{i:02}" for i in range(23)]
    with api.db.connect() as conn, conn.transaction():
        # One transaction: every row gets the same created_at, so that sort is all ties, broken by id (names
        # are unique per organization, so ties on name cannot happen), and another organization has the same.
        for name in names:
            conn.execute(
                "insert into platform.projects (organization_id, name) values (%s, %s), (%s, %s)",
                [org, name, other, name],
            )
    c = api.client
    whole = c.get(url(org), params={"sort": sort, "order": order, "limit": 100}, headers=ada.headers).json()
    assert len(whole["items"]) == 23 and whole["next_cursor"] is None
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        params = {"sort": sort, "order": order, "limit": 4} | ({"cursor": cursor} if cursor else {})
        page = c.get(url(org), params=params, headers=ada.headers)
        assert page.status_code == 200, page.text
        assert all(p["organization_id"] == org for p in page.json()["items"])
        seen += [p["id"] for p in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [p["id"] for p in whole["items"]]  # same rows, same order: no duplicate, no gap
    if sort == "name":
        assert [p["name"] for p in whole["items"]] == sorted(names, reverse=order == "desc")
    if sort == "created_at":
        assert seen == sorted(seen, reverse=order == "desc")  # all tied: the id decides


def test_bad_inputs_are_422_and_metacharacters_are_stored_verbatim(api: Api) -> None:
    ada = api.user("ada")
    org = api.org(ada)
    c, h = api.client, ada.headers
    pid = make(api, ada, org, "keep")["id"]
    problem(c.get(url(org, "not-a-uuid"), headers=h), 422, "validation_failed")
    problem(c.patch(url(org, "1; drop table x"), json={"name": "x"}, headers=h), 422)
    problem(c.delete(url(org, "x"), headers=h), 422)
    problem(c.get(url("not-a-uuid"), headers=h), 422, "malformed_id")
    for body in (
        {},
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 201},
        {"name": "a\x00b"},
        {"name": 5},
        {"name": "ok", "status": "paused"},
        {"name": "ok", "organization_id": org},
        {"ref": "a" * 20},
    ):
        problem(c.post(url(org), json=body, headers=h), 422, "validation_failed")
    for body in ({"name": None}, {"status": None}, {"status": "deleted"}, {"ref": "b" * 20}, {"id": pid}):
        problem(c.patch(url(org, pid), json=body, headers=h), 422, "validation_failed")
    for params in (
        {"limit": 0},
        {"limit": 101},
        {"limit": "x"},
        {"sort": "ref"},
        {"order": "up"},
        {"status": "gone"},
        {"name": ""},
        {"cursor": "x" * 600},
    ):
        problem(c.get(url(org), params=params, headers=h), 422, "validation_failed")

    some_id = str(uuid.uuid4())

    def b64(*parts: object) -> str:
        raw = json.dumps(parts).encode() if parts else b"\xff\xfe"
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    bad_cursors = [
        ("name", "!!!"),  # not base64
        ("name", "a"),  # not even a whole byte
        ("name", b64()),  # not UTF-8
        ("name", b64(1, 2, 3, 4)),
        ("name", b64("name", "asc", "k")),  # no id
        ("name", b64("name", "asc", "k", "not-a-uuid")),
        ("name", b64("name", "asc", None, some_id)),
        ("name", b64("name", "asc", "a\x00b", some_id)),  # PostgreSQL text cannot hold NUL
        ("created_at", b64("created_at", "asc", "2024-01-01T00:00:00", some_id)),  # no zone
        ("created_at", b64("created_at", "asc", "yesterday", some_id)),
        ("name", b64("created_at", "asc", "2024-01-01T00:00:00+00:00", some_id)),  # another sort's
    ]
    for sort, cursor in bad_cursors:
        problem(c.get(url(org), params={"sort": sort, "cursor": cursor}, headers=h), 422, "malformed_cursor")
    make(api, ada, org, "zzz")
    good = c.get(url(org), params={"limit": 1}, headers=h).json()["next_cursor"]
    assert good is not None
    problem(
        c.get(url(org), params={"limit": 1, "cursor": good, "order": "desc"}, headers=h),
        422,
        "malformed_cursor",
    )
    assert c.get(url(org), params={"limit": 1, "cursor": good}, headers=h).json()["items"][0]["name"] == "zzz"

    c.delete(url(org, pid), headers=h)
    name = 'Robert\'); DROP TABLE platform.projects;-- %_\\ "quoted" ünïcode'
    made = c.post(url(org), json={"name": name}, headers=h)
    assert made.status_code == 201 and made.json()["name"] == name
    assert c.get(url(org), params={"name": "drop TABLE"}, headers=h).json()["items"][0]["name"] == name
    assert (name, "active") in rows(api, org)
    set_plan(api, org, "enterprise")
    problem(c.post(url(org), json={"name": name}, headers=h), 409, "duplicate")  # names are unique per org


def test_another_organizations_ids_are_404_and_nothing_changes(api: Api) -> None:
    ada, eve = api.user("ada"), api.user("eve")
    mine, theirs = api.org(ada), api.org(eve)
    api.add_member(theirs, ada, "read_only")  # ada sees both; paths still decide which one is addressed
    eves = make(api, eve, theirs, "eve's")
    c = api.client
    problem(c.get(url(mine, eves["id"]), headers=ada.headers), 404, "not_found")
    problem(c.patch(url(mine, eves["id"]), json={"name": "pwned"}, headers=ada.headers), 404)
    problem(c.delete(url(mine, eves["id"]), headers=ada.headers), 404)
    problem(c.get(url(mine, str(uuid.uuid4())), headers=ada.headers), 404)
    assert c.get(url(mine), headers=ada.headers).json()["items"] == []
    adas = make(api, ada, mine, "ada's")
    for stranger_path in (url(mine), url(mine, adas["id"])):  # eve is no member of ada's organization
        problem(c.get(stranger_path, headers=eve.headers), 404, "not_found")
    problem(c.post(url(mine), json={"name": "intruder"}, headers=eve.headers), 404)
    problem(c.patch(url(mine, adas["id"]), json={"name": "pwned"}, headers=eve.headers), 404)
    problem(c.delete(url(mine, adas["id"]), headers=eve.headers), 404)
    problem(c.get(url(theirs, adas["id"]), headers=eve.headers), 404)
    problem(c.delete(url(theirs, adas["id"]), headers=eve.headers), 404)
    problem(c.get(url(mine)), 401)
    assert rows(api, mine) == [("ada's", "active")] and rows(api, theirs) == [("eve's", "active")]
    with api.db.connect() as conn:
        audited = conn.execute(
            "select count(*) from platform.audit_logs where action like 'project.%%' and target_id = %s",
            [eves["id"]],
        ).fetchone()
    assert audited == (1,)  # only its creation


def test_list_and_get_run_without_any_context_in_benchmark_mode(permissive_api: Api) -> None:
    api = permissive_api  # under 007, no context sees no row: the bench's baseline is measured without it
    ada = api.user("ada")
    org = api.org(ada)
    pid = make(api, ada, org, "bench")["id"]
    settings = api.client.app.state.settings.model_copy(update={"bench_mode": "no_context"})  # type: ignore[attr-defined]
    with TestClient(create_app(settings), raise_server_exceptions=False) as bench:
        page = bench.get(url(org), params={"limit": 50})
        assert page.status_code == 200 and [p["id"] for p in page.json()["items"]] == [pid]
        assert bench.get(url(org, pid)).json()["name"] == "bench"
