"""``upkeep demo``: the whole pipeline against the built-in sandbox world, no tokens needed.

It serves a generated world on loopback, runs every stage with a fresh SQLite database, and
writes what a real deployment would deliver into one folder: the quarterly review, the Slack
digest as the sandbox recorded it, the GitHub issues as the sandbox holds them, and an
``index.md`` for the reader. The database and the sandbox's mutable state stay in the folder,
so a second run continues the same world — and delivers nothing new, which is the point.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.config import Secrets, Settings, load_settings
from bot.pipeline import RunResult, StageContext, run_pipeline
from bot.report.quarters import Quarter
from bot.sandbox import SandboxServer, generate_world, ledger_csv, roster_csv, sandbox_environment, sandbox_settings
from bot.sandbox.model import Issue, SlackMessage, World
from bot.sandbox.server import Knobs
from bot.sandbox.state import load_state, save_state
from bot.store.engine import make_engine, upgrade

STATE_FILE = "sandbox-state.json"
DATABASE_FILE = "upkeep.db"


@dataclass(frozen=True)
class DemoOptions:
    out: Path = Path("demo-out")
    scale: str = "small"
    seed: int = 7
    latency_ms: float = 0.0
    fault_rate: float = 0.0
    fresh: bool = False
    as_app: bool = False  # authenticate as the world's GitHub App (JWT, installation tokens) instead of a token
    now: datetime | None = None  # the run's clock; None: the world's own "now"


@dataclass
class DemoResult:
    run: RunResult
    resumed: bool
    files: dict[str, Path] = field(default_factory=dict)
    top_gaps: list[dict[str, Any]] = field(default_factory=list)
    deliveries: int = 0
    world: World | None = None
    findings: list[str] = field(default_factory=list)  # traps the world holds, and what upkeep made of them


def demo_settings(options: DemoOptions, base_url: str, world: World) -> Settings:
    """The sandbox's endpoints and organisation, the demo folder's database, roster and ledger."""
    out = options.out.resolve()
    (out / "config").mkdir(parents=True, exist_ok=True)
    (out / "config" / "roster.csv").write_text(roster_csv(world), encoding="utf-8")
    (out / "config" / "ledger.csv").write_text(ledger_csv(world), encoding="utf-8")
    overrides = sandbox_settings(base_url, world, app=options.as_app)
    overrides.update(
        {
            "database.url": f"sqlite:///{out / DATABASE_FILE}",
            "people.roster_csv": str(out / "config" / "roster.csv"),
            "funding.ledger_csv": str(out / "config" / "ledger.csv"),
            "report.out_dir": str(out / "review"),
            "gaps.developers": sum(1 for p in world.people if not p.is_bot and p.identity != "outsider"),
            "slack.review_url": "demo-out/review/review.html",
            # The sandbox has no secondary rate limits: no need for GitHub's one write per second.
            "issues.seconds_between_writes": 0.0,
            "issues.seconds_between_requests": 0.0,
        }
    )
    return load_settings(None, overrides=overrides, search=False)


def _prepare(options: DemoOptions, world: World) -> bool:
    """Resume the folder's world when it is the same one; otherwise start from nothing."""
    out = options.out
    state = out / STATE_FILE
    if not options.fresh and state.exists() and (out / DATABASE_FILE).exists() and load_state(world, state):
        return True
    for name in (DATABASE_FILE, f"{DATABASE_FILE}-wal", f"{DATABASE_FILE}-shm", STATE_FILE):
        (out / name).unlink(missing_ok=True)
    for folder in ("review", "slack", "issues"):
        shutil.rmtree(out / folder, ignore_errors=True)
    return False


