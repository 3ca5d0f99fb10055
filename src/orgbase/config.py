"""Settings: one object, read from ``ORGBASE_*`` environment variables, passed down explicitly."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
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

    role_prefix: str = "orgbase"
    """Prefix of the cluster-global roles: ``<prefix>_owner``, ``<prefix>_service``, ``<prefix>_app``."""

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

    def role_names(self) -> dict[str, str]:
        """Variables the migration scripts may use, as psql would: ``:"owner_role"`` and so on."""
        return {"owner_role": self.owner_role, "service_role": self.service_role, "app_role": self.app_role}
