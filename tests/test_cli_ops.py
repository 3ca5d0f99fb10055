"""Operations as an operator runs them: ``orgbase users``, ``orgbase jobs`` and ``orgbase seed demo``,
each in a subprocess against a migrated test database (and, for bans, the real API on the same database)."""

from __future__ import annotations

import base64
import os
import subprocess
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
import typer

from orgbase.cli.jobs import parse_duration
from orgbase.databases.keys import parse_keys
from orgbase.seed import demo
from tests.fixtures.api import Api
from tests.fixtures.cluster import Database, orgbase_cli

HASH = "$argon2id$v=19$m=8192,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"  # shape only: nobody signs in
ALL_ROLES = {"owner", "admin", "billing_admin", "developer", "read_only"}
DEMO_TABLES = ("organizations", "users", "organization_members", "projects", "databases", "subscriptions",
               "invoices", "payment_methods", "subscription_addons", "audit_logs")  # fmt: skip


def test_parse_duration() -> None:
    assert parse_duration("30d") == timedelta(days=30)
    assert parse_duration("12h") == timedelta(hours=12)
    assert parse_duration("90m") == timedelta(minutes=90)
    assert parse_duration(" 2W ") == timedelta(weeks=2)
    for bad in ("", "30", "d", "1.5d", "-1d", "30 days", "1d2h"):
        with pytest.raises(typer.BadParameter):
            parse_duration(bad)


@pytest.mark.db
def test_ban_unban_delete_through_the_cli(api: Api) -> None:
    user, other = api.user("banned"), api.user("bystander")
    env = api.db.env()
    validate = lambda u: api.client.get("/api/auth/validate", headers=u.headers).status_code  # noqa: E731
    assert validate(user) == 200

    banned = orgbase_cli("users", "ban", user.email.upper(), "--days", "3", "--reason", "spam", env=env)
    assert banned.returncode == 0, banned.stderr
    assert f"banned {user.email.upper()} until" in banned.stdout and "1 session(s) ended" in banned.stdout
    assert validate(user) == 401 and validate(other) == 200  # at once, and only that account
    signin = {"email": user.email, "password": "correct horse battery"}
    assert api.client.post("/api/auth/signin", json=signin).status_code == 401

    assert orgbase_cli("users", "unban", user.email, env=env, check=True).stdout.startswith("unbanned")
    assert validate(user) == 401  # the ended session does not come back
    again = api.client.post("/api/auth/signin", json=signin)
    assert again.status_code == 200
    token = {"Authorization": f"Bearer {again.json()['token']}"}
    assert api.client.get("/api/auth/validate", headers=token).status_code == 200
    assert "is not banned" in orgbase_cli("users", "unban", user.email, env=env, check=True).stdout

    deleted = orgbase_cli("users", "delete", user.email, "--reason", "asked to", env=env, check=True)
    assert "deleted" in deleted.stdout and "1 session(s) ended" in deleted.stdout
    assert api.client.get("/api/auth/validate", headers=token).status_code == 401
    assert api.client.post("/api/auth/signin", json=signin).status_code == 401

    with api.db.connect() as conn:
        row = conn.execute(
            "select deleted_at is not null, banned_until, (select count(*) from platform.user_sessions s "
            "where s.user_id = u.id) from platform.users u where u.id = %s",
            [user.id],
        ).fetchone()
        assert row == (True, None, 0)  # soft-deleted: the row stays
        audit = conn.execute(
            "select action, actor_id, organization_id, changes from platform.audit_logs "
            "where target_id = %s::text and action in ('user.ban', 'user.unban', 'user.delete') "
            "order by created_at",
            [user.id],
        ).fetchall()
    assert [a[0] for a in audit] == ["user.ban", "user.unban", "user.delete"]
    assert all(a[1] is None and a[2] is None for a in audit)  # the operator, not a user
    assert audit[0][3]["reason"] == "spam" and audit[0][3]["operator"] and audit[2][3]["reason"] == "asked to"


