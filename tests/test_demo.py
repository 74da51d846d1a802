"""End to end: ``upkeep demo`` produces every promised file, matching the sandbox's truth, exactly once;
and a run with recognisable tokens leaves them in no log, no store and no output."""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import shlex
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import load_settings
from bot.demo import DemoOptions, DemoResult, run_demo
from bot.gaps.score_stage import load_gap_weights
from bot.sandbox import World, generate_world, truth
from bot.sandbox.github_app import app_private_key_pem

ROOT = Path(__file__).parent.parent

EXPECTED_FILES = (
    "index.md",
    "review/review.html",
    "review/review.md",
    "review/gaps.csv",
    "review/funding.csv",
    "review/contributions.csv",
    "review/usage_by_team.csv",
    "review/review.json",
    "review/pledge.json",
    "slack/messages.json",
    "slack/digest.txt",
    "notify/mattermost.txt",
    "notify/matrix.txt",
    "notify/teams.txt",
    "notify/email.txt",
    "upkeep.db",
    "sandbox-state.json",
)


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoResult, DemoResult]:
    """The demo run twice into one folder, as a person would with `make demo` twice."""
    out = tmp_path_factory.mktemp("demo")
    first = run_demo(DemoOptions(out=out, fresh=True), echo=lambda _: None)
    first_digest = (out / "slack" / "messages.json").read_text()
    second = run_demo(DemoOptions(out=out), echo=lambda _: None)
    assert (out / "slack" / "messages.json").read_text() == first_digest
    return out, first, second


def test_demo_writes_every_file(demo_runs: tuple[Path, DemoResult, DemoResult]) -> None:
    out, first, _ = demo_runs
    assert first.run.status == "ok", first.run.stages
    for name in EXPECTED_FILES:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert list((out / "issues").glob("*.md")), "the GitHub issues are written out"
    with sqlite3.connect(out / "upkeep.db") as db:  # the pipeline records GitHub's budgets for `upkeep status`
        budgets = {
            f"{service}/{resource}" for service, resource in db.execute("SELECT service, resource FROM rate_limits")
        }
    assert {"github/core", "github/graphql"} <= budgets


def test_the_index_says_what_upkeep_made_of_the_worlds_traps(demo_runs: tuple[Path, DemoResult, DemoResult]) -> None:
    out, first, _ = demo_runs
    facts = truth(generate_world(7, "small"))
    index = (out / "index.md").read_text(encoding="utf-8")
    traps = index.split("## Traps the world holds", 1)[1].split("\n## ", 1)[0]
    for old, new in facts["renamed_upstreams"].items():
        assert f"`{old}` is now `{new}`" in traps
    for own in facts["own_upstreams"]:
        assert f"`{own}` is used by " in traps and "not scored: the organisation's own repository" in traps
    assert "sign a CLA" in traps
    assert "upstreams off GitHub (codeberg.org, gitlab.com) were read from their own forge" in traps
    assert (
        traps.count("\n- ") == len(first.findings) == len(facts["renamed_upstreams"]) + len(facts["own_upstreams"]) + 2
    )


def test_demo_names_the_planted_gaps_with_their_amounts(demo_runs: tuple[Path, DemoResult, DemoResult]) -> None:
    out, first, _ = demo_runs
    world = generate_world(7, "small")
    review = json.loads((out / "review" / "review.json").read_text())
    planted = world.under_invested
    assert review["top_gaps"][: len(planted)] == planted
    assert [g["upstream"] for g in first.top_gaps] == planted
    by_key = {g["upstream"]: g for g in review["gaps"]}
    for key in planted:
        gap = by_key[key]
        assert gap["given_amount"] == 0.0 and gap["investment_share"] == 0.0  # the world gives them nothing
        assert gap["recommended_amount"] == pytest.approx(review["budget"] * gap["expected_share"])
        assert {"bus_factor", "unfunded"} <= set(gap["risk_signals"])
    index = (out / "index.md").read_text()
    assert all(f"`{key}`" in index for key in planted)


