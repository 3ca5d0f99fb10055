"""The migration engine: deploys, reverts, verifies and adopts a plan's changes, recording each in the ledger.

Contract, per change: under the engine's advisory lock, BEGIN; SET LOCAL ROLE owner; deploy; verify; ledger
row and event; COMMIT. On any error the transaction rolls back, a ``fail`` event is written in a
transaction of its own, and ``ChangeFailed`` names the change, the step and the SQL error. A
non-transactional change is marked ``running`` first and run statement by statement; a rerun resumes it.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from orgbase.config import Settings
from orgbase.errors import ChangeFailed, DriftDetected, GateBlocked, MigrationError, PlanError, RevertRefused
from orgbase.migrate import ledger
from orgbase.migrate.gates import GateRegistry, GateResult, default_gates
from orgbase.migrate.plan import Change, Plan, load_plan, render
from orgbase.migrate.sqlsplit import split_statements
from orgbase.migrate.state import ChangeStatus, compute

LOCK_KEY = 0x6F726762  # "orgb": one engine at a time per database
_APPLIED = ("deployed", "adopted")


@dataclass
class DeployReport:
    """What a deploy did, or with ``dry_run`` would do."""

    deployed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    blocked: list[tuple[str, str]] = field(default_factory=list)
    dry_run: bool = False


@dataclass(frozen=True)
class Outcome:
    """The result of verifying or adopting one change: ``error`` is None when it passed."""

    change_id: str
    error: str | None


class Engine:
    """Applies a ``Plan`` to the database behind ``conn`` (an autocommit connection of the service role)."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        plan: Plan,
        *,
        owner_role: str,
        variables: Mapping[str, str],
        gates: GateRegistry,
        step_context: object = None,
        say: Callable[[str], None] = print,
    ) -> None:
        unknown = sorted({g for c in plan.changes for g in c.gates} - set(gates))
        if unknown:
            raise PlanError(f"the plan names unknown gate(s): {', '.join(unknown)}")
        if not conn.autocommit:
            raise MigrationError("the engine needs an autocommit connection: it manages its transactions")
        self.conn, self.plan, self.gates = conn, plan, gates
        self.variables, self.step_context, self.say = variables, step_context, say
        self._as_owner = sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(owner_role)).as_string(conn)
        self._owner = sql.SQL("SET ROLE {}").format(sql.Identifier(owner_role)).as_string(conn)
        # A migrator killed mid-statement must not hold the lock until its statement ends.
        conn.execute("SET client_connection_check_interval = '1s'")

    # -- reading ----------------------------------------------------------------------------------

    def status(self) -> list[ChangeStatus]:
        """Every change's state from the live ledger, with gate evidence for those not applied."""
        rows = ledger.rows(self.conn)
        applied = frozenset(cid for cid, r in rows.items() if r.state in _APPLIED)
        gate_results = {
            c.id: self._gate_results(c, applied) for c in self.plan.changes if c.gates and c.id not in applied
        }
        return compute(self.plan, rows, ledger.last_events(self.conn), gate_results)

    def verify(self) -> list[Outcome]:
        """Run the verify step of every applied change, each in a transaction that is rolled back."""
        rows = ledger.rows(self.conn)
        return [
            self._try_verify(c) for c in self.plan.changes if c.id in rows and rows[c.id].state in _APPLIED
        ]

    # -- changing -------------------------------------------------------------------------------

    def deploy(
        self, *, to: str | None = None, dry_run: bool = False, overrides: Mapping[str, str] | None = None
    ) -> DeployReport:
        """Apply what can be applied in dependency order; report what gates hold back.

        With ``to``, only that change and what it requires, and a held-back one raises GateBlocked.
        ``overrides`` maps gate names to the operator's reason; each use is recorded as an event.
        """
        overrides = dict(overrides or {})
        targets = self.plan.changes if to is None else [self.plan[c] for c in [*self.plan.ancestors(to), to]]
        self._check_overrides(overrides, targets)
        if to is not None and not dry_run:
            # A held-back target fails before anything changes, not after its prerequisites ran.
            self.deploy(to=to, dry_run=True, overrides=overrides)
        report = DeployReport(dry_run=dry_run)
        with self._locked():
            if not dry_run:
                with self.conn.transaction():
                    self.conn.execute(self._as_owner)
                    ledger.ensure(self.conn, app_role=self.variables.get("app_role"))
            rows = ledger.rows(self.conn)
            self._refuse_drift(rows)
            done = {cid for cid, r in rows.items() if r.state in (*_APPLIED, "skipped")}
            for change in targets:
                row = rows.get(change.id)
                if row is not None and row.state in _APPLIED:
                    continue
                reason = self._held_back(change, done, overrides)
                if reason:
                    if to is not None:
                        raise GateBlocked(f"{change.id} is blocked: {reason}")
                    report.blocked.append((change.id, reason))
                    continue
                if not dry_run:
                    skipped = self._apply(change, overrides, previous=row)
                    if skipped:
                        report.skipped.append((change.id, skipped))
                        done.add(change.id)
                        continue
                report.deployed.append(change.id)
                done.add(change.id)
        return report

    def revert(self, change_id: str) -> None:
        """Revert one change, refused while a deployed change requires it."""
        change = self.plan[change_id]
        with self._locked():
            rows = ledger.rows(self.conn)
            if change_id not in rows:
                raise MigrationError(f"{change_id} is not deployed: nothing to revert")
            needing = [d for d in self.plan.dependents(change_id) if d in rows]
            if needing:
                raise RevertRefused(
                    f"cannot revert {change_id}: deployed change(s) require it: "
                    f"{', '.join(needing)} (revert those first)"
                )
            try:
                with self.conn.transaction():
                    self.conn.execute(self._as_owner)
                    self._run_step(change, "revert")
                    ledger.forget(self.conn, change_id=change_id, checksum=change.checksum)
            except (psycopg.Error, MigrationError) as exc:
                self._fail(change, "revert", exc)
            self.say(f"reverted {change_id}")

    def adopt(self) -> list[Outcome]:
        """Record as adopted each unrecorded change whose verify passes (a database migrated by hand)."""
        outcomes: list[Outcome] = []
        with self._locked():
            with self.conn.transaction():
                self.conn.execute(self._as_owner)
                ledger.ensure(self.conn, app_role=self.variables.get("app_role"))
            rows = ledger.rows(self.conn)
            done = {cid for cid, r in rows.items() if r.state in _APPLIED}
            for change in self.plan.changes:
                if change.id in rows:
                    continue
                outcome = self._adopt_one(change, done)
                if outcome.error is None:
                    done.add(change.id)
                outcomes.append(outcome)
        return outcomes

    # -- steps ----------------------------------------------------------------------------------

    def _apply(self, change: Change, overrides: Mapping[str, str], *, previous: Any) -> str | None:
        """Deploy one change; the reason it was skipped, or None once deployed."""
        for gate in change.gates:
            if gate in overrides:
                with self.conn.transaction():
                    ledger.event_(
                        self.conn,
                        change_id=change.id,
                        event="override",
                        checksum=change.checksum,
                        detail=f"gate {gate}: {overrides[gate]}",
                    )
                    ledger.audit_override(self.conn, change_id=change.id, gate=gate, reason=overrides[gate])
        self.say(f"deploying {change.id} ...")
        started = time.perf_counter()
        if not change.transactional:
            self._apply_in_steps(change, started, resumed=previous is not None)
            return None
        step = "deploy"
        try:
            with self.conn.transaction():
                self.conn.execute(self._as_owner)
                skipped = self._run_step(change, "deploy")
                if skipped is not None:
                    if previous is None or previous.detail != skipped:
                        ledger.record(
                            self.conn,
                            change_id=change.id,
                            checksum=change.checksum,
                            state="skipped",
                            event="skip",
                            applied=False,
                            detail=skipped,
                        )
                    return skipped
                step = "verify"
                self._run_step(change, "verify")
                ledger.record(
                    self.conn,
                    change_id=change.id,
                    checksum=change.checksum,
                    state="deployed",
                    event="deploy",
                    duration_ms=_ms_since(started),
                )
        except (psycopg.Error, MigrationError) as exc:
            self._fail(change, step, exc)
        return None

    def _apply_in_steps(self, change: Change, started: float, *, resumed: bool) -> None:
        """A non-transactional change: marked running, run statement by statement, then verified."""
        with self.conn.transaction():
            self.conn.execute(self._as_owner)
            ledger.record(
                self.conn,
                change_id=change.id,
                checksum=change.checksum,
                state="running",
                event="start",
                applied=False,
                detail="resumed" if resumed else None,
            )
        step = "deploy"
        # Long steps (a batched backfill) report progress with RAISE NOTICE: pass it on as it comes.
        self.conn.add_notice_handler(self._relay_notice)
        try:
            self.conn.execute(self._owner)
            for statement in split_statements(render(change.scripts["deploy"], self.variables)):
                self.conn.execute(statement)
            self.conn.execute("RESET ROLE")
            step = "verify"
            with self.conn.transaction():
                self.conn.execute(self._as_owner)
                self._run_step(change, "verify")
                ledger.record(
                    self.conn,
                    change_id=change.id,
                    checksum=change.checksum,
                    state="deployed",
                    event="deploy",
                    duration_ms=_ms_since(started),
                )
        except (psycopg.Error, MigrationError) as exc:
            self._fail(change, step, exc)
        finally:
            self.conn.remove_notice_handler(self._relay_notice)

    def _relay_notice(self, diag: psycopg.errors.Diagnostic) -> None:
        if diag.message_primary:
            self.say(f"  {diag.message_primary}")

    def _run_step(self, change: Change, step: str) -> str | None:
        """Run one script (or python step) inside the caller's transaction; a skip reason or None."""
        if change.kind == "python":
            assert change.module is not None
            fn = getattr(importlib.import_module(change.module), step)
            try:
                result: str | None = fn(self.conn, self.step_context)
            except psycopg.Error:
                raise
            except Exception as exc:
                raise MigrationError(f"{type(exc).__name__}: {exc}") from exc
            return result
        self.conn.execute(render(change.scripts[step], self.variables))
        return None

    def _try_verify(self, change: Change) -> Outcome:
        try:
            with self.conn.transaction(force_rollback=True):
                self.conn.execute(self._as_owner)
                self._run_step(change, "verify")
        except (psycopg.Error, MigrationError) as exc:
            return Outcome(change.id, describe(exc))
        return Outcome(change.id, None)

    def _adopt_one(self, change: Change, done: set[str]) -> Outcome:
        if change.kind == "python":
            return Outcome(change.id, "a python step is not adoptable: deploy runs it")
        held = [r for r in change.requires if r not in done]
        if held:
            return Outcome(change.id, f"requires {', '.join(held)}, which is not applied")
        outcome = self._try_verify(change)
        if outcome.error is None:
            with self.conn.transaction():
                ledger.record(
                    self.conn,
                    change_id=change.id,
                    checksum=change.checksum,
                    state="adopted",
                    event="adopt",
                    applied=False,
                    detail="verify passed",
                )
        return outcome

    def _fail(self, change: Change, step: str, exc: Exception) -> None:
        """Record a ``fail`` event in its own transaction and raise ChangeFailed."""
        message = describe(exc)
        try:
            if self.conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
                self.conn.execute("RESET ROLE")
            with self.conn.transaction():
                ledger.event_(
                    self.conn,
                    change_id=change.id,
                    event="fail",
                    checksum=change.checksum,
                    detail=f"{step}: {message}",
                )
        except psycopg.Error:
            message += " (the fail event could not be recorded: the connection is gone)"
        raise ChangeFailed(change.id, step, message) from exc

    # -- gates, drift, lock ---------------------------------------------------------------------

    def _held_back(self, change: Change, done: set[str], overrides: Mapping[str, str]) -> str:
        """Why ``change`` cannot be deployed now ("" if it can)."""
        held = [r for r in change.requires if r not in done]
        if held:
            return f"requires {', '.join(held)}, which is not applied"
        missing = [
            g for g in self._gate_results(change, frozenset(done)) if not g.ok and g.name not in overrides
        ]
        return "; ".join(f"gate {g.name} does not hold: {g.evidence}" for g in missing)

    def _gate_results(self, change: Change, applied: frozenset[str]) -> list[GateResult]:
        probe = _Probe(self.conn, applied, self.variables)
        return [self.gates.evaluate(name, probe) for name in change.gates]

    def _check_overrides(self, overrides: Mapping[str, str], targets: Sequence[Change]) -> None:
        named = {g for c in targets for g in c.gates}
        stray = sorted(set(overrides) - named)
        if stray:
            raise MigrationError(
                f"--override-gate names no gate of the changes to deploy: {', '.join(stray)}"
            )
        if any(not reason.strip() for reason in overrides.values()):
            raise MigrationError("a gate override needs a reason (--reason TEXT)")

    def _refuse_drift(self, rows: Mapping[str, Any]) -> None:
        drifted = [
            c.id
            for c in self.plan.changes
            if c.id in rows and rows[c.id].state in _APPLIED and rows[c.id].checksum != c.checksum
        ]
        if drifted:
            raise DriftDetected(
                f"deploy script changed after it was deployed: {', '.join(drifted)}. "
                "Restore the deployed script, or write the change as a new one."
            )

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the engine's advisory lock; a second engine says it is waiting, then waits."""
        got = self.conn.execute("select pg_try_advisory_lock(%s)", [LOCK_KEY]).fetchone()
        if not (got and got[0]):
            holder = self.conn.execute(
                "select pid from pg_locks where locktype = 'advisory' and objid = %s and granted "
                "and database = (select oid from pg_database where datname = current_database())",
                [LOCK_KEY],
            ).fetchone()
            self.say(
                f"Blocked by another instance of orgbase migrate (backend pid "
                f"{holder[0] if holder else '?'}); waiting for it to finish..."
            )
            self.conn.execute("select pg_advisory_lock(%s)", [LOCK_KEY])
        try:
            yield
        finally:
            if not self.conn.closed and not self.conn.broken:
                self.conn.execute("select pg_advisory_unlock(%s)", [LOCK_KEY])


