"""The plan is pure: built from literals, checked before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from orgbase.errors import PlanError
from orgbase.migrate.plan import Change, build_plan, load_plan, render
from tests.fixtures.plans import PlanWriter


def c(cid: str, *requires: str) -> Change:
    return Change(id=cid, requires=requires)


def test_dependency_order_keeps_listed_order_for_ties() -> None:
    plan = build_plan([c("a"), c("d", "c"), c("b", "a"), c("c", "a")])
    assert plan.ids() == ["a", "b", "c", "d"]


def test_a_graph_not_a_line_008_before_007() -> None:
    plan = build_plan([c("006"), c("007_rls", "006", "008"), c("008", "006")])
    assert plan.ids() == ["006", "008", "007_rls"]
    assert plan.dependents("006") == ["008", "007_rls"]
    assert plan.ancestors("007_rls") == ["006", "008"]


def test_cycle_is_named() -> None:
    with pytest.raises(PlanError, match=r"cycle: (b -> c -> b|c -> b -> c)"):
        build_plan([c("a"), c("b", "a", "c"), c("c", "b")])


def test_unknown_requirement() -> None:
    with pytest.raises(PlanError, match="'b' requires unknown change\\(s\\): nope"):
        build_plan([c("a"), c("b", "nope")])


def test_duplicate_id() -> None:
    with pytest.raises(PlanError, match="listed twice"):
        build_plan([c("a"), c("a")])


def test_missing_script_file(plan: PlanWriter) -> None:
    plan.add("a", "select 1", "select 1")
    (plan.root / "a" / "verify.sql").unlink()
    with pytest.raises(PlanError, match=r"'a': missing .*verify\.sql"):
        load_plan(plan.root)


def test_missing_plan(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="no plan at"):
        load_plan(tmp_path)


def test_unknown_key_and_bad_kind(plan: PlanWriter) -> None:
    (plan.root / "plan.toml").write_text('[[change]]\nid = "a"\nrequire = ["x"]\n')
    with pytest.raises(PlanError, match="unknown key\\(s\\) require"):
        load_plan(plan.root)
    (plan.root / "plan.toml").write_text('[[change]]\nid = "a"\nkind = "shell"\n')
    with pytest.raises(PlanError, match="kind must be"):
        load_plan(plan.root)


def test_invalid_toml(plan: PlanWriter) -> None:
    (plan.root / "plan.toml").write_text("[[change]\n")
    with pytest.raises(PlanError, match=r"plan\.toml"):
        load_plan(plan.root)


def test_checksum_follows_the_deploy_script(plan: PlanWriter) -> None:
    plan.add("a", "select 1")
    before = load_plan(plan.root)["a"].checksum
    plan.script("a", "verify", "select 2")
    assert load_plan(plan.root)["a"].checksum == before
    plan.script("a", "deploy", "select 2")
    assert load_plan(plan.root)["a"].checksum != before


def test_render_quotes_role_names_like_psql() -> None:
    assert (
        render('grant select on t to :"app_role";', {"app_role": 'we"ird'})
        == 'grant select on t to "we""ird";'
    )
    with pytest.raises(PlanError, match='unknown script variable :"nope"'):
        render('select :"nope"', {})
