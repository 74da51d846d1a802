"""What upstreams ask contributors to agree to, and the risk a vendor's CLA adds to the gap model."""

from __future__ import annotations

import pytest

from bot.gaps.interface import RiskSignals, UpstreamUsage
from bot.gaps.model import compute_gaps
from bot.report.adapt import risk_rows
from bot.report.interface import RiskKind
from bot.signals.agreements import Agreement, detect_agreement
from tests.test_gaps_model import BUDGET, RUN, WEIGHTS, A, D, _uses


@pytest.mark.parametrize(
    ("files", "kind", "evidence"),
    [
        (
            {"CONTRIBUTING.md": "Please sign our Contributor License Agreement first."},
            Agreement.CLA,
            "CONTRIBUTING.md: 'Contributor License Agreement'",
        ),
        (
            {".github/CONTRIBUTING.md": "The CLA assistant will ask you."},
            Agreement.CLA,
            ".github/CONTRIBUTING.md: 'CLA'",
        ),
        ({"CONTRIBUTING.md": "assigns the copyright of your change to Acme"}, Agreement.CLA, None),
        ({"CLA.md": ""}, Agreement.CLA, "CLA.md exists"),
        ({"CONTRIBUTING.md": "Add a Signed-off-by: line (DCO)."}, Agreement.DCO, None),
        ({"CONTRIBUTING.md": "We follow the Developer Certificate of Origin."}, Agreement.DCO, None),
        (  # a CLA outweighs a DCO, whichever file says it
            {"CONTRIBUTING.md": "Sign off each commit (DCO).", "CLA.md": "You grant ..."},
            Agreement.CLA,
            "CLA.md exists",
        ),
    ],
)
def test_agreements_are_read_from_the_guide_or_a_cla_file(
    files: dict[str, str | None], kind: Agreement, evidence: str | None
) -> None:
    found = detect_agreement(files)
    assert found is not None and found.kind is kind
    if evidence is not None:
        assert found.evidence == evidence


@pytest.mark.parametrize(
    "files",
    [
        {},
        {"CONTRIBUTING.md": None, "CLA.md": None},
        {"CONTRIBUTING.md": "Open an issue first; CLAUDE.md and DECLARATIONS are unrelated words."},
    ],
)
def test_no_agreement_when_none_is_asked(files: dict[str, str | None]) -> None:
    assert detect_agreement(files) is None


def _risk(**signals: object) -> tuple[tuple[str, ...], float]:
    usages = [UpstreamUsage(A, _uses("a", 1, D, RUN))]
    (score,) = compute_gaps(usages, [], [RiskSignals(A, **signals)], WEIGHTS, budget=BUDGET)  # type: ignore[arg-type]
    return score.risk_signals, score.risk


def test_a_vendors_cla_adds_to_single_vendor_control_and_nothing_else_does() -> None:
    assert _risk(governance="company", contributor_agreement="cla") == (("single_vendor", "relicensable"), 1.5)
    assert _risk(elephant_factor=1, contributor_agreement="cla") == (("single_vendor", "relicensable"), 1.5)
    assert _risk(governance="company", contributor_agreement="dco") == (("single_vendor",), 1.25)  # no rights granted
    assert _risk(governance="foundation", contributor_agreement="cla") == ((), 1.0)  # e.g. the Apache ICLA
    # one vendor's people make most commits, but the foundation holds the CLA: no vendor can relicense alone
    assert _risk(governance="foundation", elephant_factor=1, contributor_agreement="cla") == (("single_vendor",), 1.25)
    assert _risk(governance="company", contributor_agreement=None) == (("single_vendor",), 1.25)  # not observed


def test_the_register_names_a_relicensable_upstream() -> None:
    signals = [RiskSignals(A, governance="company", contributor_agreement="cla")]
    (row,) = risk_rows(signals, {A: 0.2})
    assert row.flags == (RiskKind.COMPANY_CONTROL, RiskKind.RELICENSABLE)
