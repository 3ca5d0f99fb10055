"""``orgbase seed``: demo data for a development database; ``orgbase run`` calls it too."""

from __future__ import annotations

import asyncio
import functools
import json
import shlex
from typing import Annotated, Any

import psycopg
import typer

from orgbase.auth.passwords import Passwords
from orgbase.cli.common import service_connection, settings
from orgbase.config import Settings
from orgbase.databases import keys
from orgbase.db.urls import embedded
from orgbase.errors import OrgbaseError
from orgbase.seed import demo as world

DEFAULT_PASSWORD = "demo-password-123"  # noqa: S105 - the published password of demo accounts, not a secret

app = typer.Typer(
    help="Put demo data into the database: for development and demonstrations, never for production.",
    no_args_is_help=True,
)


@app.callback()
def _group() -> None:
    """Put demo data into the database: for development and demonstrations, never for production."""
    # A callback keeps this a group while it has one command, so `orgbase seed demo` parses.


def _check_password(value: str) -> str:
    # The API refuses shorter passwords at sign-up; demo accounts should look like real ones.
    if not 8 <= len(value) <= 256:
        raise typer.BadParameter("must be 8 to 256 characters")
    return value


DemoPassword = Annotated[
    str,
    typer.Option(
        help="Password of the demo accounts made by this run (demo data, printed in the clear: never a real "
        "secret). Accounts that already exist keep theirs.",
        callback=_check_password,
    ),
]


@app.command()
def demo(password: DemoPassword = DEFAULT_PASSWORD) -> None:
    """Add the demo world where it is missing (idempotent), and print how to sign in.

    3 organizations on different plans, people of every role (one in two organizations, one in none),
    projects, registered databases (encrypted; made-up hosts), billing rows and audit history. A second run
    adds nothing and keeps what is there.
    """
    cfg = settings()
    with service_connection(cfg) as conn:
        summary = seed_demo(conn, cfg, password=password)
    report(summary, password=password, base_url="http://127.0.0.1:8000")


def seed_demo(conn: psycopg.Connection[Any], cfg: Settings, *, password: str) -> world.Summary:
    """Seed the demo world in one transaction; an error if the schema is not deployed yet."""
    ready = conn.execute("select to_regclass('platform.invitations') is not null").fetchone()
    if not ready or not ready[0]:
        raise OrgbaseError("the database has no orgbase schema yet: run `orgbase migrate deploy` first")
    # The embedded set-up makes its own key file; elsewhere the keys must be configured.
    keyring = keys.load_keyring(cfg, create=embedded(cfg))

    @functools.cache
    def password_hash() -> str:
        # The API's own hasher and parameters; computed once, and only if an account is to be made.
        return asyncio.run(Passwords(cfg).hash(password))

    with conn.transaction():
        return world.seed(conn, keyring=keyring, password_hash=password_hash)


def report(summary: world.Summary, *, password: str, base_url: str) -> None:
    """Print what the run made and found, the demo accounts, and how to sign in (stdout)."""
    echo = typer.echo
    echo("demo data (for development only):")
    echo(f"  made now:      {_counts(summary.created)}")
    echo(f"  already there: {_counts(summary.existing)}")
    for note in summary.notes:
        echo(f"  note: {note}")
    echo("organizations:")
    for org in world.ORGS:
        echo(f"  {org.slug:<9} {org.name} ({org.plan} plan)")
    echo("demo accounts:")
    for person in world.PEOPLE:
        roles = ", ".join(f"{role} of {slug}" for slug, role in person.roles) or "no organization"
        echo(f"  {person.email:<26} {roles}")
    first = world.PEOPLE[0].email
    body = shlex.quote(json.dumps({"email": first, "password": password}))
    echo("sign in, then call the API with the token:")
    echo(f"  curl -s -X POST {base_url}/api/auth/signin -H 'content-type: application/json' -d {body}")
    echo(f"  curl -s {base_url}/api/auth/validate -H 'Authorization: Bearer <token>'")
    echo(f"demo password of every demo account: {password}")
    echo("  (demo data, not a secret: never use it for anything real)")
    if summary.existing["users"]:
        echo("  accounts that already existed keep the password they had")


def _counts(counter: dict[str, int]) -> str:
    return ", ".join(f"{kind} {counter[kind]}" for kind in world.KINDS if counter.get(kind)) or "nothing"
