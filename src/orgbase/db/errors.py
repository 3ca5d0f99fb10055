"""The only place that knows SQLSTATE codes: database errors translated into the domain's terms."""

from __future__ import annotations

import psycopg

from orgbase.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
)

_BY_SQLSTATE: dict[str, type[DomainError]] = {
    "23505": Conflict,  # unique_violation
    "23503": Conflict,  # foreign_key_violation
    "23514": InvalidInput,  # check_violation: a named constraint says which rule
    "23502": InvalidInput,  # not_null_violation
    "22P02": InvalidInput,  # invalid_text_representation (a malformed uuid, say)
    "22001": InvalidInput,  # string_data_right_truncation
    "22003": InvalidInput,  # numeric_value_out_of_range
    "22023": InvalidInput,  # invalid_parameter_value (a definer function refusing its argument)
    "42501": PermissionDenied,  # insufficient_privilege, and RLS WITH CHECK failures
    "OB401": Unauthenticated,  # raised by platform.auth_* functions
    "OB403": PermissionDenied,
    "OB404": NotFound,
    "OB429": RateLimited,
}

_CODES: dict[str, str] = {
    "23505": "duplicate",
    "23503": "reference_missing",
    "23514": "constraint_violated",
}


def to_domain(exc: psycopg.Error) -> DomainError | None:
    """Translate a database error into a domain error, or None if it has no meaning there (a bug)."""
    if exc.sqlstate is None and isinstance(exc, psycopg.DataError):
        # Raised by the driver before anything is sent (a NUL in a string, a number out of range): input.
        return InvalidInput(str(exc), code="invalid_value")
    cls = _BY_SQLSTATE.get(exc.sqlstate or "")
    if cls is None:
        return None
    diag = exc.diag
    message = diag.message_primary or cls.__name__
    if exc.sqlstate == "42501":  # a grant or a policy refused: its message names tables and policies
        message = "the database refused this operation for your role"
    if diag.constraint_name and exc.sqlstate in ("23505", "23503", "23514"):
        message = f"{message} ({diag.constraint_name})"
    return cls(message, code=_CODES.get(exc.sqlstate or ""))
