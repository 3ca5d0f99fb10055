"""Test connection: reach a registered database once, with a short timeout, and say whether it answered.

It must not become a probe of the server's own network, so the host is resolved first and every address it
resolves to (every SRV target, for ``mongodb+srv``) must be public unless ``allow_private_targets``; the
connection then goes to the checked address where TLS allows (no second lookup to rebind). The drivers get
only what the URL says about host, port, database and credentials, never its other options (a MongoDB
``proxyHost`` or ``authMechanism=MONGODB-AWS``, a libpq ``hostaddr=`` would each reach elsewhere).
The blocking clients run in a worker thread; error messages are scrubbed of the URL and its password.
``test_connection`` is the service function: decrypt (owners and admins: the database hands the ciphertext
to them only), check, record the health and audit it, in the request's transaction.
"""

from __future__ import annotations

import ipaddress
import math
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import SplitResult, parse_qs, quote, unquote, urlsplit

import anyio
import dns.exception
import dns.resolver
import psycopg
import pymongo
import pymongo.errors
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from orgbase.audit import service as audit
from orgbase.config import Settings
from orgbase.databases import service
from orgbase.databases.crypto import Keyring
from orgbase.databases.endpoints import Endpoint
from orgbase.databases.models import Health, HealthCheck, parse_connection_string
from orgbase.db.tenant import Principal
from orgbase.errors import InvalidInput, PermissionDenied
from orgbase.orgs import service as orgs

_PG_SSLMODES = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}
_MONGO_AUTH = {"SCRAM-SHA-1", "SCRAM-SHA-256", "DEFAULT"}
_MAX_ERROR = 500


class TargetRefused(InvalidInput):
    """The database's host resolves to an address the server must not be made to reach."""

    code = "target_not_allowed"


@dataclass(frozen=True)
class Outcome:
    """One connection attempt: healthy or not, why not (scrubbed), and how long it took."""

    healthy: bool
    error: str | None
    latency_ms: float


async def check(endpoint: Endpoint, url: str, *, timeout: float, allow_private: bool) -> Outcome:
    """Connect to ``endpoint`` with the credentials of ``url`` once; TargetRefused for a forbidden host."""
    work = partial(_check, endpoint, url, timeout=timeout, allow_private=allow_private)
    started = time.perf_counter()
    # The drivers bound each step by ``timeout``; this bounds the whole (DNS included), abandoning the thread.
    with anyio.move_on_after(timeout * 3 + 2) as scope:
        return await anyio.to_thread.run_sync(work, abandon_on_cancel=True)
    assert scope.cancelled_caught
    return Outcome(False, f"no answer within {timeout:g}s", _ms(started))


async def test_connection(
    conn: service.Conn,
    *,
    keyring: Keyring,
    settings: Settings,
    organization_id: uuid.UUID,
    database_id: uuid.UUID,
    principal: Principal,
    origin: audit.Origin,
) -> HealthCheck:
    """Connect once with the stored credentials (``databases.update`` and their holder) and record health."""
    await orgs.require(conn, organization_id=organization_id, permission="databases.update")
    current = await service.fetch(conn, organization_id=organization_id, database_id=database_id)
    url = await service.decrypt(conn, keyring, organization_id=organization_id, database_id=database_id)
    if url is None:
        raise PermissionDenied(
            "testing a connection uses its stored credentials, which only owners and admins may read",
            code="role_forbids",
        )
    endpoint = parse_connection_string(current.type, url, ssl=True if current.ssl_enabled else None)
    outcome = await check(
        endpoint,
        url,
        timeout=settings.target_connect_timeout_seconds,
        allow_private=settings.allow_private_targets,
    )
    status: Health = "healthy" if outcome.healthy else "unhealthy"
    await service.set_health(conn, database_id=database_id, status=status, error=outcome.error)
    changes = {"status": status, "latency_ms": outcome.latency_ms}
    await service.audit_change(
        conn, "database.test_connection", organization_id, database_id, principal, origin, changes
    )
    return HealthCheck(
        database_id=database_id,
        status=status,
        error=outcome.error,
        latency_ms=outcome.latency_ms,
        checked_at=datetime.now(UTC),
    )


