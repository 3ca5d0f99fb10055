"""The migrated schema behaves as the seed means it: append-only audit, clear constraints, 007 and 008."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import errors

from orgbase.db.tenant import set_context as as_user
from tests.fixtures.cluster import Database

pytestmark = pytest.mark.db

HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"


@pytest.fixture
def world(migrated_db: Database) -> dict[str, uuid.UUID]:
    """Two organizations and three users: ada (member of both, earliest in acme), bob (acme), eve (none)."""
    ids = {k: uuid.uuid4() for k in ("acme", "globex", "ada", "bob", "eve")}
    with migrated_db.connect() as conn:
        for org in ("acme", "globex"):
            conn.execute(
                "insert into platform.organizations (id, name, slug) values (%s, %s, %s)",
                [ids[org], org.title(), org],
            )
        for user in ("ada", "bob", "eve"):
            conn.execute(
                "insert into platform.users (id, email, password_hash, first_name) values (%s, %s, %s, %s)",
                [ids[user], f"{user}@example.com", HASH, user],
            )
        for org, user, role, joined in [
            ("acme", "ada", "owner", "2025-01-01"),
            ("globex", "ada", "admin", "2025-02-01"),
            ("acme", "bob", "developer", "2025-03-01"),
        ]:
            conn.execute(
                "insert into platform.organization_members (organization_id, user_id, role, joined_at) "
                "values (%s, %s, %s, %s)",
                [ids[org], ids[user], role, joined],
            )
    return ids


@pytest.fixture
def app(migrated_db: Database) -> Iterator[psycopg.Connection[Any]]:
    """A connection as the app role, in a transaction, as the API will hold one."""
    with migrated_db.connect("app", autocommit=False) as conn:
        yield conn


# -- 005: audit_logs is append-only -------------------------------------------------------------------


def test_app_role_may_insert_and_read_audit_but_never_change_it(app: psycopg.Connection[Any]) -> None:
    app.execute("insert into platform.audit_logs (action, target_type) values ('organization.create', 'org')")
    assert app.execute("select count(*) from platform.audit_logs").fetchone() == (1,)
    app.commit()
    for statement in (
        "update platform.audit_logs set action = 'x.y'",
        "delete from platform.audit_logs",
        "truncate platform.audit_logs",
    ):
        with pytest.raises(errors.InsufficientPrivilege):
            app.execute(statement)
        app.rollback()


def test_even_the_service_role_cannot_rewrite_history(migrated_db: Database) -> None:
    with migrated_db.connect() as conn:
        conn.execute("insert into platform.audit_logs (action) values ('organization.create')")
        for statement in (
            "update platform.audit_logs set action = 'x.y'",
            "delete from platform.audit_logs",
            "truncate platform.audit_logs",
        ):
            with pytest.raises(errors.InsufficientPrivilege, match="append-only"):
                conn.execute(statement)
        conn.execute(
            "insert into platform.audit_logs (action, created_at) "
            "values ('organization.create', now() - interval '400 days')"
        )
        assert conn.execute("select platform.purge_audit_logs(interval '365 days')").fetchone() == (1,)
        assert conn.execute("select count(*) from platform.audit_logs").fetchone() == (1,)
        with pytest.raises(errors.InvalidParameterValue):
            conn.execute("select platform.purge_audit_logs(interval '1 hour')")


def test_app_role_cannot_purge(app: psycopg.Connection[Any]) -> None:
    with pytest.raises(errors.InsufficientPrivilege):
        app.execute("select platform.purge_audit_logs(interval '365 days')")


# -- bad input is refused by a named constraint --------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "constraint"),
    [
        (
            "insert into platform.organizations (name, slug) values ('X', 'Bad Slug!')",
            "organizations_slug_format",
        ),
        ("insert into platform.organizations (name, slug) values ('X', '-x')", "organizations_slug_format"),
        (
            "insert into platform.users (email, password_hash) values ('not-an-email', '" + HASH + "')",
            "users_email_format",
        ),
        (
            "insert into platform.users (email, password_hash) values ('a@b.co', 'plaintext')",
            "users_password_hash_argon2id",
        ),
        ("update platform.databases set port = 70000", "databases_port_range"),
        ("update platform.databases set type = 'oracle'", "databases_type_known"),
        ("update platform.organization_members set role = 'superadmin'", "organization_members_role_known"),
    ],
)
def test_bad_input_is_refused_with_a_named_constraint(
    migrated_db: Database, world: dict[str, uuid.UUID], statement: str, constraint: str
) -> None:
    with migrated_db.connect() as conn:
        conn.execute(
            "insert into platform.projects (organization_id, name) values (%s, 'p')", [world["acme"]]
        )
        project = conn.execute("select id from platform.projects").fetchone()
        conn.execute(
            "insert into platform.databases (organization_id, project_id, name, type, host, port, "
            "connection_string_encrypted, encryption_key_id) values (%s, %s, 'db', 'redis', 'h', 6379, "
            "decode(repeat('00', 40), 'hex'), 'k1')",
            [world["acme"], project[0] if project else None],
        )
        with pytest.raises(psycopg.IntegrityError) as info:
            conn.execute(statement)  # type: ignore[call-overload]
    assert info.value.diag.constraint_name == constraint
    assert constraint in str(info.value)


def test_email_is_unique_case_insensitively(migrated_db: Database, world: dict[str, uuid.UUID]) -> None:
    with migrated_db.connect() as conn, pytest.raises(errors.UniqueViolation):
        conn.execute(
            "insert into platform.users (email, password_hash) values ('ADA@Example.com', %s)", [HASH]
        )


# -- 007: the session helpers fail closed ------------------------------------------------------------


def test_context_helpers_are_null_when_unset_or_empty(app: psycopg.Connection[Any]) -> None:
    helpers = "select platform.get_current_user_id(), platform.get_current_org_id()"
    assert app.execute(helpers).fetchone() == (None, None)
    as_user(app, None)
    assert app.execute(helpers).fetchone() == (None, None)
    who, where = uuid.uuid4(), uuid.uuid4()
    as_user(app, who, where)
    assert app.execute(helpers).fetchone() == (who, where)
    app.commit()  # transaction-local: gone with the transaction
    assert app.execute(helpers).fetchone() == (None, None)


# -- 008: active organization ------------------------------------------------------------------------


def test_backfill_chose_the_earliest_membership(migrated_db: Database, world: dict[str, uuid.UUID]) -> None:
    with migrated_db.connect() as conn:
        conn.execute("update platform.users set active_org_id = null")
        conn.execute("call platform.backfill_active_org()")
        found = dict(conn.execute("select id, active_org_id from platform.users").fetchall())
    assert found == {world["ada"]: world["acme"], world["bob"]: world["acme"], world["eve"]: None}


def test_set_active_org_only_for_yourself_and_only_where_a_member(
    app: psycopg.Connection[Any], world: dict[str, uuid.UUID]
) -> None:
    as_user(app, world["ada"])
    app.execute("select platform.set_user_active_org(null, %s)", [world["globex"]])
    assert app.execute("select organization_slug, role from platform.get_user_active_org()").fetchone() == (
        "globex",
        "admin",
    )
    app.commit()
    refusals = [
        (world["bob"], world["bob"], world["globex"]),  # bob is not a member of globex
        (world["bob"], world["bob"], uuid.uuid4()),  # an unknown organization: the same answer
        (world["bob"], world["ada"], world["acme"]),
    ]  # acting for someone else
    messages = []
    for me, target, org in refusals:
        as_user(app, me)
        with pytest.raises(errors.InsufficientPrivilege) as info:
            app.execute("select platform.set_user_active_org(%s, %s)", [target, org])
        messages.append(str(info.value).replace(str(org), "<org>"))
        app.rollback()
    assert messages[0] == messages[1], "non-member and unknown organization must be indistinguishable"
    as_user(app, None)
    with pytest.raises(errors.InsufficientPrivilege):
        app.execute("select platform.set_user_active_org(null, %s)", [world["acme"]])


def test_removing_a_membership_clears_the_active_org(
    migrated_db: Database, world: dict[str, uuid.UUID]
) -> None:
    with migrated_db.connect() as conn:
        conn.execute(
            "update platform.users set active_org_id = %s where id = %s", [world["globex"], world["ada"]]
        )
        conn.execute(
            "delete from platform.organization_members where organization_id = %s and user_id = %s",
            [world["globex"], world["ada"]],
        )
        assert conn.execute(
            "select active_org_id from platform.users where id = %s", [world["ada"]]
        ).fetchone() == (None,)
        conn.execute("delete from platform.organizations where id = %s", [world["acme"]])
        assert conn.execute(
            "select count(*) from platform.users where active_org_id is not null"
        ).fetchone() == (0,)
