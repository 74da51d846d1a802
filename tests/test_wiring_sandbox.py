"""The gap model and the quarterly review wired to the store, end to end on the served sandbox world.

One module fixture runs the real stages once against the loopback sandbox (sync of the organisation's
SBOM exports, resolve, signals, evidence, score); the tests compare what the store-built inputs hold
with the world's truth, and read the review and the CLI built from that store.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel
from typer.testing import CliRunner

from bot.cli import app
from bot.config import Secrets, Settings, load_settings
from bot.gaps.interface import Investment, RiskSignals, UpstreamUsage
from bot.gaps.model import compute_gaps
from bot.gaps.scope import ScoringScope
from bot.gaps.score_stage import load_gap_weights, make_budget, score_stage
from bot.pipeline import StageContext
from bot.report.quarters import Quarter
from bot.report.report_stage import report_stage
from bot.resolve.stage import resolve_stage
from bot.sandbox import Knobs, ledger_csv, roster_csv, truth
from bot.sandbox.gap_inputs import model_inputs
from bot.sources.evidence_stage import evidence_stage
from bot.sources.github_sync import sync_stage
from bot.sources.signals_stage import signals_stage
from bot.store.engine import alembic_config, make_engine
from bot.store.gap_inputs import load_investments, load_risk_signals
from bot.store.gaps import load_scores
from bot.store.usage import load_upstream_usages
from tests.sandbox_fixtures import RunningSandbox, run_stages
from tests.test_gaps_sandbox import NO_RISK

pytest_plugins = ["tests.sandbox_fixtures"]


@dataclass(frozen=True)
class Wired:
    """The store after every stage ran once against the sandbox, and how to reach it."""

    engine: Engine
    db_url: str
    settings: Settings
    context: StageContext
    world: Any
    scored: dict[str, Any]
    out: Path


@pytest.fixture(scope="module")
def wired(sandbox_server: RunningSandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wired]:
    tmp = tmp_path_factory.mktemp("wiring")
    world = sandbox_server.world
    roster, ledger = tmp / "roster.csv", tmp / "ledger.csv"
    roster.write_text(roster_csv(world), encoding="utf-8")
    ledger.write_text(ledger_csv(world), encoding="utf-8")
    db_url = f"sqlite:///{tmp / 'store.db'}"
    overrides = {
        **sandbox_server.settings,
        "database.url": db_url,
        "people.roster_csv": str(roster),
        "funding.ledger_csv": str(ledger),
    }
    settings = load_settings(None, overrides=overrides)
    engine = make_engine(db_url)
    SQLModel.metadata.create_all(engine)
    command.stamp(alembic_config(engine), "head")  # the schema is current, so the CLI's upgrade is a no-op
    sandbox_server.router.knobs = Knobs()  # whatever the test before this module set
    context = StageContext(settings, Secrets.from_environment(sandbox_server.environment), engine, world.now)
    run_stages(context, sync_stage, resolve_stage, signals_stage, evidence_stage)
    scored = score_stage(context)
    yield Wired(engine, db_url, settings, context, world, scored, tmp / "review")
    engine.dispose()


def truth_inputs(
    wired: Wired, *, scored_only: bool = True
) -> tuple[list[UpstreamUsage], list[Investment], list[RiskSignals]]:
    """The truth's inputs as upkeep is configured to see them: forks and archived repositories are not synced
    (``github.include_forks``/``include_archived`` are off), and investment counts only in used upstreams;
    ``scored_only``: without the organisation's own repositories, which the gap model leaves out."""
    world = wired.world
    counted = [r for r in world.internal_repos if not r.fork and not r.archived]
    usages, investments, signals = model_inputs(replace(world, internal_repos=counted), scored_only=scored_only)
    used = {u.upstream for u in usages}
    return usages, [i for i in investments if i.upstream in used], signals


def store_usages(wired: Wired) -> list[UpstreamUsage]:
    """The store's usages without the organisation's own repositories: the inventory keeps an SBOM's root
    package as a component when the document has no other package (acme/ospo has no dependencies)."""
    own = {f"github.com/{r.full_name}" for r in wired.world.internal_repos}
    return [u for u in load_upstream_usages(wired.engine) if u.upstream not in own]


def test_store_usages_equal_the_truth(wired: Wired) -> None:
    truth_usages, _, _ = truth_inputs(wired, scored_only=False)  # the inventory holds every use
    got = {u.upstream: {(r.repo, r.depth, r.scope) for r in u.repos} for u in store_usages(wired)}
    want = {u.upstream: {(r.repo, r.depth, r.scope) for r in u.repos} for u in truth_usages}
    assert got == want


