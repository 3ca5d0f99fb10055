"""Isolation under load: the real app under uvicorn, 64 concurrent clients of 16 organizations, a pool of 8.

Every organization's rows carry a marker of their own (in the organization's name and slug, its projects'
names, its members' emails). Clients issue thousands of mixed requests at once over real sockets (TestClient
would serialise them); no response may carry another organization's marker or id, and no connection may come
back from a request with a context setting: the pool's reset hook (``check_clean``) would discard it, so its
warnings are counted, and after the run every connection of the pool is lent at once and its settings read.
The same runs through PgBouncer in transaction mode (pool smaller than the clients). And on a PgBouncer of its
own, a session-level ``SET`` shows the leak that transaction-local settings prevent.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import random
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx2
import psycopg
import pytest
import uvicorn
import uvloop
from fastapi import FastAPI
from pydantic import SecretStr

from orgbase.api.app import create_app
from orgbase.config import Settings
from orgbase.db.pool import CONTEXT_SETTINGS
from tests.fixtures.api import api_settings
from tests.fixtures.cluster import Database
from tests.fixtures.pgbouncer import PgBouncer

pytestmark = [pytest.mark.db, pytest.mark.slow]

ORGS = 16
ROLES = ("owner", "admin", "developer", "read_only")  # 4 members per organization: 64 clients
PROJECTS_PER_ORG = 6
REQUESTS = 3_000  # in all, shared by the clients
RUN_BUDGET_S = 30.0  # the load stops here even if REQUESTS were not all sent (a busy machine)
MIN_REQUESTS = 1_000  # fewer would prove little
PASSWORD = "correct horse battery"


# -- the app served for real -------------------------------------------------------------------------


class LiveServer:
    """``app`` under uvicorn on 127.0.0.1 in a thread with its own event loop: uvloop and httptools, as
    ``orgbase serve`` runs it (psycopg's async connections and the pool on uvloop)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        # proto=IPPROTO_TCP, as server.py makes it: asyncio's own loop sets TCP_NODELAY only then (uvloop
        # always does); without it each keep-alive response waits ~40 ms (Nagle: uvicorn writes the head and
        # the body separately).
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            loop="uvloop",
            http="httptools",
            lifespan="on",
            log_level="warning",
            access_log=False,
            backlog=256,
        )
        self.server = uvicorn.Server(config)
        self.loop = uvloop.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="uvicorn", daemon=True)

    @property
    def base_url(self) -> str:
        """Where the server listens."""
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.server.serve(sockets=[self.sock]))

    def start(self) -> None:
        """Serve, and wait until the lifespan (the pool) is up."""
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        """Shut down (the lifespan closes the pool)."""
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.loop.close()
        self.sock.close()

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float = 30) -> Any:
        """Run ``coro`` on the server's loop (where its pool lives) and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


class ResetFailures(logging.Handler):
    """Counts the pool's "error resetting connection" warnings: a connection discarded by ``check_clean``."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "resetting connection" in message or "context settings" in message:
            self.messages.append(message)


@contextmanager
def serving(settings: Settings) -> Iterator[tuple[LiveServer, ResetFailures]]:
    """The real app for ``settings`` under uvicorn; reset-hook failures counted meanwhile."""
    failures = ResetFailures()
    logger = logging.getLogger("psycopg.pool")
    logger.addHandler(failures)
    server = LiveServer(create_app(settings))
    server.start()
    try:
        yield server, failures
    finally:
        server.stop()
        logger.removeHandler(failures)


def app_settings(db: Database, **update: Any) -> Settings:
    """The test app's settings: a pool of 8, no sign-in limit per address (one address sends all)."""
    return api_settings(
        db,
        pool_min_size=2,
        pool_max_size=8,
        signin_max_failures_per_ip=10_000,
        allow_private_targets=False,
        **update,
    )


# -- the world: 16 organizations, 4 members each, rows that name their organization --------------------


