"""The harness's world: organizations A, B and C, a user of every role in A, a user in A and B, a
non-member, and a row in every platform table for each organization.

Built by a role that bypasses RLS (the owner or the service role), inside the caller's transaction: the
caller rolls it back, so the world leaves nothing.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from typing import Any

import psycopg

Conn = psycopg.Connection[Any]

HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
ROLES = ("owner", "admin", "billing_admin", "developer", "read_only")
MULTI = "multi"
"""A user in two organizations: read_only in A, admin in B."""


@dataclass
class Org:
    """An organization of the world and the ids of its rows."""

    id: uuid.UUID
    slug: str
    project: uuid.UUID = field(default_factory=uuid.uuid4)
    database: uuid.UUID = field(default_factory=uuid.uuid4)
    subscription: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass
class World:
    """Organizations A and B with a row in every tenant table (C too); a user of every role in A; bob owns B;
    ada (owner of A) is also read_only in C; multi is read_only in A and admin in B; sam belongs nowhere."""

    a: Org
    b: Org
    c: Org
    users: dict[str, uuid.UUID]
    members: dict[uuid.UUID, dict[uuid.UUID, str]]
    """user -> organization -> role."""

    @property
    def ada(self) -> uuid.UUID:
        """The owner of A (also read_only in C)."""
        return self.users["owner"]


def build_world(conn: Conn) -> World:
    """Insert the world (the caller is a role that bypasses RLS); returns its ids."""
    tag = uuid.uuid4().hex[:8]
    orgs = [Org(uuid.uuid4(), f"w-{name}-{tag}") for name in "abc"]
    users = {name: uuid.uuid4() for name in (*ROLES, "bob", MULTI, "sam")}
    for org in orgs:
        conn.execute(
            "insert into platform.organizations (id, name, slug) values (%s, %s, %s)",
            [org.id, org.slug, org.slug],
        )
    for name, uid in users.items():
        conn.execute(
            "insert into platform.users (id, email, password_hash, first_name) values (%s, %s, %s, %s)",
            [uid, f"{name}-{tag}@example.com", HASH, name],
        )
    a, b, c = orgs
    members: dict[uuid.UUID, dict[uuid.UUID, str]] = {uid: {} for uid in users.values()}
    for org_id, uid, role in [
        *((a.id, users[r], r) for r in ROLES),
        (b.id, users["bob"], "owner"),
        (c.id, users["owner"], "read_only"),
        (a.id, users[MULTI], "read_only"),
        (b.id, users[MULTI], "admin"),
    ]:
        conn.execute(
            "insert into platform.organization_members (organization_id, user_id, role) values (%s, %s, %s)",
            [org_id, uid, role],
        )
        members[uid][org_id] = role
    for org in orgs:
        _tenant_rows(conn, org, tag)
    for uid in users.values():
        conn.execute(
            "insert into platform.user_sessions (user_id, token_hash, expires_at)"
            " values (%s, %s, now() + interval '1 h')",
            [uid, uuid.uuid4().hex * 2],
        )
    conn.execute(
        "insert into platform.sign_in_attempts (subject, window_start, failures) values (%s, now(), 1)",
        [f"ip:{tag}"],
    )
    return World(a, b, c, users, members)


def _tenant_rows(conn: Conn, org: Org, tag: str) -> None:
    o = org.id
    conn.execute(
        "insert into platform.projects (id, organization_id, name) values (%s, %s, 'shared name')",
        [org.project, o],
    )
    conn.execute(
        "insert into platform.databases (id, organization_id, project_id, name, type, host, port,"
        " connection_string_encrypted, encryption_key_id)"
        " values (%s, %s, %s, 'db', 'redis', 'h', 6379, %s, 'k')",
        [org.database, o, org.project, os.urandom(40)],
    )
    conn.execute(
        "insert into platform.subscriptions (id, organization_id) values (%s, %s)", [org.subscription, o]
    )
    conn.execute(
        "insert into platform.invoices (organization_id, subscription_id, number) values (%s, %s, 'INV-1')",
        [o, org.subscription],
    )
    conn.execute(
        "insert into platform.payment_methods (organization_id, provider_payment_method_id, last4, exp_month,"
        " exp_year) values (%s, 'pm_1', '4242', 1, 2030)",
        [o],
    )
    conn.execute(
        "insert into platform.subscription_addons (organization_id, subscription_id, addon_id)"
        " values (%s, %s, 'ipv4')",
        [o, org.subscription],
    )
    conn.execute(
        "insert into platform.invitations (organization_id, email, role, token_hash, expires_at)"
        " values (%s, %s, 'developer', %s, now() + interval '1 day')",
        [o, f"invitee-{tag}@example.com", uuid.uuid4().hex * 2],
    )
    conn.execute("insert into platform.audit_logs (organization_id, action) values (%s, 'world.made')", [o])
