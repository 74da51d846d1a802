"""The risk register: one row per upstream with its flags; "one company does most of the work" kept apart
from "one company controls it"; invariants over whole sandbox worlds."""

from __future__ import annotations

import pytest

from bot.gaps.interface import RiskSignals
from bot.report.adapt import risk_flags, risk_rows
from bot.report.interface import RiskKind
from bot.sandbox import generate_world, truth
from bot.sandbox.gap_inputs import model_inputs

A = "github.com/acme/a"


def _flags(**observed: object) -> set[RiskKind]:
    return set(risk_flags(RiskSignals(A, **observed)))  # type: ignore[arg-type]


def test_a_foundation_project_one_company_works_on_is_not_controlled_by_it() -> None:
    assert _flags(governance="foundation", elephant_factor=1, contributor_agreement="cla") == {RiskKind.COMPANY_WORK}
    detail = risk_flags(RiskSignals(A, governance="foundation", elephant_factor=1))[RiskKind.COMPANY_WORK]
    assert detail == "one company makes half of recent commits (a foundation governs it)"


def test_company_governance_is_control_whoever_does_the_work() -> None:
    assert _flags(governance="company", elephant_factor=3, contributor_agreement="dco") == {RiskKind.COMPANY_CONTROL}
    assert _flags(governance="company", elephant_factor=3, contributor_agreement="cla") == {
        RiskKind.COMPANY_CONTROL,
        RiskKind.RELICENSABLE,
    }


def test_the_working_companys_cla_is_control_and_a_relicensing_lever() -> None:
    assert _flags(elephant_factor=1, contributor_agreement="cla") == {
        RiskKind.COMPANY_WORK,
        RiskKind.COMPANY_CONTROL,
        RiskKind.RELICENSABLE,
    }
    assert _flags(elephant_factor=1, contributor_agreement="dco") == {RiskKind.COMPANY_WORK}  # a DCO grants nothing
    assert _flags(elephant_factor=2, governance="community", contributor_agreement="cla") == set()


def test_one_row_per_upstream_carries_all_its_flags() -> None:
    signals = [RiskSignals(A, bus_factor=1, archived=True, elephant_factor=1), RiskSignals("github.com/b/b")]
    rows = risk_rows(signals, {A: 0.3, "github.com/b/b": 0.5})
    assert len(rows) == 1
    (row,) = rows
    assert row.flags == (RiskKind.BUS_FACTOR_1, RiskKind.ARCHIVED, RiskKind.COMPANY_WORK)
    assert row.detail.startswith("one person makes half of recent commits; archived; one company makes half")


@pytest.mark.parametrize(("seed", "scale"), [(7, "small"), (11, "small"), (3, "large")])
def test_register_invariants_over_a_whole_world(seed: int, scale: str) -> None:
    world = generate_world(seed, scale)
    facts = truth(world)["signals"]
    usages, _, signals = model_inputs(world, scored_only=False)
    used = {u.upstream: 1.0 for u in usages}
    rows = risk_rows(signals, used)
    by_upstream = {row.upstream: row for row in rows}
    assert len(by_upstream) == len(rows), "one row per upstream"
    flagged = {s.upstream for s in signals if s.upstream in used and risk_flags(s)}
    assert set(by_upstream) == flagged
    for key, row in by_upstream.items():
        fact = facts[key]
        assert list(row.flags) == sorted(set(row.flags), key=list(RiskKind).index), key
        assert (RiskKind.COMPANY_WORK in row.flags) == (fact["elephant_factor"] == 1), key
        if fact["governance"] == "foundation":
            assert RiskKind.COMPANY_CONTROL not in row.flags and RiskKind.RELICENSABLE not in row.flags, key
        if fact["governance"] == "company":
            assert RiskKind.COMPANY_CONTROL in row.flags, key
        if RiskKind.RELICENSABLE in row.flags:
            assert RiskKind.COMPANY_CONTROL in row.flags and fact["contributor_agreement"] == "cla", key
    foundation_work = [
        r for r in rows if facts[r.upstream]["governance"] == "foundation" and RiskKind.COMPANY_WORK in r.flags
    ]
    if scale == "large":
        assert foundation_work, "the large world has foundation projects one company works on"
