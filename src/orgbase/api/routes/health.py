"""``/healthz`` (the process) and ``/readyz`` (the database answers; no failed or drifted change)."""

from __future__ import annotations

import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from orgbase.api.deps import Conn, TenantRoute
from orgbase.migrate.state import readiness_problems

router = APIRouter(tags=["health"], route_class=TenantRoute)

# The app role may not read the ledger; ledger.summary() (made by the engine) tells it ids, checksums and
# states, which it compares with the plan this process ships with.
_SUMMARY = "select change_id, checksum, state, last_event from ledger.summary()"


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up (nothing about the database)."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request, conn: Conn) -> JSONResponse:
    """Ready when the database answers and no migration failed, is unfinished or drifted."""
    try:
        cur = await conn.execute(_SUMMARY)
        rows = await cur.fetchall()
    except psycopg.errors.UndefinedFunction:
        await conn.rollback()
        return JSONResponse({"status": "not ready", "problems": ["no migration ledger"]}, status_code=503)
    problems = readiness_problems(request.app.state.plan, rows)
    return JSONResponse(
        {"status": "not ready" if problems else "ready", "problems": problems},
        status_code=503 if problems else 200,
    )
