"""``/api/organizations``: the creator owns it; strangers get 404 exactly as for nothing at all."""

from __future__ import annotations

import uuid

import pytest

from tests.fixtures.api import Api
from tests.test_api_auth import problem

pytestmark = pytest.mark.db


def test_create_list_get_update_delete(api: Api) -> None:
    ada = api.user("ada")
    c = api.client
    made = c.post(
        "/api/organizations",
        json={"name": "Acme", "slug": "acme", "billing_email": "pay@acme.io"},
        headers=ada.headers,
    )
    assert made.status_code == 201 and made.json()["role"] == "owner"
    org = made.json()["id"]
    assert [o["slug"] for o in c.get("/api/organizations", headers=ada.headers).json()] == ["acme"]
    assert c.get("/api/auth/validate", headers=ada.headers).json()["user"]["activeOrgId"] == org
    problem(c.post("/api/organizations", json={"name": "Again", "slug": "acme"}, headers=ada.headers), 409)
    problem(c.post("/api/organizations", json={"name": "Bad", "slug": "Bad Slug!"}, headers=ada.headers), 422)
    renamed = c.patch(f"/api/organizations/{org}", json={"name": "Acme Inc"}, headers=ada.headers)
    assert renamed.status_code == 200 and renamed.json()["name"] == "Acme Inc"
    assert c.delete(f"/api/organizations/{org}", headers=ada.headers).status_code == 204
    problem(c.get(f"/api/organizations/{org}", headers=ada.headers), 404)
    with api.db.connect() as conn:
        actions = {
            r[0]
            for r in conn.execute("select action from platform.audit_logs where organization_id = %s", [org])
        }
    assert actions == {"organization.create", "organization.update", "organization.delete"}


def test_strangers_get_404_and_nothing_changes(api: Api) -> None:
    ada, eve = api.user("ada"), api.user("eve")
    org = api.org(ada, "acme")
    c = api.client
    stranger = problem(c.get(f"/api/organizations/{org}", headers=eve.headers), 404)
    nothing = problem(c.get(f"/api/organizations/{uuid.uuid4()}", headers=eve.headers), 404)
    assert stranger["title"] == nothing["title"] and stranger["code"] == nothing["code"]
    problem(c.patch(f"/api/organizations/{org}", json={"name": "Pwned"}, headers=eve.headers), 404)
    problem(c.delete(f"/api/organizations/{org}", headers=eve.headers), 404)
    problem(c.get("/api/organizations/not-a-uuid", headers=eve.headers), 422)
    assert c.get(f"/api/organizations/{org}", headers=ada.headers).json()["name"] == "Acme"


def test_roles_limit_what_members_may_do(api: Api) -> None:
    ada, dev, adm = api.user("ada"), api.user("dev"), api.user("adm")
    org = api.org(ada)
    api.add_member(org, dev, "developer")
    api.add_member(org, adm, "admin")
    c = api.client
    assert c.get(f"/api/organizations/{org}", headers=dev.headers).json()["role"] == "developer"
    problem(
        c.patch(f"/api/organizations/{org}", json={"name": "X"}, headers=dev.headers), 403, "role_forbids"
    )
    assert c.patch(f"/api/organizations/{org}", json={"name": "Y"}, headers=adm.headers).status_code == 200
    problem(c.delete(f"/api/organizations/{org}", headers=adm.headers), 403)


def test_control_characters_are_refused_not_a_500(api: Api) -> None:
    ada = api.user("ada")
    body = problem(
        api.client.post(
            "/api/organizations", json={"name": "Ac\u0000me", "slug": "acme"}, headers=ada.headers
        ),
        422,
        "validation_failed",
    )
    assert body["errors"][0]["field"] == "name"
    problem(api.client.post("/api/auth/signup", json={"email": "a@b.io", "password": "pass\u0000word!"}), 422)
