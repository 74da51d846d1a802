"""Gap snapshots in the store: save one per score run, load them back, and compare the latest two.

Times go in and come back as aware UTC (SQLModel's datetime columns refuse naive values). Terms are
stored compactly (see :func:`encode_terms`): an operand that cites an earlier term is stored as that
term's name only, since its value is the cited term's value.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import delete, insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from bot.gaps.interface import GapError, GapScore, GapSnapshot, NotScored, Op, Operand, TeamUsage, Term, TrendDiff
from bot.gaps.trends import ScorePoint, diff_scores
from bot.gaps.under_invested import UnderInvestment
from bot.gaps.weights import GapWeights
from bot.gc_pause import cyclic_gc_paused
from bot.records import current_key
from bot.store.engine import session_scope
from bot.store.renames import load_renames
from bot.store.tables import GapScoreRow, GapSnapshotRow


class _Point(NamedTuple):
    upstream: str
    gap: float
    recommended: float


def _utc(moment: datetime) -> datetime:
    """``now`` must be aware: a naive time is ambiguous, so it is refused rather than guessed."""
    if moment.tzinfo is None:
        raise GapError(f"{moment.isoformat()}: snapshot times must carry a time zone")
    return moment.astimezone(UTC)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def encode_terms(terms: Sequence[Term]) -> list[Any]:
    """Terms as JSON lists: ``[name, value, op, operands, note]``; an operand is ``[label, value]``,
    ``[label, value, 1]`` for a count, or the cited term's name."""
    out: list[Any] = []
    for term in terms:
        operands: list[Any] = []
        for operand in term.operands:
            if operand.ref is not None:
                operands.append(operand.ref)
            elif operand.is_count:
                operands.append([operand.label, operand.value, 1])
            else:
                operands.append([operand.label, operand.value])
        out.append([term.name, term.value, term.op, operands, term.note])
    return out


def decode_terms(data: Sequence[Any], origin: str = "terms") -> tuple[Term, ...]:
    """The inverse of :func:`encode_terms`; a citation of an unknown term is an error naming it."""
    seen: dict[str, Term] = {}
    for name, value, op, raw_operands, note in data:
        operands: list[Operand] = []
        for raw in raw_operands:
            if isinstance(raw, str):
                if raw not in seen:
                    raise GapError(f"{origin}: term {name!r} cites {raw!r}, which comes later or not at all")
                operands.append(Operand(raw, seen[raw].value, ref=raw))
            else:
                operands.append(Operand(raw[0], float(raw[1]), is_count=len(raw) > 2 and bool(raw[2])))
        if op not in Op.ALL:
            raise GapError(f"{origin}: term {name!r} has an unknown operation {op!r}")
        seen[name] = Term(name, float(value), op, tuple(operands), note)
    return tuple(seen.values())


#: Score rows per INSERT: a bounded statement, whatever the number of upstreams.
SCORE_ROWS_PER_INSERT = 500


def save_snapshot(
    engine: Engine,
    scores: Iterable[GapScore],
    *,
    weights: GapWeights,
    budget: float,
    currency: str,
    budget_source: str,
    developers: int | None,
    window_days: int,
    now: datetime,
    not_scored: Sequence[NotScored] = (),
    seen: Callable[[GapScore], object] | None = None,
) -> int:
    """Store one score run and all its scores in one transaction; return the snapshot id.

    ``scores`` may be an iterator (:func:`bot.gaps.model.iter_gaps`): they are written
    ``SCORE_ROWS_PER_INSERT`` at a time and not kept, and ``seen`` is called with each, so a caller
    can count what it needs without holding them."""
    end = _utc(now)
    snapshot = GapSnapshotRow(
        created_at=end,
        window_start=end - timedelta(days=window_days),
        window_end=end,
        budget=budget,
        currency=currency,
        budget_source=budget_source,
        developers=developers,
        weights_digest=weights.digest(),
        weights=weights.model_dump(mode="json"),
        upstreams=0,
        not_scored=[{"upstream": n.upstream, "reason": n.reason, "repos": n.repos} for n in not_scored],
    )
    with session_scope(engine) as session, cyclic_gc_paused():
        session.add(snapshot)
        session.flush()
        snapshot_id = snapshot.id
        assert snapshot_id is not None
        count = 0
        iterator = iter(scores)
        # in batches: the statement's parameters for every upstream at once were score's largest allocation
        while chunk := list(itertools.islice(iterator, SCORE_ROWS_PER_INSERT)):
            if seen is not None:
                for score in chunk:
                    seen(score)
            session.execute(insert(GapScoreRow), [_score_row(snapshot_id, s) for s in chunk])
            count += len(chunk)
        snapshot.upstreams = count
        session.add(snapshot)
        return snapshot_id


