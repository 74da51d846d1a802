"""People signals: active maintainers, bus (absence) factor, elephant factor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.signals.people import compute_people, is_bot, organisation_of, smallest_half
from bot.signals.records import CommitAuthor

NOW = datetime(2026, 11, 26, tzinfo=UTC)


def commits(*spec: tuple[str, str, int], days_ago: int = 10) -> list[CommitAuthor]:
    out = []
    for identity, email, count in spec:
        out += [CommitAuthor(identity, email, NOW - timedelta(days=days_ago, minutes=i)) for i in range(count)]
    return out


def test_smallest_half_counts_the_fewest_largest_contributors() -> None:
    assert smallest_half([50, 30, 20]) == 1  # exactly half is enough
    assert smallest_half([40, 30, 30]) == 2
    assert smallest_half([1] * 10) == 5
    assert smallest_half([]) == 0


def test_bus_factor_of_one_dominant_maintainer() -> None:
    history = commits(("alice", "alice@gmail.com", 60), ("bob", "bob@acme.com", 25), ("carol", "c@acme.com", 15))
    people = compute_people(history, now=NOW)
    assert (people.commits, people.active_maintainers, people.bus_factor) == (100, 3, 1)
    # acme.com made 40 %, alice (a public-mail person) 60 %: one organisation reaches half
    assert people.elephant_factor == 1
    assert (people.top_domain, people.top_domain_share) == ("acme.com", 0.4)


def test_public_mail_domains_count_as_individuals_not_one_organisation() -> None:
    history = commits(
        ("a", "a@gmail.com", 10), ("b", "b@gmail.com", 10), ("c", "c@gmail.com", 10), ("d", "d@corp.example", 10)
    )
    people = compute_people(history, now=NOW)
    # if gmail.com were one organisation it would hold 75 % and the elephant factor would be 1
    assert people.elephant_factor == 2
    assert people.bus_factor == 2


def test_bots_and_commits_outside_the_window_are_excluded() -> None:
    history = commits(("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com", 500))
    history += commits(("renovate-runner", "ci@corp.example", 300))
    history += commits(("old-timer", "old@corp.example", 400), days_ago=400)
    history += commits(("alice", "alice@corp.example", 3), ("bob", "bob@other.example", 2))
    people = compute_people(history, now=NOW, bots=["Renovate-Runner"])
    assert (people.commits, people.active_maintainers, people.bus_factor, people.elephant_factor) == (5, 2, 1, 1)


def test_no_commits_gives_zero_factors() -> None:
    people = compute_people([], now=NOW)
    assert (people.commits, people.active_maintainers, people.bus_factor, people.elephant_factor) == (0, 0, 0, 0)
    assert people.top_domain is None


def test_bot_detection_and_organisation_keys() -> None:
    assert is_bot("github-actions[bot]")
    assert is_bot("someone", "41898282+github-actions[bot]@users.noreply.github.com")
    assert not is_bot("botond", "botond@example.org")
    assert organisation_of(CommitAuthor("x", "X@Corp.Example", NOW)) == "corp.example"
    assert organisation_of(CommitAuthor("x", "1+x@users.noreply.github.com", NOW)) == "person:x"
    assert organisation_of(CommitAuthor("x", None, NOW)) == "person:x"
