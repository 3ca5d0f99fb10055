"""``/healthz`` (the process) and ``/readyz`` (the database, and no failed or drifted migration)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from orgbase.api.deps import Conn

router = APIRouter(tags=["health"])

# What the app role may know: that the database answers and the API's schema (009) is deployed. The ledger
# itself (failed or drifted changes) is the service role's: see `orgbase migrate status`.
_READY = "select to_regprocedure('platform.auth_bind(text, uuid, text)') is not null"


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up (nothing about the database)."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request, conn: Conn) -> JSONResponse:
    """The database answers and the schema the API needs is deployed."""
    cur = await conn.execute(_READY)
    row = await cur.fetchone()
    ready = bool(row and row[0])
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "schema": ready}, status_code=200 if ready else 503
    )