def test_demo_delivers_one_digest_and_one_issue_per_gap(demo_runs: tuple[Path, DemoResult, DemoResult]) -> None:
    out, first, _ = demo_runs
    messages = json.loads((out / "slack" / "messages.json").read_text())
    assert len(messages) == 1
    digest = (out / "slack" / "digest.txt").read_text()
    assert first.top_gaps[0]["upstream"] in digest
    issues = sorted((out / "issues").glob("*.md"))
    markers = [line for path in issues for line in path.read_text().splitlines() if "<!-- upkeep:gap:" in line]
    assert len(markers) == len(set(markers)) == len(issues) - 1  # one per upstream, plus the dashboard
    assert sum(1 for path in issues if "<!-- upkeep:dashboard -->" in path.read_text()) == 1
    # and one digest each to Mattermost, Matrix, Teams and email
    assert first.deliveries == len(messages) + len(issues) + 4


def test_demo_delivers_the_digest_to_all_five_kinds_once(demo_runs: tuple[Path, DemoResult, DemoResult]) -> None:
    out, first, second = demo_runs  # the files show what the fakes hold after both runs
    assert second.deliveries == 0
    top = first.top_gaps[0]["upstream"]
    for kind in ("mattermost", "matrix", "teams", "email"):
        received = json.loads((out / "notify" / f"{kind}.json").read_text())
        assert len(received) == 1, kind
        assert top in (out / "notify" / f"{kind}.txt").read_text(), kind
    mail = json.loads((out / "notify" / "email.json").read_text())[0]
    assert mail["tls"] is True and mail["html"] and mail["text"]


def test_second_demo_run_delivers_nothing(demo_runs: tuple[Path, DemoResult, DemoResult]) -> None:
    out, first, second = demo_runs
    assert second.resumed and second.run.status == "ok"
    assert second.deliveries == 0
    assert second.top_gaps == first.top_gaps
    assert "made **0 new deliveries**" in (out / "index.md").read_text()


# --------------------------------------------------------------------------- secrets

CANARIES = {
    "github": "ghp_CANARYgithubTOKEN0000000000000000xyzzy",
    "slack": "xoxb-CANARY-slack-TOKEN-000000000000xyzzy",
    "opencollective": "oc_CANARY_opencollective_TOKEN_xyzzy",
    "mattermost": "mm-CANARY-mattermost-TOKEN-xyzzy",
    "matrix": "syt_CANARY_matrix_TOKEN_xyzzy",
    "teams": "CANARY-teams-workflow-SIG-xyzzy",
    "smtp": "CANARY-smtp-PASSWORD-xyzzy",
}


@pytest.fixture
def every_log_line() -> Iterator[io.StringIO]:
    """Every record of every logger at DEBUG, with no redaction: the test must not rely on the filter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s %(args)s"))
    root, bot = logging.getLogger(), logging.getLogger("bot")
    saved = (root.level, bot.level, bot.propagate, list(bot.handlers))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    bot.handlers, bot.propagate, bot.level = [], True, logging.DEBUG
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        bot.level, bot.propagate, bot.handlers = saved[1], saved[2], saved[3]


def test_tokens_reach_no_log_store_or_output(tmp_path: Path, every_log_line: io.StringIO) -> None:
    world = generate_world(7, "small")
    for service, token in CANARIES.items():
        world.tokens[service].insert(0, token)  # the demo authenticates with the first token of each
    result = run_demo(DemoOptions(out=tmp_path, fresh=True), echo=lambda _: None, world=world)
    assert result.run.status == "ok" and result.deliveries > 0
    places = everywhere_a_secret_could_go(tmp_path, world, every_log_line.getvalue())
    for service, token in CANARIES.items():
        leaks = [name for name, content in places.items() if token.encode() in content]
        assert not leaks, f"the {service} token leaked into: {leaks}"


def test_the_app_key_and_its_installation_tokens_reach_no_log_store_or_output(
    tmp_path: Path, every_log_line: io.StringIO
) -> None:
    world = generate_world(7, "small")
    result = run_demo(DemoOptions(out=tmp_path, fresh=True, as_app=True), echo=lambda _: None, world=world)
    assert result.run.status == "ok" and result.deliveries > 0
    minted = [t for t in world.tokens["github"] if t.startswith("sandbox-installation-token-")]
    assert minted, "the demo authenticated as the App"
    key_lines = [line for line in app_private_key_pem().splitlines() if "PRIVATE KEY" not in line]
    secrets = {"private key": key_lines[len(key_lines) // 2], **{f"token {t}": t for t in minted}}
    places = everywhere_a_secret_could_go(tmp_path, world, every_log_line.getvalue())
    for what, secret in secrets.items():
        leaks = [name for name, content in places.items() if secret.encode() in content]
        assert not leaks, f"the App's {what} leaked into: {leaks}"


def everywhere_a_secret_could_go(out: Path, world: World, logs: str) -> dict[str, bytes]:
    """The run's logs, every file it wrote (the store included), and everything it sent to Slack and GitHub."""
    assert "HTTP Request" in logs or "stage done" in logs, "the capture saw the run's logs"
    places: dict[str, bytes] = {"logs": logs.encode()}
    for path in out.rglob("*"):
        if path.is_file():
            places[str(path.relative_to(out))] = path.read_bytes()
    for message in world.slack_messages:
        places[f"slack {message.ts}"] = json.dumps([message.text, message.blocks, message.metadata]).encode()
    for kind, received in world.notify_posts.items():
        places[f"notify {kind}"] = json.dumps(received).encode()
    for issues in world.issues.values():
        for issue in issues:
            places[f"issue {issue.number}"] = (issue.title + issue.body).encode()
    assert any(name.startswith("upkeep.db") for name in places)
    return places


