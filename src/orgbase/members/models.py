"""Inputs and outputs of the member and invitation endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from orgbase.auth.models import Strict

# The shape of a role name only: which roles exist is the permission matrix's business (member_roles), and
# the service checks it there, so that a new role needs no change here.
Role = Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=r"^[a-z][a-z_]*$")]

# As auth's Email, but no control characters either: PostgreSQL text cannot hold NUL (a 500 otherwise), and
# an address that is mailed to has no business with the others.
_ADDRESS_PART = r"[^@\s\x00-\x1f\x7f]+"
InviteeEmail = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, max_length=254, pattern=rf"^{_ADDRESS_PART}@{_ADDRESS_PART}\.{_ADDRESS_PART}$"
    ),
]
# Tokens are made by auth.service.new_token (43 characters); anything else simply matches no invitation.
Token = Annotated[str, StringConstraints(min_length=1, max_length=512)]


class Member(BaseModel):
    """A member of an organization, with their name and role."""

    model_config = ConfigDict(from_attributes=True)

    user_id: uuid.UUID
    email: str
    first_name: str | None
    last_name: str | None
    role: str
    joined_at: datetime


class RoleChange(Strict):
    """The member's new role."""

    role: Role


class InvitationCreate(Strict):
    """Whom to invite, and with which role."""

    email: InviteeEmail
    role: Role


class Invitation(BaseModel):
    """An invitation as the organization's admins see it (never its token)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_id: uuid.UUID
    email: str
    role: str
    invited_by: uuid.UUID | None
    created_at: datetime
    expires_at: datetime


class InvitationCreated(Invitation):
    """A new invitation with its token: shown this once, only its hash is stored."""

    token: str


class InvitationAccept(Strict):
    """The token of an invitation addressed to the caller's email."""

    token: Token


class Accepted(BaseModel):
    """The organization the caller joined, and their role in it."""

    organization_id: uuid.UUID
    role: str
