"""Registered databases of an organization: registered in a project, addressed by id in the organization.

``/api/organizations/{org_id}/projects/{project_id}/databases`` registers and lists a project's databases;
``/api/organizations/{org_id}/databases[/{database_id}]`` lists all, reads, changes, deletes, tests, records
health and reveals. Responses are masked (``type://host:port``); only the audited reveal shows the URL.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status

from orgbase.api.deps import TenantConn, TenantRoute, origin
from orgbase.databases import probe
from orgbase.databases import service as databases
from orgbase.databases.models import (
    Credentials,
    Database,
    DatabaseCreate,
    DatabaseType,
    DatabaseUpdate,
    HealthCheck,
    HealthUpdate,
)
from orgbase.errors import NotFound

router = APIRouter(prefix="/api/organizations/{org_id}", tags=["databases"], route_class=TenantRoute)


@router.post("/projects/{project_id}/databases", status_code=status.HTTP_201_CREATED)
async def register(
    org_id: uuid.UUID, project_id: uuid.UUID, body: DatabaseCreate, request: Request, t: TenantConn
) -> Database:
    """Register a database (owner, admin, developer): the URL is stored encrypted, host/port parsed from it;
    409 ``plan_limit_exceeded`` past the plan's limit."""
    return await databases.register(
        t.conn,
        keyring=request.app.state.keyring,
        organization_id=org_id,
        project_id=project_id,
        data=body,
        principal=await t.principal(),
        origin=origin(request),
    )


@router.get("/projects/{project_id}/databases")
async def list_for_project(org_id: uuid.UUID, project_id: uuid.UUID, t: TenantConn) -> list[Database]:
    """A project's databases, masked, by name (every role but billing_admin)."""
    return await databases.list_all(t.conn, organization_id=org_id, project_id=project_id)


@router.get("/databases")
async def list_all(org_id: uuid.UUID, t: TenantConn, type: DatabaseType | None = None) -> list[Database]:
    """The organization's databases, masked, by name; ``type`` filters."""
    return await databases.list_all(t.conn, organization_id=org_id, kind=type)


@router.get("/databases/{database_id}")
async def get(org_id: uuid.UUID, database_id: uuid.UUID, t: TenantConn) -> Database:
    """One database, masked (404 for any other, existing or not)."""
    return await databases.get(t.conn, organization_id=org_id, database_id=database_id)


@router.patch("/databases/{database_id}")
async def update(
    org_id: uuid.UUID, database_id: uuid.UUID, body: DatabaseUpdate, request: Request, t: TenantConn
) -> Database:
    """Rename, change config/metadata/status, or replace the URL (re-encrypted, same type; health reset)."""
    return await databases.update(
        t.conn,
        keyring=request.app.state.keyring,
        organization_id=org_id,
        database_id=database_id,
        data=body,
        principal=await t.principal(),
        origin=origin(request),
    )


@router.delete("/databases/{database_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete(org_id: uuid.UUID, database_id: uuid.UUID, request: Request, t: TenantConn) -> None:
    """Remove a database from the registry (owner, admin, developer)."""
    await databases.delete(
        t.conn,
        organization_id=org_id,
        database_id=database_id,
        principal=await t.principal(),
        origin=origin(request),
    )


@router.post("/databases/{database_id}/test")
async def test_connection(
    org_id: uuid.UUID, database_id: uuid.UUID, request: Request, t: TenantConn
) -> HealthCheck:
    """Connect once with the stored credentials and record the health (owner, admin: it decrypts them).

    Loopback, private, link-local, multicast and unspecified targets: 422 ``target_not_allowed``."""
    return await probe.test_connection(
        t.conn,
        keyring=request.app.state.keyring,
        settings=request.app.state.settings,
        organization_id=org_id,
        database_id=database_id,
        principal=await t.principal(),
        origin=origin(request),
    )


@router.put("/databases/{database_id}/health")
async def record_health(
    org_id: uuid.UUID, database_id: uuid.UUID, body: HealthUpdate, request: Request, t: TenantConn
) -> Database:
    """Record a health check made elsewhere (owner, admin, developer); ``healthy`` clears the error."""
    return await databases.record_health(
        t.conn,
        organization_id=org_id,
        database_id=database_id,
        data=body,
        principal=await t.principal(),
        origin=origin(request),
    )


@router.post("/databases/{database_id}/reveal")
async def reveal(
    org_id: uuid.UUID, database_id: uuid.UUID, request: Request, response: Response, t: TenantConn
) -> Credentials:
    """The decrypted connection string (owner, admin), audited. A denied attempt is audited too: a member's
    in the organization's log (403), a stranger's as a platform event (404, as for an unknown id)."""
    response.headers["Cache-Control"] = "no-store"
    try:
        principal = await t.principal()
    except NotFound:
        await databases.record_stranger_reveal(
            t.apart_from_the_organization,
            organization_id=org_id,
            database_id=database_id,
            origin=origin(request),
        )
        raise
    return await databases.reveal(
        t.conn,
        apart=t.apart,
        keyring=request.app.state.keyring,
        organization_id=org_id,
        database_id=database_id,
        principal=principal,
        origin=origin(request),
    )
