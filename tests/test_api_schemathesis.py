"""A property-based run of the app's OpenAPI schema (schemathesis 4): no input makes the API answer 5xx.

Every operation of the schema gets generated inputs, valid ones (positive) and invalid ones (negative), sent
in-process to the real app on its real pool and a fresh migrated database, with the bearer token of a seeded
user who owns an organization; that organization's id replaces a generated ``org_id`` whenever the generated
one is a well-formed UUID, so most requests get past authentication and membership (the share is printed).
Calls that would end the shared session or organization (sign-out, refresh, deleting the organization) get a
session or an organization of their own. The run is bounded: a fixed number of examples per operation and
mode, and a time budget over all of them.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis.generation import GenerationMode
from schemathesis.python import asgi

from orgbase.api.app import create_app
from tests.fixtures.api import api_settings
from tests.fixtures.cluster import Database

pytestmark = [pytest.mark.db, pytest.mark.slow]

EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 10}
BUDGET_S = 40.0  # operations not reached by then are reported as skipped
PASSWORD = "correct horse battery"
ENDS_THE_SESSION = {("POST", "/api/auth/signout"), ("POST", "/api/auth/refresh")}
DELETES_THE_ORG = ("DELETE", "/api/organizations/{org_id}")


@dataclass
class Seeded:
    """The user whose token the run uses, its organization, and a service-role connection to make more."""

    user_id: str
    token: str
    org_id: str
    service: psycopg.Connection[Any]

    def fresh_token(self) -> str:
        """A new session of the user, for a call that ends the session it is given."""
        token = secrets.token_urlsafe(32)
        self.service.execute(
            "insert into platform.user_sessions (user_id, token_hash, expires_at) "
            "values (%s, %s, now() + interval '1 hour')",
            [self.user_id, hashlib.sha256(token.encode()).hexdigest()],
        )
        return token

    def throwaway_org(self) -> str:
        """A new organization the user owns, for a call that deletes the organization it is given."""
        org = str(uuid.uuid4())
        self.service.execute(
            "insert into platform.organizations (id, name, slug) values (%s, 'Throwaway', %s)",
            [org, f"throwaway-{org[:8]}"],
        )
        self.service.execute(
            "insert into platform.organization_members (organization_id, user_id, role) "
            "values (%s, %s, 'owner')",
            [org, self.user_id],
        )
        return org


@dataclass
class Tally:
    """Statuses per operation, and every 5xx with its input."""

    statuses: Counter[int] = field(default_factory=Counter)
    per_operation: dict[str, Counter[int]] = field(default_factory=dict)
    server_errors: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    unsatisfiable: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Requests sent."""
        return sum(self.statuses.values())


def seed(db: Database, app: Any) -> Seeded:
    """A user signed up and in through the API, owner of an organization it created."""
    email = f"fuzz-{uuid.uuid4().hex[:8]}@example.com"
    with asgi.get_client(app) as client:
        made = client.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
        assert made.status_code == 201, made.text
        signed = client.post("/api/auth/signin", json={"email": email, "password": PASSWORD})
        assert signed.status_code == 200, signed.text
        token = signed.json()["token"]
        org = client.post(
            "/api/organizations",
            json={"name": "Fuzz", "slug": f"fuzz-{uuid.uuid4().hex[:8]}"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert org.status_code == 201, org.text
    return Seeded(made.json()["id"], token, org.json()["id"], db.connect())


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def exercise(case: Any, seeded: Seeded, tally: Tally) -> None:
    """Send ``case`` with the seeded user's token (and organization); record the status."""
    key = (case.method.upper(), case.operation.path)
    token = seeded.fresh_token() if key in ENDS_THE_SESSION else seeded.token
    if "org_id" in case.path_parameters and _is_uuid(case.path_parameters["org_id"]):
        org = seeded.throwaway_org() if key == DELETES_THE_ORG else seeded.org_id
        case.path_parameters["org_id"] = org
    response = case.call(headers={"Authorization": f"Bearer {token}"})
    label = f"{key[0]} {key[1]}"
    tally.statuses[response.status_code] += 1
    tally.per_operation.setdefault(label, Counter())[response.status_code] += 1
    if response.status_code >= 500:
        tally.server_errors.append(
            f"{label} -> {response.status_code}: path {case.path_parameters} query {case.query} "
            f"body {case.body!r:.300} response {response.text[:300]}"
        )


def run_operation(operation: Any, mode: GenerationMode, seeded: Seeded, tally: Tally) -> None:
    """Up to EXAMPLES[mode] generated cases of one operation (no shrinking: 5xx are collected, not raised)."""

    @hypothesis.settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        exercise(case, seeded, tally)

    try:
        run()
    except hypothesis.errors.Unsatisfiable:  # nothing to make invalid (no parameters, no body)
        tally.unsatisfiable.append(f"{operation.method.upper()} {operation.path} ({mode.value})")


def test_no_input_makes_the_api_fail(migrated_db: Database) -> None:
    """Every operation, valid and invalid inputs, an authenticated owner: never a 5xx."""
    settings = api_settings(migrated_db, target_connect_timeout_seconds=0.5)
    app = create_app(settings)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)  # starts the app's lifespan (its pool)
    tally = Tally()
    started = time.monotonic()
    seeded = None
    try:
        seeded = seed(migrated_db, app)
        for result in schema.get_all_operations():
            operation = result.ok()
            for mode in EXAMPLES:
                if time.monotonic() - started > BUDGET_S:
                    tally.skipped.append(f"{operation.method.upper()} {operation.path} ({mode.value})")
                    continue
                run_operation(operation, mode, seeded, tally)
        with asgi.get_client(app) as client:
            still = client.get("/api/auth/validate", headers={"Authorization": f"Bearer {seeded.token}"})
    finally:
        if seeded is not None:
            seeded.service.close()
        asgi.shutdown_lifespans()  # closes the pool before the database is dropped
    past_auth = tally.total - tally.statuses[401]
    print(
        f"\nschemathesis: {tally.total} requests over {len(tally.per_operation)} operations in "
        f"{time.monotonic() - started:.1f} s; past authentication (not 401): {past_auth} "
        f"({100 * past_auth / max(tally.total, 1):.0f}%); statuses {dict(sorted(tally.statuses.items()))}; "
        f"5xx: {len(tally.server_errors)}; skipped for time: {len(tally.skipped)}; "
        f"nothing invalid to generate: {len(tally.unsatisfiable)}"
    )
    for line in tally.server_errors[:20]:
        print("  5xx:", line)
    assert still.status_code == 200, "the seeded session must survive the run (else the share means little)"
    assert not tally.server_errors, "\n".join(tally.server_errors[:10])
    assert tally.total > 0 and past_auth / tally.total > 0.5