def test_demo_command_line(tmp_path: Path) -> None:
    """`upkeep demo` as a person runs it: a short summary naming the top gap and the index."""
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--out", str(tmp_path / "out")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    world = generate_world(7, "small")
    assert f"1. {world.under_invested[0]}" in result.stdout
    assert "deliveries this run:" in result.stdout
    assert str(tmp_path / "out" / "index.md") in result.stdout


def _upkeep_exit(args: list[str]) -> int:
    try:
        main(args)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    return 0


#: README synopses → something a person would type; commands that would sync or serve are checked with --help.
README_PLACEHOLDERS = {"PATH...": str(ROOT / "tests/data/sboms/cdx-1.5-cyclic-graph_trivy.json"), "[": "", "]": ""}
HELP_ONLY = {"sync", "gather", "run", "worker", "demo", "serve", "mcp"}
#: Commands whose documented exit is not 0 here: no worker ever ran on the demo's store.
EXPECTED_CODES = {"upkeep status --check": 1}


def test_every_command_in_the_index_and_readme_runs_as_written(
    demo_runs: tuple[Path, DemoResult, DemoResult],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out, first, _ = demo_runs
    copy = tmp_path / "copy.db"  # commands that write (score, ingest) must not change the shared demo store
    with sqlite3.connect(out / "upkeep.db") as source, sqlite3.connect(copy) as target:
        source.backup(target)
    monkeypatch.chdir(tmp_path)
    index = re.findall(r"`(upkeep [^`]+)`", (out / "index.md").read_text())
    assert any(" explain " in command for command in index)
    for command in index:
        if "--fresh" in command:
            continue  # the demo itself; the fixture ran it
        args = shlex.split(command.replace(str(out / "upkeep.db"), str(copy)))[1:]
        if HELP_ONLY & set(args):
            args.append("--help")  # a server (serve, mcp) would not return
        code = _upkeep_exit(args)
        assert code == 0, f"{command}: {capsys.readouterr()}"
    placeholders = {
        **README_PLACEHOLDERS,
        "HOST/OWNER/NAME": first.top_gaps[0]["upstream"],
        "--stages ...": "",
        "PURL...": "pkg:npm/pulsepulse@1.0.0",  # resolved in the store: answered without the network
        "--from-file FILE": "",
        "--since DATE": "--since 2026-11-01",
        "--repo OWNER/NAME": "--repo acme/readme-check",
    }
    readme = re.findall(r"`(upkeep [^`]+)`", (ROOT / "README.md").read_text())
    assert len(readme) >= 15
    for command in readme:
        typed = command
        for placeholder, value in placeholders.items():
            typed = typed.replace(placeholder, value)
        args = shlex.split(typed)[1:]
        if HELP_ONLY & set(args):
            args.append("--help")
        code = _upkeep_exit([*args, "--database-url", f"sqlite:///{copy}"])
        assert code == EXPECTED_CODES.get(command, 0), f"{command} (as {args}): {capsys.readouterr()}"
        capsys.readouterr()


def test_the_index_names_the_two_commands_that_serve_its_store(demo_runs: tuple[Path, DemoResult, DemoResult]) -> None:
    out = demo_runs[0]
    index = (out / "index.md").read_text(encoding="utf-8")
    store = f"--database-url sqlite:///{(out / 'upkeep.db').resolve()}"
    assert f"upkeep {store} serve`" in index
    assert f"upkeep {store} mcp`" in index


def test_every_headline_is_the_sum_of_its_table_and_the_outputs_agree(
    demo_runs: tuple[Path, DemoResult, DemoResult],
) -> None:
    out, _, _ = demo_runs
    review = json.loads((out / "review" / "review.json").read_text(encoding="utf-8"))
    headline = {h["key"]: h["value"] for h in review["headline"]}
    labels = {h["key"]: h["label"] for h in review["headline"]}
    assert headline["money_given"] == pytest.approx(sum(p["converted"] for p in review["payments"]), abs=0.005)
    assert headline["contributions"] == sum(c["count"] for c in review["contributions"])
    assert headline["recommended"] == pytest.approx(sum(g["recommended_amount"] for g in review["gaps"]), abs=0.005)
    definition = load_gap_weights(load_settings(None, search=False)).thresholds.under_investment()
    assert headline["gaps"] == sum(1 for g in review["gaps"] if definition.applies(g["gap"], g["recommended_amount"]))
    assert not [p for p in review["payments"] if p["unconverted"]], "the demo's world converts every payment"
    assert any(p["currency"] == "EUR" and p["rate_source"].startswith("ECB 20") for p in review["payments"])
    currency = review["currency"]
    markdown = (out / "review" / "review.md").read_text(encoding="utf-8")
    given = f"{currency} {headline['money_given']:,.0f}"
    assert f"| {labels['money_given']} | {given} |" in markdown and f"gave {given} to" in markdown
    assert review["to_date"] and labels["money_given"] == "Money given this quarter to date"  # the world's 15 Nov
    digest = (out / "slack" / "digest.txt").read_text(encoding="utf-8")
    assert f"Recommended this year: *{headline['recommended']:,.0f} {currency}*" in digest
    listed = [line for line in digest.splitlines() if line[:1].isdigit() and ". *" in line]
    assert 0 < len(listed) <= headline["gaps"]
    dashboard = next(p for p in (out / "issues").glob("*.md") if "dashboard" in p.name)
    rows = [
        line
        for line in dashboard.read_text(encoding="utf-8").splitlines()
        if line.startswith("| ") and line[2:4].strip().isdigit()
    ]
    # the dashboard lists every under-invested upstream (those with an issue and those without)
    assert len(rows) == headline["gaps"]


def test_the_demo_review_shows_which_teams_drive_each_top_gap(demo_runs: tuple[Path, DemoResult, DemoResult]) -> None:
    out, _, _ = demo_runs
    assert "### Usage by team" in (out / "review" / "review.md").read_text()
    rows = list(csv.DictReader(io.StringIO((out / "review" / "usage_by_team.csv").read_text())))
    assert {r["team"] for r in rows} - {""}  # the world's properties, topics and CODEOWNERS name teams


def test_the_demo_reads_the_gitlab_group_beside_the_github_orgs(
    demo_runs: tuple[Path, DemoResult, DemoResult],
) -> None:
    """Every upstream on the sandbox GitLab has its forge signals, and the people's work there is counted as
    the truth counts it; the group's members are people of the organisation beside the GitHub orgs' members."""
    out, first, _ = demo_runs
    assert first.world is not None
    world = first.world
    facts = truth(world)
    on_gitlab = sorted(k for k in facts["upstreams"] if k.startswith("gitlab.com/"))
    assert on_gitlab
    with sqlite3.connect(out / "upkeep.db") as db:
        signals = {
            key: (partial, bus, elephant)
            for key, partial, bus, elephant in db.execute(
                "SELECT upstream_key, partial, bus_factor, elephant_factor FROM upstream_signals"
            )
        }
        accounts = {row[0] for row in db.execute("SELECT account FROM identities")}
        rows = db.execute("SELECT repository, kind, count, occurred_at FROM contributions").fetchall()
    for key in on_gitlab:
        fact = facts["signals"][key]
        assert signals[key] == (0, fact["bus_factor"], fact["elephant_factor"]), key
    gitlab_members = {f"gitlab:{m.lower()}" for ms in world.gitlab_groups.values() for m in ms}
    assert {a for a in accounts if a.startswith("gitlab:")} <= gitlab_members
    assert "gitlab:acme-release-bot" not in accounts  # a bot on every forge
    counted = {repo for repo, *_ in rows if repo.startswith("gitlab.com/")}
    expected = {
        repo
        for repos in facts["contributions"]["trailing_12_months"].values()
        for repo in repos
        if "gitlab.com/" in repo
    }
    assert expected and expected <= counted