def test_store_investments_equal_the_truth(wired: Wired) -> None:
    _, truth_investments, _ = truth_inputs(wired, scored_only=False)
    now = wired.world.now
    got = {
        i.upstream: i
        for i in load_investments(wired.engine, wired.settings, window_start=now - timedelta(days=365), window_end=now)
    }
    want = {i.upstream: i for i in truth_investments}
    assert set(got) == set(want)
    assert {k: dict(i.contributions) for k, i in got.items()} == {k: dict(i.contributions) for k, i in want.items()}
    for key, investment in want.items():
        assert set(got[key].money) == set(investment.money), key
        for channel, amount in investment.money.items():
            assert got[key].money[channel] == pytest.approx(amount), (key, channel)


def test_store_risk_signals_equal_the_truth_for_every_github_upstream(wired: Wired) -> None:
    """Licence drift needs two scans (one run sees one licence), so it is compared in the risk test below."""
    _, _, truth_signals = truth_inputs(wired)
    got = {s.upstream: replace(s, licence_drift=None) for s in load_risk_signals(wired.engine)}
    assert {u.upstream for u in store_usages(wired)} <= set(got)  # every used upstream was scanned
    world = wired.world
    listed = {u.key for u in world.upstreams if u.owner_has_sponsors_listing}
    listed |= {  # a funding link in registry metadata (PyPI project_urls "Funding", npm "funding")
        p.true_upstream
        for p in world.packages
        if p.true_upstream and ("Funding" in (p.metadata.get("project_urls") or {}) or p.metadata.get("funding"))
    }
    want = {  # asking for funding: a channel the repository or its registry declares, or a Sponsors listing
        s.upstream: replace(s, licence_drift=None, asks_for_funding=s.asks_for_funding or s.upstream in listed)
        for s in truth_signals
        if s.upstream in got and s.upstream.startswith("github.com/")
    }
    assert len(want) > 50
    assert {k: got[k] for k in want} == want


def test_store_inputs_give_the_truths_scores(wired: Wired) -> None:
    """With risk off the scores depend on usage and investment only: store and truth must agree exactly."""
    budget, _ = make_budget(wired.engine, wired.settings, wired.world.now)
    usages, investments, _ = truth_inputs(wired)
    now = wired.world.now
    scope = ScoringScope.from_settings(wired.settings)  # as the score stage leaves the organisation's own out
    store_inputs = (
        [u for u in store_usages(wired) if scope.scores(u.upstream)],
        [
            i
            for i in load_investments(
                wired.engine, wired.settings, window_start=now - timedelta(days=365), window_end=now
            )
            if scope.scores(i.upstream)
        ],
        load_risk_signals(wired.engine),
    )
    got = compute_gaps(*store_inputs, NO_RISK, budget=budget)
    want = compute_gaps(usages, investments, [], NO_RISK, budget=budget)
    assert [s.upstream for s in got] == [s.upstream for s in want]
    for g, w in zip(got, want, strict=True):
        assert (g.usage_share, g.investment_share, g.recommended) == pytest.approx(
            (w.usage_share, w.investment_share, w.recommended)
        ), g.upstream


def test_score_stage_summary_names_the_planted_gaps_and_its_budget(wired: Wired) -> None:
    scored = wired.scored
    planted = wired.world.under_invested
    assert [row["upstream"] for row in scored["top"]] == planted[:5]
    assert scored["developers_source"].startswith("people counted by the evidence stage")
    assert scored["budget"] == pytest.approx(2000.0 * scored["developers"])
    assert scored["developers"] > 0 and scored["budget_source"].startswith("Open Source Pledge")
    scores = load_scores(wired.engine, snapshot_id=scored["snapshot"], with_terms=False)
    own = truth(wired.world)["own_upstreams"]
    assert scored["not_scored"] == [
        {"upstream": key, "reason": f"the organisation's own repository ({key.split('/')[1]})"} for key in own
    ]
    assert scored["upstreams"] == len(scores) == len(load_upstream_usages(wired.engine)) - len(own)
    assert not set(own) & {s.upstream for s in scores}


