"""``upkeep demo``: the whole pipeline against the built-in sandbox world, no tokens needed.

It serves a generated world on loopback, runs every stage with a fresh SQLite database, and
writes what a real deployment would deliver into one folder: the quarterly review, the Slack
digest as the sandbox recorded it, the GitHub issues as the sandbox holds them, and an
``index.md`` for the reader. The database and the sandbox's mutable state stay in the folder,
so a second run continues the same world — and delivers nothing new, which is the point.

The demo's clock moves with the run: the pipeline runs at the world's fixed ``now``, and then, as a
worker's schedule would, the deliver stage runs again each time a failed delivery comes due (its
clock set to that moment), until nothing is waiting or the outbox gives up. So a demo under faults
(``--fault-rate``) retries its deliveries as production would, instead of leaving them waiting
for a time that never comes; a rerun starts from the folder's state and finishes what is left.
Likewise a stage that pauses at a spent rate limit is resumed once its reset comes (seconds away
on the sandbox's compressed clock), at most ``MAX_RESUMPTIONS`` times, each pause printed.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bot.config import Secrets, Settings, load_settings
from bot.pipeline import RunResult, StageContext, run_resuming
from bot.report.quarters import Quarter
from bot.sandbox import SandboxServer, generate_world, ledger_csv, roster_csv, sandbox_environment, sandbox_settings
from bot.sandbox.limits import DEFAULT_PROFILE, DEFAULT_TIME_COMPRESSION, LimitProfile
from bot.sandbox.model import Issue, SlackMessage, World
from bot.sandbox.notify_targets import notify_entries, notify_environment
from bot.sandbox.repo_facts import SANDBOX_USAGE
from bot.sandbox.server import Knobs
from bot.sandbox.smtp import SandboxSmtp
from bot.sandbox.state import load_state, save_state
from bot.store.engine import make_engine, upgrade

#: Pauses at a spent rate limit the demo sleeps through before it gives up (the sandbox's clock is
#: compressed, so each is seconds; a run that pauses more than this is a bug to report).
MAX_RESUMPTIONS = 50

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
    hostile_text: bool = False  # payloads in every free-text field (bot.sandbox.hostile)
    fault_seed: int | None = None  # which requests fail (None: the world's seed)
    now: datetime | None = None  # the run's clock; None: the world's own "now"
    limits: str | LimitProfile | None = None  # the sandbox's limit profile (None: its default)
    time_compression: float | None = None  # the sandbox's clock factor (None: its default)


@dataclass
class DemoResult:
    run: RunResult
    resumed: bool
    files: dict[str, Path] = field(default_factory=dict)
    top_gaps: list[dict[str, Any]] = field(default_factory=list)
    deliveries: int = 0
    world: World | None = None
    findings: list[str] = field(default_factory=list)  # traps the world holds, and what upkeep made of them
    retries: list[dict[str, Any]] = field(default_factory=list)  # the deliver stage's later rounds, as retries came due
    requests: dict[str, Any] = field(default_factory=dict)  # the sandbox's request counts (Router.stats)


def drain_outbox(context: StageContext, deliver: Callable[[StageContext], Any]) -> list[dict[str, Any]]:
    """Run ``deliver`` again at each moment a failed delivery comes due, until none waits (or it is dead).

    Each round moves the clock to the earliest ``next_attempt_at``; the outbox's own backoff and
    ``max_attempts`` decide when it gives up, so this ends after at most that many rounds per row.
    """
    from bot.store.engine import session_scope
    from bot.store.outbox import load_unfinished

    settings = context.settings
    limit = max(settings.slack.max_attempts, settings.issues.max_attempts) + 1
    clock = context.now
    rounds: list[dict[str, Any]] = []
    for _ in range(limit):
        with session_scope(context.engine) as session:
            waiting = [r.next_attempt_at for r in load_unfinished(session) if r.next_attempt_at is not None]
        if not waiting:
            break
        due = min(w if w.tzinfo else w.replace(tzinfo=UTC) for w in waiting)
        clock = max(clock, due)
        rounds.append({"at": clock.isoformat(), **dict(deliver(replace(context, now=clock)))})
    return rounds


def demo_settings(options: DemoOptions, base_url: str, world: World, smtp: SandboxSmtp | None = None) -> Settings:
    """The sandbox's endpoints and organisation, the demo folder's database, roster and ledger, and
    ``[[notify]]`` entries for the sandbox's Mattermost, Matrix, Teams and (given ``smtp``) mail server."""
    out = options.out.resolve()
    (out / "config").mkdir(parents=True, exist_ok=True)
    (out / "config" / "roster.csv").write_text(roster_csv(world), encoding="utf-8")
    (out / "config" / "ledger.csv").write_text(ledger_csv(world), encoding="utf-8")
    compression = DEFAULT_TIME_COMPRESSION if options.time_compression is None else options.time_compression
    overrides = sandbox_settings(base_url, world, app=options.as_app, time_compression=compression)
    overrides.update(
        {
            "database.url": f"sqlite:///{out / DATABASE_FILE}",
            "people.roster_csv": str(out / "config" / "roster.csv"),
            "funding.ledger_csv": str(out / "config" / "ledger.csv"),
            "report.out_dir": str(out / "review"),
            "gaps.developers": sum(1 for p in world.people if not p.is_bot and p.identity != "outsider"),
            "slack.review_url": "demo-out/review/review.html",
            # The world's organisation as an Open Source Pledge member, so the review writes pledge.json.
            "report.pledge_member_id": world.orgs[0],
            "report.pledge_name": world.orgs[0].title(),
            "report.pledge_description": f"{world.orgs[0].title()} funds and contributes to the open source it uses.",
            "report.pledge_short_description": "Funds the open source it uses.",
            "report.pledge_url": f"https://{world.email_domains[0]}/open-source",
            "report.pledge_join_date": date(world.now.year, 1, 15),
            "report.pledge_report_url": f"https://{world.email_domains[0]}/open-source/{world.now.year}",
            # GitHub's one write a second, on the sandbox's compressed clock (its secondary limits are real).
            "issues.seconds_between_writes": 1.0 / compression,
            "issues.seconds_between_requests": 0.0,
            # Teams from the world's properties, topics and CODEOWNERS, so the review shows usage by team; its
            # weight rules stay off, so the demo's scores are the ones the world was designed for.
            **{key: value for key, value in SANDBOX_USAGE.items() if key != "usage.weight"},
            "notify": notify_entries(
                base_url, smtp_url=smtp.url if smtp else None, ca_file=smtp.ca_file if smtp else None
            ),
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
    for folder in ("review", "slack", "issues", "notify", "tls"):
        shutil.rmtree(out / folder, ignore_errors=True)
    return False


def run_demo(options: DemoOptions, *, echo: Callable[[str], None] = print, world: World | None = None) -> DemoResult:
    """Serve the world, run the pipeline, write the folder; see the module docstring.

    ``world`` replaces the generated one (tests give one with their own tokens)."""
    from bot.stages import REGISTRY

    options.out.mkdir(parents=True, exist_ok=True)
    world = world or generate_world(options.seed, options.scale)
    if options.hostile_text:
        from bot.sandbox.hostile import hostile

        world = hostile(world)
    resumed = _prepare(options, world)
    fault_seed = options.seed if options.fault_seed is None else options.fault_seed
    knobs = Knobs(
        latency_ms=options.latency_ms,
        fault_rate=options.fault_rate,
        fault_seed=fault_seed,
        limits=DEFAULT_PROFILE if options.limits is None else options.limits,
        time_compression=DEFAULT_TIME_COMPRESSION if options.time_compression is None else options.time_compression,
    )
    with SandboxServer(world, knobs=knobs) as server, SandboxSmtp(world, options.out / "tls") as smtp:
        echo(f"sandbox world (scale {options.scale}, seed {options.seed}) served at {server.base_url}")
        settings = demo_settings(options, server.base_url, world, smtp)
        environment = {**sandbox_environment(world, app=options.as_app), **notify_environment(server.base_url, world)}
        secrets = Secrets.from_environment(environment, names=settings.notify_secret_names())
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

        def paused(stage: str, until: str | None, seconds: float) -> None:
            echo(f"{stage} paused: rate limited until {until or 'unknown'}; resuming in {seconds:.1f} s")

        run = run_resuming(context, REGISTRY, max_resumptions=MAX_RESUMPTIONS, on_pause=paused)
        result = DemoResult(run=run, resumed=resumed, world=world)
        result.deliveries = int(run.stages.get("deliver", {}).get("delivered", 0))
        if "deliver" in run.stages:
            result.retries = drain_outbox(context, REGISTRY["deliver"])
            result.deliveries += sum(int(r.get("delivered", 0)) for r in result.retries)
        result.top_gaps = _top_gaps(engine, limit=5)
        result.findings = _findings(engine)
        result.requests = server.router.stats()
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
    lines += _off_github(engine)
    return lines


def _off_github(engine: Any) -> list[str]:
    """The index's line on the upstreams off GitHub: read from their own forge, and the work counted there."""
    from sqlmodel import Session, col, select

    from bot.store.tables import ContributionRow, UpstreamSignalRow

    with Session(engine) as session:
        signals = session.exec(
            select(UpstreamSignalRow.upstream_key, UpstreamSignalRow.partial).where(
                ~col(UpstreamSignalRow.upstream_key).startswith("github.com/")
            )
        ).all()
        counted = session.exec(
            select(ContributionRow.count).where(~col(ContributionRow.repository).startswith("github.com/"))
        ).all()
    read = sorted({key for key, partial in signals if not partial})
    if not read:
        return []
    hosts = sorted({key.split("/", 1)[0] for key in read})
    return [
        f"{len(read)} upstreams off GitHub ({', '.join(hosts)}) were read from their own forge (GitLab, Forgejo) "
        f"with their bus factors, and {sum(counted)} contributions of the organisation's people there were counted."
    ]


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
    from bot.sandbox.github_rest import TOKEN_LOGIN

    for issue in world.issues.get(world.ospo_repo, []):
        if issue.user != TOKEN_LOGIN:  # someone else's issue is theirs, not upkeep's output (and not escaped)
            continue
        path = issues_dir / f"{issue.number:03d}-{_slug(issue.title)}.md"
        path.write_text(_issue_markdown(issue), encoding="utf-8")
    files["issues/"] = issues_dir
    files.update(_write_notifications(out, world))
    return files


def _write_notifications(out: Path, world: World) -> dict[str, Path]:
    """What the Mattermost, Matrix, Teams and SMTP fakes received: raw JSON and a readable digest per kind."""
    folder = out / "notify"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    files: dict[str, Path] = {}
    readable: dict[str, list[str]] = {
        "mattermost": [
            p["message"] + "".join(f"\n\n[{a['title']}]\n{a['text']}" for a in p["props"].get("attachments", []))
            for p in world.notify_posts.get("mattermost", [])
        ],
        "matrix": [e["content"].get("body", "") for e in world.notify_posts.get("matrix", [])],
        "teams": [
            "\n".join(b.get("text", "") for a in p["message"]["attachments"] for b in a["content"].get("body", []))
            for p in world.notify_posts.get("teams", [])
        ],
        "email": [
            "\n".join(f"{k}: {v}" for k, v in m["headers"].items()) + "\n\n" + (m["text"] or "")
            for m in world.notify_posts.get("email", [])
        ],
    }
    for kind, texts in readable.items():
        raw = folder / f"{kind}.json"
        raw.write_text(json.dumps(world.notify_posts.get(kind, []), indent=2, sort_keys=True), encoding="utf-8")
        text = folder / f"{kind}.txt"
        text.write_text("\n\n----\n\n".join(texts) or "(nothing received)\n", encoding="utf-8")
        files[f"notify/{kind}.json"], files[f"notify/{kind}.txt"] = raw, text
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
    example = result.top_gaps[0]["upstream"] if result.top_gaps else world.under_invested[0]
    database = f"sqlite:///{(options.out / DATABASE_FILE).resolve()}"
    text = f"""# upkeep demo: what you are looking at

upkeep ran its whole pipeline against a **sandbox world** — a generated organisation
(`{", ".join(world.orgs)}`, {len(world.internal_repos)} repositories, {len(world.people)} people) whose
GitHub, GitLab, Forgejo, package registries, Open Collective, Slack, Mattermost, Matrix, Teams and a mail
server are served on 127.0.0.1 by upkeep's own
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
`upkeep explain {example} --database-url {database}` prints the arithmetic behind a row (name any
upstream of the table, by key, URL or name alone), `upkeep upstream {example} --database-url {database}`
everything known about it, and `upkeep status --database-url {database}` the run.

## Ask the store

`UPKEEP_API_TOKENS=choose-a-token upkeep --database-url sqlite:///{(options.out / DATABASE_FILE).resolve()} serve`
serves this store on http://127.0.0.1:8080/: the review at `/`, a page per upstream under `/upstreams`, the JSON
API under `/api/v1/` (its OpenAPI document at `/openapi.json`) and MCP at `/mcp`, the last two for a bearer token.
`upkeep --database-url sqlite:///{(options.out / DATABASE_FILE).resolve()} mcp` serves the same MCP tools over
stdio, for an MCP client that starts upkeep itself. docs/api.md has curl examples and a client configuration.

## Traps the world holds, and what upkeep made of them

{findings}

## The files

- [`review/review.html`](review/review.html) — the quarterly OSPO review (open it in a browser; it is
  self-contained), with [`review.md`](review/review.md), `gaps.csv`, `funding.csv`,
  `contributions.csv`, `usage_by_team.csv` (which teams' repositories drive each gap), `review.json`
  and the Open Source Pledge report beside it.
- [`slack/digest.txt`](slack/digest.txt) — the Slack digest as the sandbox's Slack recorded it
  ([`messages.json`](slack/messages.json) has the raw Block Kit).
- [`notify/`](notify/) — the same digest as the sandbox's Mattermost (Markdown and an attachment),
  Matrix (an `m.notice` with HTML and plain bodies), Teams (an Adaptive Card through a Workflows
  webhook) and mail server (text and HTML over STARTTLS) received it: `KIND.txt` to read, `KIND.json` raw.
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
