"""Read what people did in the OSPO repository back into decisions, before anything is planned.

A gap issue upkeep left open and a person closed is a decision: "not planned" a decline,
"completed" a done (who and when from the issue's ``closed`` event). A holding decision whose
issue a person opened again is ended by a ``reopen``. A ticked dashboard box is a decision of its
kind (who and when from the body's edit history). Each is stored once
(:func:`bot.store.decisions.save_decisions`); upkeep's own closes are never read as decisions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.decisions.dashboard import Revision, ticked, who_ticked
from bot.decisions.interface import Decision, DecisionKind
from bot.decisions.rules import latest
from bot.deliver.interface import DeliveryError, GapIssueData, IssueWatcher
from bot.deliver.outbox import aware
from bot.store import outbox as outbox_store
from bot.store.decisions import load_decisions, save_decisions

_CLOSES: dict[str, DecisionKind] = {"not_planned": "decline", "completed": "done"}


def read_decisions(
    engine: Engine,
    watcher: IssueWatcher,
    *,
    repository: str,
    gaps: Sequence[GapIssueData],
    now: datetime,
) -> list[str]:
    """Store the decisions people took since the last run; return a line for each, and for what failed."""
    gap_of = {g.upstream: g.gap for g in gaps}
    with Session(engine) as session:
        identities = outbox_store.load_issue_identities(session, target=repository)
        rows = outbox_store.load_latest_by_subject(session, channel="github", target=repository, prefix="gap:")
        known = latest(load_decisions(session))
    numbers = {subject: number for subject, (number, _) in identities.items()}
    try:
        watched = watcher.watch(numbers)
    except DeliveryError as exc:
        return [f"decisions: not read this run: {exc}"]
    found: list[Decision] = []
    notes: list[str] = []
    for subject, issue in sorted(watched.items()):
        if not subject.startswith("gap:"):
            continue
        upstream = subject.removeprefix("gap:")
        row = rows.get(subject)
        ref = f"{repository}#{issue.number}"
        decision = known.get(upstream)
        try:
            if issue.state == "closed" and row is not None and row.action == "open" and issue.closed_at is not None:
                kind = _CLOSES.get(issue.state_reason or "")
                at = aware(issue.closed_at)
                if kind is None or (decision is not None and decision.source_ref == ref and decision.decided_at >= at):
                    continue
                closed = [e for e in watcher.events(issue.number) if e.event == "closed"]
                actor = (closed[-1].actor if closed else None) or "unknown"
                found.append(Decision(upstream, kind, actor, at, "issue", ref, gap=gap_of.get(upstream)))
            elif (
                issue.state == "open"
                and decision is not None
                and decision.kind in ("decline", "done")
                and decision.source_ref == ref
            ):
                reopened = [e for e in watcher.events(issue.number) if e.event == "reopened"]
                if reopened and aware(reopened[-1].at) > decision.decided_at:
                    actor = reopened[-1].actor or "unknown"
                    found.append(Decision(upstream, "reopen", actor, aware(reopened[-1].at), "issue", ref))
        except DeliveryError as exc:
            notes.append(f"decisions: {upstream}: not read this run: {exc}")
    dashboard = watched.get("dashboard")
    if dashboard is not None:
        boxes = ticked(dashboard.body)
        if boxes:
            ref = f"{repository}#{dashboard.number}"
            try:
                revisions = [
                    Revision(r.editor, aware(r.edited_at), r.body) for r in watcher.revisions(dashboard.number)
                ]
            except DeliveryError as exc:
                revisions = []
                notes.append(f"decisions: dashboard edit history not read, ticks recorded without who: {exc}")
            for tick in who_ticked(boxes, revisions, fallback_at=aware(dashboard.updated_at)):
                control: DecisionKind = tick.kind  # type: ignore[assignment]  # one of CONTROLS
                found.append(
                    Decision(
                        tick.upstream, control, tick.actor, tick.at, "dashboard", ref, gap=gap_of.get(tick.upstream)
                    )
                )
    added = save_decisions(engine, found, now=now)
    return notes + [f"decision recorded: {d.upstream}: {d.words()}" for d in added]
