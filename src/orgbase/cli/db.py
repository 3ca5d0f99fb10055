"""``orgbase db``: the embedded PostgreSQL cluster and the cluster-global roles."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from orgbase.cli.common import say, settings, start_embedded
from orgbase.db.bootstrap import bootstrap as bootstrap_roles
from orgbase.db.server import EmbeddedCluster, Role
from orgbase.db.urls import embedded
from orgbase.errors import ConfigError

app = typer.Typer(
    help="The embedded PostgreSQL cluster under ORGBASE_HOME, and the database roles.", no_args_is_help=True
)


@app.command()
def start() -> None:
    """Start the embedded cluster (initialising it and creating the roles on first use)."""
    cfg = settings()
    _require_embedded(cfg.database_url is None)
    cluster = EmbeddedCluster(cfg)
    was_running = cluster.status().running
    start_embedded(cfg)
    st = cluster.status()
    say(
        f"PostgreSQL {'was already running' if was_running else 'started'}: pid {st.pid}, "
        f"127.0.0.1:{st.port}, data {st.data_dir}"
    )


@app.command()
def stop() -> None:
    """Stop the embedded cluster (fast shutdown: open transactions roll back)."""
    cfg = settings()
    _require_embedded(cfg.database_url is None)
    say("PostgreSQL stopped" if EmbeddedCluster(cfg).stop() else "PostgreSQL was not running")


@app.command()
def status() -> None:
    """Whether the embedded cluster runs; exit 3 when it does not (as pg_ctl status)."""
    cfg = settings()
    _require_embedded(cfg.database_url is None)
    st = EmbeddedCluster(cfg).status()
    typer.echo(
        f"initialized: {'yes' if st.initialized else 'no'}\nrunning: {'yes' if st.running else 'no'}"
        + (f"\npid: {st.pid}\nport: {st.port}" if st.running else "")
        + f"\ndata: {st.data_dir}"
    )
    if not st.running:
        raise typer.Exit(3)


@app.command()
def url(role: Annotated[str, typer.Option(help="service, app or superuser")] = "service") -> None:
    """Print a connection URL for a role (it contains that role's password)."""
    cfg = settings()
    if role not in ("service", "app", "superuser"):
        raise ConfigError(f"--role must be service, app or superuser, not {role!r}")
    if not embedded(cfg):
        chosen = cfg.database_url if role == "service" else cfg.app_database_url if role == "app" else None
        if chosen is None:
            raise ConfigError(f"no URL is configured for the {role} role")
        typer.echo(chosen.get_secret_value())
        return
    typer.echo(EmbeddedCluster(cfg).url(_role(role)))


@app.command()
def bootstrap(
    superuser_url: Annotated[
        str | None,
        typer.Option(
            help="A superuser's URL, for a server that is not the embedded one. The service, app and shadow "
            "roles' passwords then come from ORGBASE_SERVICE_PASSWORD, ORGBASE_APP_PASSWORD and "
            "ORGBASE_SHADOW_PASSWORD."
        ),
    ] = None,
) -> None:
    """Create (or correct) the owner, service, app and shadow roles, the database and dblink; idempotent."""
    cfg = settings()
    if superuser_url is None:
        _require_embedded(cfg.database_url is None)
        cluster = EmbeddedCluster(cfg)
        bootstrap_roles(
            cluster.url("superuser"),
            cfg,
            service_password=cluster.password("service"),
            app_password=cluster.password("app"),
            shadow_password=cluster.password("shadow"),
        )
    else:
        names = ("ORGBASE_SERVICE_PASSWORD", "ORGBASE_APP_PASSWORD", "ORGBASE_SHADOW_PASSWORD")
        service_pw, app_pw, shadow_pw = (os.environ.get(name) for name in names)
        if not service_pw or not app_pw or not shadow_pw:
            raise ConfigError(f"set {', '.join(names)} for the roles to create")
        bootstrap_roles(
            superuser_url, cfg, service_password=service_pw, app_password=app_pw, shadow_password=shadow_pw
        )
    roles = ", ".join((cfg.owner_role, cfg.service_role, cfg.app_role, cfg.shadow_role))
    say(f"roles {roles}, database {cfg.database_name} and dblink ready")


def _role(name: str) -> Role:
    if name == "app":
        return "app"
    if name == "superuser":
        return "superuser"
    return "service"


def _require_embedded(is_embedded: bool) -> None:
    if not is_embedded:
        raise ConfigError("ORGBASE_DATABASE_URL is set: orgbase uses that server, not an embedded one")