@dataclass
class Member:
    """One client: a signed-in member of one organization."""

    org: Org
    role: str
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """Its Authorization header."""
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Org:
    """An organization and the marker that every row of it carries."""

    index: int
    marker: str
    id: str = ""
    members: list[Member] = field(default_factory=list)

    def foreign_in(self, text: str, world: list[Org], *, ids: bool = True) -> list[str]:
        """Markers (and ids) of other organizations that occur in ``text``."""
        found = [o.marker for o in world if o is not self and o.marker in text]
        if ids:
            found += [o.id for o in world if o is not self and o.id in text]
        return found


async def _sign_up(client: httpx2.AsyncClient, email: str) -> str:
    made = await client.post(
        "/api/auth/signup",
        json={"email": email, "password": PASSWORD, "first_name": "Iso", "last_name": "Load"},
    )
    assert made.status_code == 201, made.text
    signed = await client.post("/api/auth/signin", json={"email": email, "password": PASSWORD})
    assert signed.status_code == 200, signed.text
    return str(signed.json()["token"])


async def _seed_org(client: httpx2.AsyncClient, db: Database, org: Org) -> None:
    """The owner signs up and creates the organization through the API; the others are added later."""
    tokens = {}
    for role in ROLES:
        email = f"{role.replace('_', '')}-{org.marker}@example.com"
        tokens[role] = (email, await _sign_up(client, email))
    owner_email, owner_token = tokens["owner"]
    made = await client.post(
        "/api/organizations",
        json={"name": f"Org {org.marker}", "slug": org.marker, "billing_email": owner_email},
        headers={"Authorization": f"Bearer {owner_token}"},
    )
    assert made.status_code == 201, made.text
    org.id = str(made.json()["id"])
    org.members = [Member(org, role, email, token) for role, (email, token) in tokens.items()]


def _seed_rows(db: Database, world: list[Org]) -> None:
    """Memberships and projects, written directly as the service role (fast, and no plan limit applies)."""
    with db.connect() as conn, conn.cursor() as cur:
        for org in world:
            cur.executemany(
                "insert into platform.organization_members (organization_id, user_id, role) "
                "select %s, id, %s from platform.users where lower(email) = lower(%s)",
                [(org.id, m.role, m.email) for m in org.members if m.role != "owner"],
            )
            cur.executemany(
                "insert into platform.projects (organization_id, name) values (%s, %s)",
                [(org.id, f"project {j} of {org.marker}") for j in range(PROJECTS_PER_ORG)],
            )


def seed_world(base_url: str, db: Database) -> list[Org]:
    """16 organizations with 4 signed-in members each and their projects."""
    world = [Org(i, f"iso{i:02d}x{uuid.uuid4().hex[:8]}") for i in range(ORGS)]

    async def seed() -> None:
        async with httpx2.AsyncClient(base_url=base_url, timeout=30) as client:
            await asyncio.gather(*(_seed_org(client, db, org) for org in world))

    started = time.monotonic()
    asyncio.run(seed())
    _seed_rows(db, world)
    print(f"\nseeded {ORGS} organizations, {ORGS * len(ROLES)} members in {time.monotonic() - started:.1f} s")
    return world


# -- the load -----------------------------------------------------------------------------------------


@dataclass
class Tally:
    """What the clients saw."""

    requests: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    foreign: list[str] = field(default_factory=list)  # responses that carried another organization's data
    unexpected: list[str] = field(default_factory=list)  # wrong statuses
    seconds: float = 0.0


def org_get_routes(app: FastAPI) -> list[str]:
    """Every GET route of the form ``/api/organizations/{org_id}/<name>`` (what the other endpoints add)."""
    paths = {path for path, operations in app.openapi()["paths"].items() if "get" in operations}
    prefix = "/api/organizations/{org_id}/"
    return sorted(p for p in paths if p.startswith(prefix) and "{" not in p[len(prefix) :])


