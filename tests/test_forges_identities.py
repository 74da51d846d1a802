"""One person, several accounts across forges, from the config and from the roster; bots on every forge."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from bot.config import load_settings
from bot.forges.people import forge_identities
from bot.sandbox import generate_world, sandbox_settings
from bot.sources.people import discover_people, parse_roster

ROSTER = """login,name,email,start,end,accounts
jdoe,Jane Doe,jane@acme.example,2025-01-01,2026-03-31,gitlab:jane.doe;codeberg:jd
ada,Ada,ada@acme.example,,,nowhere:ada
bob,Bob,,,,gitlab:acme-release-bot
"""


def test_roster_accounts_on_other_forges_are_bounded_like_the_login(tmp_path: Path) -> None:
    identities, problems = parse_roster(
        ROSTER, source="roster.csv", email_domains=("acme.example",), forges=["gitlab", "codeberg"]
    )
    assert problems == ["roster.csv:3: column accounts: 'nowhere:ada' is not FORGE:username of a [[forges]] name"]
    jane = {i.account: i for i in identities if i.person == "jdoe"}
    assert set(jane) == {"jdoe", "gitlab:jane.doe", "codeberg:jd"}
    for identity in jane.values():
        assert (identity.valid_from, identity.valid_until) == (date(2025, 1, 1), date(2026, 3, 31))


def test_a_bot_stays_a_bot_on_every_forge(tmp_path: Path) -> None:
    world = generate_world(7, "small")
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    overrides = {**sandbox_settings("http://sandbox.test", world), "people.roster_csv": str(roster)}
    settings = load_settings(None, overrides=overrides, search=False)
    result = discover_people(settings, None)
    assert "gitlab:acme-release-bot" in result.bots
    assert not any(i.account == "gitlab:acme-release-bot" for i in result.identities)
    mapped = {i.account: i.person for i in result.identities if ":" in i.account}
    assert mapped["codeberg:jd"] == "jdoe"  # the roster's
    configured = {i.account: i.person for i in forge_identities(settings, {}).identities}
    for person in world.people:
        for forge, username in (("gitlab", person.gitlab_username), ("codeberg", person.forgejo_username)):
            if username and username != person.login:
                assert configured[f"{forge}:{username}"] == person.login  # [people.accounts]
