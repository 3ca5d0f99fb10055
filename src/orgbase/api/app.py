"""The ASGI application: ``create_app(settings)`` builds it; nothing is created at import time."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from orgbase.api import errors
from orgbase.api.deps import TenantRoute, needs_tenant
from orgbase.api.middleware import RequestContext
from orgbase.api.routes import audit, auth, billing, databases, health, members, organizations, projects
from orgbase.auth.passwords import Passwords
from orgbase.auth.service import Limits
from orgbase.config import Settings
from orgbase.databases import keys
from orgbase.db.pool import open_pool
from orgbase.db.urls import app_url
from orgbase.migrate.plan import load_plan


def create_app(settings: Settings) -> FastAPI:
    """The API for ``settings``; its pool (app role only) opens and closes with the app's lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = open_pool(
            app_url(settings),
            min_size=settings.pool_min_size,
            max_size=settings.pool_max_size,
            prepare_threshold=None if settings.disable_prepared_statements else 5,
        )
        await pool.open(wait=True, timeout=30)
        app.state.pool = pool
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(
        title="orgbase",
        version="0.1.0",
        lifespan=lifespan,
        description="Multi-tenant platform API: PostgreSQL enforces tenant isolation.",
    )
    app.state.settings = settings
    app.state.passwords = Passwords(settings)
    app.state.plan = load_plan(settings.migrations_dir)  # /readyz compares the ledger with it
    # Credentials of registered databases are encrypted and decrypted in this process only.
    app.state.keyring = keys.load_keyring(settings, create=settings.database_url is None)
    app.state.limits = Limits(
        session_ttl=timedelta(seconds=settings.session_ttl_seconds),
        window=timedelta(seconds=settings.signin_window_seconds),
        max_per_account=settings.signin_max_failures_per_account,
        max_per_ip=settings.signin_max_failures_per_ip,
    )
    errors.install(app)
    routers = (health, auth, organizations, members, projects, databases, billing, audit)
    for module in routers:
        add_routes(app, module.router)
    app.add_middleware(RequestContext, max_body_bytes=settings.max_body_bytes)
    return app


def add_routes(app: FastAPI, router: APIRouter) -> None:
    """Put ``router``'s routes on the app's own router, in order, instead of ``app.include_router``.

    The routers here are plain groups (prefix and tags set on the router, nothing added when including), so
    their routes are complete as they are. ``include_router`` (FastAPI 0.165) wraps each router in an
    ``_IncludedRouter`` that every request walks twice (once to find the router, once more to find the route
    in it), with scope bookkeeping per route tried. Counted per request (Python opcodes, in-process): 15% of
    a single-row get and 14% of a 50-row page went to that. A route that takes ``TenantConn`` must be a
    ``TenantRoute`` (which opens the tenant transaction around it): refused here otherwise, at start-up.
    """
    for route in router.routes:
        if (
            isinstance(route, APIRoute)
            and not isinstance(route, TenantRoute)
            and needs_tenant(route.dependant)
        ):
            raise TypeError(f"{route.path}: takes TenantConn but its router has no route_class=TenantRoute")
    app.router.routes.extend(router.routes)


# Generation-0 collections every 20,000 net allocations instead of 700 (and the older generations in
# proportion): a request allocates thousands of short-lived objects (rows, models, ASGI messages), so the
# default thresholds ran the cyclic collector several times per request. Measured with 1 worker, wrk 32
# connections: 13% less CPU per request for a single-row get, 10% for a 50-row page.
GC_THRESHOLDS = (20_000, 20, 20)


def tune_gc() -> None:
    """For a serving process: freeze what start-up made (modules, schemas, routes: never garbage, no longer
    traversed by each collection) and collect less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def app_factory() -> FastAPI:
    """For ``uvicorn --factory`` (each worker process; ``orgbase serve``): settings from the environment, the
    collector tuned for serving. Tests build their apps with ``create_app`` and keep the defaults."""
    app = create_app(Settings())
    tune_gc()
    return app
