"""The query layer and the CLI's ``--json`` on a store the real stages filled from the sandbox world."""

from __future__ import annotations

import json
from datetime import timedelta

from typer.testing import CliRunner

from bot.cli import app
from bot.query.models import Changes, Explanation, PersonIdentity, StatusOut, UpstreamHistory, UpstreamRecord
from bot.store.gaps import latest_snapshots, load_scores
from bot.store.review import load_unresolved
from tests.api_fixtures import ApiStore

pytest_plugins = ["tests.sandbox_fixtures", "tests.api_fixtures"]


def cli(store: ApiStore, *args: str) -> str:
    result = CliRunner().invoke(app, ["--database-url", store.db_url, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_list_holds_every_used_upstream_once_across_pages(api_store: ApiStore) -> None:
    snapshot = latest_snapshots(api_store.engine, limit=1)[0]
    scores = load_scores(api_store.engine, snapshot_id=snapshot.id, with_terms=False)
    want = {s.upstream for s in scores} | {n.upstream for n in snapshot.not_scored}
    first = api_store.ledger.upstreams(limit=7)
    assert first.total == len(want) and first.snapshot_id == snapshot.id
    seen: list[str] = []
    for offset in range(0, first.total, 7):
        seen += [row.upstream for row in api_store.ledger.upstreams(offset=offset, limit=7).items]
    assert sorted(seen) == sorted(want)  # nothing lost, nothing twice
    left_out = [row for row in api_store.ledger.upstreams(scored=False, limit=500).items]
    assert {r.upstream for r in left_out} == {n.upstream for n in snapshot.not_scored}
    assert all(r.not_scored_reason for r in left_out)


def test_sorting_and_filters_follow_the_stored_scores(api_store: ApiStore) -> None:
    by_gap = api_store.ledger.upstreams(sort="gap", scored=True, limit=500).items
    gaps = [r.gap for r in by_gap]
    assert gaps == sorted(gaps, reverse=True)  # type: ignore[type-var]
    ascending = api_store.ledger.upstreams(sort="usage", descending=False, scored=True, limit=500).items
    shares = [r.usage_share for r in ascending]
    assert shares == sorted(shares)  # type: ignore[type-var]
    npm = api_store.ledger.upstreams(ecosystem="npm", limit=500).items
    assert npm and all("npm" in r.ecosystems for r in npm)
    opened = api_store.ledger.upstreams(min_gap=0.01, limit=500).items
    assert all(r.gap is not None and r.gap >= 0.01 for r in opened)
    # Usage shares of the scored upstreams are shares of one total.
    assert abs(sum(r.usage_share or 0.0 for r in by_gap) - 1.0) < 1e-9


def test_an_upstream_record_carries_its_packages_users_money_and_arithmetic(api_store: ApiStore) -> None:
    record = api_store.ledger.upstream(api_store.held_out.upper())  # keys are case-insensitive
    assert record.known and record.upstream == api_store.held_out
    assert record.packages and record.repositories
    assert set(record.repositories) == {repo for p in record.packages for repo in p.repositories}
    assert record.summary is not None and record.summary.scored
    assert record.terms and record.explanation and record.explanation.startswith(api_store.held_out)
    assert {s.name for s in record.signals} >= {"bus_factor", "licence", "archived"}
    gap = next(t for t in record.terms if t.name == "gap")
    assert abs(gap.value - (record.summary.gap or 0.0)) < 1e-12


def test_contributions_by_person_and_quarter_add_up_to_the_trailing_window(api_store: ApiStore) -> None:
    """Every counted contribution of the window lands in exactly one quarter row."""
    from sqlmodel import Session

    from bot.store.evidence import load_contribution_counts

    now = api_store.world.now
    with Session(api_store.engine) as session:
        counts = load_contribution_counts(
            session, start=now - timedelta(days=api_store.settings.gaps.window_days), end=now, bounds="(start, end]"
        )
    totals: dict[str, int] = {}
    for repos in counts.values():
        for upstream, kinds in repos.items():
            totals[upstream] = totals.get(upstream, 0) + sum(kinds.values())
    assert totals, "the sandbox world has contributions"
    upstream = max(totals, key=lambda k: (totals[k], k))
    record = api_store.ledger.upstream(upstream)
    assert sum(c.count for c in record.contributions) == totals[upstream]


def test_history_shows_the_held_out_snapshot_with_its_reason(api_store: ApiStore) -> None:
    history = api_store.ledger.history(api_store.held_out)
    assert [p.scored for p in history.points] == [True, False, True]
    assert history.points[1].not_scored_reason == "held out by the test"
    times = [p.snapshot_at for p in history.points]
    assert times == sorted(times)


def test_changes_name_the_newly_scored_upstream_with_a_reason(api_store: ApiStore) -> None:
    changes = api_store.ledger.changes()
    assert changes.before_snapshot_id is not None and changes.after_snapshot_id is not None
    new = {c.upstream: c for c in changes.new_gaps}
    assert api_store.held_out in new
    assert new[api_store.held_out].gap_before is None
    assert new[api_store.held_out].reasons[0].startswith("newly used")
    week_ago = api_store.ledger.changes(since=api_store.world.now - timedelta(days=10))
    assert week_ago.before_snapshot_id != changes.before_snapshot_id  # compares with the first snapshot
    assert api_store.held_out not in {c.upstream for c in week_ago.new_gaps}


def test_unresolved_and_package_users_match_the_store(api_store: ApiStore) -> None:
    assert [u.package for u in api_store.ledger.unresolved()] == [
        u.package_key for u in load_unresolved(api_store.engine)
    ]
    record = api_store.ledger.upstream(api_store.held_out)
    package = record.packages[0]
    users = api_store.ledger.package_users(package.package)
    assert users.upstream == api_store.held_out
    assert sorted({u.repository for u in users.users}) == package.repositories


def test_cli_json_output_parses_as_the_documented_records(api_store: ApiStore) -> None:
    key = api_store.held_out
    assert UpstreamHistory.model_validate_json(cli(api_store, "history", key, "--json")).upstream == key
    assert Changes.model_validate_json(cli(api_store, "changes", "--json")).new_gaps
    assert Explanation.model_validate_json(cli(api_store, "explain", key, "--json")).scored
    assert UpstreamRecord.model_validate_json(cli(api_store, "upstream", key, "--json")).known
    assert StatusOut.model_validate_json(cli(api_store, "status", "--json")).runs == []
    people = [PersonIdentity.model_validate(p) for p in json.loads(cli(api_store, "people", "--json"))]
    assert people and all(p.person and p.account for p in people)
    text = cli(api_store, "history", key)
    assert "held out by the test" in text


def test_changes_refuses_a_date_it_cannot_read(api_store: ApiStore) -> None:
    result = CliRunner().invoke(app, ["--database-url", api_store.db_url, "changes", "--since", "last tuesday"])
    assert result.exit_code != 0
    assert "--since" in str(result.exception) or "--since" in result.output
