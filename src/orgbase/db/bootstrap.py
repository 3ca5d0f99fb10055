"""Cluster-global roles (WS3) and a hardened database: made once, with a superuser, never by a migration.

| role      | login | RLS       | what for                                                     |
|-----------|-------|-----------|--------------------------------------------------------------|
| *_owner   | no    | BYPASSRLS | owns every object and the narrow SECURITY DEFINER functions  |
| *_service | yes   | BYPASSRLS | migrations, backfills, jobs, the CLI; member of owner        |
| *_app     | yes   | subject   | the API: owns nothing, DML only through grants               |

Under FORCE ROW LEVEL SECURITY a definer function owned by a role without BYPASSRLS sees nothing, and
BYPASSRLS is not inherited through SET ROLE: hence an owner that has it itself.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from orgbase.config import Settings

VERSION = 2
"""Bumped when bootstrap grants something new, so that existing embedded clusters are bootstrapped again."""


def bootstrap(superuser_url: str, settings: Settings, *, service_password: str, app_password: str) -> None:
    """Create or correct the three roles and the database; idempotent."""
    with psycopg.connect(superuser_url, autocommit=True) as conn:
        ensure_roles(conn, settings, service_password=service_password, app_password=app_password)
        ensure_database(conn, settings, settings.database_name)
    harden_database(_with_database(superuser_url, settings.database_name), settings)


def ensure_roles(
    conn: psycopg.Connection, settings: Settings, *, service_password: str, app_password: str
) -> None:
    """Create the roles that are missing and reset the attributes of those that exist."""
    owner, service, app = (
        sql.Identifier(r) for r in (settings.owner_role, settings.service_role, settings.app_role)
    )
    specs = [
        (settings.owner_role, sql.SQL("NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE BYPASSRLS INHERIT"), None),
        (
            settings.service_role,
            sql.SQL("LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE BYPASSRLS INHERIT"),
            service_password,
        ),
        (
            settings.app_role,
            sql.SQL("LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOINHERIT"),
            app_password,
        ),
    ]
    for name, attrs, password in specs:
        exists = conn.execute("select 1 from pg_roles where rolname = %s", [name]).fetchone()
        verb = sql.SQL("ALTER ROLE") if exists else sql.SQL("CREATE ROLE")
        stmt = sql.SQL("{} {} WITH {}").format(verb, sql.Identifier(name), attrs)
        if password is not None:
            # Utility statements take no bind parameters; Literal quotes client-side, safely.
            stmt = sql.SQL("{} PASSWORD {}").format(stmt, sql.Literal(password))
        conn.execute(stmt)
    # The service role deploys as the owner (SET ROLE), so that the owner, not the service, owns objects.
    conn.execute(sql.SQL("GRANT {} TO {}").format(owner, service))
    conn.execute(sql.SQL("REVOKE {} FROM {}").format(owner, app))
    # The RLS harness and the rehearsal of 007 check, as the app role, on the service role's own connection
    # and transaction (SET LOCAL ROLE): another connection would not see the rehearsed policies. Safe: the
    # app role's privileges are a subset of the service role's. The app role is a member of nothing.
    conn.execute(sql.SQL("GRANT {} TO {}").format(app, service))


def ensure_database(conn: psycopg.Connection, settings: Settings, name: str) -> None:
    """Create database ``name`` owned by the owner role, reachable by the service and app roles only."""
    if not conn.execute("select 1 from pg_database where datname = %s", [name]).fetchone():
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {} TEMPLATE template0 ENCODING 'UTF8'").format(
                sql.Identifier(name), sql.Identifier(settings.owner_role)
            )
        )
    db = sql.Identifier(name)
    conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(db))
    conn.execute(
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}, {}").format(
            db, sql.Identifier(settings.service_role), sql.Identifier(settings.app_role)
        )
    )


def harden_database(url: str, settings: Settings) -> None:
    """Inside the database: nothing for PUBLIC, and no function executable by PUBLIC by default."""
    owner = sql.Identifier(settings.owner_role)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
        conn.execute(
            sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC").format(
                owner
            )
        )


def create_database(superuser_url: str, settings: Settings, name: str) -> None:
    """A fresh, hardened database in an already bootstrapped cluster (tests and benchmarks use it)."""
    with psycopg.connect(superuser_url, autocommit=True) as conn:
        ensure_database(conn, settings, name)
    harden_database(_with_database(superuser_url, name), settings)


def drop_database(superuser_url: str, name: str) -> None:
    """Drop database ``name``, disconnecting whoever is still in it."""
    with psycopg.connect(superuser_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _with_database(url: str, name: str) -> str:
    """``url`` pointed at database ``name``."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    info["dbname"] = name
    return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items() if v is not None})
