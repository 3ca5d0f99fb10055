"""Cluster-global roles (WS3) and a hardened database: made once, with a superuser, never by a migration.

| role      | login | RLS       | what for                                                     |
|-----------|-------|-----------|--------------------------------------------------------------|
| *_owner   | no    | BYPASSRLS | owns every object and the narrow SECURITY DEFINER functions  |
| *_service | yes   | BYPASSRLS | migrations, backfills, jobs, the CLI; member of owner        |
| *_app     | yes   | subject   | the API: owns nothing, DML only through grants               |
| *_shadow  | yes   | subject   | shadow mode's recorder: may call rls_shadow.record, nothing else |

Each database also gets two extensions, which only a superuser may create: dblink (in schema ``dblink``,
usable by the owner role alone: shadow mode records a violation on a connection of its own, so that the record
survives the request's rollback), and orgbase_seal (``ext/orgbase_seal``, built and installed on the server by
``scripts/build-seal.sh``): the request's organization and permissions, sealed once per transaction by the
owner's definer functions and read by the policies (migration 016).

Under FORCE ROW LEVEL SECURITY a definer function owned by a role without BYPASSRLS sees nothing, and
BYPASSRLS is not inherited through SET ROLE: hence an owner that has it itself.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from orgbase.config import Settings
from orgbase.errors import ExtensionMissing

VERSION = 4
"""Bumped when bootstrap grants something new, so that existing embedded clusters are bootstrapped again."""


def bootstrap(
    superuser_url: str, settings: Settings, *, service_password: str, app_password: str, shadow_password: str
) -> None:
    """Create or correct the roles and the database; idempotent."""
    with psycopg.connect(superuser_url, autocommit=True) as conn:
        ensure_roles(
            conn,
            settings,
            service_password=service_password,
            app_password=app_password,
            shadow_password=shadow_password,
        )
        ensure_database(conn, settings, settings.database_name)
    harden_database(_with_database(superuser_url, settings.database_name), settings)


def ensure_roles(
    conn: psycopg.Connection,
    settings: Settings,
    *,
    service_password: str,
    app_password: str,
    shadow_password: str,
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
        (
            settings.shadow_role,
            sql.SQL("LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOINHERIT"),
            shadow_password,
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
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}, {}, {}").format(
            db,
            sql.Identifier(settings.service_role),
            sql.Identifier(settings.app_role),
            sql.Identifier(settings.shadow_role),
        )
    )


def harden_database(url: str, settings: Settings) -> None:
    """Inside the database: nothing for PUBLIC, no function executable by PUBLIC by default, dblink and
    orgbase_seal."""
    owner = sql.Identifier(settings.owner_role)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
        conn.execute(
            sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC").format(
                owner
            )
        )
        ensure_dblink(conn, settings)
        ensure_seal(conn, settings)


DBLINK_FUNCTIONS = ("dblink_connect(text,text)", "dblink_exec(text,text)", "dblink_get_connections()")
"""What shadow mode uses of dblink (and dblink_disconnect); the owner may call these, no one else."""


def ensure_dblink(conn: psycopg.Connection, settings: Settings) -> None:
    """dblink in a schema of its own, for the owner role alone, and only the functions shadow mode needs.

    dblink is not a trusted extension: creating it is a superuser's work, done here once per database. Its
    functions are executable by PUBLIC by default: revoked, so that no role but the owner (whose definer
    functions open the one connection shadow mode uses) can open connections from inside the server.
    """
    owner = sql.Identifier(settings.owner_role)
    conn.execute("CREATE SCHEMA IF NOT EXISTS dblink")
    conn.execute("REVOKE ALL ON SCHEMA dblink FROM PUBLIC")
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA dblink TO {}").format(owner))
    conn.execute("CREATE EXTENSION IF NOT EXISTS dblink WITH SCHEMA dblink")
    conn.execute("REVOKE ALL ON ALL FUNCTIONS IN SCHEMA dblink FROM PUBLIC")
    for signature in (*DBLINK_FUNCTIONS, "dblink_disconnect(text)"):
        conn.execute(
            sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(sql.SQL("dblink." + signature), owner)
        )


def ensure_seal(conn: psycopg.Connection, settings: Settings) -> None:
    """orgbase_seal in its schema: sealing for the owner alone, reading for the roles that run policies.

    Only the owner may seal (its definer functions do, after checking the membership): a role that could call
    ``seal()`` could name any organization. The app and service roles run statements under the policies that
    read the seal; the owner's definers read it too.
    """
    available = conn.execute("select 1 from pg_available_extensions where name = 'orgbase_seal'").fetchone()
    if available is None:
        raise ExtensionMissing(
            "the orgbase_seal extension is not installed on this PostgreSQL server: build and install "
            "it on the server's host with scripts/build-seal.sh (make run and make test do), then "
            "bootstrap again"
        )
    readers = [sql.Identifier(r) for r in (settings.owner_role, settings.service_role, settings.app_role)]
    conn.execute("CREATE EXTENSION IF NOT EXISTS orgbase_seal")  # schema orgbase_seal, from its control file
    conn.execute("REVOKE ALL ON SCHEMA orgbase_seal FROM PUBLIC")
    conn.execute("REVOKE ALL ON ALL FUNCTIONS IN SCHEMA orgbase_seal FROM PUBLIC")
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA orgbase_seal TO {}").format(sql.SQL(", ").join(readers)))
    for reader in ("org_if_can(text)", "watching(text)"):
        conn.execute(
            sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(
                sql.SQL("orgbase_seal." + reader), sql.SQL(", ").join(readers)
            )
        )
    conn.execute(
        sql.SQL("GRANT EXECUTE ON FUNCTION orgbase_seal.seal(uuid, uuid, text[], text[]) TO {}").format(
            sql.Identifier(settings.owner_role)
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
