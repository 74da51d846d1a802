"""Which upstreams the gap model scores: the organisation's own repositories and configured patterns are left out."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, Settings, load_settings
from bot.gaps.interface import NotScored, RepoUse, UpstreamUsage
from bot.gaps.scope import ScoringScope


def settings(**gaps: object) -> Settings:
    return Settings(github={"orgs": ("acme", "Acme-Labs")}, gaps=gaps)


def test_the_organisations_own_repositories_are_left_out_by_default() -> None:
    scope = ScoringScope.from_settings(settings())
    assert scope.reason("github.com/acme/commons") == "the organisation's own repository (acme)"
    assert scope.reason("github.com/acme-labs/x") == "the organisation's own repository (Acme-Labs)"
    assert scope.reason("github.com/acme-oss/x") is None  # another owner, however alike
    assert scope.reason("gitlab.com/acme/x") is None  # github.orgs are organisations on the GitHub host
    assert ScoringScope.from_settings(settings(exclude_own=False)).reason("github.com/acme/commons") is None


def test_configured_patterns_come_with_their_reason() -> None:
    scope = ScoringScope.from_settings(
        settings(exclude={"github.com/elastic/elasticsearch": "support contract", "GitHub.com/acme-*/*": "ours"})
    )
    assert scope.reason("github.com/elastic/elasticsearch") == "support contract"
    assert scope.reason("github.com/elastic/kibana") is None
    assert scope.reason("github.com/acme-oss/tool") == "ours"
    assert scope.reason("github.com/acme/commons") == "the organisation's own repository (acme)"  # first match wins


def test_split_keeps_the_scored_and_lists_the_rest_by_use() -> None:
    scope = ScoringScope.from_settings(settings())

    def usage(key: str, *repos: str) -> UpstreamUsage:
        return UpstreamUsage(key, tuple(RepoUse(r) for r in repos))

    kept, left = scope.split(
        [
            usage("github.com/psf/requests", "acme/a"),
            usage("github.com/acme/one", "acme/a"),
            usage("github.com/acme/two", "acme/a", "acme/b", "acme/b"),
        ]
    )
    assert [u.upstream for u in kept] == ["github.com/psf/requests"]
    own = "the organisation's own repository (acme)"
    assert left == [NotScored("github.com/acme/two", own, 2), NotScored("github.com/acme/one", own, 1)]


@pytest.mark.parametrize(
    ("pattern", "reason", "says"),
    [("elastic/*", "contract", "a pattern is HOST/OWNER/NAME"), ("github.com/elastic/*", " ", "say why")],
)
def test_a_wrong_exclusion_names_the_key(pattern: str, reason: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, overrides={"gaps.exclude": {pattern: reason}}, search=False)
    assert "gaps.exclude" in str(caught.value) and says in str(caught.value)
