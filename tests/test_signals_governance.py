"""Governance: foundation list from config, company by e-mail domain or config, community, individual."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.signals.governance import (
    FoundationListError,
    compute_governance,
    load_governance_list,
    parse_governance_list,
)
from bot.signals.records import Governance

FOUNDATIONS = Path(__file__).parent.parent / "config" / "foundations.toml"


@pytest.fixture(scope="module")
def shipped():  # type: ignore[no-untyped-def]
    return load_governance_list(FOUNDATIONS)


@pytest.mark.parametrize(
    "owner",
    [
        "apache",
        "kubernetes",
        "cncf",
        "nodejs",
        "expressjs",
        "openjs-foundation",
        "pypa",
        "psf",
        "python",
        "eclipse",
        "eclipse-ee4j",
        "eclipse-jdt",
        "rust-lang",
        "linuxfoundation",
        "Apache",
    ],
)
def test_shipped_list_knows_the_foundations_the_issue_names(shipped, owner: str) -> None:  # type: ignore[no-untyped-def]
    assert compute_governance(owner, "Organization", top_domain_share=1.0, governance_list=shipped) is (
        Governance.FOUNDATION
    )


def test_other_owners_by_type_and_domain_share(shipped) -> None:  # type: ignore[no-untyped-def]
    assert compute_governance("sindresorhus", "User", top_domain_share=0.0, governance_list=shipped) is (
        Governance.INDIVIDUAL
    )
    assert compute_governance("hashicorp", "Organization", top_domain_share=0.1, governance_list=shipped) is (
        Governance.COMPANY  # listed under [companies]
    )
    assert compute_governance("acme-widgets", "Organization", top_domain_share=0.7, governance_list=shipped) is (
        Governance.COMPANY  # two thirds of the commits from one company domain
    )
    assert compute_governance("acme-tools", "Organization", top_domain_share=0.6, governance_list=shipped) is (
        Governance.COMMUNITY
    )
    assert compute_governance("pallets", "Organization", top_domain_share=0.2, governance_list=shipped) is (
        Governance.COMMUNITY
    )
    assert compute_governance("someone", None, top_domain_share=0.0, governance_list=shipped) is Governance.UNKNOWN


def test_config_extends_foundations_and_companies(shipped) -> None:  # type: ignore[no-untyped-def]
    extended = shipped.extended(foundation_owners=["MyFoundation-*"], company_owners=["vercel"])
    assert compute_governance("myfoundation-tools", "Organization", top_domain_share=0.9, governance_list=extended) is (
        Governance.FOUNDATION
    )
    assert compute_governance("vercel", "Organization", top_domain_share=0.1, governance_list=extended) is (
        Governance.COMPANY
    )


def test_errors_name_the_file_and_key(tmp_path: Path) -> None:
    with pytest.raises(FoundationListError, match=r"x\.toml: foundations\.acme\.owners: must be a list"):
        parse_governance_list('[foundations.acme]\nowners = "acme"\n', "x.toml")
    with pytest.raises(FoundationListError, match="not valid TOML"):
        parse_governance_list("[foundations", "x.toml")
    with pytest.raises(FoundationListError, match="cannot read"):
        load_governance_list(tmp_path / "missing.toml")
