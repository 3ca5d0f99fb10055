"""Inputs and outputs of the organization endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from orgbase.auth.models import Clean, Email, Strict

Slug = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=63, pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
    ),
]
OrgName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), Clean]


class OrganizationCreate(Strict):
    """A new organization; its creator becomes its owner."""

    name: OrgName
    slug: Slug
    billing_email: Email | None = None


class OrganizationUpdate(Strict):
    """Fields to change; omitted ones stay as they are."""

    name: OrgName | None = None
    slug: Slug | None = None
    billing_email: Email | None = None


class Organization(BaseModel):
    """An organization as its members see it, with the caller's role."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    slug: str
    billing_email: str | None
    role: str | None  # None only in the benchmark's no-context mode
    created_at: datetime
    updated_at: datetime