def _score_row(snapshot_id: int, s: GapScore) -> dict[str, Any]:
    """One ``gap_scores`` row's values."""
    return {
        "snapshot_id": snapshot_id,
        "upstream_key": s.upstream,
        "repos": s.repos,
        "usage_weight": s.usage_weight,
        "usage_share": s.usage_share,
        "risk": s.risk,
        "risk_signals": list(s.risk_signals),
        "expected_share": s.expected_share,
        "code_score": s.code_score,
        "code_share": s.code_share,
        "money": s.money,
        "money_share": s.money_share,
        "investment_share": s.investment_share,
        "gap": s.gap,
        "priority": s.priority,
        "given": s.given,
        "recommended": s.recommended,
        "terms": encode_terms(s.terms),
        "usage_by_team": [{"team": t.team, "usage": t.usage, "repos": t.repos} for t in s.usage_by_team],
    }


def _snapshot(row: GapSnapshotRow) -> GapSnapshot:
    assert row.id is not None
    return GapSnapshot(
        id=row.id,
        created_at=_aware(row.created_at),
        window_start=_aware(row.window_start),
        window_end=_aware(row.window_end),
        budget=row.budget,
        currency=row.currency,
        budget_source=row.budget_source,
        developers=row.developers,
        weights_digest=row.weights_digest,
        upstreams=row.upstreams,
        not_scored=tuple(NotScored(n["upstream"], n["reason"], int(n.get("repos", 0))) for n in row.not_scored or ()),
    )


def _score(row: GapScoreRow, *, with_terms: bool = True) -> GapScore:
    return GapScore(
        upstream=row.upstream_key,
        repos=row.repos,
        usage_weight=row.usage_weight,
        usage_share=row.usage_share,
        risk=row.risk,
        risk_signals=tuple(row.risk_signals),
        expected_share=row.expected_share,
        code_score=row.code_score,
        code_share=row.code_share,
        money=row.money,
        money_share=row.money_share,
        investment_share=row.investment_share,
        gap=row.gap,
        priority=row.priority,
        given=row.given,
        recommended=row.recommended,
        terms=decode_terms(row.terms, row.upstream_key) if with_terms else (),
        usage_by_team=tuple(
            TeamUsage(t.get("team"), float(t["usage"]), int(t["repos"])) for t in row.usage_by_team or ()
        ),
    )


def load_snapshot(engine: Engine, *, snapshot_id: int) -> GapSnapshot | None:
    with Session(engine) as session:
        row = session.get(GapSnapshotRow, snapshot_id)
        return _snapshot(row) if row else None


def latest_snapshots(engine: Engine, *, limit: int = 2, at_or_before: datetime | None = None) -> list[GapSnapshot]:
    """The newest snapshots first (optionally only those taken at or before a moment, e.g. a quarter's end)."""
    query = select(GapSnapshotRow)
    if at_or_before is not None:
        query = query.where(col(GapSnapshotRow.created_at) <= _utc(at_or_before))
    query = query.order_by(col(GapSnapshotRow.created_at).desc(), col(GapSnapshotRow.id).desc()).limit(limit)
    with Session(engine) as session:
        return [_snapshot(row) for row in session.exec(query)]


def load_scores(
    engine: Engine, *, snapshot_id: int, with_terms: bool = True, upstreams: Collection[str] | None = None
) -> list[GapScore]:
    """A snapshot's scores (only those of ``upstreams`` when given), largest gap first (as the model ordered them).

    ``with_terms=False`` leaves ``terms`` empty: several times faster for tables and charts of thousands
    of upstreams, and a fraction of the memory; load the few explained ones with ``upstreams``.
    """
    query = (
        select(GapScoreRow)
        .where(GapScoreRow.snapshot_id == snapshot_id)
        .order_by(col(GapScoreRow.gap).desc(), col(GapScoreRow.upstream_key))
    )
    if upstreams is not None:
        query = query.where(col(GapScoreRow.upstream_key).in_(sorted(set(upstreams))))
    if not with_terms:
        query = query.options(defer(GapScoreRow.terms))  # type: ignore[arg-type]
    with Session(engine) as session, cyclic_gc_paused():
        return [_score(row, with_terms=with_terms) for row in session.exec(query)]