def refusal(address: str) -> str | None:
    """Why ``address`` may not be reached (loopback, private, ...), or None for a public address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 scope id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    tests = (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),  # 169.254.0.0/16 (the metadata address), fe80::/10
        ("unspecified", ip.is_unspecified),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),  # RFC 1918, fc00::/7 and the other special-purpose ranges
        ("reserved", ip.is_reserved),
        ("non-public", not ip.is_global),  # 100.64.0.0/10 (shared) and the like
    )
    return next((name for name, hit in tests if hit), None)


def _check(endpoint: Endpoint, url: str, *, timeout: float, allow_private: bool) -> Outcome:
    parts = urlsplit(url)
    secrets = [url, parts.password or "", unquote(parts.password or "")]
    srv = parts.scheme.lower() == "mongodb+srv"
    started = time.perf_counter()
    try:
        if srv and not allow_private:
            for name in _srv_targets(endpoint.host, timeout):
                _resolve(name, 27017, allow_private=False)
        address = None if srv else _resolve(endpoint.host, endpoint.port, allow_private=allow_private)
        _CONNECT[endpoint.type](endpoint, parts, address, timeout)
    except TargetRefused:
        raise
    except (OSError, ValueError, dns.exception.DNSException, psycopg.Error, redis.RedisError) as exc:
        return Outcome(False, _scrub(exc, secrets), _ms(started))
    except pymongo.errors.PyMongoError as exc:
        return Outcome(False, _scrub(exc, secrets), _ms(started))
    return Outcome(True, None, _ms(started))


def _resolve(host: str, port: int, *, allow_private: bool) -> str:
    """The first address of ``host``; TargetRefused if any address it has is not public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise OSError(f"host {host} does not resolve") from None
    addresses = [str(info[4][0]) for info in infos]
    if not allow_private:
        for address in addresses:
            reason = refusal(address)
            if reason is not None:
                raise TargetRefused(
                    f"host {host} resolves to a {reason} address; "
                    "test connection reaches public addresses only"
                )
    return addresses[0]


def _srv_targets(host: str, timeout: float) -> list[str]:
    answer = dns.resolver.resolve(f"_mongodb._tcp.{host}", "SRV", lifetime=timeout)
    return [str(record.target).rstrip(".") for record in answer]


def _postgresql(endpoint: Endpoint, parts: SplitResult, address: str | None, timeout: float) -> None:
    mode = parse_qs(parts.query).get("sslmode", [""])[-1]
    params: dict[str, object] = {
        "host": endpoint.host,
        "hostaddr": address,  # the checked address: libpq does not look the name up again
        "port": endpoint.port,
        "dbname": endpoint.database or None,
        "user": unquote(parts.username or "") or None,
        "password": unquote(parts.password or "") or None,
        "sslmode": mode if mode in _PG_SSLMODES else ("require" if endpoint.ssl else "prefer"),
        "connect_timeout": max(2, math.ceil(timeout)),
        "application_name": "orgbase-connection-test",
        "passfile": os.devnull,  # never offer this server's ~/.pgpass to a target
        "gssencmode": "disable",
    }
    if psycopg.pq.version() >= 160000:
        params["require_auth"] = "!gss,!sspi"  # nor its Kerberos tickets
    with psycopg.connect(autocommit=True, **params) as conn:  # type: ignore[arg-type]
        conn.execute("select 1")


def _redis(endpoint: Endpoint, parts: SplitResult, address: str | None, timeout: float) -> None:
    db = endpoint.database or "0"
    if not db.isdigit():
        raise ValueError("the database of a Redis URL is a number (/0)")
    client = redis.Redis(
        host=endpoint.host if endpoint.ssl or address is None else address,  # TLS checks the name
        port=endpoint.port,
        db=int(db),
        username=unquote(parts.username or "") or None,
        password=unquote(parts.password or "") or None,
        ssl=endpoint.ssl,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )
    try:
        client.ping()
    finally:
        client.close()


def _mongodb(endpoint: Endpoint, parts: SplitResult, address: str | None, timeout: float) -> None:
    options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    mechanism = options.get("authMechanism", "DEFAULT")
    if mechanism not in _MONGO_AUTH:
        raise ValueError(f"authMechanism {mechanism} is not supported by the connection test")
    user, password = unquote(parts.username or "") or None, unquote(parts.password or "") or None
    ms = int(timeout * 1000)
    common: dict[str, Any] = {
        "tls": endpoint.ssl,
        "serverSelectionTimeoutMS": ms,
        "connectTimeoutMS": ms,
        "socketTimeoutMS": ms,
        "appname": "orgbase-connection-test",
    }
    if user is not None:
        source = options.get("authSource") or endpoint.database or "admin"
        common.update(username=user, password=password, authSource=source, authMechanism=mechanism)
    if address is None:  # mongodb+srv: the driver resolves the (checked) SRV records itself
        client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
            f"mongodb+srv://{quote(endpoint.host)}/", **common
        )
    else:  # one server, no discovery of others (a replica set could name private members)
        host = endpoint.host if endpoint.ssl else address
        client = pymongo.MongoClient(host=host, port=endpoint.port, directConnection=True, **common)
    try:
        client.admin.command("ping")
    finally:
        client.close()


_CONNECT: dict[str, Callable[[Endpoint, SplitResult, str | None, float], None]] = {
    "postgresql": _postgresql,
    "redis": _redis,
    "mongodb": _mongodb,
}


def _scrub(exc: BaseException, secrets: list[str]) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    for secret in sorted(filter(None, set(secrets)), key=len, reverse=True):
        text = text.replace(secret, "***")
    # pymongo appends its whole topology description: the first part says what went wrong.
    text = text.split(", Timeout:", 1)[0].split(" (configured timeouts", 1)[0]
    return text if len(text) <= _MAX_ERROR else text[: _MAX_ERROR - 3] + "..."


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
