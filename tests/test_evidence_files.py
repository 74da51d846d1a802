"""The ledger and roster files: good lines read, each bad line named by file:line and column."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from bot.config import load_settings
from bot.sources.ledger import parse_ledger, read_ledger
from bot.sources.money import Payment, convert
from bot.sources.people import discover_people, parse_roster

DATA = Path(__file__).parent / "data" / "evidence"
UPSTREAMS = {"github.com/pallets/flask", "github.com/psf/requests"}


def test_ledger_reads_good_lines_and_names_each_bad_one() -> None:
    payments, problems = read_ledger(DATA / "ledger.csv", upstreams=UPSTREAMS)
    source = str(DATA / "ledger.csv")
    assert [(p.payee, p.amount, p.currency, p.subchannel) for p in payments] == [
        ("github.com/pallets/flask", Decimal("1500.00"), "USD", "tidelift"),
        ("github.com/psf/requests", Decimal("250"), "EUR", "thanks.dev"),
        ("Python Software Foundation", Decimal("10000.00"), "USD", "foundation-membership"),
    ]
    assert payments[0].upstreams == ("github.com/pallets/flask",)
    assert payments[2].upstreams == () and "not an upstream" in payments[2].attribution
    assert [(p.where.removeprefix(source), p.column) for p in problems] == [
        (":4", "date"),
        (":5", "upstream"),
        (":6", "amount"),
        (":7", "currency"),
        (":9", "amount"),
        (":10", "channel"),
        (":11", "(after note)"),
    ]
    assert str(problems[0]).startswith(f"{source}:4: column date: '2026-13-01'")


def test_ledger_without_the_needed_header_says_which_columns_are_missing() -> None:
    payments, problems = parse_ledger("when,who,how much\n2026-01-01,x,1\n", source="l.csv", upstreams=UPSTREAMS)
    assert payments == []
    assert str(problems[0]).startswith("l.csv:1: column date,upstream,amount,currency,channel: missing")


def test_an_unreadable_ledger_is_one_problem(tmp_path: Path) -> None:
    payments, problems = read_ledger(tmp_path / "absent.csv", upstreams=UPSTREAMS)
    assert payments == [] and "cannot read" in str(problems[0])


def test_the_same_payment_read_twice_has_the_same_key() -> None:
    first, _ = read_ledger(DATA / "ledger.csv", upstreams=UPSTREAMS)
    second, _ = read_ledger(DATA / "ledger.csv", upstreams=UPSTREAMS)
    assert [p.key for p in first] == [p.key for p in second]
    assert len({p.key for p in first}) == len(first)


def test_roster_identities_bounds_and_problems() -> None:
    text = (DATA / "roster.csv").read_text(encoding="utf-8")
    identities, problems = parse_roster(text, source="roster.csv", email_domains=("acme.example",))
    by_login = {i.account: i for i in identities}
    assert by_login["alice"].source == "email-domain"
    assert by_login["carol"].source == "roster"  # a public mail address is no proof of employment
    assert (by_login["bob"].valid_from, by_login["bob"].valid_until) == (date(2023, 1, 9), date(2026, 3, 31))
    assert problems == [
        "roster.csv:5: column login: empty",
        "roster.csv:6: column start: '2026-02-30' is not a date (YYYY-MM-DD)",
        "roster.csv:7: column end: 2026-04-01 is before start 2026-05-01",
    ]


def test_people_from_config_drop_bots_and_keep_where_they_came_from(tmp_path: Path) -> None:
    settings = load_settings(
        None,
        overrides={
            "people.roster_csv": str(DATA / "roster.csv"),
            "people.email_domains": ("acme.example",),
            "people.extra_logins": {"alice": ["alice-work", "renovate[bot]"]},
            "people.bots": ("acme-ci",),
        },
    )
    result = discover_people(settings, None)
    assert result.bots == ["dependabot[bot]", "renovate[bot]"]
    pairs = {(i.account, i.person, i.source) for i in result.identities}
    assert ("alice-work", "alice", "extra-login") in pairs
    assert ("bob", "bob", "roster") in pairs
    assert len(result.problems) == 3


def test_money_converts_with_the_rate_table_and_refuses_to_guess() -> None:
    rates = {"USD": 1.0, "EUR": 1.08}
    assert convert(Decimal("100.00"), "EUR", rates, "USD") == Decimal("108.00")
    assert convert(Decimal("5"), "USD", rates, "USD") == Decimal("5")
    assert convert(Decimal("5"), "GBP", rates, "USD") is None


def test_a_payment_for_several_upstreams_is_shared_evenly() -> None:
    from datetime import UTC, datetime

    p = Payment("github_sponsors", "owner", datetime(2026, 1, 1, tzinfo=UTC), Decimal("30.00"), "USD", ("a", "b", "c"))
    assert p.share() == Decimal("10.00")