def test_review_names_the_planted_gaps_in_order_with_their_amounts(wired: Wired) -> None:
    quarter = Quarter.of(wired.world.now.date())  # the running quarter: the snapshot was taken in it
    summary = report_stage(replace(wired.context, options={"quarter": str(quarter), "out": str(wired.out)}))
    review = json.loads((wired.out / "review.json").read_text(encoding="utf-8"))
    planted = wired.world.under_invested
    assert review["top_gaps"][: len(planted)] == planted
    budget = review["budget"]
    assert budget == pytest.approx(wired.scored["budget"])
    gaps = {row["upstream"]: row for row in review["gaps"]}
    for key in planted:
        row = gaps[key]
        assert row["recommended_amount"] == pytest.approx(budget * row["expected_share"] - row["given_amount"])
        assert row["recommended_amount"] > 0
    assert [row["upstream"] for row in summary["top_gaps"]][: len(planted)] == planted
    markdown = (wired.out / "review.md").read_text(encoding="utf-8")
    why = markdown.split("### Why these upstreams", 1)[1]
    for key in planted:  # each named gap is followed by its explanation, usage term included
        assert f"**{key}**" in why
        assert any(line.strip().startswith("- usage ") for line in why.split(f"**{key}**", 1)[1].splitlines()[:8])


def test_review_register_shows_a_credible_exit_and_that_we_already_use_it(wired: Wired) -> None:
    stuck, fork = wired.world.under_invested[:2]  # say the second planted upstream is an open fork of the first
    exits = wired.out.parent / "exits.toml"
    exits.write_text(f'[exits."{stuck}"]\nfork = "{fork}"\nwhy = "an open fork"\nsource = "https://x.example"\n')
    settings = wired.settings.model_copy(
        update={"signals": wired.settings.signals.model_copy(update={"exits_file": str(exits)})}
    )
    out = wired.out.parent / "review-exits"
    quarter = str(Quarter.of(wired.world.now.date()))
    report_stage(replace(wired.context, settings=settings, options={"quarter": quarter, "out": str(out)}))
    review = json.loads((out / "review.json").read_text(encoding="utf-8"))
    repos = {row["upstream"]: row["repos"] for row in review["gaps"]}[fork]
    rows = [row for row in review["risks"] if row["upstream"] == stuck]
    assert rows and {row["exit"] for row in rows} == {
        f"{fork}: an open fork (already used by {repos} of our repositories)"
    }
    assert all(row["exit"] is None for row in review["risks"] if row["upstream"] != stuck)
    assert f"| {fork}: an open fork (already used by {repos} of our repositories) |" in (out / "review.md").read_text()


def test_review_lists_the_organisations_own_library_as_not_scored_and_counts_none_of_it(wired: Wired) -> None:
    quarter = Quarter.of(wired.world.now.date())
    out = wired.out.parent / "review-own"
    report_stage(replace(wired.context, options={"quarter": str(quarter), "out": str(out)}))
    review = json.loads((out / "review.json").read_text(encoding="utf-8"))
    (own,) = truth(wired.world)["own_upstreams"]
    users = {r.full_name for r in wired.world.internal_repos if not r.fork and not r.archived}
    using = {r.full_name for r in wired.world.internal_repos for d in r.dependencies if d.package.endswith("/commons")}
    assert review["not_scored"] == [
        {"upstream": own, "reason": "the organisation's own repository (acme)", "repos": len(using & users)}
    ]
    assert own not in {row["upstream"] for row in review["gaps"]}
    assert own not in {row["upstream"] for row in review["contributions"]}  # its builders' work is no giving back
    markdown = (out / "review.md").read_text(encoding="utf-8")
    assert f"| {own} | {len(using & users)} | the organisation's own repository (acme) |" in markdown


def test_review_of_a_quarter_without_a_snapshot_says_so(wired: Wired, tmp_path: Path) -> None:
    """A quarter asked for by name whose end came before the only snapshot."""
    previous = str(Quarter.of(wired.world.now.date()).previous())
    summary = report_stage(replace(wired.context, options={"out": str(tmp_path), "quarter": previous}))
    assert summary["quarter"] == previous
    assert summary["scored"] is False and summary["to_date"] is False
    review = json.loads((tmp_path / "review.json").read_text(encoding="utf-8"))
    assert review["gaps"] == [] and review["top_gaps"] == []
    markdown = (tmp_path / "review.md").read_text(encoding="utf-8")
    assert "No gap snapshot was taken at or before the end of" in markdown
    assert f"No gap snapshot exists for {summary['quarter']}" in markdown.split("## Top gaps", 1)[1]
    assert "No upstream is under-invested" not in markdown


def test_risk_register_lists_bus_factor_one_of_the_planted_gaps(wired: Wired) -> None:
    signals = {s.upstream: s for s in load_risk_signals(wired.engine)}
    weights = load_gap_weights(wired.settings)
    scores = {s.upstream: s for s in load_scores(wired.engine, snapshot_id=wired.scored["snapshot"])}
    for key in wired.world.under_invested:
        assert signals[key].bus_factor == 1 and signals[key].asks_for_funding
        assert {"bus_factor", "unfunded"} <= set(scores[key].risk_signals)
        factors = sum(getattr(weights.risk, name).factor for name in scores[key].risk_signals)
        assert scores[key].risk == pytest.approx(min(1 + factors, weights.risk.max_multiplier))


