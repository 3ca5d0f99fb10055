"""Inputs and outputs of the registered-database endpoints, and what a connection URL says in the clear.

A connection string arrives in a request body, is parsed here (type, host, port, database, TLS) and is then
only ever stored encrypted. No output model has a field for it, except ``Credentials`` (the audited reveal).
Parse errors name the field, never its value: the value carries a password.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator

from orgbase.auth.models import Strict
from orgbase.databases.crypto import CredentialsError
from orgbase.databases.endpoints import Endpoint, Target, parse_url
from orgbase.errors import InvalidInput

DatabaseType = Literal["postgresql", "mongodb", "redis"]
Health = Literal["unknown", "healthy", "unhealthy"]
Status = Literal["active", "inactive", "error"]

# No control characters: PostgreSQL text cannot hold NUL (a 500 otherwise); front ends display names.
DatabaseName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$"),
]
ConnectionString = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2048, pattern=r"^[^\x00-\x20\x7f]+$"),
]
HealthError = Annotated[str, StringConstraints(max_length=2000, pattern=r"^[^\x00]*$")]

# The same parser as the Railway registration, with the request field named in its messages.
TARGETS: dict[str, Target] = {
    "postgresql": Target("postgresql", "", "connection_string", "", 5432, ("postgresql", "postgres"), ()),
    "mongodb": Target(
        "mongodb", "", "connection_string", "", 27017, ("mongodb", "mongodb+srv"), ("mongodb+srv",)
    ),
    "redis": Target("redis", "", "connection_string", "", 6379, ("redis", "rediss"), ("rediss",)),
}
_PG_TLS_MODES = {"require", "verify-ca", "verify-full"}
_BAD_URL = "invalid_connection_string"


def parse_connection_string(kind: str, url: str, *, ssl: bool | None = None) -> Endpoint:
    """Where ``url`` points, for a database of type ``kind``; InvalidInput if it does not fit."""
    try:
        endpoint = parse_url(TARGETS[kind], url)
    except CredentialsError as exc:
        raise InvalidInput(str(exc), code=_BAD_URL) from None
    if kind == "postgresql":  # libpq says TLS with sslmode, not tls=
        modes = parse_qs(urlsplit(url).query).get("sslmode", [""])
        endpoint = Endpoint(kind, endpoint.host, endpoint.port, endpoint.database, modes[-1] in _PG_TLS_MODES)
    if kind == "redis" and not (endpoint.database or "0").isdigit():
        raise InvalidInput("connection_string: a Redis database is a number (/0)", code=_BAD_URL)
    if ssl is False and endpoint.ssl:
        raise InvalidInput("ssl is false but connection_string asks for TLS", code=_BAD_URL)
    if ssl and not endpoint.ssl:
        endpoint = Endpoint(kind, endpoint.host, endpoint.port, endpoint.database, True)
    return endpoint


class DatabaseCreate(Strict):
    """A database to register in a project; host, port, database and TLS come from the URL."""

    name: DatabaseName
    type: DatabaseType
    connection_string: ConnectionString
    ssl: bool | None = None
    config: dict[str, Any] = {}
    metadata: dict[str, Any] = {}


class DatabaseUpdate(Strict):
    """Fields to change; omitted ones stay. A new connection string is re-encrypted (same type)."""

    name: DatabaseName | None = None
    connection_string: ConnectionString | None = None
    ssl: bool | None = None
    config: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    status: Status | None = None

    @field_validator("name", "connection_string", "config", "metadata", "status")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Runs only for fields the client sent: an explicit null is refused rather than stored.
        if value is None:
            raise ValueError("may be omitted, but not null")
        return value


class HealthUpdate(Strict):
    """A health check's outcome, reported by a caller (a monitor, an operator)."""

    status: Health
    error: HealthError | None = None


class Database(BaseModel):
    """A registered database, masked: ``connection_string_masked`` is ``type://host:port``."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_id: uuid.UUID
    project_id: uuid.UUID
    name: str
    type: str
    host: str
    port: int
    database: str | None
    ssl_enabled: bool
    config: dict[str, Any]
    metadata: dict[str, Any]
    status: str
    health_check_status: str
    health_check_error: str | None
    last_health_check_at: datetime | None
    connection_string_masked: str
    created_at: datetime
    updated_at: datetime


class HealthCheck(BaseModel):
    """What a connection test found; it is recorded on the database too."""

    database_id: uuid.UUID
    status: Health
    error: str | None
    latency_ms: float
    checked_at: datetime


class Credentials(BaseModel):
    """The decrypted connection string: only the audited reveal (owner, admin) answers with it."""

    id: uuid.UUID
    connection_string: str
