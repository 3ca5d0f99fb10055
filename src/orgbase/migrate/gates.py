"""Gates: prerequisites of a change that are evidence, not other changes.

A gate is a named check that reads the database through a ``Probe`` and answers ok or not, with the
evidence either way, in words an operator can act on. This module defines the protocol and the registry;
the engine provides the probe. It never imports a database driver.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from orgbase.rls import fingerprint


@dataclass(frozen=True)
class GateResult:
    """The outcome of one gate, with the evidence it was judged on."""

    name: str
    ok: bool
    evidence: str


class Probe(Protocol):
    """Read-only access to the database being migrated."""

    def rows(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read-only query and return all rows."""
        ...

    def applied(self) -> frozenset[str]:
        """Ids of the changes the ledger records as applied (deployed or adopted)."""
        ...


Check = Callable[[Probe], GateResult]


@dataclass(frozen=True)
class Gate:
    """A named, described check."""

    name: str
    description: str
    check: Check


class GateRegistry(Mapping[str, Gate]):
    """The gates a plan may name; an unknown name is an error before anything runs."""

    def __init__(self, gates: Sequence[Gate] = ()) -> None:
        self._gates = {g.name: g for g in gates}

    def __getitem__(self, name: str) -> Gate:
        return self._gates[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._gates)

    def __len__(self) -> int:
        return len(self._gates)

    def evaluate(self, name: str, probe: Probe) -> GateResult:
        """Run one gate; a check that raises is a gate that does not hold, with the error as evidence."""
        try:
            return self._gates[name].check(probe)
        except Exception as exc:  # a broken check must block, not crash the engine
            return GateResult(name, False, f"check failed: {exc}")


def change_applied(name: str, change_id: str) -> Gate:
    """A gate that holds once ``change_id`` is applied (for prerequisites that are not a dependency)."""

    def check(probe: Probe) -> GateResult:
        ok = change_id in probe.applied()
        return GateResult(name, ok, f"{change_id} is {'applied' if ok else 'not applied'}")

    return Gate(name, f"{change_id} is applied", check)


_WS3_ROLES = """
with app as (select oid, rolsuper or rolbypassrls as privileged from pg_roles
              where rolname = current_setting('orgbase.app_role', true))
select
  (select rolbypassrls from pg_roles where rolname = current_setting('orgbase.service_role', true)),
  (select privileged from app),
  (select count(*) from pg_class where relowner = (select oid from app))
    + (select count(*) from pg_proc where proowner = (select oid from app)),
  (select coalesce(string_agg(c.relname, ', ' order by c.relname), '') from pg_class c
     join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'platform' and c.relkind = 'r' and not (c.relrowsecurity and c.relforcerowsecurity))
"""


def _ws3_roles(probe: Probe) -> GateResult:
    """WS3: the service role bypasses RLS; the app role is plain and owns nothing; FORCE on every table."""
    service_bypasses, app_privileged, app_owns, unforced = probe.rows(_WS3_ROLES)[0]
    wrong = []
    if not service_bypasses:
        wrong.append("the service role lacks BYPASSRLS (or is missing)")
    if app_privileged is None or app_privileged:
        wrong.append("the app role is missing, a superuser, or has BYPASSRLS")
    if app_owns:
        wrong.append(f"the app role owns {app_owns} object(s)")
    if unforced:
        wrong.append(f"RLS not enabled and forced on: {unforced}")
    evidence = "; ".join(wrong) or "service BYPASSRLS; app plain, owns nothing; FORCE on every platform table"
    return GateResult("ws3_roles", not wrong, evidence)


EVIDENCE_CHANGE = "012_rls_evidence"
_WS4_NEWEST = """
select started_at, kind, fingerprint, passed, checks, mismatches, summary ->> 'change'
  from evidence.rls_runs order by started_at desc, id desc limit 1
"""


def _ws4_rls_harness(probe: Probe) -> GateResult:
    """WS4: the newest recorded harness run passed, against the schema as it is now (same fingerprint)."""
    name = "ws4_rls_harness"
    if EVIDENCE_CHANGE not in probe.applied():
        return GateResult(
            name, False, f"no evidence recorded yet: deploy {EVIDENCE_CHANGE}, then run `orgbase rls test`"
        )
    newest = probe.rows(_WS4_NEWEST)
    if not newest:
        return GateResult(
            name, False, "no evidence recorded yet: no harness run; run `orgbase rls test` (it rehearses 007)"
        )
    at, kind, recorded, passed, checks, mismatches, change = newest[0]
    current = fingerprint.digest(probe.rows(fingerprint.QUERY))
    what = f"{kind}{' of ' + change if change else ''} at {at:%Y-%m-%d %H:%M:%S %Z}, {checks} checks"
    if not passed:
        return GateResult(name, False, f"the newest run failed: {what}, {mismatches} mismatch(es)")
    if recorded != current:
        return GateResult(
            name,
            False,
            f"the schema changed since the newest run ({what}): fingerprint {recorded[:12]}, "
            f"now {current[:12]}: run `orgbase rls test` again",
        )
    return GateResult(name, True, f"{what} passed against the current schema (fingerprint {current[:12]})")


def not_yet_evidenced(name: str, what: str) -> Gate:
    """A gate whose evidence nothing records yet: it does not hold, and says what would make it hold."""
    return Gate(name, what, lambda _probe: GateResult(name, False, f"no evidence recorded yet: {what}"))


def default_gates() -> GateRegistry:
    """The gates of orgbase's own plan: the seed's CRITICAL list for 007_restrictive_rls_policies."""
    ws1 = "shadow mode must observe API traffic with a user context on every app-role query of tenant data"
    window = "shadow mode must run a full window with no unacknowledged violation"
    return GateRegistry(
        [
            not_yet_evidenced("ws1_request_context", ws1),
            change_applied("ws2_active_org_tracking", "008_add_active_org_tracking"),
            Gate("ws3_roles", "roles are right and FORCE is everywhere", _ws3_roles),
            Gate(
                "ws4_rls_harness",
                "the RLS harness and a rehearsal of 007 passed against the current schema fingerprint",
                _ws4_rls_harness,
            ),
            not_yet_evidenced("shadow_window", window),
        ]
    )
