"""The deliver stage's inputs, built from the store: the digest and one record per gap issue.

The latest gap snapshot, the resolved packages and SBOM usages, licence drift events, and the
state the last digest recorded. When the gap stage has not run yet it says so instead of failing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.decisions.interface import Decision
from bot.deliver.interface import DigestData, DigestGap, GapIssueData, LicenceDrift, Term
from bot.deliver.outbox import aware
from bot.gaps.figures import given_total, recommended_total
from bot.gaps.interface import GapScore
from bot.gaps.score_stage import load_gap_weights
from bot.gaps.under_invested import rank
from bot.records import current_key
from bot.signals.exits import ExitListError, exit_line, load_configured_exits
from bot.store import outbox as outbox_store
from bot.store.decisions import load_decisions_recorded_since
from bot.store.renames import load_renames


@dataclass
class DeliveryInputs:
    """What the deliver stage gets; ``None`` parts were not available (``missing`` says why)."""

    digest: DigestData | None
    gap_issues: list[GapIssueData] | None
    missing: list[str] = field(default_factory=list)


def iso_week(now: datetime) -> str:
    """The digest period: the ISO week of ``now`` (one digest per channel and week)."""
    year, week, _ = now.isocalendar()
    return f"{year}-W{week:02d}"


def gap_issue_from_score(
    score: GapScore,
    *,
    currency: str,
    packages: Sequence[str] = (),
    internal_repos: Sequence[str] = (),
    credible_exit: str | None = None,
) -> GapIssueData:
    """The issue record for one gap score (terms rendered with their arithmetic)."""
    return GapIssueData(
        upstream=score.upstream,
        display_name=score.upstream.rsplit("/", 1)[-1],
        usage_share=score.usage_share,
        expected_share=score.expected_share,
        investment_share=score.investment_share,
        gap=score.gap,
        risk=score.risk,
        priority=score.priority,
        recommended_amount=score.recommended,
        given_amount=score.given,
        currency=currency,
        terms=tuple(Term(term.name, term.value, term.text()) for term in score.terms),
        risk_flags=score.risk_signals,
        packages=tuple(packages),
        internal_repos=tuple(internal_repos),
        credible_exit=credible_exit,
        not_converted=next(
            (t.note.split("left out: ", 1)[1] for t in score.terms if t.name == "money" and "left out: " in t.note), ""
        ),
    )


def decision_lines(decisions: Sequence[Decision]) -> tuple[str, ...]:
    """The digest's "Decisions" lines, ``HOST/OWNER/NAME: words`` (the form the digests link by)."""
    return tuple(f"{d.upstream}: {d.words()}" for d in decisions)


def load_delivery_inputs(engine: Engine, settings: Settings, now: datetime) -> DeliveryInputs:
    """Build the digest and the issue records from the store; say what is missing instead of failing."""
    from bot.store import gaps as gaps_store
    from bot.store import signals as signals_store

    snapshots = gaps_store.latest_snapshots(engine, limit=1)
    if not snapshots:
        return DeliveryInputs(None, None, ["deliver: no gap snapshot in the store yet (run `upkeep score`)"])
    snapshot = snapshots[0]
    # Every score without its terms (the digest's figures need none), then the terms of the gaps only,
    # which the issues explain: on thousands of upstreams the terms are most of the memory.
    scores = gaps_store.load_scores(engine, snapshot_id=snapshot.id, with_terms=False)
    definition = load_gap_weights(settings).thresholds.under_investment()
    missing: list[str] = []
    try:
        exits = load_configured_exits(settings)
    except ExitListError as exc:  # the issues still go out, without their exits
        exits = {}
        missing.append(f"deliver: no credible exits in the issues: {exc}")
    repos_of = {score.upstream: score.repos for score in scores}
    # The one definition of "under-invested": the digest, the dashboard and the issues count the same list.
    gaps = rank(scores, definition, lambda s: s.recommended)
    keys = [score.upstream for score in gaps]
    explained = (
        {s.upstream: s for s in gaps_store.load_scores(engine, snapshot_id=snapshot.id, upstreams=keys)} if keys else {}
    )
    with Session(engine) as session:
        packages = signals_store.load_packages_by_upstream(session, upstream_keys=keys)
        issues = []
        for ranked in gaps:
            score = explained.get(ranked.upstream, ranked)
            names = sorted(row.package_key for row in packages.get(score.upstream, []))
            repos = signals_store.load_repositories_using(session, package_keys=names) if names else []
            issues.append(
                gap_issue_from_score(
                    score,
                    currency=snapshot.currency,
                    packages=names,
                    internal_repos=repos,
                    credible_exit=exit_line(score.upstream, exits, repos_of),
                )
            )
        # The week's digest says what changed since the last *earlier* week's digest on any channel (Slack or a
        # [[notify]] entry): a rerun this week edits the same message, so it must keep counting from the same point.
        last = outbox_store.load_last_digest(session, not_period=iso_week(now))
        drifts = signals_store.load_drifts(session)
        decisions = load_decisions_recorded_since(session, since=last.delivered_at if last is not None else None)
        renames = load_renames(session)
    state = (last.payload.get("state") or {}) if last is not None else {}
    since = last.delivered_at if last is not None else None
    current = [s.upstream for s in gaps]
    before = {current_key(key, renames) for key in state.get("gaps", ())} if last is not None else set()
    given = given_total(scores)
    digest = DigestData(
        organisation=settings.organisation,
        period=iso_week(now),
        currency=snapshot.currency,
        upstream_count=len(scores),
        usage_total=sum(s.repos for s in scores),
        yearly_budget=snapshot.budget,
        recommended_total=recommended_total(scores),
        given_total=given,
        top_gaps=tuple(
            DigestGap(
                s.upstream,
                s.gap,
                s.risk,
                s.recommended,
                given_amount=s.given,
                usage_share=s.usage_share,
                investment_share=s.investment_share,
            )
            for s in gaps
        ),
        new_gaps=tuple(u for u in current if u not in before),
        closed_gaps=tuple(sorted(before - set(current))),
        licence_drift=tuple(
            LicenceDrift(d.upstream_key, d.from_spdx, d.to_spdx)
            for d in drifts
            if since is None or aware(d.first_seen_at) > aware(since)
        ),
        # Contribution counts are not stored per run yet; money is, through the snapshot's yearly ``given``.
        contributions_since_last=0,
        money_given_since_last=max(0.0, given - float(state.get("given_total", given))),
        review_url=settings.slack.review_url,
        decisions=decision_lines(decisions),
        since=aware(since) if since is not None else None,
    )
    return DeliveryInputs(digest, issues, missing)
