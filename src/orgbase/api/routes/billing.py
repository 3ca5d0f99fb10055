"""Plans, subscriptions, invoices, payment methods, add-ons."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api", tags=["billing"])
