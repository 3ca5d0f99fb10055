"""What every CLI verb needs: the settings, a service connection, the engine, and how to print."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import typer

from orgbase.config import Settings
from orgbase.databases import keys
from orgbase.db.server import EmbeddedCluster, ensure_up
from orgbase.db.urls import embedded, service_url
from orgbase.errors import ServerError
from orgbase.migrate.engine import Engine, engine_for


def settings() -> Settings:
    """Settings from the environment, read once per command."""
    return Settings()


def say(message: str) -> None:
    """Progress and diagnostics go to stderr, so stdout stays parseable."""
    typer.echo(message, err=True)


def start_embedded(cfg: Settings) -> EmbeddedCluster:
    """Start the embedded cluster and make sure the credentials key file exists (0600, under home)."""
    cluster = ensure_up(cfg)
    if not keys.keys_from_env(cfg) and keys.ensure_key_file(keys.key_file_path(cfg)):
        say(f"generated the credentials key file {keys.key_file_path(cfg)} (mode 0600): back it up")
    return cluster


@contextmanager
def service_connection(cfg: Settings) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection as the service role; a clear error if the embedded server is down."""
    if embedded(cfg) and not EmbeddedCluster(cfg).status().running:
        raise ServerError(
            f"the embedded database under {cfg.home.resolve()} is not running: "
            "start it with `orgbase db start` (or `make run`)"
        )
    try:
        conn = psycopg.connect(service_url(cfg), autocommit=True, application_name="orgbase-cli")
    except psycopg.OperationalError as exc:
        raise ServerError(f"cannot connect to the database: {exc}") from exc
    with conn:
        yield conn


def engine(conn: psycopg.Connection[Any], cfg: Settings) -> Engine:
    """The migration engine over orgbase's own plan and gates, talking to stderr."""
    return engine_for(conn, cfg, say=say)
