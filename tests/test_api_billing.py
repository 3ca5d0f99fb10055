"""Billing: catalogs, subscription (change of plan), invoices, payment methods, add-ons, role by role."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.fixtures.api import Api, User
from tests.test_api_auth import problem

pytestmark = pytest.mark.db

ROLES = ("owner", "admin", "billing_admin", "developer", "read_only")
READERS = {"owner", "admin", "billing_admin"}
WRITERS = {"owner", "billing_admin"}  # billing.update: payment methods and add-ons
CARD = {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030}


def team(api: Api) -> tuple[str, dict[str, User]]:
    """An organization with one member of every role."""
    users = {role: api.user(role) for role in ROLES}
    org = api.org(users["owner"])
    for role in ROLES[1:]:
        api.add_member(org, users[role], role)
    return org, users


def rows(api: Api, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with api.db.connect() as conn:
        return conn.execute(query, list(params)).fetchall()  # type: ignore[arg-type]


def plan_of(api: Api, org: str) -> str:
    return str(rows(api, "select plan_id from platform.subscriptions where organization_id = %s", org)[0][0])


def actions(api: Api, org: str) -> list[str]:
    found = rows(
        api, "select action from platform.audit_logs where organization_id = %s order by created_at", org
    )
    return [r[0] for r in found if not r[0].startswith("organization.")]


def test_catalogs_for_any_signed_in_user(api: Api) -> None:
    c, loner = api.client, api.user("loner")  # no organization at all
    plans = c.get("/api/billing/plans", headers=loner.headers)
    assert plans.status_code == 200
    assert [p["id"] for p in plans.json()] == ["free", "pro", "team", "enterprise"]
    assert plans.json()[0]["max_projects"] == 2 and plans.json()[3]["max_projects"] is None
    addons = c.get("/api/billing/addons", headers=loner.headers)
    assert {a["id"] for a in addons.json()} == {"custom_domain", "pitr_7", "ipv4"}
    problem(c.get("/api/billing/plans"), 401, "unauthenticated")
    problem(c.get("/api/billing/addons", headers={"Authorization": "Bearer forged"}), 401)


def test_subscription_role_by_role(api: Api) -> None:
    org, users = team(api)
    c, url = api.client, f"/api/organizations/{org}/subscription"
    for role, user in users.items():
        got = c.get(url, headers=user.headers)
        if role in READERS:
            assert got.status_code == 200 and got.json()["plan"]["id"] == "free", role
        else:
            problem(got, 403, "role_forbids")
    # Changing the plan: owner, admin and billing_admin (billing.change_plan, migration 010).
    for role, plan in (("developer", "pro"), ("read_only", "pro")):
        problem(c.put(url, json={"plan_id": plan}, headers=users[role].headers), 403, "role_forbids")
        assert plan_of(api, org) == "free"
    for role, plan in (("admin", "pro"), ("billing_admin", "team"), ("owner", "pro")):
        moved = c.put(url, json={"plan_id": plan}, headers=users[role].headers)
        assert moved.status_code == 200, moved.text
        assert moved.json()["plan_id"] == plan and moved.json()["plan"]["id"] == plan
    yearly = c.put(url, json={"plan_id": "pro", "billing_cycle": "yearly"}, headers=users["owner"].headers)
    assert yearly.json()["billing_cycle"] == "yearly" and yearly.json()["plan_id"] == "pro"
    assert (
        c.put(url, json={"plan_id": "pro"}, headers=users["owner"].headers).json()["billing_cycle"]
        == "yearly"
    )
    log = rows(
        api,
        "select actor_id, target_type, changes from platform.audit_logs"
        " where organization_id = %s and action = 'subscription.change_plan' order by created_at",
        org,
    )
    assert [str(r[0]) for r in log] == [users[r].id for r in ("admin", "billing_admin", "owner", "owner")]
    assert log[0][1] == "subscription"
    assert log[0][2] == {
        "before": {"plan_id": "free", "billing_cycle": "monthly"},
        "after": {"plan_id": "pro", "billing_cycle": "monthly"},
    }
    assert log[3][2]["after"] == {
        "plan_id": "pro",
        "billing_cycle": "yearly",
    }  # the unchanged PUT wrote nothing


def test_change_plan_bad_inputs(api: Api) -> None:
    owner = api.user("owner")
    org = api.org(owner)
    c, url, h = api.client, f"/api/organizations/{org}/subscription", owner.headers
    problem(c.put(url, json={"plan_id": "platinum"}, headers=h), 422, "unknown_plan")
    problem(c.put(url, json={"plan_id": "Pro'; drop table x;--"}, headers=h), 422, "validation_failed")
    problem(c.put(url, json={"plan_id": "pro", "billing_cycle": "weekly"}, headers=h), 422)
    body = problem(c.put(url, json={"plan_id": "pro", "price": 0}, headers=h), 422)
    assert body["errors"][0]["field"] == "price"
    problem(c.put(url, json={}, headers=h), 422)
    problem(c.put("/api/organizations/not-a-uuid/subscription", json={"plan_id": "pro"}, headers=h), 422)
    assert plan_of(api, org) == "free" and actions(api, org) == []


def test_downgrade_refused_while_projects_do_not_fit(api: Api) -> None:
    owner = api.user("owner")
    org = api.org(owner)
    c, url, h = api.client, f"/api/organizations/{org}/subscription", owner.headers
    assert c.put(url, json={"plan_id": "pro"}, headers=h).status_code == 200
    for name in ("a", "b", "c"):
        rows(
            api,
            "insert into platform.projects (organization_id, name) values (%s, %s) returning id",
            org,
            name,
        )
    refused = problem(c.put(url, json={"plan_id": "free"}, headers=h), 409, "plan_too_small")
    assert "allows 2 projects" in refused["title"] and "has 3" in refused["title"]
    assert plan_of(api, org) == "pro"
    rows(api, "delete from platform.projects where organization_id = %s and name = 'c' returning id", org)
    assert c.put(url, json={"plan_id": "free"}, headers=h).json()["plan_id"] == "free"


def test_invoices_role_by_role_and_pages(api: Api) -> None:
    org, users = team(api)
    other = api.org(api.user("other"))
    for n in range(7):  # three share a timestamp: the id breaks the tie
        at = "2024-01-01T00:00:00Z" if n < 3 else f"2024-0{n}-15T00:00:00Z"
        for o in (org, other):
            rows(
                api,
                "insert into platform.invoices (organization_id, number, created_at) values (%s, %s, %s)"
                " returning id",
                o,
                f"INV-{n}",
                at,
            )
    c, url = api.client, f"/api/organizations/{org}/invoices"
    for role, user in users.items():
        got = c.get(url, headers=user.headers)
        if role in READERS:
            assert got.status_code == 200 and len(got.json()["items"]) == 7, role
        else:
            problem(got, 403, "role_forbids")
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = c.get(url, params=params, headers=users["billing_admin"].headers).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 7 and len({i["id"] for i in seen}) == 7
    assert {i["organization_id"] for i in seen} == {org}
    keys = [(i["created_at"], i["id"]) for i in seen]
    assert keys == sorted(keys, reverse=True)
    h = users["owner"].headers
    problem(c.get(url, params={"cursor": "garbage!"}, headers=h), 422, "malformed_cursor")
    problem(c.get(url, params={"limit": 0}, headers=h), 422)
    problem(c.get(url, params={"limit": 201}, headers=h), 422)


def test_payment_methods(api: Api) -> None:
    org, users = team(api)
    c, url = api.client, f"/api/organizations/{org}/payment-methods"
    for role, user in users.items():
        token = {"provider_payment_method_id": f"pm_{role}", **CARD}
        made = c.post(url, json=token, headers=user.headers)
        if role in WRITERS:
            assert made.status_code == 201, made.text
        else:
            problem(made, 403, "role_forbids")
        listed = c.get(url, headers=user.headers)
        if role in READERS:
            assert listed.status_code == 200, role
        else:
            problem(listed, 403)
    methods = c.get(url, headers=users["owner"].headers).json()
    assert [m["provider_payment_method_id"] for m in methods] == ["pm_owner", "pm_billing_admin"]
    h = users["owner"].headers
    first = c.post(url, json={"provider_payment_method_id": "pm_1", "is_default": True, **CARD}, headers=h)
    second = c.post(url, json={"provider_payment_method_id": "pm_2", "is_default": True, **CARD}, headers=h)
    defaults = [m["id"] for m in c.get(url, headers=h).json() if m["is_default"]]
    assert first.json()["is_default"] and defaults == [second.json()["id"]]
    problem(c.post(url, json={"provider_payment_method_id": "pm_1", **CARD}, headers=h), 409, "duplicate")
    assert c.delete(f"{url}/{first.json()['id']}", headers=h).status_code == 204
    problem(c.delete(f"{url}/{first.json()['id']}", headers=h), 404)
    problem(c.delete(f"{url}/{second.json()['id']}", headers=users["admin"].headers), 403)
    assert actions(api, org) == ["payment_method.add"] * 4 + ["payment_method.remove"]
    log = rows(api, "select changes::text from platform.audit_logs where organization_id = %s", org)
    assert not any("pm_" in r[0] for r in log)  # display fields only in the trail


@pytest.mark.parametrize(
    "change",
    [
        {"provider_payment_method_id": "4242424242424242"},
        {"provider_payment_method_id": "4242-4242-4242-4242"},
        {"provider_payment_method_id": "4242 4242 4242 4242"},
        {"provider_payment_method_id": "378282246310005"},
        {"cvc": "123"},
        {"card_number": "4242424242424242"},
        {"last4": "42a2"},
        {"exp_month": 13},
        {"exp_year": 1999},
        {"brand": "bitcoin"},
        {"provider": "Stripe!"},
    ],
)
def test_payment_method_refuses_card_numbers_and_bad_fields(api: Api, change: dict[str, Any]) -> None:
    owner = api.user("owner")
    org = api.org(owner)
    url = f"/api/organizations/{org}/payment-methods"
    sent = {"provider_payment_method_id": "pm_x", **CARD, **change}
    body = problem(api.client.post(url, json=sent, headers=owner.headers), 422, "validation_failed")
    assert not any(n in str(body) for n in ("42424242", "4242-4242", "4242 4242", "378282246310005"))
    assert rows(api, "select count(*) from platform.payment_methods where organization_id = %s", org) == [
        (0,)
    ]


def test_subscription_addons(api: Api) -> None:
    org, users = team(api)
    c, url = api.client, f"/api/organizations/{org}/subscription/addons"
    for role, user in users.items():
        made = c.post(url, json={"addon_id": "ipv4"}, headers=user.headers)
        if role == "owner":
            assert made.status_code == 201 and made.json()["quantity"] == 1, made.text
        elif role in WRITERS:
            problem(made, 409, "duplicate")  # the owner added it first
        else:
            problem(made, 403, "role_forbids")
        listed = c.get(url, headers=user.headers)
        if role in READERS:
            assert [a["addon_id"] for a in listed.json()] == ["ipv4"], role
        else:
            problem(listed, 403)
    h = users["billing_admin"].headers
    added = c.post(url, json={"addon_id": "pitr_7", "quantity": 2}, headers=h)
    assert added.status_code == 201 and added.json()["price_monthly_cents"] == 10000
    problem(c.post(url, json={"addon_id": "teleport"}, headers=h), 422, "unknown_addon")
    problem(c.post(url, json={"addon_id": "ipv4", "quantity": 0}, headers=h), 422)
    problem(c.post(url, json={"addon_id": "ipv4", "discount": 100}, headers=h), 422)
    problem(c.delete(f"{url}/ipv4", headers=users["admin"].headers), 403)
    assert c.delete(f"{url}/ipv4", headers=h).status_code == 204
    problem(c.delete(f"{url}/ipv4", headers=h), 404)
    problem(c.delete(f"{url}/Not%20An%20Id", headers=h), 422)
    assert [a["addon_id"] for a in c.get(url, headers=h).json()] == ["pitr_7"]
    assert actions(api, org) == ["subscription.addon_add"] * 2 + ["subscription.addon_remove"]


def test_another_organizations_ids_are_404_and_nothing_changes(api: Api) -> None:
    ada, eve = api.user("ada"), api.user("eve")
    mine, theirs = api.org(ada), api.org(eve)
    c = api.client
    card = {"provider_payment_method_id": "pm_eve", **CARD}
    pm = c.post(f"/api/organizations/{theirs}/payment-methods", json=card, headers=eve.headers).json()["id"]
    c.post(f"/api/organizations/{theirs}/subscription/addons", json={"addon_id": "ipv4"}, headers=eve.headers)
    # Eve's payment method and add-on through Ada's organization: not found, not deleted.
    problem(c.delete(f"/api/organizations/{mine}/payment-methods/{pm}", headers=ada.headers), 404)
    problem(c.delete(f"/api/organizations/{mine}/subscription/addons/ipv4", headers=ada.headers), 404)
    # Eve's organization itself: the same 404 as one that does not exist.
    for org in (theirs, str(uuid.uuid4())):
        base = f"/api/organizations/{org}"
        for path in ("/subscription", "/invoices", "/payment-methods", "/subscription/addons"):
            problem(c.get(base + path, headers=ada.headers), 404, "not_found")
        problem(c.put(base + "/subscription", json={"plan_id": "team"}, headers=ada.headers), 404)
        problem(
            c.post(
                base + "/payment-methods",
                json={**card, "provider_payment_method_id": "pm_a"},
                headers=ada.headers,
            ),
            404,
        )
        problem(c.delete(f"{base}/payment-methods/{pm}", headers=ada.headers), 404)
        problem(c.post(base + "/subscription/addons", json={"addon_id": "pitr_7"}, headers=ada.headers), 404)
        problem(c.delete(base + "/subscription/addons/ipv4", headers=ada.headers), 404)
    assert plan_of(api, theirs) == "free"
    assert rows(api, "select provider_payment_method_id from platform.payment_methods") == [("pm_eve",)]
    assert rows(api, "select addon_id from platform.subscription_addons") == [("ipv4",)]
    assert actions(api, mine) == []