def test_explain_prints_the_usage_term(wired: Wired) -> None:
    key = wired.world.under_invested[0]
    result = CliRunner().invoke(app, ["--database-url", wired.db_url, "explain", key.upper()])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(key)
    assert "    usage " in result.output and " repos × weight 1" in result.output


def test_an_old_name_is_explained_and_shown_under_the_new_one(wired: Wired) -> None:
    renamed = {old: up.key for up in wired.world.upstreams for old in up.former_keys}
    old, new = sorted(renamed.items())[0]
    explained = CliRunner().invoke(app, ["--database-url", wired.db_url, "explain", old])
    assert explained.exit_code == 0, explained.output
    lines = explained.output.splitlines()
    assert lines[0] == f"{old} is now {new} (renamed or transferred; GitHub redirects the old name)"
    assert lines[1].startswith(new)
    shown = CliRunner().invoke(app, ["--database-url", wired.db_url, "upstream", old])
    assert shown.exit_code == 0, shown.output
    assert shown.output.splitlines()[:2] == [
        f"{old} is now {new} (renamed or transferred; GitHub redirects the old name)",
        f"{new}  (formerly {old})",
    ]
    assert f"renamed from {old}" in shown.output  # the packages' provenance says how they got here


def test_upstream_command_says_what_contributors_sign_and_where_it_was_read(wired: Wired) -> None:
    signed = sorted(
        key
        for key, fact in truth(wired.world)["signals"].items()
        if fact["contributor_agreement"] == "cla" and key in {u.upstream for u in store_usages(wired)}
    )
    result = CliRunner().invoke(app, ["--database-url", wired.db_url, "upstream", signed[0]])
    assert result.exit_code == 0, result.output
    (line,) = [x for x in result.output.splitlines() if x.strip().startswith("contributor agreement:")]
    assert line.strip().startswith("contributor agreement: cla  (github-graphql: ")
    assert "CLA" in line or "Contributor Licen" in line  # the words it was read from


def test_explain_of_the_own_library_says_why_it_is_not_scored(wired: Wired) -> None:
    (own,) = truth(wired.world)["own_upstreams"]
    result = CliRunner().invoke(app, ["--database-url", wired.db_url, "explain", own])
    assert result.exit_code == 0, result.output
    (entry,) = wired.scored["not_scored"]
    assert result.output.startswith(f"{own}: used by ") and result.output.rstrip().endswith(
        f"not scored: {entry['reason']}"
    )


