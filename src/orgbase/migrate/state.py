"""The state of every change, computed from the plan, the ledger and gate results: pure, no database."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from orgbase.migrate.gates import GateResult
from orgbase.migrate.plan import Change, Plan

State = Literal["applied", "pending", "blocked", "drifted", "failed", "running", "skipped", "unknown"]
Recorded = Literal["deployed", "adopted", "running", "skipped"]


@dataclass(frozen=True)
class LedgerRow:
    """What the ledger knows of one change."""

    change_id: str
    checksum: str
    state: Recorded
    applied_at: datetime | None
    applied_by: str
    duration_ms: float | None
    detail: str | None = None


@dataclass(frozen=True)
class ChangeStatus:
    """One line of the status page."""

    id: str
    state: State
    note: str
    requires: tuple[str, ...] = ()
    applied_at: datetime | None = None
    how: str | None = None
    reason: str = ""
    gates: tuple[GateResult, ...] = ()
    required_by: tuple[str, ...] = ()


def compute(
    plan: Plan,
    rows: Mapping[str, LedgerRow],
    last_events: Mapping[str, str],
    gates: Mapping[str, Sequence[GateResult]],
) -> list[ChangeStatus]:
    """Status of each change in dependency order, then ledger rows the plan no longer has (``unknown``).

    ``last_events`` maps a change to its most recent event kind; ``gates`` holds the results of the gates
    of each change that is not applied.
    """
    out: list[ChangeStatus] = []
    by_id: dict[str, ChangeStatus] = {}
    for change in plan.changes:
        status = _one(
            change, rows.get(change.id), last_events.get(change.id), tuple(gates.get(change.id, ())), by_id
        )
        status = _with_dependents(status, plan)
        by_id[change.id] = status
        out.append(status)
    for cid, row in rows.items():
        if cid not in plan:
            out.append(
                ChangeStatus(
                    cid,
                    "unknown",
                    "",
                    applied_at=row.applied_at,
                    how=row.state,
                    reason="in the ledger but not in the plan",
                )
            )
    return out


def _one(
    change: Change,
    row: LedgerRow | None,
    last_event: str | None,
    gates: tuple[GateResult, ...],
    earlier: Mapping[str, ChangeStatus],
) -> ChangeStatus:
    base = ChangeStatus(change.id, "pending", change.note, change.requires, gates=gates)
    if row is not None and row.state in ("deployed", "adopted"):
        applied = replace(base, state="applied", applied_at=row.applied_at, how=row.state, gates=())
        if row.checksum != change.checksum:
            return replace(applied, state="drifted", reason="deploy script changed since it was " + row.state)
        return applied
    if row is not None and row.state == "running":
        state: State = "failed" if last_event == "fail" else "running"
        return replace(base, state=state, reason="non-transactional change did not finish; deploy resumes it")
    if row is not None and row.state == "skipped":
        return replace(base, state="skipped", reason=row.detail or "skipped", how="skipped")
    # A failed or unfinished requirement is retried first by the next deploy: only these really hold.
    held = [r for r in change.requires if earlier[r].state in ("blocked", "drifted")]
    missing = [g for g in gates if not g.ok]
    if missing or held:
        parts = [f"gate {g.name}: {g.evidence}" for g in missing]
        parts += [f"requires {r} ({earlier[r].state})" for r in held]
        return replace(base, state="blocked", reason="; ".join(parts))
    if last_event == "fail":
        return replace(base, state="failed", reason="last deploy failed; see `orgbase migrate log`")
    return base


def _with_dependents(status: ChangeStatus, plan: Plan) -> ChangeStatus:
    if status.state == "applied":
        return status
    return replace(status, required_by=tuple(plan.dependents(status.id)))


def applied_ids(statuses: Sequence[ChangeStatus]) -> frozenset[str]:
    """Ids whose state counts as applied (drifted changes are applied, just not as planned)."""
    return frozenset(s.id for s in statuses if s.state in ("applied", "drifted"))


def readiness_problems(
    plan: Plan, summary: Sequence[tuple[str, str | None, str | None, str | None]]
) -> list[str]:
    """Why a database is not ready to serve, from ``ledger.summary()`` rows: failed, unfinished, drifted."""
    problems = []
    for change_id, checksum, state, last_event in summary:
        if state in ("deployed", "adopted"):
            if change_id in plan and plan[change_id].checksum != checksum:
                problems.append(f"{change_id} drifted")
        elif state == "running":
            problems.append(f"{change_id} did not finish")
        elif last_event == "fail":
            problems.append(f"{change_id} failed")
    return problems
