"""How the app is put together: routes on the app's own router, tenant routes wrapped, the server's loop."""

from __future__ import annotations

import dataclasses
import gc
import re
import socket
import time
from typing import Any

import pytest
import uvicorn
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from orgbase.api import server
from orgbase.api.app import add_routes
from orgbase.api.deps import Context, Tenant, TenantConn, TenantRoute, needs_tenant
from orgbase.api.routes import audit, auth, billing, databases, health, members, organizations, projects
from orgbase.db import tenant
from tests.fixtures.api import Api

MODULES = (health, auth, organizations, members, projects, databases, billing, audit)


def test_every_router_makes_tenant_routes_and_knows_which_need_the_context() -> None:
    routes = [route for module in MODULES for route in module.router.routes if isinstance(route, APIRoute)]
    assert routes and all(isinstance(route, TenantRoute) for route in routes)
    by_path = {
        (route.path, method): needs_tenant(route.dependant) for route in routes for method in route.methods
    }
    assert by_path[("/api/organizations/{org_id}", "GET")] is True
    assert by_path[("/api/organizations/{org_id}/projects", "POST")] is True
    assert by_path[("/api/auth/validate", "GET")] is True
    assert by_path[("/readyz", "GET")] is False
    assert by_path[("/api/auth/signin", "POST")] is False


def test_a_route_taking_the_context_without_tenant_route_is_refused_at_start_up() -> None:
    plain = APIRouter(prefix="/x")

    @plain.get("/{org_id}")
    async def read(t: TenantConn) -> None:
        """Would find no transaction: nothing opened it."""

    with pytest.raises(TypeError, match="route_class=TenantRoute"):
        add_routes(FastAPI(), plain)


def test_the_context_call_selects_the_principal_fields_in_their_order() -> None:
    # Rows come back as tuples and become a Principal by position (tenant.Binding.principal).
    selected = re.fullmatch(r"select (.*) from platform\.auth_bind\(%s, %s, %s\)", tenant.BIND)
    assert selected is not None
    assert selected.group(1).split(", ") == [f.name for f in dataclasses.fields(tenant.Principal)]


def test_serve_runs_uvloop_and_httptools(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def run(self: uvicorn.Server, sockets: list[socket.socket] | None = None) -> None:
        seen.update(
            loop=self.config.loop, http=self.config.http, proxy=self.config.proxy_headers, sockets=sockets
        )

    monkeypatch.setattr(uvicorn.Server, "run", run)
    server.serve(host="127.0.0.1", port=0, workers=1)
    assert (seen["loop"], seen["http"]) == ("uvloop", "httptools")
    assert seen["proxy"] is False  # X-Forwarded-For never rewrites the client address
    (sock,) = seen["sockets"]
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()
    # Both installed (pinned dependencies): uvicorn resolves them without falling back.
    assert uvicorn.Config(FastAPI(), loop="uvloop").get_loop_factory() is not None
    uvicorn.Config(FastAPI(), http="httptools").load()


@pytest.mark.db
def test_the_app_routes_directly_and_tenant_requests_commit_before_answering(api: Api) -> None:
    app = api.client.app
    assert isinstance(app, FastAPI)
    direct = {route.path for route in app.routes if isinstance(route, TenantRoute)}
    assert {"/api/organizations/{org_id}", "/api/organizations/{org_id}/projects", "/readyz"} <= direct
    owner = api.user("owner")
    org = api.org(owner)  # a POST through a tenant route: its body read, then the transaction
    made = api.client.post(
        f"/api/organizations/{org}/projects", json={"name": "First"}, headers=owner.headers
    )
    assert made.status_code == 201, made.text
    # Committed before the answer: another connection sees it at once.
    with api.db.connect() as conn:
        row = conn.execute("select name from platform.projects where id = %s", [made.json()["id"]]).fetchone()
    assert row == ("First",)
    # Refused requests: an invalid body (the context was bound, then rolled back), a malformed org id (refused
    # before any connection); neither leaves anything.
    bad = api.client.post(
        f"/api/organizations/{org}/projects", json={"name": "x" * 500}, headers=owner.headers
    )
    assert bad.status_code == 422
    malformed = api.client.get("/api/organizations/not-a-uuid", headers=owner.headers)
    assert malformed.status_code == 422 and malformed.json()["code"] == "malformed_id"
    listed = api.client.get(f"/api/organizations/{org}/projects", headers=owner.headers)
    assert [p["name"] for p in listed.json()["items"]] == ["First"]


def test_every_api_test_runs_without_and_with_007(api: Api, request: pytest.FixtureRequest) -> None:
    with api.db.connect() as conn:
        row = conn.execute(
            "select count(*) from pg_policy p join pg_class c on c.oid = p.polrelid"
            " where c.relnamespace = 'platform'::regnamespace and not p.polpermissive"
            " and p.polname like '%%\\_restrictive\\_%%'"  # 014's shadow policies are restrictive too
        ).fetchone()
    restrictive = request.node.callspec.params["api"] == "restrictive_db"
    assert row is not None and (row[0] >= 72) == restrictive, row


def test_a_request_leaves_no_reference_cycle_behind(api: Api) -> None:
    """A cycle through the request (its scope holds the Tenant) is freed only by the cyclic collector:
    measured, 50 us more Python a request and twice the p99 of the single-row get. With the collector off,
    nothing of a finished request may stay alive."""
    ada = api.user("ada")
    org = api.org(ada)
    gc.collect()
    gc.disable()
    try:
        for _ in range(3):
            assert api.client.get(f"/api/organizations/{org}", headers=ada.headers).status_code == 200
        for _ in range(50):  # the app's thread may still be unwinding the last request's frames: poll
            alive = [o for o in gc.get_objects() if isinstance(o, (Tenant, Context))]
            if not alive:
                break
            assert api.client.get("/healthz").status_code == 200
            time.sleep(0.02)
    finally:
        gc.enable()
    assert alive == []
