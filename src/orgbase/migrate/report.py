"""Formats the status of a plan: a terminal table, the seed's markdown status page, or JSON. Only formats."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from orgbase.migrate.state import ChangeStatus

_BADGE = {
    "applied": "✅ APPLIED",
    "pending": "⏳ PENDING",
    "blocked": "❌ BLOCKED",
    "drifted": "⚠️ DRIFTED",
    "failed": "❌ FAILED",
    "running": "🔄 RUNNING",
    "skipped": "⏭️ SKIPPED",
    "unknown": "❓ NOT IN PLAN",
}


@dataclass(frozen=True)
class RlsState:
    """Row level security as the live database has it: 007 enforcing or not, each table's shadow mode."""

    enforced: bool
    modes: Sequence[tuple[str, str, datetime]]  # (table, permissive|shadow, since)
    unacknowledged: int

    def summary(self) -> str:
        """One line: who enforces, which tables shadow mode watches, what it found."""
        if self.enforced:
            return "RLS: enforced by 007_restrictive_rls_policies (shadow mode's policies are set aside)"
        watched = [t for t, mode, _ in self.modes if mode == "shadow"]
        line = f"RLS: permissive; shadow mode on {len(watched)} of {len(self.modes)} table(s)"
        if 0 < len(watched) < len(self.modes):
            line += f" (permissive: {', '.join(t for t, mode, _ in self.modes if mode != 'shadow')})"
        return line + f"; {self.unacknowledged} unacknowledged violation(s)"


def applied_date(status: ChangeStatus) -> str:
    """The seed's 'Applied Date' column: a date, 'Unknown' for an adopted change, else 'N/A'."""
    if status.state not in ("applied", "drifted", "unknown"):
        return "N/A"
    if status.applied_at is None:
        return "Unknown"
    return status.applied_at.strftime("%Y-%m-%d %H:%M:%S UTC")


def notes(status: ChangeStatus) -> str:
    """The Notes column: the plan's note, then why the change is in its state."""
    extra = []
    if status.how == "adopted":
        extra.append("adopted: verified in place, applied by hand")
    if status.reason:
        extra.append(status.reason)
    return " - ".join(part for part in [status.note, *extra] if part)


def table(statuses: Sequence[ChangeStatus], rls: RlsState | None = None) -> str:
    """A plain table for the terminal, and a line on RLS when shadow mode is installed."""
    head = ("Migration", "Status", "Applied Date", "Notes")
    body = [
        (s.id, s.state.upper() + (" (adopted)" if s.how == "adopted" else ""), applied_date(s), notes(s))
        for s in statuses
    ]
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(3)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row[:3], widths, strict=True)) + "  " + row[3]
        for row in [head, *body]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 5)
    if rls is not None:
        lines += ["", rls.summary()]
    return "\n".join(line.rstrip() for line in lines)


def markdown(
    statuses: Sequence[ChangeStatus], *, database: str, generated_at: datetime, rls: RlsState | None = None
) -> str:
    """The seed's status page, regenerated from the live database."""
    out = [
        "# Migration Status - Source of Truth",
        "",
        f"**Generated**: {generated_at.strftime('%Y-%m-%d %H:%M:%S UTC')} from the live database "
        f"`{database}` by `orgbase migrate status --format markdown`",
        "",
        "---",
        "",
        "## Migration Timeline",
        "",
        "| Migration | Status | Applied Date | Notes |",
        "|-----------|--------|--------------|-------|",
    ]
    out += [f"| {s.id} | {_BADGE[s.state]} | {applied_date(s)} | {_cell(notes(s))} |" for s in statuses]
    for s in statuses:
        if s.state in ("blocked", "failed", "drifted", "running") or s.gates:
            out += ["", "---", "", f"## {s.id} Status", "", f"**Status**: {_BADGE[s.state]}", ""]
            out += _details(s)
    if rls is not None:
        out += ["", "---", "", "## Row Level Security", "", rls.summary(), ""]
        if not rls.enforced:
            out += ["| Table | Mode | Since |", "|-------|------|-------|"]
            out += [f"| {t} | {mode} | {since:%Y-%m-%d %H:%M:%S UTC} |" for t, mode, since in rls.modes]
    return "\n".join(out) + "\n"


def _details(s: ChangeStatus) -> list[str]:
    lines = []
    if s.gates:
        lines += ["**Gates** (checked from evidence in the live database):", ""]
        lines += [f"- [{'x' if g.ok else ' '}] {g.name}: {g.evidence}" for g in s.gates]
        lines.append("")
    if s.reason:
        lines += [f"**Why**: {s.reason}", ""]
    if s.requires:
        lines.append(f"**Requires**: {', '.join(s.requires)}")
    if s.required_by:
        lines.append(f"**Required by**: {', '.join(s.required_by)}")
    return lines


def as_json(statuses: Sequence[ChangeStatus], rls: RlsState | None = None) -> str:
    """``{"migrations": [...], "rls": {...}}``: each change's id, state, applied_at (ISO 8601 or null),
    requires and gates; RLS enforcement and each table's mode (null without shadow mode)."""
    return json.dumps(
        {
            "rls": None
            if rls is None
            else {
                "enforced": rls.enforced,
                "unacknowledged_violations": rls.unacknowledged,
                "modes": [{"table": t, "mode": m, "since": since.isoformat()} for t, m, since in rls.modes],
            },
            "migrations": [
                {
                    "id": s.id,
                    "state": s.state,
                    "how": s.how,
                    "applied_at": s.applied_at.isoformat() if s.applied_at else None,
                    "requires": list(s.requires),
                    "required_by": list(s.required_by),
                    "note": s.note,
                    "reason": s.reason or None,
                    "gates": [{"name": g.name, "ok": g.ok, "evidence": g.evidence} for g in s.gates],
                }
                for s in statuses
            ],
        },
        indent=2,
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
