"""Which server orgbase talks to: the one the environment names, else the embedded cluster."""

from __future__ import annotations

from orgbase.config import Settings
from orgbase.db.server import EmbeddedCluster
from orgbase.errors import ConfigError


def embedded(settings: Settings) -> bool:
    """True when no external server is configured, so orgbase runs its own."""
    return settings.database_url is None


def service_url(settings: Settings) -> str:
    """The migrator/service role's URL (BYPASSRLS): migrations, jobs, the CLI."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    return EmbeddedCluster(settings).url("service")


def app_url(settings: Settings) -> str:
    """The app role's URL (subject to RLS): the API and nothing else."""
    if settings.database_url is None:
        return EmbeddedCluster(settings).url("app")
    if settings.app_database_url is None:
        raise ConfigError(
            "ORGBASE_DATABASE_URL is set but ORGBASE_APP_DATABASE_URL is not: the API must "
            "connect as the app role, never with the service role's credentials"
        )
    return settings.app_database_url.get_secret_value()
