"""History across snapshots: one upstream's numbers over time, and what changed between two snapshots.

The open/closed split is :func:`bot.gaps.trends.diff_scores` (the digest's and the review's), with
the threshold of ``config/gaps.toml``; this module only adds the reasons and the money that came in.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.gaps.interface import GapScore, GapSnapshot, Mover
from bot.gaps.score_stage import load_gap_weights
from bot.gaps.trends import diff_scores
from bot.query.models import Changes, GapChange, HistoryPoint, PaymentIn, RiskChange, UpstreamHistory
from bot.query.upstreams import normalise_key
from bot.records import current_key
from bot.store import evidence as evidence_store
from bot.store.gaps import latest_snapshots, load_scores, load_scores_of
from bot.store.renames import load_renames

ALL_SNAPSHOTS = 10_000


def parse_since(value: str | None) -> datetime | None:
    """``YYYY-MM-DD`` (midnight UTC) or an ISO instant (UTC when it names no offset); ``ValueError`` otherwise."""
    if value is None:
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text) if "T" in text else datetime.combine(date.fromisoformat(text), time())
    except ValueError as exc:
        raise ValueError(f"since {value!r}: not a date (YYYY-MM-DD) or ISO 8601 instant") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def upstream_history(engine: Engine, key: str) -> UpstreamHistory:
    """The upstream's score, usage and investment in every stored snapshot that used it, oldest first."""
    with Session(engine) as session:
        name = current_key(normalise_key(key), load_renames(session))
    points: list[HistoryPoint] = []
    scores = load_scores_of(engine, upstream=name)
    for snapshot in reversed(latest_snapshots(engine, limit=ALL_SNAPSHOTS)):
        score = scores.get(snapshot.id)
        if score is not None:
            points.append(
                HistoryPoint(
                    snapshot_id=snapshot.id,
                    snapshot_at=snapshot.created_at,
                    scored=True,
                    repos=score.repos,
                    usage_share=score.usage_share,
                    risk=score.risk,
                    risk_signals=list(score.risk_signals),
                    investment_share=score.investment_share,
                    gap=score.gap,
                    priority=score.priority,
                    money=score.money,
                    given=score.given,
                    recommended=score.recommended,
                    currency=snapshot.currency,
                )
            )
            continue
        left_out = next((n for n in snapshot.not_scored if n.upstream == name), None)
        if left_out is not None:
            points.append(
                HistoryPoint(
                    snapshot_id=snapshot.id,
                    snapshot_at=snapshot.created_at,
                    scored=False,
                    not_scored_reason=left_out.reason,
                    repos=left_out.repos,
                    usage_share=None,
                    risk=None,
                    risk_signals=[],
                    investment_share=None,
                    gap=None,
                    priority=None,
                    money=None,
                    given=None,
                    recommended=None,
                    currency=snapshot.currency,
                )
            )
    return UpstreamHistory(upstream=name, points=points)


def _pct(value: float) -> str:
    return f"{value:.2%}"


def reasons(before: GapScore | None, after: GapScore | None) -> list[str]:
    """What moved one upstream's gap between two scores, in words a reader can check against the numbers."""
    if before is None and after is not None:
        return [f"newly used: {after.repos} repositories, usage share {_pct(after.usage_share)}"]
    if after is None and before is not None:
        return ["no longer used or no longer scored"]
    assert before is not None and after is not None
    found: list[str] = []
    if after.repos != before.repos:
        found.append(f"repositories using it {before.repos} → {after.repos}")
    if round(after.usage_share, 4) != round(before.usage_share, 4):
        found.append(f"usage share {_pct(before.usage_share)} → {_pct(after.usage_share)}")
    added = sorted(set(after.risk_signals) - set(before.risk_signals))
    removed = sorted(set(before.risk_signals) - set(after.risk_signals))
    if added:
        found.append(f"risk signals added: {', '.join(added)}")
    if removed:
        found.append(f"risk signals gone: {', '.join(removed)}")
    if round(after.investment_share, 4) != round(before.investment_share, 4):
        found.append(f"investment share {_pct(before.investment_share)} → {_pct(after.investment_share)}")
    if not found and round(after.expected_share, 4) != round(before.expected_share, 4):
        found.append(
            f"expected share {_pct(before.expected_share)} → {_pct(after.expected_share)} "
            "(other upstreams' usage or risk moved)"
        )
    return found or ["unchanged inputs"]


