"""An organization's audit log."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/organizations/{org_id}/audit", tags=["audit"])
