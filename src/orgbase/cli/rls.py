"""``orgbase rls``: the isolation harness (WS4) against the live schema, or a rehearsal of 007."""

from __future__ import annotations

import typer

from orgbase.cli.common import say, service_connection, settings
from orgbase.migrate.plan import load_plan
from orgbase.rls import harness, runs

app = typer.Typer(help="Row level security: the isolation harness.", no_args_is_help=True)


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
