"""Outputs and filters of the audit log, and the opaque keyset cursor of lists newest first."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, StringConstraints

from orgbase.errors import InvalidInput

# An action (``project.create``) or, ending with a dot, a prefix of actions (``project.``).
ActionFilter = Annotated[
    str, StringConstraints(max_length=100, pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*\.?$")
]
TargetType = Annotated[str, StringConstraints(max_length=63, pattern=r"^[a-z][a-z0-9_]*$")]
TargetId = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00]+$")]


@dataclass(frozen=True)
class Filters:
    """What to keep of an organization's log; None means no condition."""

    action: str | None = None
    actor_id: uuid.UUID | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None


class Entry(BaseModel):
    """One record of the audit trail."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_id: uuid.UUID | None
    actor_id: uuid.UUID | None
    action: str
    target_type: str | None
    target_id: str | None
    changes: dict[str, Any]
    ip_address: str | None
    user_agent: str | None
    request_id: str | None
    created_at: datetime


class Page(BaseModel):
    """One page of the log, newest first; ``next_cursor`` is null on the last page."""

    items: list[Entry]
    next_cursor: str | None


@dataclass(frozen=True)
class Cursor:
    """Where a newest-first page ends: the last row's ``created_at`` and its id (the tie-breaker).

    Rows written by one transaction share ``created_at`` (it is ``now()``), so the id is what makes the
    order total and a walk over every page free of gaps and duplicates.
    """

    created_at: datetime
    id: uuid.UUID

    def encode(self) -> str:
        """Opaque to clients: urlsafe base64 (unpadded) of a small JSON array."""
        raw = json.dumps([self.created_at.isoformat(), str(self.id)], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """The cursor ``text`` stands for; InvalidInput if it is malformed."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            when, row_id = json.loads(raw)
            cursor = cls(datetime.fromisoformat(str(when)), uuid.UUID(str(row_id)))
        except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
            raise InvalidInput("malformed cursor", code="malformed_cursor") from None
        if cursor.created_at.tzinfo is None:  # compared with a timestamptz: never the session's zone
            raise InvalidInput("malformed cursor", code="malformed_cursor")
        return cursor

    @classmethod
    def parse(cls, text: str | None) -> Cursor | None:
        """``decode`` for an optional query parameter."""
        return None if text is None else cls.decode(text)
