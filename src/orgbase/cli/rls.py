"""``orgbase rls``: the isolation harness (WS4), shadow mode's modes and its violations."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer

from orgbase.cli.common import say, service_connection, settings
from orgbase.migrate.ledger import actor
from orgbase.migrate.plan import load_plan
from orgbase.rls import harness, runs, shadow

app = typer.Typer(
    help="Row level security: the isolation harness, shadow mode and its violations.", no_args_is_help=True
)


@app.command("test")
def test() -> None:
    """Check every platform table x command x role x context as the app role; record the run; exit 1 on any
    mismatch. With 007 deployed, against the live schema (rolled back); without it, a rehearsal of 007."""
    cfg = settings()
    with service_connection(cfg) as conn:
        runs.require_evidence(conn)
        if runs.deployed(conn, runs.RLS_CHANGE):
            say(f"{runs.RLS_CHANGE} is deployed: testing the live schema (in a transaction rolled back)")
            run = runs.test_live(conn, cfg)
        else:
            say(f"{runs.RLS_CHANGE} is not deployed: rehearsing it (deployed in a transaction rolled back)")
            run = runs.rehearse(conn, cfg, load_plan(cfg.migrations_dir)[runs.RLS_CHANGE])
        run_id = runs.record(conn, run)
    finish(run, run_id)


def finish(run: runs.Run, run_id: int) -> None:
    """Print the matrix and the verdict; exit 1 on any mismatch."""
    typer.echo(harness.matrix_text(run.report))
    verdict = "passed" if run.report.passed else "FAILED"
    say(f"{run.kind} {verdict}: recorded as run {run_id}, schema fingerprint {run.fingerprint}")
    if not run.report.passed:
        raise typer.Exit(1)


@app.command("mode")
def mode(
    args: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[TABLE ...] permissive|shadow",
            help="Tables of schema platform (none: all of them), then the mode. With no arguments: show.",
        ),
    ] = None,
) -> None:
    """Show, or set, each table's mode: permissive (006: allow all) or shadow (007's predicates evaluated
    and every row they would deny recorded, nothing enforced). Data, not DDL: no drift; audited. There is no
    enforce mode: enforcing is deploying 007, through its gates."""
    cfg = settings()
    with service_connection(cfg) as conn:
        shadow.require(conn)
        if args:
            *tables, chosen = args
            link = shadow.link_conninfo(cfg) if chosen == "shadow" else None
            with conn.transaction():
                changed = shadow.set_mode(conn, tables=tables, mode=chosen, actor=actor(), link=link)
            names = ", ".join(m.table_name for m in changed) or "none (already so)"
            say(f"{chosen}: {names}")
            if runs.deployed(conn, runs.RLS_CHANGE):
                say(f"note: {runs.RLS_CHANGE} is deployed and enforces; modes take effect if it is reverted")
        for m in shadow.modes(conn):
            typer.echo(
                f"{m.table_name:<22} {m.mode:<11} since {m.since:%Y-%m-%d %H:%M:%S %Z} by {m.changed_by}"
            )


class Format(StrEnum):
    """Output formats of ``violations``."""

    table = "table"
    json = "json"


violations_app = typer.Typer(
    help="What shadow mode recorded: rows 007 would have denied.", invoke_without_command=True
)
app.add_typer(violations_app, name="violations")


@violations_app.callback()
def violations(
    ctx: typer.Context,
    fmt: Annotated[Format, typer.Option("--format", help="table or json")] = Format.table,
    include_acked: Annotated[bool, typer.Option("--all", help="Acknowledged ones too.")] = False,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 1000,
) -> None:
    """Summarise the violations, by table and by request, and list them newest first (unacknowledged only,
    unless --all). `violations ack ID --reason TEXT` marks one as expected."""
    if ctx.invoked_subcommand is not None:
        return
    cfg = settings()
    with service_connection(cfg) as conn:
        shadow.require(conn)
        found = shadow.violations(conn, include_acked=include_acked, limit=limit)
        counters = shadow.counters(conn)
    if fmt is Format.json:
        typer.echo(json.dumps(shadow.report(found, counters), indent=2))
        return
    typer.echo(shadow.report_text(found, counters))


@violations_app.command("ack")
def ack(
    violation_id: Annotated[int, typer.Argument(metavar="ID", help="The violation's id (see `violations`).")],
    reason: Annotated[str, typer.Option("--reason", help="Why this violation is expected.")],
) -> None:
    """Mark a violation as expected, with a reason (audited): the shadow window gate stops counting it."""
    cfg = settings()
    with service_connection(cfg) as conn:
        shadow.require(conn)
        with conn.transaction():
            done = shadow.ack(conn, violation_id, reason=reason, actor=actor())
    say(
        f"violation {done.id} ({done.table_name} {done.command}, {done.reason}) acknowledged: "
        f"{done.ack_reason}"
    )
