"""Read what people did in the OSPO repository back into decisions, before anything is planned.

A gap issue upkeep left open and a person closed is a decision: "not planned" a decline,
"completed" a done (who and when from the issue's ``closed`` event). A holding decision whose
issue a person opened again is ended by a ``reopen``. A ticked dashboard box is a decision of its
kind (who and when from the body's edit history). A line ``fund: 5000 USD`` a person wrote in a gap
issue, or ``fund HOST/OWNER/NAME: 5000 USD`` on the dashboard, is planned money
(:mod:`bot.decisions.fund_lines`; who and when from the revision that added it); a line that cannot
be read comes back with its reason, shown in upkeep's section of that issue. Each decision is stored
once (:func:`bot.store.decisions.save_decisions`); upkeep's own closes are never read as decisions.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.decisions.dashboard import Revision, first_shown, ticked, who_ticked
from bot.decisions.fund_lines import BadLine, FundLine, parse_fund_lines
from bot.decisions.interface import Decision, DecisionKind, DecisionSource
from bot.decisions.rules import latest
from bot.deliver.interface import DeliveryError, GapIssueData, IssueWatcher, WatchedIssue
from bot.deliver.issue_bodies import outside_section
from bot.deliver.outbox import aware
from bot.records import current_key
from bot.store import outbox as outbox_store
from bot.store.decisions import load_decisions, save_decisions
from bot.store.evidence import load_upstream_keys
from bot.store.renames import load_renames

_CLOSES: dict[str, DecisionKind] = {"not_planned": "decline", "completed": "done"}


@dataclass
class SyncResult:
    """What reading the OSPO repository gave: a line per decision recorded or failure, and per issue
    subject (``gap:HOST/OWNER/NAME``, ``dashboard``) the fund lines that could not be read."""

    notes: list[str] = field(default_factory=list)
    unread: dict[str, list[str]] = field(default_factory=dict)


def _upstream_namer(known_keys: set[str], renames: dict[str, str]) -> Callable[[str], str | None]:
    def name(written: str) -> str | None:
        key = written.strip().lower().removeprefix("https://").removeprefix("http://").removesuffix(".git").strip("/")
        key = current_key(key, renames)
        return key if key in known_keys else None

    return name


def _fund_decisions(
    watcher: IssueWatcher,
    issue: WatchedIssue,
    plans: Sequence[FundLine],
    *,
    source: DecisionSource,
    ref: str,
    stored: Sequence[Decision],
    gap_of: dict[str, float],
) -> list[Decision]:
    """The plans not recorded yet, each with who wrote its line and when (from the body's revisions)."""
    newest: dict[str, FundLine] = {plan.upstream: plan for plan in plans}  # the last line per upstream counts
    last_read = {d.upstream: d for d in stored if d.kind == "fund" and d.source_ref == ref}
    fresh = [
        p
        for p in newest.values()
        if (d := last_read.get(p.upstream)) is None or (d.amount, d.currency) != (p.amount, p.currency)
    ]
    if not fresh:
        return []
    revisions = [Revision(r.editor, aware(r.edited_at), r.body) for r in watcher.revisions(issue.number)]
    found = []
    for plan in fresh:
        wrote = first_shown(_has_line(plan.text), revisions)
        actor, at = (wrote.editor or "unknown", wrote.edited_at) if wrote else ("unknown", aware(issue.updated_at))
        found.append(
            Decision(
                plan.upstream,
                "fund",
                actor,
                at,
                source,
                ref,
                amount=plan.amount,
                currency=plan.currency,
                note=plan.note,
                gap=gap_of.get(plan.upstream),
            )
        )
    return found


def _has_line(line: str) -> Callable[[str], bool]:
    return lambda body: any(part.strip() == line for part in outside_section(body).splitlines())


def read_decisions(
    engine: Engine,
    watcher: IssueWatcher,
    *,
    repository: str,
    gaps: Sequence[GapIssueData],
    now: datetime,
    currencies: Collection[str] = (),
) -> SyncResult:
    """Store the decisions people took since the last run; a line for each and for what failed, and the
    fund lines that could not be read (``currencies``: the codes upkeep can convert)."""
    gap_of = {g.upstream: g.gap for g in gaps}
    with Session(engine) as session:
        identities = outbox_store.load_issue_identities(session, target=repository)
        rows = outbox_store.load_latest_by_subject(session, channel="github", target=repository, prefix="gap:")
        stored = load_decisions(session)
        known = latest(stored)
        namer = _upstream_namer(load_upstream_keys(session) | set(gap_of), load_renames(session))
    result = SyncResult()
    numbers = {subject: number for subject, (number, _) in identities.items()}
    try:
        watched = watcher.watch(numbers)
    except DeliveryError as exc:
        return SyncResult([f"decisions: not read this run: {exc}"])
    found: list[Decision] = []
    notes = result.notes
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
                seen = decision is not None and decision.source_ref == ref and decision.decided_at >= at
                if kind is not None and not seen:
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
        person = outside_section(issue.body)
        plans, bad = parse_fund_lines(person, upstream=upstream, known=namer, currencies=currencies)
        _note_bad(result, subject, bad)
        try:
            found += _fund_decisions(watcher, issue, plans, source="issue", ref=ref, stored=stored, gap_of=gap_of)
        except DeliveryError as exc:
            notes.append(f"decisions: {upstream}: fund lines not read this run: {exc}")
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
        person = outside_section(dashboard.body)
        plans, bad = parse_fund_lines(person, upstream=None, known=namer, currencies=currencies)
        _note_bad(result, "dashboard", bad)
        ref = f"{repository}#{dashboard.number}"
        try:
            found += _fund_decisions(
                watcher, dashboard, plans, source="dashboard", ref=ref, stored=stored, gap_of=gap_of
            )
        except DeliveryError as exc:
            notes.append(f"decisions: dashboard: fund lines not read this run: {exc}")
    added = save_decisions(engine, found, now=now)
    notes += [f"decision recorded: {d.upstream}: {d.words()}" for d in added]
    return result


def _note_bad(result: SyncResult, subject: str, bad: Sequence[BadLine]) -> None:
    if bad:
        result.unread[subject] = [line.words() for line in bad]
        result.notes += [f"decisions: {subject}: fund line not read: {line.words()}" for line in bad]