def test_explain_of_an_unknown_upstream_is_one_line_exit_2_with_close_matches(wired: Wired) -> None:
    result = CliRunner().invoke(app, ["--database-url", wired.db_url, "explain", "github.com/nobody/nothing"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "upkeep: github.com/nobody/nothing: unknown upstream (github.com/nobody/nothing); "
        "`upkeep resolve` maps packages to upstreams, `upkeep score` lists the used ones"
    ]
    key = wired.world.under_invested[0]
    typo = key[:-1] + ("x" if key[-1] != "x" else "y")
    suggested = CliRunner().invoke(app, ["--database-url", wired.db_url, "explain", f"https://{typo}"])
    assert suggested.exit_code == 2
    assert f"did you mean {key}" in suggested.output
    by_url = CliRunner().invoke(app, ["--database-url", wired.db_url, "explain", f"https://{key}.git"])
    assert by_url.exit_code == 0 and by_url.output.startswith(key), by_url.output


def test_report_command_writes_every_file(wired: Wired, tmp_path: Path) -> None:
    quarter = str(Quarter.of(wired.world.now.date()))
    result = CliRunner().invoke(
        app, ["--database-url", wired.db_url, "report", "--quarter", quarter, "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    expected = {
        "review.md",
        "review.html",
        "gaps.csv",
        "funding.csv",
        "contributions.csv",
        "usage_by_team.csv",
        "review.json",
    }
    assert {p.name for p in tmp_path.iterdir()} == expected  # no Pledge membership configured: no pledge.json
    for name in sorted(expected):
        assert str(tmp_path / name) in result.output
        assert (tmp_path / name).stat().st_size > 0
    gaps_csv = (tmp_path / "gaps.csv").read_text(encoding="utf-8").splitlines()
    assert len(gaps_csv) == 1 + wired.scored["upstreams"]


def test_score_command_prints_the_top_gaps_and_stores_another_snapshot(wired: Wired, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"  # the CLI scores at the real clock: keep the shared store's snapshots as they are
    with sqlite3.connect(wired.db_url.removeprefix("sqlite:///")) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    db_url = f"sqlite:///{copy}"
    result = CliRunner().invoke(app, ["--database-url", db_url, "score", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["snapshot"] > wired.scored["snapshot"]
    # this run has no configuration, so it knows no organisation of its own: it scores the own library too
    assert summary["not_scored"] == []
    assert summary["upstreams"] == wired.scored["upstreams"] + len(wired.scored["not_scored"])
    assert wired.scored["since_last_snapshot"] is None  # the first run has nothing to compare with
    assert set(summary["since_last_snapshot"]) == {"new_gaps", "closed_gaps", "movers"}
    table = CliRunner().invoke(app, ["--database-url", db_url, "score", "--top", "3"])
    assert table.exit_code == 0, table.output
    assert "Top gaps" in table.output and "upstreams scored" in table.output


def test_explain_shows_each_conversion_with_its_date_and_ecb_rate(wired: Wired) -> None:
    facts = truth(wired.world)
    key = next(k for k, chs in sorted(facts["money"].items()) if any("EUR" in cur for cur in chs.values()))
    result = CliRunner().invoke(app, ["--database-url", wired.db_url, "explain", key])
    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.output.splitlines()]
    assert "payments in the window, in USD at the rate of each payment's date:" in lines
    converted = [line for line in lines if " EUR on " in line]
    assert converted and all(" (ECB 20" in line and " at " in line for line in converted)
    total = sum(float(line.split(" = ")[1].split(" at ")[0].replace(",", "")) for line in converted)
    # the converted amounts of the channels that paid in euros (the upstream may be paid in dollars too)
    in_euros = [channel for channel, currencies in facts["money"][key].items() if set(currencies) == {"EUR"}]
    assert in_euros
    assert total == pytest.approx(sum(facts["money_converted"][key][c] for c in in_euros), abs=0.01)


def test_the_reviews_register_has_one_row_per_upstream_and_no_foundation_under_company_control(
    wired: Wired, tmp_path: Path
) -> None:
    quarter = str(Quarter.of(wired.world.now.date()))
    report_stage(replace(wired.context, options={"quarter": quarter, "out": str(tmp_path)}))
    risks = json.loads((tmp_path / "review.json").read_text(encoding="utf-8"))["risks"]
    facts = truth(wired.world)["signals"]
    assert risks and len({r["upstream"] for r in risks}) == len(risks)
    for row in risks:
        fact = facts[row["upstream"]]
        assert ("one-company-work" in row["flags"]) == (fact["elephant_factor"] == 1), row
        if fact["governance"] == "foundation":
            assert "one-company-control" not in row["flags"] and "relicensable" not in row["flags"], row
        if "relicensable" in row["flags"]:
            assert "one-company-control" in row["flags"], row
        assert len(row["detail"].split("; ")) >= len(row["flags"])


def test_decide_records_planned_money_shown_by_explain_and_the_review(wired: Wired, tmp_path: Path) -> None:
    key = wired.world.under_invested[1]
    args = ["--database-url", wired.db_url, "decide", key, "fund", "5000", "USD", "--note", "Q1 budget", "--by", "ospo"]
    decided = CliRunner().invoke(app, args)
    assert decided.exit_code == 0, decided.output
    assert decided.output.startswith(f"{key}: fund 5,000 USD by ospo on ")
    refused = CliRunner().invoke(app, ["--database-url", wired.db_url, "decide", key, "maybe"])
    assert refused.exit_code == 2 and "not one of" in refused.output

    explained = CliRunner().invoke(app, ["--database-url", wired.db_url, "explain", key])
    assert explained.exit_code == 0, explained.output
    tail = explained.output.split("  decisions:\n", 1)[1]
    assert tail.startswith("    fund 5,000 USD by ospo on ") and "(Q1 budget); paid since 0 USD" in tail

    quarter = str(Quarter.of(wired.world.now.date()))
    result = CliRunner().invoke(
        app, ["--database-url", wired.db_url, "report", "--quarter", quarter, "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    review = (tmp_path / "review.md").read_text(encoding="utf-8")
    section = review.split("## Decisions\n", 1)[1].split("\n## ", 1)[0]
    assert "Planned money totals USD 5,000 of the yearly budget" in section
    (row,) = [line for line in section.splitlines() if line.startswith(f"| {key} ")]
    assert "| fund 5,000 USD (Q1 budget) | ospo |" in row and row.endswith("| USD 5,000 | USD 0 |")
    assert 'id="decisions"' in (tmp_path / "review.html").read_text(encoding="utf-8")
