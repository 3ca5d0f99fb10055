"""Inputs and outputs of the auth endpoints (JSON field names follow the seed's Studio: camelCase)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints


def no_control_characters(value: str) -> str:
    """Refuse NUL and other control characters: PostgreSQL text cannot hold NUL, and names need none."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must not contain control characters")
    return value


def no_nul(value: str) -> str:
    """Refuse NUL (passwords may hold any other character)."""
    if "\x00" in value:
        raise ValueError("must not contain NUL")
    return value


Clean = AfterValidator(no_control_characters)
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
    Clean,
]
Password = Annotated[str, StringConstraints(min_length=8, max_length=256), AfterValidator(no_nul)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), Clean]


class Strict(BaseModel):
    """Unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SignUp(Strict):
    """A new account."""

    email: Email
    password: Password
    first_name: Name | None = None
    last_name: Name | None = None


class SignIn(Strict):
    """Credentials."""

    email: Email
    password: Annotated[str, StringConstraints(max_length=256), AfterValidator(no_nul)]


class SetActiveOrg(Strict):
    """The organization to work in."""

    organization_id: uuid.UUID = Field(alias="organizationId")


class Session(BaseModel):
    """A bearer token (shown once) and when it expires."""

    token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_at: datetime


class UserOut(BaseModel):
    """The authenticated user, as the seed's ``AuthenticatedUser``."""

    model_config = ConfigDict(populate_by_name=True)

    id: uuid.UUID
    email: str
    first_name: str | None = Field(serialization_alias="firstName")
    last_name: str | None = Field(serialization_alias="lastName")
    active_org_id: uuid.UUID | None = Field(serialization_alias="activeOrgId")


class Membership(BaseModel):
    """An organization of the user and the user's role in it."""

    id: uuid.UUID
    name: str
    slug: str
    role: str


class Validated(BaseModel):
    """What ``GET /api/auth/validate`` answers."""

    user: UserOut
    organizations: list[Membership]
