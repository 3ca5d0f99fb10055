"""The error tree of orgbase.

Every error that orgbase raises on purpose is an ``OrgbaseError``::

    OrgbaseError
    ├── ConfigError              bad or missing settings
    ├── ServerError              the embedded PostgreSQL cannot be found, started or reached
    │   ├── BinariesMissing      no PostgreSQL server binaries on this machine
    │   └── ExtensionMissing     the server lacks an extension orgbase needs (orgbase_seal)
    ├── CredentialsError         a key or stored credential is unusable (databases/crypto.py)
    ├── DomainError              what an API caller did wrong or may not do (api/errors.py: HTTP status)
    │   ├── InvalidInput         malformed or out-of-range input
    │   ├── Unauthenticated      no, a bad, an expired or a revoked token; a banned or deleted user
    │   ├── PermissionDenied     authenticated, but the role does not allow it
    │   ├── NotFound             absent, or not visible to the caller (the same answer: no existence oracle)
    │   ├── Conflict             a duplicate, or a state that forbids it
    │   │   └── LimitExceeded    the plan's limit is reached
    │   └── RateLimited          too many attempts; try later
    ├── PlanError                migrations/plan.toml or a change folder is wrong (nothing has run)
    └── MigrationError           the engine refused or failed a change
        ├── ChangeFailed         a script raised: the change was rolled back and a `fail` event recorded
        ├── DriftDetected        a deployed change's script differs from what was deployed
        ├── GateBlocked          a change's gates do not hold
        └── RevertRefused        a deployed change still requires the one to revert

Lower-layer exceptions are translated once, at the boundary, with ``raise X(...) from exc``;
the CLI maps each class to an exit code in one place (``cli/main.py``).
"""

from __future__ import annotations


class OrgbaseError(Exception):
    """Base of every error orgbase raises on purpose."""


class ConfigError(OrgbaseError):
    """Settings are missing or inconsistent."""


class ServerError(OrgbaseError):
    """The embedded PostgreSQL cannot be found, started or reached."""


class BinariesMissing(ServerError):
    """No PostgreSQL server binaries were found on this machine."""


class ExtensionMissing(ServerError):
    """The database server lacks an extension that orgbase needs (orgbase_seal: scripts/build-seal.sh)."""


class PlanError(OrgbaseError):
    """The migration plan is invalid; raised before anything runs."""


class MigrationError(OrgbaseError):
    """The migration engine refused or failed a change."""


class ChangeFailed(MigrationError):
    """A change's script raised; its transaction was rolled back."""

    def __init__(self, change_id: str, step: str, message: str) -> None:
        super().__init__(f"{change_id}: {step} failed: {message}")
        self.change_id = change_id
        self.step = step
        self.message = message


class DriftDetected(MigrationError):
    """A deployed change's deploy script has changed since it was deployed."""


class GateBlocked(MigrationError):
    """A change is held back by gates that do not hold."""


class RevertRefused(MigrationError):
    """A change cannot be reverted while deployed changes require it."""


class DomainError(OrgbaseError):
    """An error in the caller's terms; ``code`` is stable, for clients to branch on."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidInput(DomainError):
    """Malformed or out-of-range input."""

    code = "invalid_input"


class Unauthenticated(DomainError):
    """No valid session."""

    code = "unauthenticated"


class PermissionDenied(DomainError):
    """The caller's role does not allow this."""

    code = "permission_denied"


class NotFound(DomainError):
    """Absent, or not visible to the caller."""

    code = "not_found"


class Conflict(DomainError):
    """A duplicate, or a state that forbids the change."""

    code = "conflict"


class LimitExceeded(Conflict):
    """The organization's plan does not allow more."""

    code = "plan_limit_exceeded"


class RateLimited(DomainError):
    """Too many attempts in the current window."""

    code = "rate_limited"
