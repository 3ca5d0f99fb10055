"""Members and invitations of an organization."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/organizations/{org_id}", tags=["members"])
