"""``orgbase migrate``: one function per verb over the engine; exit codes live in ``cli/main.py``."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import typer

from orgbase.cli.common import engine, say, service_connection, settings
from orgbase.errors import MigrationError
from orgbase.migrate import ledger, report
from orgbase.rls import shadow

app = typer.Typer(
    help="Deploy, revert, verify and adopt the changes of migrations/plan.toml; "
    "the ledger in the database is the source of truth.",
    no_args_is_help=True,
)


class Format(StrEnum):
    """Output formats of ``status``."""

    table = "table"
    markdown = "markdown"
    json = "json"


@app.command()
def status(
    fmt: Annotated[Format, typer.Option("--format", help="table, markdown or json")] = Format.table,
) -> None:
    """Print every change's state from the live database (the seed's status page with --format markdown)."""
    cfg = settings()
    with service_connection(cfg) as conn:
        statuses = engine(conn, cfg).status()
        database = conn.info.dbname
        rls = shadow.state(conn)
    if fmt is Format.json:
        typer.echo(report.as_json(statuses, rls))
    elif fmt is Format.markdown:
        when = datetime.now(UTC)
        typer.echo(report.markdown(statuses, database=database, generated_at=when, rls=rls), nl=False)
    else:
        typer.echo(report.table(statuses, rls))


@app.command()
def deploy(
    to: Annotated[str | None, typer.Option(help="Deploy only this change and what it requires.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would run; change nothing.")] = False,
    override_gate: Annotated[
        list[str] | None,
        typer.Option(help="Deploy past this gate (repeatable); needs --reason; recorded in the ledger."),
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Why the gate is overridden.")] = None,
) -> None:
    """Apply every change that can be applied, in dependency order, and report what gates hold back."""
    overrides = {name: reason or "" for name in override_gate or []}
    if overrides and not (reason or "").strip():
        raise MigrationError("--override-gate needs --reason TEXT")
    cfg = settings()
    with service_connection(cfg) as conn:
        result = engine(conn, cfg).deploy(to=to, dry_run=dry_run, overrides=overrides)
    verb = "would deploy" if dry_run else "deployed"
    typer.echo(f"{verb}: {', '.join(result.deployed) if result.deployed else 'nothing'}")
    for change_id, why in result.skipped:
        typer.echo(f"skipped: {change_id}: {why}")
    for change_id, why in result.blocked:
        typer.echo(f"blocked: {change_id}: {why}")


@app.command()
def revert(change: Annotated[str, typer.Argument(help="The change to revert.")]) -> None:
    """Revert one change (refused while a deployed change requires it)."""
    cfg = settings()
    with service_connection(cfg) as conn:
        engine(conn, cfg).revert(change)


@app.command()
def verify() -> None:
    """Run the verify script of every applied change; exit 1 if any fails."""
    cfg = settings()
    with service_connection(cfg) as conn:
        outcomes = engine(conn, cfg).verify()
    for o in outcomes:
        typer.echo(
            f"{'ok  ' if o.error is None else 'FAIL'} {o.change_id}" + (f": {o.error}" if o.error else "")
        )
    failed = [o for o in outcomes if o.error]
    say(f"{len(outcomes) - len(failed)} verified, {len(failed)} failed")
    if failed:
        raise typer.Exit(1)


@app.command()
def adopt() -> None:
    """Record changes applied by hand: each unrecorded change whose verify passes is adopted."""
    cfg = settings()
    with service_connection(cfg) as conn:
        outcomes = engine(conn, cfg).adopt()
    for o in outcomes:
        typer.echo(f"adopted {o.change_id}" if o.error is None else f"not adopted {o.change_id}: {o.error}")


@app.command()
def log(limit: Annotated[int, typer.Option(help="How many events.")] = 50) -> None:
    """The ledger's events, newest first."""
    cfg = settings()
    with service_connection(cfg) as conn:
        events = ledger.history(conn, limit=limit)
    for at, change_id, event, by, db_user, detail in events:
        typer.echo(
            f"{at:%Y-%m-%d %H:%M:%S}  {event:<8} {change_id}  {by} ({db_user})"
            + (f"  {detail}" if detail else "")
        )


@app.command()
def rehearse(change: Annotated[str, typer.Argument(help="The change to rehearse.")]) -> None:
    """Deploy CHANGE in a transaction, run the RLS harness on it as the app role, roll back, record the run;
    the database is unchanged. Exit 1 on any mismatch."""
    from orgbase.cli.rls import finish
    from orgbase.migrate.plan import load_plan
    from orgbase.rls import runs

    cfg = settings()
    with service_connection(cfg) as conn:
        runs.require_evidence(conn)
        run = runs.rehearse(conn, cfg, load_plan(cfg.migrations_dir)[change])
        run_id = runs.record(conn, run)
    finish(run, run_id)
