"""What the app role should reach: the policy rules of docs/rls.md over the permission matrix.

Pure: no database. The harness reads the matrix (``platform.role_permissions``) and the app role's grants
from the database and asks this module, for one probe, whether the command should reach the target row.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

COMMANDS = ("SELECT", "INSERT", "UPDATE", "DELETE")
CATALOGS = ("billing_plans", "addons_catalog", "member_roles", "permissions", "role_permissions")


@dataclass(frozen=True)
class Ctx:
    """The request context of a probe and what the world knows about its user."""

    user: uuid.UUID | None
    org: uuid.UUID | None
    members: Mapping[uuid.UUID, Mapping[uuid.UUID, str]]
    matrix: Mapping[str, frozenset[str]]

    def mine(self) -> frozenset[uuid.UUID]:
        """The context user's organizations (``current_user_org_ids()``)."""
        return frozenset(self.members.get(self.user, {})) if self.user else frozenset()

    def can(self, permission: str) -> bool:
        """``current_member_can(permission)``: the user's role in the context organization holds it."""
        if self.user is None or self.org is None:
            return False
        role = self.members.get(self.user, {}).get(self.org)
        return role is not None and permission in self.matrix.get(role, frozenset())


@dataclass(frozen=True)
class Row:
    """The row a probe reads, writes or deletes: its organization, user and role where it has them."""

    org: uuid.UUID | None = None
    user: uuid.UUID | None = None
    role: str | None = None


Rule = Callable[[Ctx, Row], bool]


def _never(_c: Ctx, _r: Row) -> bool:
    return False


def _always(_c: Ctx, _r: Row) -> bool:
    return True


def _tenant(permission: str) -> Rule:
    return lambda c, r: c.org is not None and r.org == c.org and c.can(permission)


def _owner_rule(c: Ctx, r: Row) -> bool:
    return r.role != "owner" or c.can("members.grant_owner")


def _tenant_table(read: str, write: str, update: str | None = None) -> dict[str, Rule]:
    return {
        "SELECT": _tenant(read),
        "INSERT": _tenant(write),
        "UPDATE": _tenant(update or write),
        "DELETE": _tenant(write),
    }


def _subscription_update(c: Ctx, r: Row) -> bool:
    return _tenant("billing.update")(c, r) or _tenant("billing.change_plan")(c, r)


def _members_using(c: Ctx, r: Row) -> bool:
    return r.user == c.user or _tenant("members.update_role")(c, r)


def _members_write(permission: str) -> Rule:
    return lambda c, r: _tenant(permission)(c, r) and _owner_rule(c, r)


def _audit_insert(c: Ctx, r: Row) -> bool:
    return r.org is None or r.org in c.mine()


def _me(c: Ctx, r: Row) -> bool:
    return c.user is not None and r.user == c.user


RULES: dict[str, dict[str, Rule]] = {
    "organizations": {
        "SELECT": lambda c, r: r.org in c.mine(),
        "INSERT": _never,
        "UPDATE": _tenant("org.update"),
        "DELETE": _tenant("org.delete"),
    },
    "organization_members": {
        "SELECT": lambda c, r: r.user == c.user or _tenant("members.read")(c, r),
        "INSERT": _members_write("members.invite"),
        "UPDATE": _members_using,
        "DELETE": lambda c, r: _me(c, r) or _members_write("members.remove")(c, r),
    },
    "users": {"SELECT": _me, "INSERT": _never, "UPDATE": _me, "DELETE": _never},
    # no app grants at all: refused whatever the policy says
    "user_sessions": dict.fromkeys(COMMANDS, _never),
    "sign_in_attempts": dict.fromkeys(COMMANDS, _never),
    "projects": {
        "SELECT": _tenant("projects.read"),
        "INSERT": _tenant("projects.create"),
        "UPDATE": _tenant("projects.update"),
        "DELETE": _tenant("projects.delete"),
    },
    "databases": {
        "SELECT": _tenant("databases.read"),
        "INSERT": _tenant("databases.create"),
        "UPDATE": _tenant("databases.update"),
        "DELETE": _tenant("databases.delete"),
    },
    "subscriptions": {**_tenant_table("billing.read", "billing.update"), "UPDATE": _subscription_update},
    "invoices": {"SELECT": _tenant("billing.read"), "INSERT": _never, "UPDATE": _never, "DELETE": _never},
    "payment_methods": _tenant_table("billing.read", "billing.update"),
    "subscription_addons": _tenant_table("billing.read", "billing.update"),
    "invitations": {
        "SELECT": _tenant("members.invite"),
        "INSERT": _members_write("members.invite"),
        "UPDATE": _members_write("members.invite"),
        "DELETE": _tenant("members.invite"),
    },
    "audit_logs": {
        "SELECT": _tenant("audit.read"),
        "INSERT": _audit_insert,
        "UPDATE": _never,
        "DELETE": _never,
    },
    **{t: {"SELECT": _always, "INSERT": _never, "UPDATE": _never, "DELETE": _never} for t in CATALOGS},
}


def members_update_check(c: Ctx, new: Row) -> bool:
    """UPDATE's WITH CHECK on organization_members: stricter than its USING (docs/rls.md)."""
    return _members_write("members.update_role")(c, new)


def expected(table: str, command: str, ctx: Ctx, old: Row, new: Row | None = None) -> bool:
    """Whether ``command`` as ``ctx`` should reach ``old`` (and, for INSERT and UPDATE, write ``new``)."""
    rule = RULES[table][command]
    if command == "INSERT":
        return rule(ctx, new or old)
    if command != "UPDATE":
        return rule(ctx, old)
    after = new or old
    if table == "organization_members":
        return rule(ctx, old) and members_update_check(ctx, after)
    return rule(ctx, old) and rule(ctx, after)
