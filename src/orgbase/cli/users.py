"""``orgbase users``: an operator bans, unbans or soft-deletes an account, as the service role, audited.

Each verb is one transaction: the change to the account, the end of its sessions, and the audit record
(actor NULL: the operator, named by their OS user in ``changes``) commit together or not at all. A banned or
deleted account's requests fail at once anyway, since ``platform.auth_bind`` checks ``user_is_active`` on
every request; ending its sessions as well means that lifting a ban never brings an old token back.
"""

from __future__ import annotations

import getpass
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import psycopg
import typer
from psycopg.types.json import Jsonb

from orgbase.cli.common import say, service_connection, settings
from orgbase.errors import NotFound

Conn = psycopg.Connection[Any]
# "Banned until further notice": a date every client can read back (psycopg cannot return 'infinity' as a
# Python datetime, and the API reads banned_until).
FOREVER = datetime(9999, 1, 1, tzinfo=UTC)

app = typer.Typer(
    help="Operators' actions on accounts: ban, unban, soft-delete. Each runs as the service role, ends the "
    "account's sessions where it applies, and is written to the audit trail (action user.ban, user.unban, "
    "user.delete; no actor: the operator).",
    no_args_is_help=True,
)

Email = Annotated[str, typer.Argument(help="The account's email (case-insensitive).")]
Reason = Annotated[str | None, typer.Option(help="Why; recorded in the audit trail.")]


def _parse_until(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            "expected an ISO 8601 time, e.g. 2030-01-31 or 2030-01-31T12:00:00+02:00"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # a time without zone is UTC


@app.command()
def ban(
    email: Email,
    until: Annotated[
        str | None, typer.Option(metavar="ISO8601", help="Banned until this time (UTC unless it has a zone).")
    ] = None,
    days: Annotated[int | None, typer.Option(min=1, help="Banned for this many days from now.")] = None,
    reason: Reason = None,
) -> None:
    """Ban an account and end its sessions at once.

    Until --until, for --days, or with neither until `orgbase users unban`.
    """
    if until is not None and days is not None:
        raise typer.BadParameter("give --until or --days, not both")
    banned_until = _parse_until(until) or (datetime.now(UTC) + timedelta(days=days) if days else FOREVER)
    if banned_until <= datetime.now(UTC):
        raise typer.BadParameter(f"{banned_until.isoformat()} is not in the future", param_hint="--until")
    with service_connection(settings()) as conn, conn.transaction():
        user_id, _, _ = _account(conn, email)
        conn.execute("update platform.users set banned_until = %s where id = %s", [banned_until, user_id])
        revoked = _revoke_sessions(conn, user_id)
        when = banned_until.isoformat()
        _audit(
            conn, "user.ban", user_id, email=email, banned_until=when, reason=reason, sessions_revoked=revoked
        )
    shown = "until unbanned" if banned_until == FOREVER else f"until {when}"
    typer.echo(f"banned {email} {shown}; {revoked} session(s) ended")


@app.command()
def unban(email: Email, reason: Reason = None) -> None:
    """Lift an account's ban (its old sessions stay ended: the person signs in again)."""
    with service_connection(settings()) as conn, conn.transaction():
        user_id, was, deleted_at = _account(conn, email)
        if was is None or was <= datetime.now(UTC):
            typer.echo(f"{email} is not banned: nothing changed")
            return
        conn.execute("update platform.users set banned_until = null where id = %s", [user_id])
        _audit(conn, "user.unban", user_id, email=email, was_banned_until=was.isoformat(), reason=reason)
    typer.echo(f"unbanned {email}")
    if deleted_at is not None:
        say(f"note: {email} is deleted (since {deleted_at.isoformat()}): it still cannot sign in")


@app.command()
def delete(email: Email, reason: Reason = None) -> None:
    """Soft-delete an account (deleted_at; the row stays for the record) and end all its sessions."""
    with service_connection(settings()) as conn, conn.transaction():
        user_id, _, deleted_at = _account(conn, email)
        revoked = _revoke_sessions(conn, user_id)
        if deleted_at is not None:
            typer.echo(f"{email} was already deleted; {revoked} session(s) ended")
            return
        conn.execute("update platform.users set deleted_at = now() where id = %s", [user_id])
        _audit(conn, "user.delete", user_id, email=email, reason=reason, sessions_revoked=revoked)
    typer.echo(f"deleted {email}; {revoked} session(s) ended")


def _account(conn: Conn, email: str) -> tuple[uuid.UUID, datetime | None, datetime | None]:
    """Id, banned_until and deleted_at of the account of an email (compared as sign-in does), locked for
    this transaction; NotFound if there is none."""
    row = conn.execute(
        "select id, banned_until, deleted_at from platform.users where lower(email) = lower(btrim(%s)) "
        "for no key update",
        [email],
    ).fetchone()
    if row is None:
        raise NotFound(f"no account with email {email!r}")
    return row[0], row[1], row[2]


def _revoke_sessions(conn: Conn, user_id: uuid.UUID) -> int:
    return conn.execute("delete from platform.user_sessions where user_id = %s", [user_id]).rowcount


def _audit(conn: Conn, action: str, user_id: uuid.UUID, **changes: Any) -> None:
    """One audit record: no actor and no organization (a platform event by an operator)."""
    details = {k: v for k, v in changes.items() if v is not None} | {"operator": _operator()}
    conn.execute(
        "insert into platform.audit_logs (action, target_type, target_id, changes, user_agent) "
        "values (%s, 'user', %s, %s, 'orgbase-cli')",
        [action, str(user_id), Jsonb(details)],
    )


def _operator() -> str:
    """The OS user running the command: the only name an operator has here."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER (some containers)
        return "unknown"
