"""The seed's plan for 007, end to end, as an operator and the Studio would walk it: gates red, shadow mode
on, API traffic, gates green (from evidence alone, no override), deploy 007, the API still works, revert
007, the API still works and shadow mode watches again.

The operator's steps are the real ``orgbase`` command in a subprocess; the API is the real app (its pool, the
app role) on the same database. The shadow window is 2 seconds here (``ORGBASE_RLS_SHADOW_WINDOW_SECONDS``).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.fixtures.api import Api
from tests.fixtures.cluster import orgbase_cli

pytestmark = [pytest.mark.db, pytest.mark.slow]

RLS = "007_restrictive_rls_policies"
WINDOW_S = 2


def gates(env: dict[str, str]) -> dict[str, dict[str, Any]]:
    """007's gates as `orgbase migrate status --format json` shows them."""
    data = json.loads(orgbase_cli("migrate", "status", "--format", "json", env=env, check=True).stdout)
    (rls,) = [m for m in data["migrations"] if m["id"] == RLS]
    return {g["name"]: g for g in rls["gates"]}


def exercise(api: Api) -> None:
    """What the Studio does: sign up and in, organizations, members, projects, billing, audit, sign out.
    Every call must succeed (a flow 007 would break fails here once 007 is deployed)."""
    c = api.client
    ada, bob = api.user("ada"), api.user("bob")
    org = api.org(ada)
    other = api.org(bob)
    h = ada.headers
    assert c.get("/api/auth/validate", headers=h).json()["user"]["activeOrgId"] == org
    assert c.post("/api/auth/set-active-org", json={"organization_id": org}, headers=h).status_code == 204
    assert c.post("/api/auth/set-active-org", json={"organization_id": other}, headers=h).status_code == 403
    assert [o["id"] for o in c.get("/api/organizations", headers=h).json()] == [org]
    assert c.patch(f"/api/organizations/{org}", json={"name": "Walked"}, headers=h).status_code == 200
    invited = c.post(
        f"/api/organizations/{org}/invitations", json={"email": bob.email, "role": "developer"}, headers=h
    )
    assert invited.status_code == 201, invited.text
    accepted = c.post("/api/invitations/accept", json={"token": invited.json()["token"]}, headers=bob.headers)
    assert accepted.status_code in (200, 201), accepted.text
    members = c.get(f"/api/organizations/{org}/members", headers=h)
    assert members.status_code == 200 and len(members.json()) == 2, members.text
    made = c.post(f"/api/organizations/{org}/projects", json={"name": "web"}, headers=bob.headers)
    assert made.status_code == 201, made.text
    pid = made.json()["id"]
    page = c.get(f"/api/organizations/{org}/projects?limit=50", headers=h)
    assert [p["id"] for p in page.json()["items"]] == [pid], page.text
    assert c.get(f"/api/organizations/{org}/projects/{pid}", headers=bob.headers).status_code == 200
    assert c.get(f"/api/organizations/{other}/projects/{pid}", headers=h).status_code == 404
    assert c.get(f"/api/organizations/{org}/subscription", headers=h).status_code == 200
    assert c.get(f"/api/organizations/{org}/audit", headers=h).status_code == 200
    assert c.delete(f"/api/organizations/{org}/projects/{pid}", headers=h).status_code == 204
    assert c.post("/api/auth/signout", headers=bob.headers).status_code == 204


def test_the_seeds_plan_for_007(permissive_api: Api) -> None:
    api = permissive_api  # the walk starts before 007 and deploys it
    env = api.db.env(ORGBASE_RLS_SHADOW_WINDOW_SECONDS=str(WINDOW_S))
    # 1. Gates red: 007 is held back, and naming it fails with every unmet gate and its evidence.
    red = gates(env)
    assert not red["ws1_request_context"]["ok"] and not red["shadow_window"]["ok"], red
    refused = orgbase_cli("migrate", "deploy", "--to", RLS, env=env)
    assert refused.returncode != 0 and "ws1_request_context" in refused.stderr, refused.stderr
    # 2. Shadow mode on every table; WS4's evidence (the harness and a rehearsal of 007).
    on = orgbase_cli("rls", "mode", "shadow", env=env, check=True)
    assert on.stdout.count(" shadow ") == 18, on.stdout
    orgbase_cli("rls", "test", env=env, check=True)
    # 3. API traffic under shadow mode: nothing 007 would deny.
    exercise(api)
    found = json.loads(orgbase_cli("rls", "violations", "--format", "json", env=env, check=True).stdout)
    assert found["violations"] == [] and found["observed_requests"] > 0, found
    # 4. Gates green once the window has passed, from the evidence alone.
    time.sleep(WINDOW_S + 0.5)
    green = gates(env)
    assert all(g["ok"] for g in green.values()), green
    # 5. Deploy 007 (no override) and walk the API again under enforcement.
    orgbase_cli("migrate", "deploy", "--to", RLS, env=env, check=True)
    status = json.loads(orgbase_cli("migrate", "status", "--format", "json", env=env, check=True).stdout)
    assert status["rls"]["enforced"] is True
    exercise(api)
    # 6. Revert 007: permissive again, shadow mode watching again, and the API works.
    orgbase_cli("migrate", "revert", RLS, env=env, check=True)
    status = json.loads(orgbase_cli("migrate", "status", "--format", "json", env=env, check=True).stdout)
    assert status["rls"]["enforced"] is False and {m["mode"] for m in status["rls"]["modes"]} == {"shadow"}
    exercise(api)
    after = json.loads(orgbase_cli("rls", "violations", "--format", "json", env=env, check=True).stdout)
    assert after["violations"] == [] and after["observed_requests"] > found["observed_requests"]
