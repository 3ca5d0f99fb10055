"""The demo world of ``make run``: three organizations on different plans, people of every role, projects,
registered databases, billing rows and a little audit history.

Idempotent: every row is keyed on what a person recognises (slugs, emails, names within an organization,
invoice numbers, payment tokens) and only what is missing is added. A second run adds nothing and changes
nothing, including what people did with the demo data meanwhile. It runs in the caller's transaction as the
service role (BYPASSRLS) and never commits. Demo data only: every demo account shares one known password,
and the connection strings point at hosts that do not exist (they are encrypted like any other).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import psycopg
from psycopg.types.json import Jsonb

from orgbase.databases.crypto import Keyring

Conn = psycopg.Connection[Any]
SOURCE = "orgbase seed demo"


class Org(NamedTuple):
    """A demo organization and the plan it is on."""

    slug: str
    name: str
    plan: str
    billing_email: str


class Person(NamedTuple):
    """A demo account and its memberships."""

    email: str
    first_name: str
    last_name: str
    roles: tuple[tuple[str, str], ...]  # (organization slug, role); the first is the active organization


class Db(NamedTuple):
    """A registered database of a demo project, with its (made-up) connection string."""

    org: str
    project: str
    name: str
    type: str
    host: str
    port: int
    database: str
    url: str


ORGS = (
    Org("acme", "Acme Corporation", "team", "billing@acme.example"),
    Org("globex", "Globex", "pro", "accounts@globex.example"),
    Org("initech", "Initech", "free", "peter@initech.example"),
)
PEOPLE = (
    Person("ada@acme.example", "Ada", "Lovelace", (("acme", "owner"),)),
    Person("alan@acme.example", "Alan", "Turing", (("acme", "admin"),)),
    Person("bill@acme.example", "Bill", "Ledger", (("acme", "billing_admin"),)),
    Person("dennis@acme.example", "Dennis", "Ritchie", (("acme", "developer"),)),
    Person("reed@acme.example", "Reed", "Only", (("acme", "read_only"),)),
    Person("grace@consulting.example", "Grace", "Hopper", (("acme", "developer"), ("globex", "admin"))),
    Person("hank@globex.example", "Hank", "Scorpio", (("globex", "owner"),)),
    Person("frank@globex.example", "Frank", "Grimes", (("globex", "billing_admin"),)),
    Person("peter@initech.example", "Peter", "Gibbons", (("initech", "owner"),)),
    Person("samir@initech.example", "Samir", "Nagheenanajar", (("initech", "developer"),)),
    Person("milton@initech.example", "Milton", "Waddams", (("initech", "read_only"),)),
    Person("nora@demo.example", "Nora", "Newcomer", ()),
)
PROJECTS = (("acme", "Storefront"), ("acme", "Analytics"), ("acme", "Internal tools"),
            ("globex", "Hammock District"), ("globex", "Cypress Creek"),
            ("initech", "TPS Reports"))  # fmt: skip
# Made-up hosts under .internal and passwords that say what they are: nothing here reaches anything.
DATABASES = (
    Db("acme", "Storefront", "Orders", "postgresql", "orders.acme.internal", 5432, "orders",
       "postgresql://storefront:acme-orders-demo-pw@orders.acme.internal:5432/orders"),
    Db("acme", "Storefront", "Cache", "redis", "cache.acme.internal", 6379, "0",
       "redis://:acme-cache-demo-pw@cache.acme.internal:6379/0"),
    Db("acme", "Analytics", "Events", "mongodb", "events.acme.internal", 27017, "events",
       "mongodb://analytics:acme-events-demo-pw@events.acme.internal:27017/events?authSource=admin"),
    Db("globex", "Hammock District", "Main", "postgresql", "db.globex.internal", 5432, "hammock",
       "postgresql://hammock:globex-main-demo-pw@db.globex.internal:5432/hammock"),
    Db("initech", "TPS Reports", "Reports", "mongodb", "mongo.initech.internal", 27017, "tps",
       "mongodb://tps:initech-tps-demo-pw@mongo.initech.internal:27017/tps"),
)  # fmt: skip
_INVOICE_KEYS = ("org", "number", "status", "due", "paid", "ago")  # "ago": months before this one
INVOICES = (
    ("acme", "ACME-0001", "paid", 70900, 70900, 2),
    ("acme", "ACME-0002", "paid", 70900, 70900, 1),
    ("acme", "ACME-0003", "open", 70900, 0, 0),
    ("globex", "GLOBEX-0001", "paid", 2900, 2900, 1),
    ("globex", "GLOBEX-0002", "open", 2900, 0, 0),
)
# Provider tokens in Stripe's shape (never a card number: the schema refuses one).
_CARD_KEYS = ("org", "token", "brand", "last4", "month", "year")
PAYMENT_METHODS = (
    ("acme", "pm_demo_acme_visa", "visa", "4242", 12, 2030),
    ("globex", "pm_demo_globex_mastercard", "mastercard", "4444", 6, 2029),
)
ADDONS = (("acme", "custom_domain"), ("acme", "pitr_7"), ("globex", "ipv4"))


# The kinds of row, in the order a summary lists them.
KINDS = ("organizations", "subscriptions", "users", "memberships", "projects", "databases", "invoices",
         "payment methods", "add-ons", "audit records")  # fmt: skip


@dataclass
class Summary:
    """What one run made, and what it found already there, by kind of row."""

    created: Counter[str] = field(default_factory=Counter)
    existing: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)


def seed(conn: Conn, *, keyring: Keyring, password_hash: Callable[[], str]) -> Summary:
    """Add whatever of the demo world is missing; ``password_hash`` is called only if an account is made."""
    # Two `make run`s at once must not both find a row missing and then collide on inserting it.
    conn.execute("select pg_advisory_xact_lock(hashtext('orgbase.seed.demo'))")
    run = _Run(conn, keyring)
    orgs = {o.slug: run.org(o) for o in ORGS}
    for person in PEOPLE:
        run.person(person, orgs, password_hash)
    projects = {(org, name): run.project(orgs[org], org, name) for org, name in PROJECTS}
    for db in DATABASES:
        project = projects[(db.org, db.project)]
        if project is not None:
            run.database(orgs[db.org], project, db)
    run.billing(orgs)
    return run.summary


class _Run:
    """One seeding pass: the connection, the keyring, the owner of each organization, the tally."""

    def __init__(self, conn: Conn, keyring: Keyring) -> None:
        self.conn, self.keyring, self.summary = conn, keyring, Summary()
        self.owners: dict[uuid.UUID, uuid.UUID] = {}

    def find(self, kind: str, params: dict[str, Any]) -> uuid.UUID | None:
        row = self.conn.execute(_FIND[kind], params).fetchone()
        return None if row is None else row[0]

    def ensure(self, kind: str, params: dict[str, Any]) -> tuple[uuid.UUID, bool]:
        """The id of the row of ``kind`` that ``params`` key, made if missing; whether it was made now."""
        found = self.find(kind, params)
        if found is None:
            # The inserts say ON CONFLICT DO NOTHING: an API request may have made the same row meanwhile.
            row = self.conn.execute(_INSERT[kind], params).fetchone()
            if row is not None:
                self.summary.created[kind] += 1
                return row[0], True
            found = self.find(kind, params)
            assert found is not None, f"{kind}: neither found nor inserted"
        self.summary.existing[kind] += 1
        return found, False

    def audit(self, org: uuid.UUID, action: str, target_type: str, target: object, **changes: Any) -> None:
        """A record of something made now, as if the organization's owner did it (once there is one)."""
        actor = self.owners.get(org)
        details = Jsonb({**changes, "by": SOURCE})
        self.conn.execute(_AUDIT, [org, actor, action, target_type, str(target), details, SOURCE])
        self.summary.created["audit records"] += 1

    def room(self, kind: str, org: uuid.UUID) -> bool:
        """Whether the organization's plan allows one more project or database (NULL: unlimited)."""
        row = self.conn.execute(_ROOM, {"org": org}).fetchone()
        return row is None or bool(row[("projects", "databases").index(kind)])

    def org(self, org: Org) -> uuid.UUID:
        org_id, made = self.ensure("organizations", org._asdict())
        sub_id, sub_made = self.ensure("subscriptions", {"org": org_id, "plan": org.plan})
        if made:
            self.audit(org_id, "organization.create", "organization", org_id, slug=org.slug)
        if sub_made:
            self.audit(org_id, "subscription.change_plan", "subscription", sub_id, plan=org.plan)
        return org_id

    def person(self, p: Person, orgs: dict[str, uuid.UUID], password_hash: Callable[[], str]) -> None:
        params = {"email": p.email, "first": p.first_name, "last": p.last_name}
        if self.find("users", params) is None:
            params["hash"] = password_hash()
        user_id, made = self.ensure("users", params)
        for slug, role in p.roles:
            self.member(orgs[slug], user_id, role)
        if made and p.roles:
            # Only for an account made now: an existing one keeps whatever its person chose since.
            self.conn.execute(_ACTIVATE, [orgs[p.roles[0][0]], user_id])

    def member(self, org: uuid.UUID, user: uuid.UUID, role: str) -> None:
        _, made = self.ensure("memberships", {"org": org, "user": user, "role": role})
        if role == "owner":
            self.owners.setdefault(org, user)
        if made:
            self.audit(org, "member.add", "user", user, role=role)

    def project(self, org: uuid.UUID, slug: str, name: str) -> uuid.UUID | None:
        params = {"org": org, "name": name}
        if self.find("projects", params) is None and not self.room("projects", org):
            self.summary.notes.append(f"{slug}: project {name!r} not made: the plan's limit is reached")
            return None
        project, made = self.ensure("projects", params)
        if made:
            self.audit(org, "project.create", "project", project, name=name)
        return project

    def database(self, org: uuid.UUID, project: uuid.UUID, db: Db) -> None:
        params: dict[str, Any] = {**db._asdict(), "org": org, "project": project}
        if self.find("databases", params) is not None:
            self.summary.existing["databases"] += 1
            return
        if not self.room("databases", org):
            self.summary.notes.append(f"{db.org}: database {db.name!r} not made: the plan's limit is reached")
            return
        # The row id is part of the ciphertext's associated data: choose it before encrypting.
        params["id"] = uuid.uuid4()
        params["blob"], params["key_id"] = self.keyring.encrypt(
            db.url, row_id=params["id"], organization_id=org
        )
        params["metadata"] = Jsonb({"seeded_by": SOURCE})
        row_id, made = self.ensure("databases", params)
        if made:  # the masked endpoint only: an audit record never holds a secret
            endpoint = f"{db.type}://{db.host}:{db.port}"
            self.audit(org, "database.create", "database", row_id, name=db.name, endpoint=endpoint)

    def billing(self, orgs: dict[str, uuid.UUID]) -> None:
        for invoice in INVOICES:
            fields = dict(zip(_INVOICE_KEYS, invoice, strict=True))
            self.ensure("invoices", {**fields, "org": orgs[invoice[0]]})
        for card in PAYMENT_METHODS:
            fields, org = dict(zip(_CARD_KEYS, card, strict=True)), orgs[card[0]]
            method, made = self.ensure("payment methods", {**fields, "org": org})
            if made:
                self.audit(org, "payment_method.add", "payment_method", method, brand=card[2], last4=card[3])
        for slug, addon in ADDONS:
            self.ensure("add-ons", {"org": orgs[slug], "addon": addon})