def run_demo(options: DemoOptions, *, echo: Callable[[str], None] = print, world: World | None = None) -> DemoResult:
    """Serve the world, run the pipeline, write the folder; see the module docstring.

    ``world`` replaces the generated one (tests give one with their own tokens)."""
    from bot.stages import REGISTRY

    options.out.mkdir(parents=True, exist_ok=True)
    world = world or generate_world(options.seed, options.scale)
    resumed = _prepare(options, world)
    knobs = Knobs(latency_ms=options.latency_ms, fault_rate=options.fault_rate, fault_seed=options.seed)
    with SandboxServer(world, knobs=knobs) as server:
        echo(f"sandbox world (scale {options.scale}, seed {options.seed}) served at {server.base_url}")
        settings = demo_settings(options, server.base_url, world)
        secrets = Secrets.from_environment(sandbox_environment(world, app=options.as_app))
        engine = make_engine(settings.database_url())
        upgrade(engine)
        # The world's only snapshot is taken "now", so the review covers the quarter to date.
        quarter = str(Quarter.of((options.now or world.now).date()))
        context = StageContext(
            settings=settings,
            secrets=secrets,
            engine=engine,
            now=options.now or world.now,
            options={"quarter": quarter},
        )
        run = run_pipeline(context, REGISTRY, start_over=True)
        result = DemoResult(run=run, resumed=resumed, world=world)
        result.deliveries = int(run.stages.get("deliver", {}).get("delivered", 0))
        result.top_gaps = _top_gaps(engine, limit=5)
        result.findings = _findings(engine)
        engine.dispose()
    save_state(world, options.out / STATE_FILE)
    result.files.update(_write_deliveries(options.out, world))
    review = options.out / "review"
    for name in ("review.html", "review.md", "gaps.csv", "review.json"):
        if (review / name).exists():
            result.files[name] = review / name
    result.files["index.md"] = _write_index(options, result)
    return result


def _top_gaps(engine: Any, limit: int) -> list[dict[str, Any]]:
    from bot.store import gaps as gaps_store

    snapshots = gaps_store.latest_snapshots(engine, limit=1)
    if not snapshots:
        return []
    scores = gaps_store.load_scores(engine, snapshot_id=snapshots[0].id, with_terms=False)
    ranked = sorted((s for s in scores if s.gap > 0), key=lambda s: (-s.priority, s.upstream))[:limit]
    return [
        {
            "upstream": s.upstream,
            "gap": round(s.gap, 4),
            "risk": round(s.risk, 2),
            "recommended": round(s.recommended, 2),
            "currency": snapshots[0].currency,
        }
        for s in ranked
    ]


def _findings(engine: Any) -> list[str]:
    """Lines for the index: what the store says about the world's traps (renames, its own library, CLAs)."""
    from sqlmodel import Session

    from bot.store import gaps as gaps_store
    from bot.store.gap_inputs import load_risk_signals
    from bot.store.renames import load_renames

    lines = []
    with Session(engine) as session:
        renames = load_renames(session)
    for old, new in sorted(renames.items()):
        lines.append(
            f"`{old}` is now `{new}`: registries still name the old repository; GitHub redirects it, and "
            "upkeep counts its packages, contributions and ledger lines for the new one."
        )
    snapshots = gaps_store.latest_snapshots(engine, limit=1)
    for left in snapshots[0].not_scored if snapshots else ():
        lines.append(f"`{left.upstream}` is used by {left.repos} repositories but not scored: {left.reason}.")
    scores = gaps_store.load_scores(engine, snapshot_id=snapshots[0].id, with_terms=False) if snapshots else []
    scored = {s.upstream for s in scores}
    relicensable = sorted(s.upstream for s in load_risk_signals(engine) if s.relicensable and s.upstream in scored)
    if relicensable:
        lines.append(
            f"{len(relicensable)} upstreams in use are controlled by one company that makes contributors "
            f"sign a CLA, so it could relicense them alone (e.g. `{relicensable[0]}`): see the risk register."
        )
    return lines


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "issue"


