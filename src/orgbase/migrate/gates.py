"""Gates: prerequisites of a change that are evidence, not other changes.

A gate is a named check that reads the database through a ``Probe`` and answers ok or not, with the
evidence either way, in words an operator can act on. This module defines the protocol and the registry;
the engine provides the probe. It never imports a database driver.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


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


def default_gates() -> GateRegistry:
    """The gates of orgbase's own plan."""
    return GateRegistry(
        [
            change_applied("ws2_active_org_tracking", "008_add_active_org_tracking"),
        ]
    )
