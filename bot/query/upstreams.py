"""Upstreams: the latest snapshot as a filterable, sortable list, and one upstream's whole record.

Every number comes from the stored snapshot or the stage's own store reads (the same ones
``upkeep upstream`` and ``upkeep explain`` print), never recomputed here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.config import Settings
from bot.gaps.explain import explain
from bot.gaps.interface import GapScore, GapSnapshot, NotScored
from bot.query.decisions import load_current_decisions, load_decisions
from bot.query.models import (
    ContributionCount,
    DriftEvent,
    Explanation,
    MoneyAmount,
    OperandOut,
    PackageUse,
    SignalValueOut,
    SortKey,
    TeamUsageOut,
    TermOut,
    UpstreamPage,
    UpstreamRecord,
    UpstreamSummary,
)
from bot.records import current_key
from bot.report.quarters import Quarter
from bot.sources.evidence_stage import money_by_upstream
from bot.store import evidence as evidence_store
from bot.store import signals as signals_store
from bot.store.gaps import latest_snapshots, load_score, load_scores
from bot.store.lookups import load_ecosystems_by_upstream, load_package_uses
from bot.store.renames import load_renames
from bot.store.review import load_upstream_teams
from bot.store.tables import UpstreamRow

SIGNAL_FIELDS = (
    "archived",
    "deprecated",
    "last_commit_at",
    "last_release_at",
    "commits_12m",
    "active_maintainers",
    "bus_factor",
    "elephant_factor",
    "licence",
    "licence_class",
    "licence_repo",
    "licence_registry",
    "governance",
    "owner_type",
    "has_sponsors_listing",
    "scorecard",
    "contributor_agreement",
)

_SORTS: dict[str, Callable[[UpstreamSummary], float | str]] = {
    "priority": lambda s: s.priority if s.priority is not None else float("-inf"),
    "gap": lambda s: s.gap if s.gap is not None else float("-inf"),
    "risk": lambda s: s.risk if s.risk is not None else float("-inf"),
    "usage": lambda s: s.usage_share if s.usage_share is not None else float("-inf"),
    "recommended": lambda s: s.recommended if s.recommended is not None else float("-inf"),
    "repos": lambda s: float(s.repos),
}


def normalise_key(key: str) -> str:
    """``HOST/OWNER/NAME`` as stored: trimmed, no surrounding slashes, lower-cased."""
    return key.strip().strip("/").lower()


def summary_of(
    score: GapScore, *, ecosystems: list[str], team: str | None, decision: str | None = None
) -> UpstreamSummary:
    return UpstreamSummary(
        upstream=score.upstream,
        ecosystems=ecosystems,
        team=team,
        repos=score.repos,
        scored=True,
        usage_share=score.usage_share,
        expected_share=score.expected_share,
        investment_share=score.investment_share,
        gap=score.gap,
        risk=score.risk,
        risk_signals=list(score.risk_signals),
        priority=score.priority,
        recommended=score.recommended,
        given=score.given,
        decision=decision,
        usage_by_team=[
            TeamUsageOut(team=part.team, repos=part.repos, usage=part.usage, share=share, recommended=recommended)
            for part, share, recommended in score.team_parts()
        ],
    )


def not_scored_summary(
    left_out: NotScored, *, ecosystems: list[str], team: str | None, decision: str | None = None
) -> UpstreamSummary:
    return UpstreamSummary(
        upstream=left_out.upstream,
        ecosystems=ecosystems,
        team=team,
        repos=left_out.repos,
        scored=False,
        not_scored_reason=left_out.reason,
        usage_share=None,
        expected_share=None,
        investment_share=None,
        gap=None,
        risk=None,
        risk_signals=[],
        priority=None,
        recommended=None,
        given=None,
        decision=decision,
    )


def _all_summaries(engine: Engine, snapshot: GapSnapshot) -> list[UpstreamSummary]:
    ecosystems = load_ecosystems_by_upstream(engine)
    teams = load_upstream_teams(engine)
    decisions = load_current_decisions(engine)
    rows = [
        summary_of(
            s, ecosystems=ecosystems.get(s.upstream, []), team=teams.get(s.upstream), decision=decisions.get(s.upstream)
        )
        for s in load_scores(engine, snapshot_id=snapshot.id, with_terms=False)
    ]
    rows += [
        not_scored_summary(
            n, ecosystems=ecosystems.get(n.upstream, []), team=teams.get(n.upstream), decision=decisions.get(n.upstream)
        )
        for n in snapshot.not_scored
    ]
    return rows


def list_upstreams(
    engine: Engine,
    *,
    ecosystem: str | None = None,
    team: str | None = None,
    decision: str | None = None,
    min_gap: float | None = None,
    scored: bool | None = None,
    sort: SortKey = "priority",
    descending: bool = True,
    offset: int = 0,
    limit: int = 50,
) -> UpstreamPage:
    """The latest snapshot's upstreams, filtered, sorted (ties by key) and paged.

    Upstreams left out of the model are listed too (``scored`` false, with the reason) so nothing
    used disappears from the list; ``min_gap`` or ``scored=True`` leaves them out.
    """
    snapshots = latest_snapshots(engine, limit=1)
    if not snapshots:
        return UpstreamPage(
            snapshot_id=None,
            snapshot_at=None,
            currency=None,
            total=0,
            offset=offset,
            limit=limit,
            items=[],
            note="no gap snapshot yet: run `upkeep score`",
        )
    snapshot = snapshots[0]
    rows = _all_summaries(engine, snapshot)
    if ecosystem is not None:
        rows = [r for r in rows if ecosystem.lower() in r.ecosystems]
    if team is not None:
        rows = [r for r in rows if r.team == team]
    if decision is not None:
        rows = [r for r in rows if r.decision == decision]
    if scored is not None:
        rows = [r for r in rows if r.scored is scored]
    if min_gap is not None:
        rows = [r for r in rows if r.gap is not None and r.gap >= min_gap]
    rows.sort(key=lambda r: r.upstream)
    if sort == "upstream":
        rows.sort(key=lambda r: r.upstream, reverse=descending)
    else:
        rows.sort(key=_SORTS[sort], reverse=descending)
    return UpstreamPage(
        snapshot_id=snapshot.id,
        snapshot_at=snapshot.created_at,
        currency=snapshot.currency,
        total=len(rows),
        offset=offset,
        limit=limit,
        items=rows[offset : offset + limit],
    )


def terms_of(score: GapScore) -> list[TermOut]:
    return [
        TermOut(
            name=t.name,
            value=t.value,
            op=t.op,
            operands=[OperandOut(label=o.label, value=o.value, ref=o.ref) for o in t.operands],
            note=t.note,
            text=t.text(),
        )
        for t in score.terms
    ]


def _signal_value(value: object) -> str | int | float | bool | None:
    if isinstance(value, datetime):
        aware = signals_store.aware(value)
        return aware.isoformat() if aware else None
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _contributions(session: Session, upstream: str, now: datetime, window_days: int) -> list[ContributionCount]:
    """Per person, quarter and kind within the trailing window, counted as the evidence stage counts them."""
    start = now - timedelta(days=window_days)
    found: dict[tuple[str, str, str], int] = defaultdict(int)
    quarter = Quarter.of(now.date())
    while True:
        q_start = max(start, datetime.combine(quarter.start, datetime.min.time(), tzinfo=now.tzinfo))
        q_end = min(now, datetime.combine(quarter.next().start, datetime.min.time(), tzinfo=now.tzinfo))
        counts = evidence_store.load_contribution_counts(session, start=q_start, end=q_end, bounds="(start, end]")
        for person, repos in counts.items():
            for kind, n in repos.get(upstream, {}).items():
                found[(person, str(quarter), kind)] += n
        if q_start <= start:
            break
        quarter = quarter.previous()
    return [ContributionCount(person=p, quarter=q, kind=k, count=n) for (p, q, k), n in sorted(found.items()) if n > 0]


def upstream_record(engine: Engine, settings: Settings, key: str, *, now: datetime) -> UpstreamRecord:
    """Everything known about one upstream (renamed ones under their current name)."""
    window_days = settings.gaps.window_days
    with Session(engine) as session:
        renames = load_renames(session)
        name = current_key(normalise_key(key), renames)
        formerly = sorted(old for old, new in renames.items() if new == name)
        row = session.exec(select(UpstreamRow).where(UpstreamRow.key == name)).first()
        resolutions = signals_store.load_packages_by_upstream(session, upstream_keys=[name]).get(name, [])
        history = signals_store.load_signal_history(session, upstream_key=name)
        drifts = signals_store.load_drifts(session, upstream_key=name)
        contributions_gathered = bool(evidence_store.load_checkpoints(session))
        contributions = _contributions(session, name, now, window_days) if contributions_gathered else []
        payments = evidence_store.load_payments(session)
    start = now - timedelta(days=window_days)
    money, _ = money_by_upstream(p for p in payments if start < p.paid_on <= now)
    uses = load_package_uses(engine, package_keys=[p.package_key for p in resolutions])
    repos_by_package: dict[str, set[str]] = defaultdict(set)
    for use in uses:
        repos_by_package[use.package_key].add(use.repository)
    packages = [
        PackageUse(
            package=p.package_key,
            ecosystem=p.ecosystem,
            status=p.status,
            subdirectory=p.subdirectory,
            provenance=p.provenance,
            repositories=sorted(repos_by_package.get(p.package_key, set())),
        )
        for p in sorted(resolutions, key=lambda p: p.package_key)
    ]
    latest = history[0] if history else None
    signals = (
        [
            SignalValueOut(name=f, value=_signal_value(getattr(latest, f)), source=latest.sources.get(f))
            for f in SIGNAL_FIELDS
        ]
        if latest is not None
        else []
    )
    summary, terms, explanation = None, [], None
    snapshots = latest_snapshots(engine, limit=1)
    decisions = load_decisions(engine, upstream=name)
    standing = decisions[0].decision if decisions else None
    if snapshots:
        snapshot = snapshots[0]
        ecosystems = sorted({p.ecosystem for p in resolutions if p.ecosystem})
        team = load_upstream_teams(engine).get(name)
        score = load_score(engine, upstream=name, snapshot_id=snapshot.id)
        left_out = next((n for n in snapshot.not_scored if n.upstream == name), None)
        if score is not None:
            summary = summary_of(score, ecosystems=ecosystems, team=team, decision=standing)
            terms = terms_of(score)
            explanation = explain(score, currency=snapshot.currency)
        elif left_out is not None:
            summary = not_scored_summary(left_out, ecosystems=ecosystems, team=team, decision=standing)
    return UpstreamRecord(
        upstream=name,
        formerly=formerly,
        known=row is not None or bool(resolutions) or bool(history) or summary is not None,
        packages=packages,
        repositories=sorted({u.repository for u in uses}),
        window_days=window_days,
        contributions=contributions,
        contributions_gathered=contributions_gathered,
        money=[
            MoneyAmount(channel=channel, currency=currency, amount=str(amount))
            for channel, currencies in sorted(money.get(name, {}).items())
            for currency, amount in sorted(currencies.items())
        ],
        money_gathered=bool(payments),
        signals_observed_at=signals_store.aware(latest.observed_at) if latest else None,
        signals_scan_id=latest.scan_id if latest else None,
        signals=signals,
        drifts=[
            DriftEvent(
                first_seen_at=signals_store.aware(d.first_seen_at) or d.first_seen_at,
                from_licence=d.from_spdx,
                to_licence=d.to_spdx,
                from_class=d.from_class,
                to_class=d.to_class,
                sovereignty_risk=d.sovereignty_risk,
            )
            for d in drifts
        ],
        decisions=decisions,
        summary=summary,
        terms=terms,
        explanation=explanation,
    )


def explanation(engine: Engine, key: str) -> Explanation:
    """The latest snapshot's score of ``key`` with its arithmetic, or why there is none."""
    with Session(engine) as session:
        name = current_key(normalise_key(key), load_renames(session))
    snapshots = latest_snapshots(engine, limit=1)
    if not snapshots:
        return Explanation(
            upstream=name,
            snapshot_id=None,
            currency=None,
            scored=False,
            reason="no gap snapshot yet; run `upkeep score` first",
            summary=None,
            terms=[],
            explanation=None,
        )
    snapshot = snapshots[0]
    score = load_score(engine, upstream=name, snapshot_id=snapshot.id)
    ecosystems = load_ecosystems_by_upstream(engine).get(name, [])
    team = load_upstream_teams(engine).get(name)
    if score is None:
        left_out = next((n for n in snapshot.not_scored if n.upstream == name), None)
        return Explanation(
            upstream=name,
            snapshot_id=snapshot.id,
            currency=snapshot.currency,
            scored=False,
            reason=(
                f"used by {left_out.repos} repositories, not scored: {left_out.reason}"
                if left_out
                else f"not scored in snapshot {snapshot.id} (not used, or not resolved)"
            ),
            summary=not_scored_summary(left_out, ecosystems=ecosystems, team=team) if left_out else None,
            terms=[],
            explanation=None,
        )
    return Explanation(
        upstream=name,
        snapshot_id=snapshot.id,
        currency=snapshot.currency,
        scored=True,
        reason=None,
        summary=summary_of(score, ecosystems=ecosystems, team=team),
        terms=terms_of(score),
        explanation=explain(score, currency=snapshot.currency),
    )