def engine_for(
    conn: psycopg.Connection[Any],
    settings: Settings,
    *,
    say: Callable[[str], None] = print,
    plan: Plan | None = None,
) -> Engine:
    """The engine over orgbase's own plan (``settings.migrations_dir``) and gates, as ``settings`` says."""
    return Engine(
        conn,
        plan or load_plan(settings.migrations_dir),
        owner_role=settings.owner_role,
        variables=settings.role_names(),
        gates=default_gates(shadow_window_seconds=settings.rls_shadow_window_seconds),
        step_context=settings,
        say=say,
    )


class _Probe:
    """Gates read through this: each query runs in a read-only transaction that is rolled back, with the
    role names available to it as ``orgbase.<name>`` settings (the same names the scripts get)."""

    def __init__(
        self, conn: psycopg.Connection[Any], applied: frozenset[str], variables: Mapping[str, str]
    ) -> None:
        self._conn, self._applied, self._variables = conn, applied, variables

    def rows(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._conn.transaction(force_rollback=True):
            self._conn.execute("SET TRANSACTION READ ONLY")
            for name, value in self._variables.items():
                self._conn.execute("select set_config(%s, %s, true)", [f"orgbase.{name}", value])
            return self._conn.execute(query, params).fetchall()

    def applied(self) -> frozenset[str]:
        return self._applied


def describe(exc: BaseException) -> str:
    """A database error as one readable message with its SQLSTATE and where it happened."""
    if isinstance(exc, psycopg.Error) and exc.diag.message_primary:
        parts = [exc.diag.message_primary]
        if exc.diag.message_detail:
            parts.append(f"DETAIL: {exc.diag.message_detail}")
        if exc.diag.context:
            parts.append(f"CONTEXT: {exc.diag.context.strip()}")
        return f"{' '.join(parts)} (SQLSTATE {exc.sqlstate})"
    return str(exc)


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
