"""Settings: one object, read from ``ORGBASE_*`` environment variables, passed down explicitly."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

_PACKAGE_ROOT = Path(__file__).resolve().parents[2]


def _default_migrations_dir() -> Path:
    """The plan beside the working directory if there is one, else the one shipped with the checkout."""
    local = Path.cwd() / "migrations"
    return local if (local / "plan.toml").is_file() else _PACKAGE_ROOT / "migrations"


class Settings(BaseSettings):
    """Everything orgbase can be told from outside; no module reads the environment on its own."""

    model_config = SettingsConfigDict(env_prefix="ORGBASE_", extra="ignore")

    home: Path = Path(".orgbase")
    """Where the embedded cluster, its generated passwords and keys live."""

    database_url: SecretStr | None = None
    """The migrator/service role's URL. Unset: use the embedded cluster under ``home``."""

    app_database_url: SecretStr | None = None
    """The app role's URL (subject to RLS). Required whenever ``database_url`` is set."""

    shadow_database_url: SecretStr | None = None
    """The shadow role's URL, through which shadow mode records violations (its database part is ignored:
    each database records into itself). Needed to turn shadow mode on when ``database_url`` is set."""

    rls_shadow_window_seconds: int = Field(default=86_400, ge=1)
    """The shadow window of 007's gates: shadow mode must have watched every table this long, with API
    traffic and no unacknowledged violation in it."""

    role_prefix: str = "orgbase"
    """Prefix of the cluster-global roles: ``<prefix>_owner``, ``_service``, ``_app`` and ``_shadow``."""

    database_name: str = "orgbase"
    """Name of the database inside the embedded cluster."""

    migrations_dir: Path = _default_migrations_dir()
    """Folder holding ``plan.toml`` and one folder per change."""

    pg_os_user: str | None = None
    """OS user that runs the embedded server when orgbase runs as root (default: postgres, else orgbase)."""

    durable: bool = True
    """fsync and synchronous commit for the embedded cluster; tests turn it off for speed."""

    encryption_keys: SecretStr | None = None
    """Keys for stored credentials, ``kid=base64key[,kid=base64key...]``, the first one current.
    Unset: the key file under ``home`` (generated 0600 by the embedded set-up)."""

    encryption_key_file: Path | None = None
    """Where the key file lives; default ``home/encryption.keys``."""

    pool_min_size: int = 2
    """Connections the API keeps open per worker."""

    pool_max_size: int = 10
    """At most this many connections per worker."""

    disable_prepared_statements: bool = False
    """Set behind PgBouncer in transaction mode (psycopg ``prepare_threshold=None``)."""

    session_ttl_seconds: int = 12 * 3600
    """How long a session token is valid; ``/api/auth/refresh`` rotates it and starts a new period."""

    invitation_ttl_seconds: int = 7 * 24 * 3600
    """How long an invitation token can be accepted."""

    signin_window_seconds: int = 15 * 60
    """The window over which failed sign-ins are counted."""

    signin_max_failures_per_account: int = 5
    """Failed sign-ins per account per window before sign-in is refused."""

    signin_max_failures_per_ip: int = 50
    """Failed sign-ins per client address per window before sign-in is refused."""

    argon2_time_cost: int = 3
    """argon2id iterations (tests lower the cost; production keeps the defaults)."""

    argon2_memory_kib: int = 65536
    """argon2id memory in KiB."""

    max_body_bytes: int = 64 * 1024
    """Larger request bodies are refused with 413 before they are read."""

    allow_private_targets: bool = False
    """Let "test connection" reach loopback, private and link-local addresses (tests set it; production
    must not: it would make the API a probe of the server's own network)."""

    target_connect_timeout_seconds: float = 3.0
    """How long "test connection" waits for a registered database."""

    bench_mode: Literal["off", "auth_only", "no_context"] = "off"
    """BENCHMARK ONLY, the baselines of bench/api_throughput.py; never set it anywhere else. "no_context": no
    token check and no context (no auth_bind). "auth_only": the token checked through ``bench.authenticate``,
    auth_bind without its context (no settings, no seal), which only that bench's database has (anywhere else
    every request fails). Both keep the same handlers and transaction."""

    @property
    def owner_role(self) -> str:
        """The role that owns every object; nobody logs in as it."""
        return f"{self.role_prefix}_owner"

    @property
    def service_role(self) -> str:
        """The migrator/service role: logs in, bypasses RLS."""
        return f"{self.role_prefix}_service"

    @property
    def app_role(self) -> str:
        """The API's role: logs in, owns nothing, subject to RLS."""
        return f"{self.role_prefix}_app"

    @property
    def shadow_role(self) -> str:
        """The role shadow mode records violations as: logs in, may only call ``rls_shadow.record``."""
        return f"{self.role_prefix}_shadow"

    def role_names(self) -> dict[str, str]:
        """Variables the migration scripts may use, as psql would: ``:"owner_role"`` and so on."""
        return {
            "owner_role": self.owner_role,
            "service_role": self.service_role,
            "app_role": self.app_role,
            "shadow_role": self.shadow_role,
        }
