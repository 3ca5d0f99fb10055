"""The migration plan: pure data read from ``migrations/plan.toml`` and the change folders.

A change is a folder with ``deploy.sql``, ``revert.sql`` and ``verify.sql`` (Sqitch's triad), or, with
``kind = "python"``, a module exposing ``deploy``, ``revert`` and ``verify`` functions (for steps whose
inputs, such as credentials, arrive only at deploy time). ``requires`` makes the plan a graph, not a line;
``gates`` name prerequisites that are evidence rather than changes (see ``gates.py``).

Everything here is checked before anything runs: a cycle, a missing file, an unknown requirement or a
duplicate id is a ``PlanError``. This module never touches a database.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from orgbase.errors import PlanError

Kind = Literal["sql", "python"]
SCRIPTS = ("deploy", "revert", "verify")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_KEYS = {"id", "note", "requires", "gates", "transactional", "kind", "module"}


@dataclass(frozen=True)
class Change:
    """One change of the plan, with the scripts it runs and the checksum of its deploy step."""

    id: str
    note: str = ""
    requires: tuple[str, ...] = ()
    gates: tuple[str, ...] = ()
    transactional: bool = True
    kind: Kind = "sql"
    module: str | None = None
    scripts: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)
    checksum: str = ""


@dataclass(frozen=True)
class Plan:
    """The changes in dependency order (ties keep the order of plan.toml)."""

    changes: tuple[Change, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {c.id: c for c in self.changes})

    def __getitem__(self, change_id: str) -> Change:
        try:
            return self._by_id[change_id]  # type: ignore[attr-defined, no-any-return]
        except KeyError:
            raise PlanError(f"no change {change_id!r} in the plan") from None

    def __contains__(self, change_id: object) -> bool:
        return change_id in self._by_id  # type: ignore[attr-defined]

    def ids(self) -> list[str]:
        """Change ids in dependency order."""
        return [c.id for c in self.changes]

    def dependents(self, change_id: str) -> list[str]:
        """Changes that require ``change_id``, directly or through others, in dependency order."""
        found: set[str] = {change_id}
        for change in self.changes:
            if found.intersection(change.requires):
                found.add(change.id)
        return [c.id for c in self.changes if c.id in found and c.id != change_id]

    def ancestors(self, change_id: str) -> list[str]:
        """Changes that ``change_id`` requires, directly or through others, in dependency order."""
        needed: set[str] = set()
        stack = list(self[change_id].requires)
        while stack:
            cid = stack.pop()
            if cid not in needed:
                needed.add(cid)
                stack.extend(self[cid].requires)
        return [c.id for c in self.changes if c.id in needed]


def load_plan(folder: Path) -> Plan:
    """Read ``folder/plan.toml`` and every change folder it names; PlanError on anything wrong."""
    plan_file = folder / "plan.toml"
    try:
        raw = tomllib.loads(plan_file.read_text())
    except FileNotFoundError:
        raise PlanError(f"no plan at {plan_file}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(f"{plan_file}: {exc}") from exc
    entries = raw.get("change", [])
    if not isinstance(entries, list):
        raise PlanError(f"{plan_file}: expected [[change]] tables")
    return build_plan([_read_change(folder, entry, plan_file) for entry in entries])


def build_plan(changes: Iterable[Change]) -> Plan:
    """Check ids and requirements and order the changes topologically (pure: tests use literals)."""
    listed = list(changes)
    seen: set[str] = set()
    for change in listed:
        if change.id in seen:
            raise PlanError(f"change {change.id!r} is listed twice")
        seen.add(change.id)
    for change in listed:
        unknown = [r for r in change.requires if r not in seen]
        if unknown:
            raise PlanError(f"change {change.id!r} requires unknown change(s): {', '.join(unknown)}")
    return Plan(tuple(_toposort(listed)))


def _toposort(changes: list[Change]) -> list[Change]:
    """Kahn's algorithm, always taking the earliest listed ready change, so the order is stable."""
    done: set[str] = set()
    ordered: list[Change] = []
    pending = list(changes)
    while pending:
        ready = next((c for c in pending if done.issuperset(c.requires)), None)
        if ready is None:
            raise PlanError(f"the plan has a cycle: {' -> '.join(_find_cycle(pending))}")
        ordered.append(ready)
        done.add(ready.id)
        pending.remove(ready)
    return ordered


def _find_cycle(pending: list[Change]) -> list[str]:
    """One cycle among changes none of which can be ordered, for the error message."""
    by_id = {c.id: c for c in pending}
    path: list[str] = []
    current = pending[0].id
    while current not in path:
        path.append(current)
        current = next(r for r in by_id[current].requires if r in by_id)
    return [*path[path.index(current) :], current]


def _read_change(folder: Path, entry: Any, plan_file: Path) -> Change:
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
        raise PlanError(f"{plan_file}: every [[change]] needs a string id")
    cid = entry["id"]
    extra = set(entry) - _KEYS
    if extra:
        raise PlanError(f"change {cid!r}: unknown key(s) {', '.join(sorted(extra))}")
    if not _ID.match(cid):
        raise PlanError(f"change {cid!r}: an id is letters, digits, '_', '.', '-'")
    kind = entry.get("kind", "sql")
    if kind == "python":
        scripts, checksum = _python_step(cid, entry.get("module"))
    elif kind == "sql":
        scripts, checksum = _sql_scripts(folder / cid, cid)
    else:
        raise PlanError(f"change {cid!r}: kind must be 'sql' or 'python', not {kind!r}")
    return Change(
        id=cid,
        note=str(entry.get("note", "")),
        requires=tuple(_strings(entry, "requires", cid)),
        gates=tuple(_strings(entry, "gates", cid)),
        transactional=bool(entry.get("transactional", True)),
        kind=kind,
        module=entry.get("module"),
        scripts=scripts,
        checksum=checksum,
    )


def _sql_scripts(path: Path, cid: str) -> tuple[dict[str, str], str]:
    scripts: dict[str, str] = {}
    for name in SCRIPTS:
        file = path / f"{name}.sql"
        if not file.is_file():
            raise PlanError(f"change {cid!r}: missing {file}")
        scripts[name] = file.read_text()
    return scripts, checksum(scripts["deploy"])


def _python_step(cid: str, module: Any) -> tuple[dict[str, str], str]:
    if not isinstance(module, str):
        raise PlanError(f"change {cid!r}: kind = 'python' needs module = 'package.module'")
    if importlib.util.find_spec(module) is None:
        raise PlanError(f"change {cid!r}: module {module!r} not found")
    # A python step is rerunnable data work, identified by its module: hashing the module's source would
    # turn every refactor of it into drift that blocks all deploys.
    return {}, checksum(f"python:{module}")


def _strings(entry: Mapping[str, Any], key: str, cid: str) -> list[str]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PlanError(f"change {cid!r}: {key} must be a list of strings")
    return value


def checksum(text: str) -> str:
    """SHA-256 of a script, the identity drift is judged by."""
    return hashlib.sha256(text.encode()).hexdigest()


_VARIABLE = re.compile(r':"([A-Za-z_][A-Za-z0-9_]*)"')


def render(script: str, variables: Mapping[str, str]) -> str:
    """Replace psql-style ``:"name"`` variables with quoted identifiers (role names), as psql -v does."""

    def quote(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in variables:
            raise PlanError(f'unknown script variable :"{name}"')
        return '"' + variables[name].replace('"', '""') + '"'

    return _VARIABLE.sub(quote, script)