# Per kind of row: how to find it by its natural key, and how to make it.
_FIND = {
    "organizations": "select id from platform.organizations where slug = %(slug)s",
    "subscriptions": "select id from platform.subscriptions where organization_id = %(org)s",
    "users": "select id from platform.users where lower(email) = lower(%(email)s)",
    "memberships": "select user_id from platform.organization_members"
    " where organization_id = %(org)s and user_id = %(user)s",
    "projects": "select id from platform.projects where organization_id = %(org)s and name = %(name)s",
    "databases": "select id from platform.databases"
    " where organization_id = %(org)s and project_id = %(project)s and name = %(name)s",
    "invoices": "select id from platform.invoices where organization_id = %(org)s and number = %(number)s",
    "payment methods": "select id from platform.payment_methods"
    " where organization_id = %(org)s and provider = 'stripe' and provider_payment_method_id = %(token)s",
    "add-ons": "select id from platform.subscription_addons where organization_id = %(org)s"
    " and addon_id = %(addon)s",
}
_INSERT = {
    "organizations": """insert into platform.organizations (name, slug, billing_email)
        values (%(name)s, %(slug)s, %(billing_email)s) on conflict do nothing returning id""",
    "subscriptions": """insert into platform.subscriptions (organization_id, plan_id, current_period_start,
            current_period_end) select %(org)s, %(plan)s, m, m + interval '1 month'
        from date_trunc('month', now()) m on conflict do nothing returning id""",
    "users": """insert into platform.users (email, password_hash, first_name, last_name)
        values (%(email)s, %(hash)s, %(first)s, %(last)s) on conflict do nothing returning id""",
    "memberships": """insert into platform.organization_members (organization_id, user_id, role)
        values (%(org)s, %(user)s, %(role)s) on conflict do nothing returning user_id""",
    "projects": """insert into platform.projects (organization_id, name)
        values (%(org)s, %(name)s) on conflict do nothing returning id""",
    "databases": """insert into platform.databases (id, organization_id, project_id, name, type, host, port,
            database, connection_string_encrypted, encryption_key_id, metadata)
        values (%(id)s, %(org)s, %(project)s, %(name)s, %(type)s, %(host)s, %(port)s, %(database)s, %(blob)s,
            %(key_id)s, %(metadata)s)
        on conflict do nothing returning id""",
    # Periods by calendar month; a paid invoice was paid two days after its period, never in the future.
    "invoices": """insert into platform.invoices (organization_id, subscription_id, number, status,
            amount_due_cents, amount_paid_cents, period_start, period_end, due_at, paid_at)
        select %(org)s, s.id, %(number)s, %(status)s, %(due)s, %(paid)s, m.start,
               m.start + interval '1 month', m.start + interval '1 month 14 days',
               case when %(status)s = 'paid' then least(m.start + interval '1 month 2 days', now()) end
          from (select date_trunc('month', now()) - make_interval(months => %(ago)s) as start) m
          left join platform.subscriptions s on s.organization_id = %(org)s
        on conflict do nothing returning id""",
    "payment methods": """insert into platform.payment_methods (organization_id, provider_payment_method_id,
            brand, last4, exp_month, exp_year, is_default)
        values (%(org)s, %(token)s, %(brand)s, %(last4)s, %(month)s, %(year)s, true)
        on conflict do nothing returning id""",
    "add-ons": """insert into platform.subscription_addons (organization_id, subscription_id, addon_id)
        select s.organization_id, s.id, %(addon)s
          from platform.subscriptions s where s.organization_id = %(org)s
        on conflict do nothing returning id""",
}
# Whether the organization's plan (free without a subscription) allows one more project, database.
_ROOM = """select coalesce(p.max_projects > n.projects, true), coalesce(p.max_databases > n.databases, true)
  from platform.organizations o
  left join platform.subscriptions s on s.organization_id = o.id
  join platform.billing_plans p on p.id = coalesce(s.plan_id, 'free')
  cross join lateral (
      select (select count(*) from platform.projects x where x.organization_id = o.id) as projects,
             (select count(*) from platform.databases x where x.organization_id = o.id) as databases) n
 where o.id = %(org)s"""
_AUDIT = """insert into platform.audit_logs (organization_id, actor_id, action, target_type, target_id,
        changes, user_agent) values (%s, %s, %s, %s, %s, %s, %s)"""
_ACTIVATE = "update platform.users u set active_org_id = %s where u.id = %s and u.active_org_id is null"
