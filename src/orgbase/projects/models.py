"""Inputs and outputs of the project endpoints, and the opaque keyset cursor of the list."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator

from orgbase.auth.models import Strict
from orgbase.errors import InvalidInput

# No control characters: PostgreSQL text cannot hold NUL at all (a 500 otherwise), and the others have no
# business in a name that front ends display.
ProjectName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$"),
]
Status = Literal["active", "paused", "inactive", "removed"]


class SortKey(StrEnum):
    """Columns a list may be sorted by (each with ``id`` as the tie-breaker)."""

    name = "name"
    created_at = "created_at"


class Order(StrEnum):
    """Direction of a sort."""

    asc = "asc"
    desc = "desc"


class ProjectCreate(Strict):
    """A new project; the server makes its ref, and it starts active."""

    name: ProjectName


class ProjectUpdate(Strict):
    """Fields to change; omitted ones stay as they are (null is not a value for either)."""

    name: ProjectName | None = None
    status: Status | None = None

    @field_validator("name", "status")
    @classmethod
    def _not_null(cls, value: str | None) -> str:
        # Runs only for fields the client sent (defaults are not validated): an explicit null is refused.
        if value is None:
            raise ValueError("may be omitted, but not null")
        return value


class Project(BaseModel):
    """A project as the members of its organization see it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_id: uuid.UUID
    ref: str
    name: str
    status: str
    created_at: datetime
    updated_at: datetime


class ProjectPage(BaseModel):
    """One page of a list; ``next_cursor`` is null on the last page."""

    items: list[Project]
    next_cursor: str | None


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the sort it belongs to, the last row's sort key and its id."""

    sort: SortKey
    order: Order
    key: str | datetime
    id: uuid.UUID

    def encode(self) -> str:
        """Opaque to clients: urlsafe base64 (unpadded) of a small JSON array."""
        key = self.key.isoformat() if isinstance(self.key, datetime) else self.key
        raw = json.dumps([self.sort.value, self.order.value, key, str(self.id)], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, *, sort: SortKey, order: Order) -> Cursor:
        """The cursor ``text`` stands for; InvalidInput if it is malformed or belongs to another sort."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            s, o, key, row_id = json.loads(raw)
            cursor = cls(SortKey(s), Order(o), _key(SortKey(s), key), uuid.UUID(str(row_id)))
        except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
            raise InvalidInput("malformed cursor", code="malformed_cursor") from None
        if (cursor.sort, cursor.order) != (sort, order):
            raise InvalidInput("the cursor belongs to another sort order", code="malformed_cursor")
        return cursor


def _key(sort: SortKey, value: object) -> str | datetime:
    if not isinstance(value, str) or "\x00" in value:
        raise ValueError("cursor key")
    if sort is SortKey.name:
        return value
    when = datetime.fromisoformat(value)
    if when.tzinfo is None:  # compared with a timestamptz: a naive value would follow the session's zone
        raise ValueError("cursor timestamp without a zone")
    return when