def _requests_for(member: Member, world: list[Org], extra: list[str], rng: random.Random) -> tuple[str, str]:
    """One request of the mix: (kind, path)."""
    own = member.org.id
    other = rng.choice([o for o in world if o is not member.org]).id
    choices = [
        ("validate", "/api/auth/validate"),
        ("list_orgs", "/api/organizations"),
        ("get_org", f"/api/organizations/{own}"),
        ("list_projects", f"/api/organizations/{own}/projects?limit=50"),
        ("probe_org", f"/api/organizations/{other}"),
        ("probe_projects", f"/api/organizations/{other}/projects?limit=50"),
    ]
    choices += [
        (f"get {p[len('/api/organizations/{org_id}/') :]}", p.replace("{org_id}", own)) for p in extra
    ]
    return rng.choice(choices)


def _check(member: Member, world: list[Org], kind: str, resp: httpx2.Response, tally: Tally) -> None:
    tally.requests += 1
    tally.by_kind[kind] += 1
    tally.statuses[resp.status_code] += 1
    text = resp.text
    probe = kind.startswith("probe")
    # A probe names another organization's id in its path (a problem body may echo it): only markers count.
    leaked = member.org.foreign_in(text, world, ids=not probe)
    if leaked:
        tally.foreign.append(f"{kind} by {member.email}: {leaked} in {text[:300]}")
    expected = {404} if probe else ({200, 403} if kind.startswith("get ") else {200})
    if resp.status_code not in expected:
        tally.unexpected.append(f"{kind} by {member.email}: {resp.status_code} {text[:300]}")
    if kind == "list_projects" and resp.status_code == 200:
        items = resp.json()["items"]
        if len(items) != PROJECTS_PER_ORG or {i["organization_id"] for i in items} != {member.org.id}:
            tally.foreign.append(f"list_projects by {member.email}: {items}")


async def _client(
    http: httpx2.AsyncClient,
    member: Member,
    world: list[Org],
    extra: list[str],
    budget: list[int],
    deadline: float,
    tally: Tally,
) -> None:
    rng = random.Random(f"{member.email}")
    while budget[0] > 0 and time.monotonic() < deadline:
        budget[0] -= 1
        kind, path = _requests_for(member, world, extra, rng)
        resp = await http.get(path, headers=member.headers)
        _check(member, world, kind, resp, tally)
        if rng.random() < 0.03 and member.role in ("owner", "admin"):  # a few writes (audited) in the mix
            patched = await http.patch(
                f"/api/organizations/{member.org.id}",
                json={"billing_email": f"billing-{rng.randrange(1000)}-{member.org.marker}@example.com"},
                headers=member.headers,
            )
            _check(member, world, "patch_org", patched, tally)


def hammer(base_url: str, world: list[Org], extra: list[str]) -> Tally:
    """The load, from a process of its own (the server keeps this one's GIL and a core to itself)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_hammer, base_url, world, extra).result(timeout=RUN_BUDGET_S + 60)


def _hammer(base_url: str, world: list[Org], extra: list[str]) -> Tally:
    """64 concurrent clients (one per member) share REQUESTS requests, within RUN_BUDGET_S."""
    tally = Tally()
    members = [m for org in world for m in org.members]

    async def run() -> None:
        limits = httpx2.Limits(max_connections=len(members), max_keepalive_connections=len(members))
        async with httpx2.AsyncClient(base_url=base_url, timeout=30, limits=limits) as http:
            budget, deadline = [REQUESTS], time.monotonic() + RUN_BUDGET_S
            await asyncio.gather(*(_client(http, m, world, extra, budget, deadline, tally) for m in members))

    started = time.monotonic()
    asyncio.run(run())
    tally.seconds = time.monotonic() - started
    return tally


# -- what the connections carry afterwards --------------------------------------------------------------

_SETTINGS_SQL = "select pg_backend_pid(), " + ", ".join(
    f"current_setting('{name}', true)" for name in CONTEXT_SETTINGS
)


async def lend_every_connection(app: FastAPI) -> list[tuple[Any, ...]]:
    """Borrow all of the pool's connections at once (so each is a different one) and read their settings."""
    pool = app.state.pool
    size = pool.max_size
    barrier = asyncio.Barrier(size)

    async def read() -> tuple[Any, ...]:
        async with pool.connection() as conn:
            cur = await conn.execute(_SETTINGS_SQL)
            row = await cur.fetchone()
            await conn.rollback()  # behind PgBouncer, frees the server connection for the others
            await barrier.wait()  # held until all are out: no connection is read twice
            return tuple(row)

    return list(await asyncio.gather(*(read() for _ in range(size))))