@pytest.mark.db
def test_users_cli_errors(migrated_db: Database) -> None:
    env = migrated_db.env()
    with migrated_db.connect() as conn:
        conn.execute(
            "insert into platform.users (email, password_hash) values ('eve@example.com', %s)", [HASH]
        )
    unknown = orgbase_cli("users", "ban", "nobody@example.com", env=env)
    assert unknown.returncode == 1 and "no account with email 'nobody@example.com'" in unknown.stderr
    both = orgbase_cli("users", "ban", "eve@example.com", "--days", "1", "--until", "2099-01-01", env=env)
    assert both.returncode == 2 and "not both" in both.stderr
    past = orgbase_cli("users", "ban", "eve@example.com", "--until", "2001-01-01", env=env)
    assert past.returncode == 2 and "not in the future" in past.stderr
    until = orgbase_cli("users", "ban", "eve@example.com", "--until", "2099-01-01T12:00:00+02:00", env=env)
    assert until.returncode == 0, until.stderr
    forever = orgbase_cli("users", "ban", "eve@example.com", env=env, check=True)
    assert "until unbanned" in forever.stdout
    with migrated_db.connect() as conn:
        row = conn.execute("select extract(year from banned_until) from platform.users").fetchone()
    assert row is not None and row[0] == 9999


@pytest.mark.db
def test_session_and_sign_in_jobs(migrated_db: Database) -> None:
    env = migrated_db.env()
    with migrated_db.connect() as conn:
        uid = conn.execute(
            "insert into platform.users (email, password_hash) values ('s@example.com', %s) returning id",
            [HASH],
        ).fetchone()[0]  # type: ignore[index]
        conn.execute(
            "insert into platform.user_sessions (user_id, token_hash, created_at, expires_at) values "
            "(%(u)s, repeat('a', 64), now() - interval '2 days', now() - interval '1 day'),"
            "(%(u)s, repeat('b', 64), now() - interval '2 days', now() - interval '1 second'),"
            "(%(u)s, repeat('c', 64), now(), now() + interval '1 hour')",
            {"u": uid},
        )
        conn.execute(
            "insert into platform.sign_in_attempts (subject, window_start, failures) values "
            "('email:s@example.com', now() - interval '3 days', 5),"
            " ('ip:10.0.0.1', now() - interval '25 hours', 1),"
            " ('ip:10.0.0.1', now() - interval '1 minute', 2)"
        )
    assert (
        orgbase_cli("jobs", "purge-sessions", env=env, check=True).stdout == "deleted 2 expired session(s)\n"
    )
    assert "deleted 0 expired" in orgbase_cli("jobs", "purge-sessions", env=env, check=True).stdout
    short = orgbase_cli("jobs", "purge-sign-in-attempts", "--older-than", "5m", env=env)
    assert short.returncode == 2 and "at least the sign-in window" in short.stderr
    bad = orgbase_cli("jobs", "purge-sign-in-attempts", "--older-than", "soon", env=env)
    assert bad.returncode == 2 and "not a duration" in bad.stderr
    purged = orgbase_cli("jobs", "purge-sign-in-attempts", env=env, check=True)
    assert purged.stdout == "deleted 2 sign-in counter(s) older than 1 days\n"
    with migrated_db.connect() as conn:
        assert conn.execute("select token_hash from platform.user_sessions").fetchall() == [("c" * 64,)]
        assert conn.execute("select failures from platform.sign_in_attempts").fetchall() == [(2,)]


@pytest.mark.db
def test_audit_retention(migrated_db: Database) -> None:
    env = migrated_db.env()
    with migrated_db.connect() as conn:
        conn.execute(
            "insert into platform.audit_logs (action, created_at) values"
            " ('t.ancient', now() - interval '400 days'), ('t.old', now() - interval '366 days'),"
            " ('t.year', now() - interval '364 days'), ('t.new', now())"
        )
    refused = orgbase_cli("jobs", "audit-retention", "--older-than", "12h", env=env)
    assert refused.returncode == 2 and "at least 1d" in refused.stderr
    assert orgbase_cli("jobs", "audit-retention", env=env).returncode == 2  # no default age
    dry = orgbase_cli("jobs", "audit-retention", "--older-than", "365d", "--dry-run", env=env, check=True)
    assert dry.stdout == "would delete 2 audit record(s) older than 365 days\n"
    done = orgbase_cli("jobs", "audit-retention", "--older-than", "365d", env=env, check=True)
    assert done.stdout == "deleted 2 audit record(s) older than 365 days\n"
    with migrated_db.connect() as conn:
        left = conn.execute("select action from platform.audit_logs order by created_at").fetchall()
    assert left == [("t.year",), ("t.new",)]


def _counts(db: Database) -> dict[str, int]:
    with db.connect() as conn:
        return {t: conn.execute(f"select count(*) from platform.{t}").fetchone()[0] for t in DEMO_TABLES}  # type: ignore[index]


