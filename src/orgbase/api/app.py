"""The ASGI application: ``create_app(settings)`` builds it; nothing is created at import time."""

from __future__ import annotations

from fastapi import FastAPI

from orgbase.config import Settings


def create_app(settings: Settings) -> FastAPI:
    """The API for ``settings``: process health now; the platform endpoints arrive with the API issue."""
    app = FastAPI(
        title="orgbase",
        version="0.1.0",
        description="Multi-tenant platform database and API with PostgreSQL-enforced isolation.",
    )
    app.state.settings = settings

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """The process is up (it says nothing of the database: see /readyz once it exists)."""
        return {"status": "ok"}

    return app


def app_factory() -> FastAPI:
    """For ``uvicorn --factory``: settings from the environment."""
    return create_app(Settings())
