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


SHADOW_CHANGE = "014_rls_shadow"

# Shadow mode's evidence over a window ending now: when every table was last put in shadow mode (NULL if one
# is not in it), the window's start, the API traffic observed since, the sends lost since, the tables not
# watched, and the violations in the window: unacknowledged, and queries without a user context.
_SHADOW = """
with m as (select string_agg(table_name, ', ' order by table_name) filter (where mode <> 'shadow')
                    as unwatched,
                  max(since) as since, max(observed_at_since) as observed0,
                  max(failures_at_since) as failures0
             from rls_shadow.modes),
     w as (select greatest(m.since, now() - make_interval(secs => %s)) as start,
                  now() - make_interval(secs => %s) as window_start from m)
select m.unwatched, m.since, m.since <= w.window_start,
       coalesce(pg_sequence_last_value('rls_shadow.observed'), 0) - m.observed0,
       coalesce(pg_sequence_last_value('rls_shadow.record_failures'), 0) - m.failures0,
       (select count(*) from rls_shadow.violations v where v.last_seen >= w.start and v.acked_at is null),
       (select count(*) from rls_shadow.violations v
         where v.last_seen >= w.start and v.reason = 'no user context'),
       (select coalesce(string_agg(distinct v.table_name, ', '), '') from rls_shadow.violations v
         where v.last_seen >= w.start and v.acked_at is null)
  from m, w
"""


@dataclass(frozen=True)
class ShadowEvidence:
    """What shadow mode saw, over the window that ends now (or since it watched every table, if later)."""

    unwatched: str | None
    since: Any
    full_window: bool
    observed: int
    lost: int
    unacked: int
    no_context: int
    unacked_tables: str


def _shadow_evidence(probe: Probe, window_seconds: int) -> ShadowEvidence | str:
    """The evidence, or why there is none yet."""
    if SHADOW_CHANGE not in probe.applied():
        return f"no evidence recorded yet: deploy {SHADOW_CHANGE}, then `orgbase rls mode shadow`"
    row = probe.rows(_SHADOW, [window_seconds, window_seconds])[0]
    ev = ShadowEvidence(*row)
    if ev.unwatched:
        return f"shadow mode is off for: {ev.unwatched} (run `orgbase rls mode shadow`)"
    return ev


def _window_words(seconds: int) -> str:
    """A window's length in words: 24h, 90m, 2s."""
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def ws1_request_context(window_seconds: int) -> Gate:
    """WS1: shadow mode watched the API's traffic (queries with a user context) and no query on tenant
    rows without a user context, over the window (or since every table has been watched)."""
    name = "ws1_request_context"

    def check(probe: Probe) -> GateResult:
        ev = _shadow_evidence(probe, window_seconds)
        if isinstance(ev, str):
            return GateResult(name, False, ev)
        since = f"since {ev.since:%Y-%m-%d %H:%M:%S %Z} (window {_window_words(window_seconds)})"
        wrong = []
        if ev.observed <= 0:
            wrong.append(f"no API traffic observed {since}")
        if ev.no_context:
            wrong.append(f"{ev.no_context} violation(s) without a user context {since}")
        if ev.lost:
            wrong.append(f"{ev.lost} violation record(s) lost {since} (see the server log)")
        if wrong:
            return GateResult(name, False, "; ".join(wrong) + ": see `orgbase rls violations`")
        return GateResult(
            name, True, f"{ev.observed} request(s) with a user context observed {since}, none without"
        )

    return Gate(name, "shadow mode saw API traffic, every query with a user context", check)


def shadow_window(window_seconds: int) -> Gate:
    """Shadow window: every table watched for a whole window, with no unacknowledged violation in it."""
    name = "shadow_window"
    words = _window_words(window_seconds)

    def check(probe: Probe) -> GateResult:
        ev = _shadow_evidence(probe, window_seconds)
        if isinstance(ev, str):
            return GateResult(name, False, ev)
        since = f"{ev.since:%Y-%m-%d %H:%M:%S %Z}"
        wrong = []
        if not ev.full_window:
            wrong.append(f"every table watched only since {since}, less than the window ({words})")
        if ev.unacked:
            wrong.append(
                f"{ev.unacked} unacknowledged violation(s) in the window (on {ev.unacked_tables}): "
                "see `orgbase rls violations`"
            )
        if ev.lost:
            wrong.append(f"{ev.lost} violation record(s) lost since {since}")
        if wrong:
            return GateResult(name, False, "; ".join(wrong))
        return GateResult(
            name, True, f"every table watched since {since}; no unacknowledged violation in {words}"
        )

    return Gate(name, f"shadow mode ran a whole window ({words}) with no unacknowledged violation", check)


def default_gates(*, shadow_window_seconds: int = 86_400) -> GateRegistry:
    """The gates of orgbase's own plan: the seed's CRITICAL list for 007_restrictive_rls_policies."""
    return GateRegistry(
        [
            ws1_request_context(shadow_window_seconds),
            change_applied("ws2_active_org_tracking", "008_add_active_org_tracking"),
            Gate("ws3_roles", "roles are right and FORCE is everywhere", _ws3_roles),
            Gate(
                "ws4_rls_harness",
                "the RLS harness and a rehearsal of 007 passed against the current schema fingerprint",
                _ws4_rls_harness,
            ),
            shadow_window(shadow_window_seconds),
        ]
    )
