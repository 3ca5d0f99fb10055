"""What a connection URL says about where a database is, without its secret.

``parse_url`` turns ``mongodb://user:pass@host:27017/db?tls=true`` into the columns ``platform.databases``
stores in the clear (type, host, port, database, TLS); the URL itself is only ever stored encrypted. Errors
name the variable or row concerned and never echo the URL: it carries a password.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from orgbase.databases.crypto import CredentialsError


@dataclass(frozen=True)
class Target:
    """One database the Railway registration expects: its row name, type, and where its URL comes from."""

    type: str
    name: str
    env: str
    file_key: str
    default_port: int
    schemes: tuple[str, ...]
    tls_schemes: tuple[str, ...]


@dataclass(frozen=True)
class Endpoint:
    """The non-secret part of a connection URL, as stored in platform.databases' plain columns."""

    type: str
    host: str
    port: int
    database: str | None
    ssl: bool

    def masked(self) -> str:
        """``type://host:port``: what an API response may show in place of the connection string."""
        return f"{self.type}://{self.host}:{self.port}"


MONGODB = Target(
    type="mongodb",
    name="Railway MongoDB",
    env="ORGBASE_RAILWAY_MONGODB_URL",
    file_key="mongodb_url",
    default_port=27017,
    schemes=("mongodb", "mongodb+srv"),
    tls_schemes=("mongodb+srv",),
)
REDIS = Target(
    type="redis",
    name="Railway Redis",
    env="ORGBASE_RAILWAY_REDIS_URL",
    file_key="redis_url",
    default_port=6379,
    schemes=("redis", "rediss"),
    tls_schemes=("rediss",),
)
TARGETS = (MONGODB, REDIS)
_TRUE = {"true", "1", "yes"}


def parse_url(target: Target, url: str) -> Endpoint:
    """The endpoint of ``url`` for ``target``; CredentialsError (naming ``target.env``) if it does not fit."""
    where = f"{target.env} ({target.type})"
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in target.schemes:
        # Not echoing what was found: in "user:pass@host" without a scheme, "user" parses as the scheme.
        raise CredentialsError(f"{where} must start with {' or '.join(s + '://' for s in target.schemes)}")
    if "," in parts.netloc.rpartition("@")[2]:
        raise CredentialsError(f"{where} lists several hosts; register one endpoint per database")
    try:
        port = parts.port
    except ValueError:
        raise CredentialsError(f"{where} is not a valid URL (bad port or brackets)") from None
    if not parts.hostname:
        raise CredentialsError(f"{where} has no host")
    if port is not None and not 1 <= port <= 65535:
        raise CredentialsError(f"{where} has port {port}, outside 1-65535")
    return Endpoint(
        type=target.type,
        host=parts.hostname,
        port=port or target.default_port,
        database=_database(parts.path),
        ssl=_tls(target, scheme, parts.query),
    )


def _database(path: str) -> str | None:
    # MongoDB's default database and Redis' db number both ride in the path: "/app", "/0".
    name = unquote(path.lstrip("/"))
    return name or None


def _tls(target: Target, scheme: str, query: str) -> bool:
    # mongodb+srv and rediss imply TLS; MongoDB's tls= (or the older ssl=) option can say either way.
    options = {k.lower(): v[-1].lower() for k, v in parse_qs(query).items()}
    explicit = options.get("tls", options.get("ssl"))
    if explicit is not None:
        return explicit in _TRUE
    return scheme in target.tls_schemes
