"""The only place that knows HTTP statuses of domain errors: RFC 7807 problem+json for every error.

A body always has ``type``, ``title``, ``status``, a stable ``code`` and the ``request_id``; validation
errors list the fields. Never a stack trace: an unexpected error is logged with its request id and
answered with a 500 that says only that.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from orgbase.db.errors import to_domain
from orgbase.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    LimitExceeded,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
)

log = logging.getLogger("orgbase.api")

_STATUS: dict[type[DomainError], int] = {
    InvalidInput: 422,
    Unauthenticated: 401,
    PermissionDenied: 403,
    NotFound: 404,
    Conflict: 409,
    LimitExceeded: 409,
    RateLimited: 429,
}
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large", 401: "unauthenticated"}


def status_for(exc: DomainError) -> int:
    """The HTTP status of a domain error: that of the nearest class in its MRO that has one."""
    return next((_STATUS[c] for c in type(exc).__mro__ if c in _STATUS), 500)


def problem(request: Request | None, status: int, code: str, title: str, **extra: Any) -> JSONResponse:
    """An RFC 7807 response."""
    body = {
        "type": f"https://orgbase.dev/problems/{code}",
        "title": title,
        "status": status,
        "code": code,
        "request_id": _request_id(request),
        **extra,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(DomainError, _domain)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(psycopg.Error, _database)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)


async def _domain(request: Request, exc: DomainError) -> JSONResponse:
    return problem(request, status_for(exc), exc.code, exc.message)


async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    fields = [
        {
            "field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"),
            "message": err.get("msg", ""),
            "type": err.get("type", ""),
        }
        for err in exc.errors()
    ]
    return problem(request, 422, "validation_failed", "the request is not valid", errors=fields)


async def _http(request: Request, exc: HTTPException) -> JSONResponse:
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return problem(request, exc.status_code, code, str(exc.detail))


async def _database(request: Request, exc: psycopg.Error) -> JSONResponse:
    domain = to_domain(exc)
    if domain is not None:
        if exc.sqlstate == "42501":  # a flow the grants or policies refuse: a probe, or a bug of ours
            log.warning("request %s refused: %s", _request_id(request), exc.diag.message_primary)
        return await _domain(request, domain)
    return await _unexpected(request, exc)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("request %s failed: %s", _request_id(request), type(exc).__name__, exc_info=exc)
    return problem(request, 500, "internal_error", "internal error; the request id identifies it in the log")


def _request_id(request: Request | None) -> str | None:
    return getattr(request.state, "request_id", None) if request is not None else None