def read_server_connections(url: str, count: int) -> list[tuple[Any, ...]]:
    """``count`` clients hold a transaction each at once (through PgBouncer: each on its own server
    connection) and read the context settings there."""
    barrier = threading.Barrier(count, timeout=20)
    rows: list[tuple[Any, ...]] = []

    def read() -> None:
        with psycopg.connect(url, prepare_threshold=None) as conn:
            row = conn.execute(_SETTINGS_SQL).fetchone()
            assert row is not None
            rows.append(tuple(row))
            barrier.wait()
            conn.rollback()

    threads = [threading.Thread(target=read) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return rows


def leftovers(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows whose context settings are not empty."""
    return [r for r in rows if any(v for v in r[1:])]


def report(label: str, tally: Tally, failures: ResetFailures, stats: dict[str, int], lent: int) -> None:
    rate = tally.requests / tally.seconds if tally.seconds else 0.0
    print(
        f"\n{label}: {tally.requests} requests by {ORGS * len(ROLES)} clients in {tally.seconds:.1f} s "
        f"({rate:.0f}/s); statuses {dict(sorted(tally.statuses.items()))}; kinds {dict(tally.by_kind)}"
    )
    print(
        f"{label}: responses with another organization's rows: {len(tally.foreign)}; context leaks "
        f"discarded by the reset hook: {len(failures.messages)}; connections lent and read clean: {lent}; "
        f"pool stats: { {k: v for k, v in stats.items() if k.startswith(('requests', 'returns', 'conn'))} }"
    )


def assert_isolated(tally: Tally, failures: ResetFailures) -> None:
    assert not tally.foreign, "\n".join(tally.foreign[:5])
    assert not tally.unexpected, "\n".join(tally.unexpected[:5])
    assert not failures.messages, failures.messages[:5]
    assert tally.requests >= MIN_REQUESTS, f"only {tally.requests} requests in {RUN_BUDGET_S} s"


# -- the tests ----------------------------------------------------------------------------------------------


@pytest.fixture(params=["migrated_db", "restrictive_db"], ids=["rls-permissive", "rls-007"])
def served_db(request: pytest.FixtureRequest) -> Database:
    """Without 007 (the request context alone keeps tenants apart) and with it (restrictive RLS enforces)."""
    db: Database = request.getfixturevalue(request.param)
    return db


def test_isolation_under_load(served_db: Database) -> None:
    """64 clients, 16 organizations, a pool of 8: no foreign rows, no setting survives a request."""
    with serving(app_settings(served_db)) as (server, failures):
        world = seed_world(server.base_url, served_db)
        tally = hammer(server.base_url, world, org_get_routes(server.app))
        rows = server.call(lend_every_connection(server.app))
        stats = server.app.state.pool.get_stats()
    report("direct", tally, failures, stats, len(rows) - len(leftovers(rows)))
    assert_isolated(tally, failures)
    assert len({r[0] for r in rows}) == 8 and not leftovers(rows), rows


def test_isolation_through_pgbouncer(served_db: Database, pgbouncer: PgBouncer) -> None:
    """The same through PgBouncer in transaction mode (4 server connections for 64 clients)."""
    settings = app_settings(
        served_db,
        app_database_url=SecretStr(pgbouncer.url("app", served_db.name)),
        disable_prepared_statements=True,
    )
    with serving(settings) as (server, failures):
        world = seed_world(server.base_url, served_db)
        tally = hammer(server.base_url, world, org_get_routes(server.app))
        rows = server.call(lend_every_connection(server.app))
        stats = server.app.state.pool.get_stats()
    servers = read_server_connections(pgbouncer.url("app", served_db.name), pgbouncer.pool_size)
    report("pgbouncer", tally, failures, stats, len(rows) - len(leftovers(rows)))
    clean = len(servers) - len(leftovers(servers))
    print(f"pgbouncer: server connections read clean: {clean} of {len(servers)}")
    assert_isolated(tally, failures)
    assert not leftovers(rows), rows
    assert len({r[0] for r in servers}) == pgbouncer.pool_size and not leftovers(servers), servers


# -- the leak that transaction-local settings prevent --------------------------------------------------


def _tenant_clients(
    url: str, orgs: list[str], rounds: int, first_statement: Callable[[str], tuple[str, list[Any]]]
) -> tuple[int, int, int]:
    """One client per organization, ``rounds`` transactions each: it sets its context with
    ``first_statement(org)`` on its first transaction only, then keeps reading "its" projects through
    ``get_current_org_id()`` (as a restrictive policy would). Returns (transactions, saw another tenant's
    context, rows of another tenant seen)."""
    totals = [0, 0, 0]
    lock = threading.Lock()
    start = threading.Barrier(len(orgs), timeout=20)

    def client(org: str) -> None:
        with psycopg.connect(url, prepare_threshold=None) as conn:
            query, params = first_statement(org)
            conn.execute(query, params)
            conn.commit()
            start.wait()
            for _ in range(rounds):
                seen = conn.execute(
                    "select platform.get_current_org_id(), count(p.id) from platform.projects p "
                    "where p.organization_id = platform.get_current_org_id()"
                ).fetchone()
                conn.commit()
                assert seen is not None
                with lock:
                    totals[0] += 1
                    if seen[0] is not None and str(seen[0]) != org:
                        totals[1] += 1
                        totals[2] += seen[1]

    threads = [threading.Thread(target=client, args=(org,)) for org in orgs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return totals[0], totals[1], totals[2]


def test_session_set_leaks_through_pgbouncer(
    migrated_db: Database, pgbouncer_factory: Callable[..., PgBouncer]
) -> None:
    """On a PgBouncer of its own: a session-level SET of one tenant is seen by other tenants' transactions;
    the same context set transaction-locally is seen by nobody."""
    bouncer = pgbouncer_factory(pool_size=2)
    orgs = [str(uuid.uuid4()) for _ in range(8)]
    with migrated_db.connect() as conn:
        for i, org in enumerate(orgs):
            conn.execute(
                "insert into platform.organizations (id, name, slug) values (%s, %s, %s)",
                [org, f"Leak {i}", f"leak-{org[:8]}"],
            )
            conn.execute(
                "insert into platform.projects (organization_id, name) select %s, 'p' || g "
                "from generate_series(1, 3) g",
                [org],
            )
    url = bouncer.url("app", migrated_db.name)
    local = _tenant_clients(
        url, orgs, 100, lambda org: ("select set_config('app.current_org_id', %s, true)", [org])
    )
    session = _tenant_clients(
        url, orgs, 100, lambda org: ("select set_config('app.current_org_id', %s, false)", [org])
    )
    print(
        f"\nleak demo, {len(orgs)} tenants over {bouncer.pool_size} server connections: "
        f"transaction-local context: {local[1]} of {local[0]} transactions saw another tenant "
        f"({local[2]} foreign rows); session-level SET: {session[1]} of {session[0]} "
        f"({100 * session[1] / max(session[0], 1):.0f}%) saw another tenant's context, "
        f"{session[2]} foreign rows"
    )
    assert local[1] == 0 and local[2] == 0
    assert session[1] > 0 and session[2] > 0
