"""``orgbase jobs``: the service role's housekeeping, one verb per job, each safe to run from cron.

Every job is one call of a narrow SECURITY DEFINER function of the schema (009, 005), so the rule of what
may be deleted lives in the database; this module parses ages and prints counts (stdout, one line).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

import typer

from orgbase.cli.common import service_connection, settings

app = typer.Typer(
    help="Housekeeping jobs, run as the service role (e.g. from cron): expired sessions, old sign-in "
    "counters, audit retention. Each prints how many rows it deleted.",
    no_args_is_help=True,
)

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DURATION = re.compile(r"^\s*(\d{1,7})\s*([smhdw])\s*$")


def parse_duration(text: str | timedelta) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``45s``, ``2w`` as a timedelta; BadParameter (usage error) otherwise."""
    if isinstance(text, timedelta):  # click also passes an option's default through its parser
        return text
    match = _DURATION.match(text.lower())
    if match is None:
        raise typer.BadParameter(f"{text!r} is not a duration like 30d, 12h, 90m (units: s, m, h, d, w)")
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


def describe(age: timedelta) -> str:
    """An age as people say it: ``365 days``, ``12:00:00``."""
    return f"{age.days} days" if age == timedelta(days=age.days) else str(age)


@app.command("purge-sessions")
def purge_sessions() -> None:
    """Delete sessions past their expiry (they no longer authenticate anyway; this only reclaims rows)."""
    with service_connection(settings()) as conn:
        row = conn.execute("select platform.auth_purge_expired_sessions()").fetchone()
    typer.echo(f"deleted {row[0] if row else 0} expired session(s)")


@app.command("purge-sign-in-attempts")
def purge_sign_in_attempts(
    older_than: Annotated[
        timedelta,
        typer.Option(
            "--older-than",
            parser=parse_duration,
            metavar="DURATION",
            help="Delete counters of windows that started longer ago than this (e.g. 1d); at least the "
            "sign-in window (ORGBASE_SIGNIN_WINDOW_SECONDS).",
            show_default="1d",
        ),
    ] = timedelta(days=1),
) -> None:
    """Delete failed-sign-in counters of windows that are over (the rate limit no longer reads them)."""
    cfg = settings()
    window = timedelta(seconds=cfg.signin_window_seconds)
    if older_than < window:
        # A shorter age would clear the current window's counters: a reset of the rate limit.
        raise typer.BadParameter(
            f"must be at least the sign-in window ({describe(window)})", param_hint="--older-than"
        )
    with service_connection(cfg) as conn:
        row = conn.execute("select platform.auth_purge_sign_in_attempts(%s)", [older_than]).fetchone()
    typer.echo(f"deleted {row[0] if row else 0} sign-in counter(s) older than {describe(older_than)}")


@app.command("audit-retention")
def audit_retention(
    older_than: Annotated[
        timedelta,
        typer.Option(
            "--older-than",
            parser=parse_duration,
            metavar="DURATION",
            help="Delete audit records older than this (e.g. 365d); at least 1d. Required: no default "
            "decides how long your records are kept.",
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be deleted; delete nothing.")
    ] = False,
) -> None:
    """Delete audit records older than --older-than; prints how many.

    It calls platform.purge_audit_logs(), the only way records leave the append-only trail.
    """
    if older_than < timedelta(days=1):
        raise typer.BadParameter(
            "must be at least 1d: the audit trail is kept at least a day", param_hint="--older-than"
        )
    with service_connection(settings()) as conn:
        if dry_run:
            sql = "select count(*) from platform.audit_logs where created_at < now() - %s"
        else:
            sql = "select platform.purge_audit_logs(%s)"
        row = conn.execute(sql, [older_than]).fetchone()
    verb = "would delete" if dry_run else "deleted"
    typer.echo(f"{verb} {row[0] if row else 0} audit record(s) older than {describe(older_than)}")