def _change(mover: Mover, old: dict[str, GapScore], new: dict[str, GapScore]) -> GapChange:
    return GapChange(
        upstream=mover.upstream,
        gap_before=mover.gap_before,
        gap_after=mover.gap_after,
        recommended_before=mover.recommended_before,
        recommended_after=mover.recommended_after,
        reasons=reasons(old.get(mover.upstream), new.get(mover.upstream)),
    )


def _empty(threshold: float, since: datetime | None, note: str, after: GapSnapshot | None = None) -> Changes:
    return Changes(
        before_snapshot_id=None,
        before_at=None,
        after_snapshot_id=after.id if after else None,
        after_at=after.created_at if after else None,
        since=since,
        threshold=threshold,
        new_gaps=[],
        closed_gaps=[],
        movers=[],
        risk_changes=[],
        money_in=[],
        note=note,
    )


def changes(engine: Engine, settings: Settings, *, since: datetime | None = None, movers: int = 10) -> Changes:
    """The latest snapshot against the last one taken at or before ``since`` (default: the one before it)."""
    thresholds = load_gap_weights(settings).thresholds
    threshold = thresholds.gap
    latest = latest_snapshots(engine, limit=2)
    if not latest:
        return _empty(threshold, since, "no gap snapshot yet: run `upkeep score`")
    after = latest[0]
    if since is None:
        before = latest[1] if len(latest) > 1 else None
    else:
        found = latest_snapshots(engine, limit=1, at_or_before=since)
        before = found[0] if found else None
    if before is None or before.id == after.id:
        note = (
            "only one snapshot so far: nothing to compare"
            if since is None
            else "no snapshot was taken at or before `since` other than the latest"
        )
        return _empty(threshold, since, note, after)
    old = {s.upstream: s for s in load_scores(engine, snapshot_id=before.id, with_terms=False)}
    new = {s.upstream: s for s in load_scores(engine, snapshot_id=after.id, with_terms=False)}
    diff = diff_scores(old.values(), new.values(), threshold=thresholds.under_investment(), movers=movers)
    risk_changes = [
        RiskChange(
            upstream=key,
            risk_before=old[key].risk,
            risk_after=new[key].risk,
            signals_added=sorted(set(new[key].risk_signals) - set(old[key].risk_signals)),
            signals_removed=sorted(set(old[key].risk_signals) - set(new[key].risk_signals)),
        )
        for key in sorted(set(old) & set(new))
        if old[key].risk != new[key].risk or set(old[key].risk_signals) != set(new[key].risk_signals)
    ]
    start = since or before.created_at
    with Session(engine) as session:
        payments = evidence_store.load_payments(session, start=start, end=after.created_at, bounds="(start, end]")
    return Changes(
        before_snapshot_id=before.id,
        before_at=before.created_at,
        after_snapshot_id=after.id,
        after_at=after.created_at,
        since=since,
        threshold=threshold,
        new_gaps=[_change(m, old, new) for m in diff.new_gaps],
        closed_gaps=[_change(m, old, new) for m in diff.closed_gaps],
        movers=[_change(m, old, new) for m in diff.movers],
        risk_changes=risk_changes,
        money_in=[
            PaymentIn(
                paid_on=p.paid_on,
                channel=p.channel,
                payee=p.payee,
                amount=str(p.amount),
                currency=p.currency,
                upstreams=list(p.upstreams),
                attribution=p.attribution,
            )
            for p in payments
        ],
    )
