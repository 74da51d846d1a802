"""Repository URL normalisation against a table of real-world repository strings."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bot.resolve.interface import Resolution, Unresolved
from bot.resolve.repo_url import Candidate, RepoRef, choose_repository, forge_hosts, parse_repo_url, repo_from_homepage

TABLE = Path(__file__).parent / "data" / "resolve" / "repository-strings.tsv"


def _rows() -> list[tuple[str, str, str, str]]:
    lines = [line for line in TABLE.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    reader = csv.reader(lines[1:], delimiter="\t", quoting=csv.QUOTE_NONE)
    return [(r[0], r[1], r[2], r[3]) for r in reader]


ROWS = _rows()


def test_table_covers_every_form_the_issue_names() -> None:
    inputs = [r[0] for r in ROWS]
    assert len(ROWS) >= 60
    for marker in (
        "git+https://",
        "git://",
        "ssh://git@",
        "git@",
        "github:",
        "gitlab:",
        "bitbucket:",
        ".git",
        "/tree/",
        "#readme",
        "www.",
        "codeberg.org",
        "bitbucket.org",
        "gitlab.com",
        "scm:git:",
    ):
        assert any(marker in text for text in inputs), marker
    assert any(text.isupper() for text in inputs)
    assert any(flags == "shorthand" for *_, flags in ROWS)
    assert any(flags.startswith("forge:") for *_, flags in ROWS)


@pytest.mark.parametrize(
    ("text", "expected", "subdirectory", "flags"), ROWS, ids=[f"{i}:{r[0][:50]}" for i, r in enumerate(ROWS)]
)
def test_repository_string(text: str, expected: str, subdirectory: str, flags: str) -> None:
    extra = [flags.removeprefix("forge:")] if flags.startswith("forge:") else []
    outcome = parse_repo_url(text, forges=forge_hosts(extra), allow_shorthand=flags == "shorthand")
    if expected.startswith("!"):
        assert isinstance(outcome, Unresolved), outcome
        assert outcome.category == expected[1:]
    else:
        assert isinstance(outcome, RepoRef), outcome
        assert str(outcome.upstream) == expected
        assert outcome.subdirectory == (None if subdirectory == "-" else subdirectory)


def test_refusal_names_the_string() -> None:
    outcome = parse_repo_url("https://docs.rs/serde")
    assert isinstance(outcome, Unresolved)
    assert outcome.reason == "not a forge URL: https://docs.rs/serde"
    assert outcome.fallback_allowed


def test_homepage_counts_only_when_it_is_a_repository() -> None:
    assert repo_from_homepage("https://requests.readthedocs.io") is None
    assert repo_from_homepage("https://github.com/sponsors/psf") is None
    found = repo_from_homepage("https://github.com/psf/requests#readme")
    assert found is not None and str(found.upstream) == "github.com/psf/requests"


def test_choose_prefers_a_repository_and_reports_the_declared_refusal() -> None:
    forges = forge_hosts()
    chosen = choose_repository(
        [Candidate("a", "https://example.org/docs", True), Candidate("b", "https://github.com/o/r", False)],
        forges=forges,
    )
    assert isinstance(chosen, Resolution) and chosen.provenance == "b" and str(chosen.upstream) == "github.com/o/r"
    refused = choose_repository(
        [Candidate("a", "https://hg.example.org/x", True), Candidate("b", "https://example.org", False)], forges=forges
    )
    assert isinstance(refused, Unresolved) and refused.reason == "not a forge URL: https://hg.example.org/x"
    nothing = choose_repository([Candidate("b", "https://example.org", False), Candidate("c", None)], forges=forges)
    assert isinstance(nothing, Unresolved) and nothing.reason == "no repository in metadata"