def _block_text(block: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    text = block.get("text")
    if isinstance(text, dict) and text.get("text"):
        lines.append(str(text["text"]))
    for item in block.get("fields") or []:
        lines.append(str(item.get("text", "")))
    for item in block.get("elements") or []:
        if isinstance(item, dict) and item.get("text"):
            lines.append(str(item["text"]))
    return lines


def render_slack_message(message: SlackMessage) -> str:
    """A readable text rendering of what Slack received (blocks in order, else the fallback text)."""
    lines = [f"# Slack message {message.ts} in {message.channel}", ""]
    if message.blocks:
        for block in message.blocks:
            if block.get("type") == "divider":
                lines.append("-" * 40)
            else:
                lines.extend(_block_text(block))
            lines.append("")
    else:
        lines.append(message.text)
    return "\n".join(lines).rstrip() + "\n"


def _issue_markdown(issue: Issue) -> str:
    labels = ", ".join(issue.labels) or "none"
    head = [
        f"# #{issue.number} {issue.title}",
        "",
        f"*state: {issue.state}* · *labels: {labels}* · *opened {issue.created_at:%Y-%m-%d}*",
        "",
        "---",
        "",
        issue.body,
    ]
    for comment in issue.comments:
        head += ["", "---", "", f"**comment by {comment.user} on {comment.created_at:%Y-%m-%d}**", "", comment.body]
    return "\n".join(head).rstrip() + "\n"


def _write_deliveries(out: Path, world: World) -> dict[str, Path]:
    files: dict[str, Path] = {}
    slack = out / "slack"
    shutil.rmtree(slack, ignore_errors=True)
    slack.mkdir(parents=True)
    messages = [
        {
            "channel": m.channel,
            "ts": m.ts,
            "text": m.text,
            "blocks": m.blocks,
            "thread_ts": m.thread_ts,
            "metadata": m.metadata,
        }
        for m in world.slack_messages
    ]
    (slack / "messages.json").write_text(json.dumps(messages, indent=2, sort_keys=True), encoding="utf-8")
    (slack / "digest.txt").write_text(
        "\n\n".join(render_slack_message(m) for m in world.slack_messages) or "(no message posted)\n", encoding="utf-8"
    )
    files["slack/messages.json"] = slack / "messages.json"
    files["slack/digest.txt"] = slack / "digest.txt"
    issues_dir = out / "issues"
    shutil.rmtree(issues_dir, ignore_errors=True)
    issues_dir.mkdir(parents=True)
    for issue in world.issues.get(world.ospo_repo, []):
        path = issues_dir / f"{issue.number:03d}-{_slug(issue.title)}.md"
        path.write_text(_issue_markdown(issue), encoding="utf-8")
    files["issues/"] = issues_dir
    return files


def _write_index(options: DemoOptions, result: DemoResult) -> Path:
    world = result.world
    assert world is not None
    issues = world.issues.get(world.ospo_repo, [])
    open_issues = [i for i in issues if i.state == "open"]
    gaps = "\n".join(
        f"| {n} | `{g['upstream']}` | {g['gap']:+.3f} | × {g['risk']:.2f} | {g['currency']} {g['recommended']:,.0f} |"
        for n, g in enumerate(result.top_gaps, 1)
    )
    findings = "\n".join(f"- {line}" for line in result.findings) or "- none this time"
    stages = "\n".join(
        f"| {name} | {info.get('status')} | {info.get('seconds', 0)} s |" for name, info in result.run.stages.items()
    )
    text = f"""# upkeep demo: what you are looking at

upkeep ran its whole pipeline against a **sandbox world** — a generated organisation
(`{", ".join(world.orgs)}`, {len(world.internal_repos)} repositories, {len(world.people)} people) whose
GitHub, package registries, Open Collective and Slack are served on 127.0.0.1 by upkeep's own
fakes, speaking the real APIs. Nothing here touched the internet. Seed {world.seed}, scale
`{world.scale}`; the same seed gives the same world.

## The pipeline run

| stage | status | time |
|---|---|---|
{stages}

## Where the organisation under-invests (top gaps)

| # | upstream | gap | risk | recommended per year |
|---|---|---|---|---|
{gaps}

The world planted these as under-invested on purpose: `{", ".join(world.under_invested)}`.
`upkeep explain HOST/OWNER/NAME --database-url sqlite:///{(options.out / DATABASE_FILE).resolve()}`
prints the arithmetic behind any row.

## Traps the world holds, and what upkeep made of them

{findings}

## The files

- [`review/review.html`](review/review.html) — the quarterly OSPO review (open it in a browser; it is
  self-contained), with [`review.md`](review/review.md), `gaps.csv`, `funding.csv`,
  `contributions.csv`, `review.json` and the Open Source Pledge report beside it.
- [`slack/digest.txt`](slack/digest.txt) — the Slack digest as the sandbox's Slack recorded it
  ([`messages.json`](slack/messages.json) has the raw Block Kit).
- [`issues/`](issues/) — the GitHub issues in `{world.ospo_repo}` as the sandbox holds them:
  {len(issues)} issues, {len(open_issues)} open (one per gap over the threshold, plus the dashboard).
- `upkeep.db` — the SQLite store; `sandbox-state.json` — what upkeep changed in the world.

## Exactly once

This run {"continued the world of the previous run" if result.resumed else "started a fresh world"} and
made **{result.deliveries} new deliveries**. Run `make demo` again: the second run finds every
message and issue already delivered and delivers nothing new. `upkeep demo --fresh` starts over.
"""
    path = options.out / "index.md"
    path.write_text(text, encoding="utf-8")
    return path
