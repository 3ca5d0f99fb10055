"""The ``orgbase`` command: sub-apps per concern, and the one place that maps errors to exit codes."""

from __future__ import annotations

import sys

import typer

from orgbase.cli import databases, db, jobs, migrate, rls, run, seed, users
from orgbase.errors import (
    BinariesMissing,
    ChangeFailed,
    ConfigError,
    DriftDetected,
    GateBlocked,
    OrgbaseError,
    PlanError,
    RevertRefused,
    ServerError,
)

app = typer.Typer(
    help="orgbase: the multi-tenant platform database and API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db.app, name="db")
app.add_typer(migrate.app, name="migrate")
app.add_typer(databases.app, name="databases")
app.add_typer(users.app, name="users")
app.add_typer(jobs.app, name="jobs")
app.add_typer(seed.app, name="seed")
app.add_typer(rls.app, name="rls")
app.command("serve")(run.serve)
app.command("run")(run.run)

# Exit codes by error class; the nearest class in the MRO wins. 2 is the usage error of the parser.
EXIT_CODES: dict[type[OrgbaseError], int] = {
    OrgbaseError: 1,
    ConfigError: 2,
    ChangeFailed: 3,
    GateBlocked: 4,
    DriftDetected: 5,
    RevertRefused: 6,
    PlanError: 7,
    ServerError: 8,
    BinariesMissing: 9,
}


def exit_code(exc: OrgbaseError) -> int:
    """The exit code of an error: that of the nearest class in its MRO that has one."""
    return next(EXIT_CODES[c] for c in type(exc).__mro__ if c in EXIT_CODES)


def main() -> None:
    """Entry point of the ``orgbase`` command."""
    try:
        app()
    except OrgbaseError as exc:
        typer.echo(f"orgbase: error: {exc}", err=True)
        sys.exit(exit_code(exc))