def load_score(engine: Engine, *, upstream: str, snapshot_id: int | None = None) -> GapScore | None:
    """One upstream's score in a snapshot (default: the latest); ``None`` when it was not scored."""
    if snapshot_id is None:
        latest = latest_snapshots(engine, limit=1)
        if not latest:
            return None
        snapshot_id = latest[0].id
    query = select(GapScoreRow).where(GapScoreRow.snapshot_id == snapshot_id, GapScoreRow.upstream_key == upstream)
    with Session(engine) as session:
        row = session.exec(query).first()
        return _score(row) if row else None


def load_scores_of(engine: Engine, *, upstream: str) -> dict[int, GapScore]:
    """One upstream's score in every snapshot that scored it, by snapshot id: one query for its history."""
    query = select(GapScoreRow).where(GapScoreRow.upstream_key == upstream)
    with Session(engine) as session:
        return {row.snapshot_id: _score(row, with_terms=False) for row in session.exec(query).all()}


def load_points(engine: Engine, *, snapshot_id: int) -> list[ScorePoint]:
    """A snapshot's upstream, gap and recommended amount only: what trends need, without the terms.

    Upstreams renamed since the snapshot are named as they are now, so a rename is no closed gap
    beside a new one.
    """
    # the model's order (largest gap first, then key): two keys renamed to one keep the same winner
    # whatever order the rows were written in
    query = (
        select(GapScoreRow.upstream_key, GapScoreRow.gap, GapScoreRow.recommended)
        .where(GapScoreRow.snapshot_id == snapshot_id)
        .order_by(col(GapScoreRow.gap).desc(), col(GapScoreRow.upstream_key))
    )
    with Session(engine) as session:
        renames = load_renames(session)
        return [_Point(current_key(key, renames), gap, recommended) for key, gap, recommended in session.exec(query)]


def latest_trends(engine: Engine, *, threshold: UnderInvestment, movers: int = 10) -> TrendDiff | None:
    """New gaps, closed gaps and biggest movers between the latest two snapshots; ``None`` with fewer than two."""
    snapshots = latest_snapshots(engine, limit=2)
    if len(snapshots) < 2:
        return None
    after, before = snapshots
    return diff_scores(
        load_points(engine, snapshot_id=before.id),
        load_points(engine, snapshot_id=after.id),
        threshold=threshold,
        movers=movers,
    )


def prune_snapshots(engine: Engine, *, keep_latest: int = 10) -> list[int]:
    """Delete old snapshots and their scores; return the deleted ids.

    Kept: the newest ``keep_latest`` and the last snapshot of every calendar quarter, which is what
    quarterly reviews compare. A daily score run of 6,000 upstreams stores about 12 MB of terms, so a
    long-running store wants this.
    """
    with Session(engine) as session:
        rows = session.exec(
            select(GapSnapshotRow.id, GapSnapshotRow.created_at).order_by(
                col(GapSnapshotRow.created_at).desc(), col(GapSnapshotRow.id).desc()
            )
        ).all()
    keep: set[int] = set()
    quarters_seen: set[tuple[int, int]] = set()
    for position, (snapshot_id, created_at) in enumerate(rows):
        assert snapshot_id is not None
        quarter = (created_at.year, (created_at.month - 1) // 3)
        if position < keep_latest or quarter not in quarters_seen:
            keep.add(snapshot_id)
        quarters_seen.add(quarter)
    doomed = [snapshot_id for snapshot_id, _ in rows if snapshot_id is not None and snapshot_id not in keep]
    if doomed:
        with session_scope(engine) as session:
            session.execute(delete(GapScoreRow).where(col(GapScoreRow.snapshot_id).in_(doomed)))
            session.execute(delete(GapSnapshotRow).where(col(GapSnapshotRow.id).in_(doomed)))
    return sorted(doomed)
