"""The probes of the harness: for a table, command, subject and context, the statement to run and the row
it targets; what is built here is judged by ``rules`` and run by ``harness``."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from psycopg import sql

from orgbase.rls.rules import CATALOGS, Ctx, Row
from orgbase.rls.world import HASH, MULTI, ROLES, Org, World

SUBJECTS = (*ROLES, MULTI, "sam")
CONTEXTS = ("own", "other", "forged", "none")
"""own: context (user, A), rows of A; other: context (user, A), rows of B (and UPDATE moving a row of A to
B); forged: context (user, B), rows of B; none: no context, rows of A."""

# INSERT of a new row of organization ``o`` (world, org, subject): columns, then a function of the values.
_INSERTS: dict[str, tuple[str, Any]] = {
    "organizations": ("(name, slug)", lambda w, o, u: ["h", f"h-{_r()}"]),
    "organization_members": (
        "(organization_id, user_id, role)",
        lambda w, o, u: [o.id, w.users["sam"], "developer"],
    ),
    "users": ("(email, password_hash)", lambda w, o, u: [f"h-{_r()}@example.com", HASH]),
    "user_sessions": ("(user_id, token_hash, expires_at)", lambda w, o, u: [u, _r() * 2, "infinity"]),
    "sign_in_attempts": ("(subject, window_start, failures)", lambda w, o, u: [f"h:{_r()}", "now", 1]),
    "projects": ("(organization_id, name)", lambda w, o, u: [o.id, f"h-{_r()}"]),
    "databases": (
        "(organization_id, project_id, name, type, host, port, connection_string_encrypted,"
        " encryption_key_id)",
        lambda w, o, u: [o.id, o.project, f"h-{_r()}", "redis", "h", 1, os.urandom(40), "k"],
    ),
    "subscriptions": ("(organization_id)", lambda w, o, u: [o.id]),
    "invoices": ("(organization_id, subscription_id, number)", lambda w, o, u: [o.id, o.subscription, _r()]),
    "payment_methods": (
        "(organization_id, provider_payment_method_id, last4, exp_month, exp_year)",
        lambda w, o, u: [o.id, f"pm_{_r()}", "1111", 1, 2031],
    ),
    "subscription_addons": (
        "(organization_id, subscription_id, addon_id)",
        lambda w, o, u: [o.id, o.subscription, "ipv4"],
    ),
    "invitations": (
        "(organization_id, email, role, token_hash, expires_at)",
        lambda w, o, u: [o.id, f"h-{_r()}@example.com", "developer", _r() * 2, "infinity"],
    ),
    "audit_logs": ("(organization_id, action)", lambda w, o, u: [o.id, "harness.probe"]),
}
_NEW_ROW_ROLE = {"organization_members": "developer", "invitations": "developer"}


def _r() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Probe:
    """One statement of the harness, the context it runs in, and the rows the rules judge."""

    table: str
    command: str
    subject: str
    context: str
    variant: str
    ctx: Ctx
    statement: sql.Composable
    params: list[Any]
    old: Row
    new: Row | None


def context_of(w: World, subject: str, context: str, matrix: Any) -> tuple[Ctx, Org]:
    """The request context of ``subject`` in ``context`` and the organization whose rows are targeted."""
    user = w.users[subject]
    ctx_org, target = {"own": (w.a, w.a), "other": (w.a, w.b), "forged": (w.b, w.b), "none": (None, w.a)}[
        context
    ]
    if context == "none":
        return Ctx(None, None, w.members, matrix), target
    assert ctx_org is not None
    return Ctx(user, ctx_org.id, w.members, matrix), target


def _target(
    w: World, table: str, org: Org, subject: str, context: str
) -> tuple[Row, sql.Composable, list[Any]]:
    """The rows of ``table`` a probe reaches: a WHERE clause and the row the rules judge."""
    if table == "organizations":
        return Row(org=org.id), sql.SQL("id = %s"), [org.id]
    if table == "organization_members":
        user = w.users["developer"] if org is w.a else w.users["bob"]
        role = w.members[user][org.id]
        return Row(org.id, user, role), sql.SQL("organization_id = %s and user_id = %s"), [org.id, user]
    if table in ("users", "user_sessions"):
        user = w.users[subject] if context in ("own", "none") else w.users["bob"]
        column = "id" if table == "users" else "user_id"
        return Row(user=user), sql.SQL(column + " = %s"), [user]
    if table == "sign_in_attempts" or table in CATALOGS:
        return Row(), sql.SQL("true"), []
    return Row(org=org.id), sql.SQL("organization_id = %s"), [org.id]


def probes(w: World, table: str, subject: str, context: str, matrix: Any, touch: str) -> Iterator[Probe]:
    """The probes of one cell of the matrix: SELECT, INSERT, UPDATE (and a move), DELETE."""
    ctx, org = context_of(w, subject, context, matrix)
    row, where, params = _target(w, table, org, subject, context)
    t = sql.Identifier("platform", table)
    cell = (table, subject, context)
    select = sql.SQL("select count(*) from {} where {}").format(t, where)
    yield Probe(table, "SELECT", *cell[1:], "", ctx, select, params, row, None)
    if table in _INSERTS:
        columns, values = _INSERTS[table]
        new = Row(
            org.id if row.org else None,
            w.users["sam"] if table == "organization_members" else None,
            _NEW_ROW_ROLE.get(table),
        )
        vals = values(w, org, w.users[subject])
        marks = sql.SQL(", ").join(sql.Placeholder() * len(vals))
        insert = sql.SQL("insert into {} {} values ({})").format(t, sql.SQL(columns), marks)
        yield Probe(table, "INSERT", subject, context, "", ctx, insert, vals, row, new)
    else:
        insert = sql.SQL("insert into {} default values").format(t)
        yield Probe(table, "INSERT", subject, context, "", ctx, insert, [], row, row)
    col = sql.Identifier(touch)
    update = sql.SQL("update {} set {} = {} where {}").format(t, col, col, where)
    yield Probe(table, "UPDATE", subject, context, "", ctx, update, params, row, row)
    if context == "other" and row.org is not None and table != "organizations":
        old, move_where, move_params = _target(w, table, w.a, subject, context)
        move = sql.SQL("update {} set organization_id = %s where {}").format(t, move_where)
        new = Row(w.b.id, old.user, old.role)
        yield Probe(table, "UPDATE", subject, context, "move", ctx, move, [w.b.id, *move_params], old, new)
    delete = sql.SQL("delete from {} where {}").format(t, where)
    yield Probe(table, "DELETE", subject, context, "", ctx, delete, params, row, None)
