"""``orgbase serve`` and ``orgbase run`` (what ``make run`` does: database, migrations, API)."""

from __future__ import annotations

from typing import Annotated, Any

import psycopg
import typer

from orgbase.cli import seed
from orgbase.cli.common import engine, say, service_connection, settings, start_embedded
from orgbase.config import Settings
from orgbase.db.server import EmbeddedCluster
from orgbase.db.urls import embedded
from orgbase.errors import OrgbaseError
from orgbase.migrate import report

Host = Annotated[str, typer.Option(help="Address to listen on (loopback by default).")]
Port = Annotated[int, typer.Option(help="TCP port.")]


def serve(
    host: Host = "127.0.0.1",
    port: Port = 8000,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.")] = 1,
) -> None:
    """Serve the API with uvicorn until Ctrl-C."""
    from orgbase.api.server import serve as run_server

    run_server(host=host, port=port, workers=workers)


def run(
    host: Host = "127.0.0.1",
    port: Port = 8000,
    demo: Annotated[
        bool | None,
        typer.Option(
            "--demo/--no-demo",
            help="Add the demo data (`orgbase seed demo`, idempotent) after deploying. Default: only with "
            "the embedded database, never on a server named by ORGBASE_DATABASE_URL unless asked.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Start the embedded database, deploy every change that can be deployed, add the demo data, serve."""
    cfg = settings()
    started_here = embedded(cfg) and not EmbeddedCluster(cfg).status().running
    if embedded(cfg):
        start_embedded(cfg)
    try:
        with service_connection(cfg) as conn:
            eng = engine(conn, cfg)
            result = eng.deploy()
            for change_id, why in result.blocked:
                say(f"held back: {change_id}: {why}")
            typer.echo(report.table(eng.status()))
            # Demo accounts share a published password: never put them on a real server by default.
            wanted = embedded(cfg) if demo is None else demo
            if wanted:
                _seed_demo(conn, cfg, base_url=f"http://{host}:{port}")
        say(f"serving on http://{host}:{port} (OpenAPI at /docs); Ctrl-C stops")
        serve(host=host, port=port)
    finally:
        if started_here:
            EmbeddedCluster(cfg).stop()
            say("PostgreSQL stopped")


def _seed_demo(conn: psycopg.Connection[Any], cfg: Settings, *, base_url: str) -> None:
    """Add the demo data; a failure is reported and the API is served anyway (it is only demo data)."""
    try:
        summary = seed.seed_demo(conn, cfg, password=seed.DEFAULT_PASSWORD)
    except OrgbaseError as exc:
        say(f"demo data not added: {exc}")
        return
    seed.report(summary, password=seed.DEFAULT_PASSWORD, base_url=base_url)