@pytest.mark.db
def test_seed_demo_is_idempotent_complete_and_encrypted(api: Api) -> None:
    keys = "kdemo=" + base64.b64encode(os.urandom(32)).decode()
    env = api.db.env(
        ORGBASE_ENCRYPTION_KEYS=keys, ORGBASE_ARGON2_TIME_COST="1", ORGBASE_ARGON2_MEMORY_KIB="8192"
    )
    first = orgbase_cli("seed", "demo", env=env, check=True)
    assert "already there: nothing" in first.stdout and "curl -s -X POST" in first.stdout
    assert first.stdout.rstrip().splitlines()[-2].endswith("demo-password-123")
    after_first = _counts(api.db)
    second = orgbase_cli("seed", "demo", env=env, check=True)
    assert "made now:      nothing" in second.stdout
    assert _counts(api.db) == after_first
    assert after_first["organizations"] >= 3 and after_first["users"] == len(demo.PEOPLE)

    with api.db.connect() as conn:
        roles = {r[0] for r in conn.execute("select role from platform.organization_members")}
        per_user = dict(
            conn.execute(
                "select u.email, count(m.*) from platform.users u left join platform.organization_members m "
                "on m.user_id = u.id group by u.email"
            ).fetchall()
        )
        over_limit = conn.execute(
            "select o.slug from platform.organizations o"
            " join platform.subscriptions s on s.organization_id = o.id"
            " join platform.billing_plans p on p.id = s.plan_id"
            " where p.max_projects < (select count(*) from platform.projects x"
            " where x.organization_id = o.id)"
        ).fetchall()
        plans = {r[0] for r in conn.execute("select plan_id from platform.subscriptions")}
        stored = conn.execute(
            "select id, organization_id, connection_string_encrypted, encryption_key_id"
            " from platform.databases"
        ).fetchall()
    assert roles == ALL_ROLES and over_limit == [] and len(plans) == 3
    assert per_user["grace@consulting.example"] == 2 and per_user["nora@demo.example"] == 0
    keyring = parse_keys(keys, source="test")
    urls = {keyring.decrypt(b, key_id=k, row_id=i, organization_id=o) for i, o, b, k in stored}
    assert urls == {d.url for d in demo.DATABASES}

    dump = subprocess.run(
        ["pg_dump", "--data-only", api.db.superuser_url], check=True, capture_output=True, text=True
    ).stdout
    for d in demo.DATABASES:
        secret = d.url.split("@")[0].rsplit(":", 1)[1]
        assert secret not in dump and d.url not in dump
    assert "demo-password-123" not in dump

    signin = {"email": "grace@consulting.example", "password": "demo-password-123"}
    token = api.client.post("/api/auth/signin", json=signin).json()["token"]
    me = api.client.get("/api/auth/validate", headers={"Authorization": f"Bearer {token}"}).json()
    assert sorted(o["role"] for o in me["organizations"]) == ["admin", "developer"]
    assert me["user"]["activeOrgId"] is not None


@pytest.mark.db
def test_seed_demo_needs_a_schema_and_keys(fresh_db: Database, migrated_db: Database, tmp_path: Path) -> None:
    no_schema = orgbase_cli("seed", "demo", env=fresh_db.env(ORGBASE_ENCRYPTION_KEYS="k=" + "A" * 44))
    assert no_schema.returncode == 1 and "orgbase migrate deploy" in no_schema.stderr
    no_keys = orgbase_cli("seed", "demo", env=migrated_db.env(ORGBASE_HOME=str(tmp_path)))
    assert no_keys.returncode == 1 and "no encryption keys" in no_keys.stderr
    short = orgbase_cli("seed", "demo", "--password", "short", env=migrated_db.env())
    assert short.returncode == 2
    with psycopg.connect(migrated_db.service_url) as conn:
        assert conn.execute("select count(*) from platform.users").fetchone() == (0,)


def test_seed_demo_data_is_consistent() -> None:
    orgs = {o.slug for o in demo.ORGS}
    assert {role for p in demo.PEOPLE for _, role in p.roles} == ALL_ROLES
    assert all(slug in orgs for p in demo.PEOPLE for slug, _ in p.roles)
    assert {(d.org, d.project) for d in demo.DATABASES} <= set(demo.PROJECTS)
    assert all(d.url.count("-demo-pw@") == 1 and d.host in d.url for d in demo.DATABASES)
