"""The deliver stage: turn the digest and the gap issues into outbox rows, then drain the outbox.

Enqueueing is idempotent (deterministic keys, see :mod:`bot.deliver.outbox`); draining marks
each attempt on disk before the remote call and the delivery on disk with the remote id right
after it. A crash in between leaves the row pending with an attempt counted, and the next
run's sink finds the earlier post instead of repeating it. Failures wait with exponential
backoff and become ``dead`` after the configured number of attempts, and are reported every run.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.decisions.fund_lines import fund_currencies
from bot.decisions.rules import hold
from bot.decisions.rules import latest as latest_decision
from bot.deliver.decisions_sync import read_decisions
from bot.deliver.escape import is_safe_key
from bot.deliver.inputs import decision_lines
from bot.deliver.interface import (
    Action,
    Channel,
    Delivery,
    DeliveryError,
    DigestData,
    DuplicateSweeper,
    GapIssueData,
    IssueWatcher,
    Sink,
)
from bot.deliver.issue_bodies import close_payload, gap_marker, render_dashboard, render_gap_issue
from bot.deliver.issue_links import link_stable_hash, load_issue_links
from bot.deliver.outbox import (
    OPEN_STATES,
    PlannedItem,
    RetryPolicy,
    aware,
    change_key,
    content_hash,
    digest_key,
)
from bot.deliver.slack_blocks import build_digest
from bot.gaps.score_stage import load_gap_weights
from bot.gaps.under_invested import UnderInvestment, rank, split
from bot.progress import start_progress
from bot.records import current_key
from bot.store import outbox as store
from bot.store.decisions import load_decisions, load_decisions_recorded_since
from bot.store.renames import load_renames
from bot.store.tables import OutboxRow

log = logging.getLogger(__name__)

AfterSend = Callable[[OutboxRow, str], None]


@dataclass
class DeliverySummary:
    """What one run did (or, dry, would do)."""

    dry_run: bool = False
    enqueued: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0  # rows dead now, including earlier runs'
    waiting: int = 0  # failed rows whose backoff has not passed
    skipped: int = 0  # rows for a channel without a sink (no credentials)
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        verb = "would enqueue" if self.dry_run else "enqueued"
        return (
            f"deliver: {verb} {self.enqueued}, delivered {self.delivered}, failed {self.failed}, "
            f"waiting {self.waiting}, dead {self.dead}, skipped {self.skipped}"
        )


@dataclass
class Plan:
    items: list[PlannedItem] = field(default_factory=list)
    supersede: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def gap_definition(settings: Settings) -> UnderInvestment:
    """The one definition of "under-invested" (``[thresholds]`` of the gap weights file)."""
    return load_gap_weights(settings).thresholds.under_investment()


def select_gap_issues(gaps: Sequence[GapIssueData], definition: UnderInvestment) -> list[GapIssueData]:
    """The under-invested upstreams, highest priority first (:func:`bot.gaps.under_invested.rank`)."""
    return rank(gaps, definition, lambda g: g.recommended_amount)


def _change(
    plan: Plan,
    latest: OutboxRow | None,
    *,
    channel: Channel,
    target: str,
    subject: str,
    action: Action,
    payload: dict[str, Any],
    identity: tuple[int, str | None] | None = None,
) -> None:
    digest = content_hash({"action": action, **payload})
    if latest is not None and latest.content_hash == digest:
        return  # unchanged since the last change of this subject (delivered, due, or dead)
    if identity is not None:  # not hashed: knowing the number is not a change of content
        payload = {**payload, "number": identity[0], "title_set": identity[1]}
    previous = latest.key if latest is not None else None
    key = change_key(channel, target, subject, digest, previous)
    plan.items.append(PlannedItem(key, channel, target, subject, action, payload, digest, previous))
    if latest is not None and latest.state in OPEN_STATES:
        plan.supersede.append(latest.key)


def plan_deliveries(
    session: Session,
    settings: Settings,
    digest: DigestData | None,
    gap_issues: Sequence[GapIssueData] | None,
    *,
    now: datetime | None = None,
    unread: Mapping[str, Sequence[str]] | None = None,
) -> Plan:
    """The outbox rows this input adds, given what the outbox already holds. Reads only.

    ``unread``: per issue subject, the fund lines a person wrote that could not be read, shown
    with their reasons in upkeep's section of that issue.

    A person's decision that still holds (:mod:`bot.decisions.rules`) keeps its upstream out of the
    issues: its issue is neither updated, reopened nor closed, and the dashboard shows the decision.
    """
    plan = Plan()
    repository = settings.issues.repository
    if gap_issues is not None and repository:
        moment = now or datetime.now(UTC)
        selected = select_gap_issues(gap_issues, gap_definition(settings))
        decided = latest_decision(load_decisions(session))
        holds = {
            g.upstream: hold(decided.get(g.upstream), gap=g.gap, now=moment, settings=settings.decisions)
            for g in selected
        }
        held = {key for key, h in holds.items() if h.held}
        issued, _listed = split(selected, max_open=settings.issues.max_open, held=held)
        latest = store.load_latest_by_subject(session, channel="github", target=repository, prefix="gap:")
        identities = store.load_issue_identities(session, target=repository)
        renames = load_renames(session)
        wanted: set[str] = set()
        listed = {g.upstream for g in selected} - {g.upstream for g in issued}
        for gap in issued:
            subject = f"gap:{gap.upstream}"
            decision = decided.get(gap.upstream)
            try:
                payload = render_gap_issue(
                    gap,
                    organisation=settings.organisation,
                    labels=settings.issues.labels,
                    decision=decision.words() if decision is not None else None,
                    unread=(unread or {}).get(subject, ()),
                )
            except ValueError as exc:
                plan.notes.append(f"issue {gap.upstream}: skipped: {exc}")
                continue
            back = holds[gap.upstream].why
            if back:  # a holding decision ended: say why, in a comment, if the issue is reopened
                payload = {**payload, "reopen_note": back}
            formerly = sorted(old for old, new in renames.items() if new == gap.upstream and is_safe_key(old))
            if formerly:  # its issue may still carry an old name's marker: the sink takes that issue over
                payload = {**payload, "adopt": [gap_marker(old) for old in formerly]}
            wanted.add(subject)
            _change(
                plan,
                latest.get(subject),
                channel="github",
                target=repository,
                subject=subject,
                action="open",
                payload=payload,
                identity=identities.get(subject)
                or next((identities[f"gap:{old}"] for old in formerly if f"gap:{old}" in identities), None),
            )
        for subject, row in sorted(latest.items()):
            renamed = f"gap:{current_key(subject.removeprefix('gap:'), renames)}"
            if subject not in wanted and renamed not in wanted and row.action == "open":
                key = current_key(subject.removeprefix("gap:"), renames)
                if key in held:  # closed by the person already, or closed now as their decision says
                    payload = close_payload(
                        gap_marker(subject.removeprefix("gap:")), subject, why=holds[key].why, held=True
                    )
                elif key in listed:
                    top = f"is no longer among the top {settings.issues.max_open} under-invested upstreams"
                    payload = close_payload(gap_marker(subject.removeprefix("gap:")), subject, why=top)
                else:
                    payload = close_payload(gap_marker(subject.removeprefix("gap:")), subject)
                _change(
                    plan,
                    row,
                    channel="github",
                    target=repository,
                    subject=subject,
                    action="close",
                    payload=payload,
                    identity=identities.get(subject),
                )
        numbers = {key.removeprefix("gap:"): number for key, (number, _) in identities.items()}
        issued_keys = {g.upstream for g in issued}
        status = {
            g.upstream: (holds[g.upstream].why if g.upstream in held else (decided[g.upstream].words()))
            for g in selected
            if g.upstream in held or g.upstream in decided
        }
        dashboard = render_dashboard(
            selected,
            organisation=settings.organisation,
            settings=settings.issues,
            issued=len(issued),
            numbers={k: n for k, n in numbers.items() if k in issued_keys or k in held},
            status=status,
            snooze_days=settings.decisions.snooze_days,
            unread=(unread or {}).get("dashboard", ()),
        )
        previous = store.load_latest(session, channel="github", target=repository, subject="dashboard")
        _change(
            plan,
            previous,
            channel="github",
            target=repository,
            subject="dashboard",
            action="open",
            payload=dashboard,
            identity=identities.get("dashboard"),
        )
    elif gap_issues is not None:
        plan.notes.append("issues: no [issues] repository configured; no GitHub issues planned")

    if digest is not None:
        # Every upstream the digest names links to its issue, by the numbers stored so far; and the decisions
        # this run read (after the digest's inputs were built) are news too.
        recorded = decision_lines(load_decisions_recorded_since(session, since=digest.since))
        fresh = tuple(line for line in recorded if line not in digest.decisions)
        digest = replace(digest, links=load_issue_links(session, settings), decisions=digest.decisions + fresh)
    channel_id = settings.slack.channel
    if digest is not None and channel_id:
        key = digest_key(channel_id, digest.period)
        if not (digest.is_material() or settings.slack.always_send):
            plan.notes.append(f"digest {digest.period}: nothing material changed since the last digest; not sent")
        else:
            message = build_digest(digest, top_gaps=settings.slack.top_gaps)
            # ``state`` is not posted: the next digest reads it to say what changed since this one.
            state = {"gaps": [gap.upstream for gap in digest.top_gaps], "given_total": digest.given_total}
            payload = {"text": message.text, "blocks": message.blocks, "state": state}
            posted = store.load_row(session, key=key)
            if posted is None:
                plan.items.append(
                    PlannedItem(
                        key, "slack", channel_id, "digest", "post", payload, link_stable_hash(payload, settings), None
                    )
                )
            else:  # one message per week: a rerun that says something new edits it in place
                latest_digest = store.load_latest(session, channel="slack", target=channel_id, subject="digest")
                digest_hash = link_stable_hash(payload, settings)
                if (
                    latest_digest is not None
                    and latest_digest.content_hash != digest_hash
                    and posted.state == "delivered"
                    and posted.remote_id
                    and not posted.remote_id.startswith("webhook:")
                ):
                    edit = f"{key}:edit:{digest_hash[:20]}"
                    if store.load_row(session, key=edit) is None:
                        plan.items.append(
                            PlannedItem(
                                edit,
                                "slack",
                                channel_id,
                                "digest",
                                "update",
                                {**payload, "ts": posted.remote_id},
                                digest_hash,
                                latest_digest.key,
                            )
                        )
                        if latest_digest.state in OPEN_STATES:
                            plan.supersede.append(latest_digest.key)
    elif digest is not None and not settings.notify:
        plan.notes.append("digest: no [slack] channel or [[notify]] entry configured; no digest planned")
    if digest is not None and settings.notify:
        from bot.notify.plan import plan_notify_digests

        items, notes = plan_notify_digests(session, settings, digest, planned=[item.key for item in plan.items])
        plan.items += items
        plan.notes += notes
    return plan


def _policy(settings: Settings, channel: str, target: str) -> RetryPolicy:
    from bot.notify.plan import notify_policy

    configured = notify_policy(settings, channel, target)
    if configured is not None:
        return configured
    if channel != "github":
        return RetryPolicy(settings.slack.max_attempts, settings.slack.retry_backoff_seconds)
    return RetryPolicy(settings.issues.max_attempts, settings.issues.retry_backoff_seconds)


def _describe(item: PlannedItem) -> str:
    if item.channel not in ("slack", "github"):
        return f"would send the digest to {item.channel} {item.target} ({item.key}):\n{item.payload['text']}"
    if item.channel == "slack":
        return (
            f"would post to Slack {item.target} ({item.key}):\n"
            f"text: {item.payload['text']}\nblocks: {json.dumps(item.payload['blocks'], ensure_ascii=False)}"
        )
    marker = item.payload["marker"]
    if item.action == "close":
        return f"would close the issue marked {marker} in {item.target}, commenting:\n{item.payload['comment']}"
    return (
        f"would open or update the issue marked {marker} in {item.target} ({item.key}):\n"
        f"title: {item.payload['title']}\nlabels: {', '.join(item.payload['labels'])}\nbody:\n{item.payload['body']}"
    )


def _enqueue(engine: Engine, plan: Plan, now: datetime) -> None:
    rows = [
        OutboxRow(
            key=item.key,
            channel=item.channel,
            target=item.target,
            subject=item.subject,
            action=item.action,
            content_hash=item.content_hash,
            previous_key=item.previous_key,
            payload=dict(item.payload),
            state="pending",
            created_at=now,
            updated_at=now,
        )
        for item in plan.items
    ]
    store.save_new_rows(engine, rows, supersede=plan.supersede)


def _drain(
    engine: Engine,
    settings: Settings,
    sinks: Mapping[str, Sink],
    summary: DeliverySummary,
    now: datetime,
    after_send: AfterSend | None,
) -> None:
    with Session(engine) as session:
        due = store.load_due(session, now=now)
    for row in start_progress("deliver", total=len(due), unit="deliveries").each(due):
        assert row.id is not None
        sink = sinks.get(row.channel)
        if sink is None:
            summary.skipped += 1
            continue
        attempts = row.attempts + 1
        store.save_attempt(engine, row_id=row.id, attempts=attempts, now=now)
        item = Delivery(
            key=row.key,
            channel=sink.channel,
            target=row.target,
            subject=row.subject,
            action=cast(Action, row.action),
            payload=row.payload,
            created_at=aware(row.created_at),
        )
        try:
            remote_id = sink.deliver(item, maybe_sent=row.attempts > 0)
        except DeliveryError as exc:
            policy = _policy(settings, row.channel, row.target)
            state, next_at = policy.after_failure(attempts, now, permanent=exc.permanent)
            store.save_failure(engine, row_id=row.id, state=state, error=str(exc), next_attempt_at=next_at, now=now)
            summary.failed += 1
            log.warning("delivery failed", extra={"key": row.key, "attempt": attempts, "state": state})
            continue
        if after_send is not None:
            after_send(row, remote_id)  # tests inject a crash here: posted, not yet recorded
        store.save_delivered(engine, row_id=row.id, remote_id=remote_id, now=now)
        summary.delivered += 1
    for sink in sinks.values():
        if isinstance(sink, DuplicateSweeper):
            try:
                for closed in sink.close_duplicates():
                    summary.notes.append(f"closed duplicate {closed}")
            except DeliveryError as exc:
                summary.notes.append(str(exc))


def _dashboard_keys(plan: Plan) -> set[str]:
    return {item.previous_key for item in plan.items if item.subject == "dashboard" and item.previous_key}


def _without_dashboard(plan: Plan) -> Plan:
    keys = _dashboard_keys(plan)
    items = [item for item in plan.items if item.subject != "dashboard"]
    return Plan(items, [key for key in plan.supersede if key not in keys], plan.notes)


def _dashboard_only(plan: Plan) -> Plan:
    keys = _dashboard_keys(plan)
    items = [item for item in plan.items if item.subject == "dashboard"]
    return Plan(items, [key for key in plan.supersede if key in keys])


def deliver(
    engine: Engine,
    settings: Settings,
    digest: DigestData | None,
    gap_issues: Sequence[GapIssueData] | None,
    *,
    sinks: Mapping[str, Sink],
    now: datetime,
    dry_run: bool = False,
    echo: Callable[[str], None] = print,
    after_send: AfterSend | None = None,
) -> DeliverySummary:
    """Enqueue what ``digest`` and ``gap_issues`` call for, then deliver every due outbox row.

    ``None`` inputs plan nothing for that channel (their stage has not run) but the outbox is
    still drained. ``dry_run`` prints every planned post or change, and every row that would be
    retried, and touches neither the store nor any remote service.
    """
    summary = DeliverySummary(dry_run=dry_run)
    watcher = sinks.get("github")
    unread: dict[str, list[str]] = {}
    if not dry_run and gap_issues is not None and settings.issues.repository and isinstance(watcher, IssueWatcher):
        # What people did in the OSPO repository since the last run counts before anything is planned.
        read = read_decisions(
            engine,
            watcher,
            repository=settings.issues.repository,
            gaps=gap_issues,
            now=now,
            currencies=fund_currencies(settings),
        )
        summary.notes.extend(read.notes)
        unread = read.unread
    with Session(engine) as session:
        # A dry run plans everything at once; a real run plans the digest only after the issues are
        # delivered (below), so that it links them by their numbers.
        plan = plan_deliveries(session, settings, digest if dry_run else None, gap_issues, now=now, unread=unread)
        due = store.load_due(session, now=now)
        unfinished = store.load_unfinished(session)
    summary.notes.extend(plan.notes)
    summary.enqueued = len(plan.items)
    if dry_run:
        for item in plan.items:
            echo(_describe(item))
        superseded = set(plan.supersede)
        for row in due:
            if row.key not in superseded:
                echo(f"would retry {row.key} (attempt {row.attempts + 1}, last error: {row.last_error or 'none'})")
    else:
        # Issues, then the dashboard, then the digests: each links what the drain before it numbered.
        first = _without_dashboard(plan)
        _enqueue(engine, first, now)
        _drain(engine, settings, sinks, summary, now, after_send)
        with Session(engine) as session:
            again = _dashboard_only(plan_deliveries(session, settings, None, gap_issues, now=now, unread=unread))
        if again.items:
            _enqueue(engine, again, now)
            _drain(engine, settings, sinks, summary, now, after_send)
        with Session(engine) as session:
            digests = plan_deliveries(session, settings, digest, None, now=now)
        summary.notes.extend(digests.notes)
        summary.enqueued = len(first.items) + len(again.items) + len(digests.items)
        if digests.items:
            _enqueue(engine, digests, now)
            _drain(engine, settings, sinks, summary, now, after_send)
        with Session(engine) as session:
            unfinished = store.load_unfinished(session)
    summary.waiting = sum(1 for row in unfinished if row.next_attempt_at and aware(row.next_attempt_at) > now)
    with Session(engine) as session:
        dead = store.load_dead(session)
    summary.dead = len(dead)
    for row in dead:
        summary.notes.append(f"dead after {row.attempts} attempts: {row.key}: {row.last_error}")
    for note in summary.notes:
        echo(note)
    echo(summary.line())
    return summary
