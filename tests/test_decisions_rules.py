"""How long decisions hold and who ticked a box: the pure rules behind docs/decisions.md."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.config import DecisionSettings
from bot.decisions.dashboard import Revision, control_marker, ticked, who_ticked
from bot.decisions.interface import Decision
from bot.decisions.rules import hold, latest

T0 = datetime(2026, 1, 1, tzinfo=UTC)
RULES = DecisionSettings(expiry_days=180, snooze_days=90, material_growth=0.5)


def decline(gap: float = 0.04) -> Decision:
    return Decision("github.com/a/b", "decline", "alice", T0, "issue", "acme/ospo#1", gap=gap)


def test_a_decline_holds_until_expiry_and_then_only_while_the_gap_has_not_grown_materially() -> None:
    assert hold(decline(), gap=0.5, now=T0 + timedelta(days=179), settings=RULES).held  # grown, not expired
    late = T0 + timedelta(days=181)
    kept = hold(decline(), gap=0.059, now=late, settings=RULES)
    assert kept.held and "not grown materially" in kept.why
    back = hold(decline(), gap=0.06, now=late, settings=RULES)
    assert not back.held and "expired on 2026-06-30" in back.why and "from 4.0% to 6.0%" in back.why


def test_a_snooze_ends_after_its_days_and_fund_holds_nothing() -> None:
    snooze = Decision("github.com/a/b", "snooze", "bob", T0, "dashboard")
    assert hold(snooze, gap=0.0, now=T0 + timedelta(days=89), settings=RULES).held
    assert not hold(snooze, gap=0.0, now=T0 + timedelta(days=90), settings=RULES).held
    fund = Decision("github.com/a/b", "fund", "carol", T0, "cli", amount=5000, currency="USD")
    assert not hold(fund, gap=0.1, now=T0, settings=RULES).held
    assert fund.words() == "fund 5,000 USD by carol on 2026-01-01"


def test_the_newest_decision_counts() -> None:
    reopen = Decision("github.com/a/b", "reopen", "bob", T0 + timedelta(days=3), "issue")
    assert latest([decline(), reopen])["github.com/a/b"] == reopen
    assert not hold(reopen, gap=1.0, now=T0 + timedelta(days=4), settings=RULES).held


def test_who_ticked_is_the_editor_of_the_revision_that_ticked_the_box() -> None:
    box = control_marker("decline", "github.com/a/b")
    unticked, checked = f"- [ ] {box} decline", f"- [x] {box} decline"
    revisions = [
        Revision("upkeep-bot", T0, unticked),
        Revision("alice", T0 + timedelta(hours=1), checked),
        Revision("bob", T0 + timedelta(hours=2), checked + "\nbob's note"),
    ]
    assert ticked(checked) == {("github.com/a/b", "decline")} and ticked(f"> {checked}") == set()
    (tick,) = who_ticked(ticked(checked), revisions, fallback_at=T0)
    assert (tick.actor, tick.at) == ("alice", T0 + timedelta(hours=1))
    (unknown,) = who_ticked(ticked(checked), [], fallback_at=T0 + timedelta(days=1))
    assert (unknown.actor, unknown.at) == ("unknown", T0 + timedelta(days=1))


def test_the_digest_lists_decisions_taken_since_the_last_one_escaped() -> None:
    from bot.deliver.interface import DigestData
    from bot.deliver.slack_blocks import build_digest

    line = "github.com/a/b: declined by @alice on 2026-01-01 (<!channel> no budget)"
    digest = DigestData("acme", "2026-W02", "USD", 3, 10, 2000.0, 0.0, 0.0, decisions=(line,))
    assert digest.is_material()
    changes = " ".join(str(b.get("text", {}).get("text", "")) for b in build_digest(digest).blocks)
    assert "Decisions (1): github.com/a/b: declined by @\u2060alice on 2026-01-01" in changes  # no ping
    assert "<!channel>" not in changes and "&lt;!channel&gt;" in changes


def test_the_gap_issue_shows_its_decision() -> None:
    from bot.deliver.interface import GapIssueData
    from bot.deliver.issue_bodies import render_gap_issue

    data = GapIssueData("github.com/a/b", "b", 0.1, 0.1, 0.0, 0.1, 1.0, 0.1, 500.0, 0.0)
    body = render_gap_issue(data, organisation="acme", labels=[], decision="fund 5,000 USD by ospo on 2026-01-01")
    assert "**Decision:** fund 5,000 USD by ospo on 2026-01-01" in body["body"]
