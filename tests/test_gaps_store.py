"""Gap snapshots in the store (SQLite and PostgreSQL): round trip, latest-two trends, the stage call."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from bot.gaps.interface import GapError, Investment, Op, Operand, Term
from bot.gaps.model import compute_budget, compute_gaps
from bot.gaps.stage import score_from_inputs
from bot.gaps.under_invested import UnderInvestment
from bot.gaps.weights import load_weights
from bot.store.engine import make_engine, session_scope
from bot.store.gaps import (
    decode_terms,
    encode_terms,
    latest_snapshots,
    latest_trends,
    load_score,
    load_scores,
    load_snapshot,
    prune_snapshots,
    save_snapshot,
)
from bot.store.renames import save_renames
from bot.store.tables import GapScoreRow
from tests.test_gaps_model import A, B, C, worked_example

WEIGHTS = load_weights("config/gaps.toml")
NOW = datetime(2026, 10, 1, 6, 0, tzinfo=UTC)


def test_snapshot_round_trip_and_trends(db_url: str) -> None:
    engine = make_engine(db_url)
    SQLModel.metadata.create_all(engine)
    usages, investments, signals = worked_example()
    budget = compute_budget(yearly_budget=None, developers=10, currency="USD")
    assert latest_trends(engine, threshold=UnderInvestment(0.01, 0.0)) is None

    first = score_from_inputs(engine, usages, investments, signals, WEIGHTS, budget, NOW)
    expected = compute_gaps(usages, investments, signals, WEIGHTS, budget=budget)
    assert load_scores(engine, snapshot_id=first) == expected  # every number and every term survives
    snapshot = load_snapshot(engine, snapshot_id=first)
    assert snapshot is not None
    assert (snapshot.created_at, snapshot.window_start) == (NOW, NOW - timedelta(days=365))
    assert (snapshot.budget, snapshot.currency, snapshot.budget_source, snapshot.developers) == (
        20000.0,
        "USD",
        "pledge",
        10,
    )
    assert (snapshot.weights_digest, snapshot.upstreams) == (WEIGHTS.digest(), 3)
    assert latest_trends(engine, threshold=UnderInvestment(0.01, 0.0)) is None  # one snapshot: nothing to compare

    # a quarter later the organisation funds C (archived, drifted licence) with 5,000 a year
    funded = [*investments, Investment(C, money={"opencollective": 5000.0})]
    second = score_from_inputs(engine, usages, funded, signals, WEIGHTS, budget, NOW + timedelta(days=91))
    assert [s.id for s in latest_snapshots(engine)] == [second, first]
    assert [s.id for s in latest_snapshots(engine, at_or_before=NOW + timedelta(days=1))] == [first]

    light = load_scores(engine, snapshot_id=second, with_terms=False)
    assert [s.upstream for s in light] == [s.upstream for s in load_scores(engine, snapshot_id=second)]
    assert all(s.terms == () for s in light) and light[0].gap > light[-1].gap
    some = load_scores(engine, snapshot_id=second, upstreams=[C, A])  # the explained few, with their terms
    full = {s.upstream: s for s in load_scores(engine, snapshot_id=second)}
    assert some == [full[s.upstream] for s in light if s.upstream in (A, C)] and all(s.terms for s in some)

    latest_c = load_score(engine, upstream=C)
    assert latest_c is not None and latest_c.money == 5000.0
    first_c = load_score(engine, upstream=C, snapshot_id=first)
    assert first_c is not None and first_c.money == 0.0
    assert load_score(engine, upstream="github.com/nobody/none") is None

    trends = latest_trends(engine, threshold=UnderInvestment(0.01, 0.0))
    assert trends is not None
    # C: money share 0 → 0.5, investment 0.25, gap 9/37 → 9/37 − 0.25 < 0.01: closed; it moved most
    assert [m.upstream for m in trends.closed_gaps] == [C]
    assert trends.new_gaps == ()
    assert trends.movers[0].upstream == C
    assert {m.upstream for m in trends.movers} == {A, B, C}
    engine.dispose()


def test_a_renamed_upstream_is_no_closed_gap_beside_a_new_one(engine: Engine) -> None:
    usages, investments, signals = worked_example()
    budget = compute_budget(yearly_budget=None, developers=10, currency="USD")
    score_from_inputs(engine, usages, investments, signals, WEIGHTS, budget, NOW)
    renamed = A + "-ng"

    def moved(key: str) -> str:
        return renamed if key == A else key

    later = [replace(u, upstream=moved(u.upstream)) for u in usages]
    later_investments = [replace(i, upstream=moved(i.upstream)) for i in investments]
    later_signals = [replace(s, upstream=moved(s.upstream)) for s in signals]
    score_from_inputs(engine, later, later_investments, later_signals, WEIGHTS, budget, NOW + timedelta(days=7))
    unaware = latest_trends(engine, threshold=UnderInvestment(0.01, 0.0))
    assert unaware is not None and A in {m.upstream for m in unaware.closed_gaps}  # the story a rename would tell
    with session_scope(engine) as session:
        save_renames(session, {A: renamed}, source="test", now=NOW)
    trends = latest_trends(engine, threshold=UnderInvestment(0.01, 0.0))
    assert trends is not None
    assert trends.new_gaps == trends.closed_gaps == ()
    assert all(m.upstream != A for m in trends.movers)


def test_pruning_keeps_the_newest_and_each_quarters_last(db_url: str) -> None:
    engine = make_engine(db_url)
    SQLModel.metadata.create_all(engine)
    usages, investments, signals = worked_example()
    budget = compute_budget(yearly_budget=1000.0, developers=None)
    days = [0, 30, 60, 95, 100, 190]  # 2026Q4, 2026Q4, 2026Q4 (last), 2027Q1, 2027Q1 (last), 2027Q2
    ids = [
        score_from_inputs(engine, usages, investments, signals, WEIGHTS, budget, NOW + timedelta(days=d)) for d in days
    ]
    deleted = prune_snapshots(engine, keep_latest=1)
    # kept: the newest (day 190, also its quarter's last), the last of 2027Q1 (day 100), of 2026Q4 (day 60)
    assert deleted == [ids[0], ids[1], ids[3]]
    assert [s.id for s in latest_snapshots(engine, limit=10)] == [ids[5], ids[4], ids[2]]
    assert load_scores(engine, snapshot_id=ids[0]) == []
    assert len(load_scores(engine, snapshot_id=ids[2])) == 3
    assert prune_snapshots(engine, keep_latest=1) == []  # idempotent
    engine.dispose()


def test_naive_times_are_refused(engine: Engine) -> None:
    with pytest.raises(GapError, match="must carry a time zone"):
        score_from_inputs(
            engine, [], [], [], WEIGHTS, compute_budget(yearly_budget=0.0, developers=None), NOW.replace(tzinfo=None)
        )


def test_empty_run_stores_an_empty_snapshot(db_url: str) -> None:
    engine = make_engine(db_url)
    SQLModel.metadata.create_all(engine)
    budget = compute_budget(yearly_budget=0.0, developers=None)
    snapshot_id = score_from_inputs(engine, [], [], [], WEIGHTS, budget, NOW)
    assert load_scores(engine, snapshot_id=snapshot_id) == []
    with Session(engine) as session:
        assert session.exec(select(GapScoreRow)).all() == []
    engine.dispose()


def test_terms_encode_compactly_and_decode_exactly() -> None:
    usages, investments, signals = worked_example()
    for score in compute_gaps(
        usages, investments, signals, WEIGHTS, budget=compute_budget(yearly_budget=1.0, developers=None)
    ):
        encoded = encode_terms(score.terms)
        assert decode_terms(encoded) == score.terms
        cited = [o for t in encoded for o in t[3] if isinstance(o, str)]
        assert "usage share" in cited and "risk" in cited  # citations are stored by name only


def test_decoding_a_citation_of_a_later_term_is_an_error() -> None:
    terms = [Term("b", 2.0, Op.PRODUCT, (Operand("a", 2.0, ref="a"),)), Term("a", 2.0, Op.SUM, (Operand("x", 2.0),))]
    with pytest.raises(GapError, match=r"github\.com/o/p: term 'b' cites 'a'"):
        decode_terms(encode_terms(terms), "github.com/o/p")


def test_scores_stored_in_batches_are_the_scores_computed(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """A snapshot written a few rows per INSERT (score's memory bound) reads back exactly as one written at once."""
    from sqlalchemy import event

    import bot.store.gaps as gaps_store

    usages, investments, signals = worked_example()
    budget = compute_budget(yearly_budget=None, developers=10, currency="USD")
    whole = score_from_inputs(engine, usages, investments, signals, WEIGHTS, budget, NOW)
    inserts: list[int] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if statement.startswith("INSERT INTO gap_score"):
            inserts.append(len(parameters) if executemany else 1)

    monkeypatch.setattr(gaps_store, "SCORE_ROWS_PER_INSERT", 2)
    event.listen(engine, "before_cursor_execute", count)
    try:
        batched = score_from_inputs(engine, usages, investments, signals, WEIGHTS, budget, NOW + timedelta(days=1))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert inserts == [2, 1]  # three upstreams, two per statement
    expected = compute_gaps(usages, investments, signals, WEIGHTS, budget=budget)
    assert load_scores(engine, snapshot_id=batched) == load_scores(engine, snapshot_id=whole) == expected


def test_a_snapshot_saved_from_an_iterator_counts_and_shows_each_score(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """save_snapshot takes the model's scores as they come (a generator, a few rows per INSERT),
    hands each to ``seen`` and records how many it stored."""
    import bot.store.gaps as gaps_store

    usages, investments, signals = worked_example()
    budget = compute_budget(yearly_budget=None, developers=10, currency="USD")
    expected = compute_gaps(usages, investments, signals, WEIGHTS, budget=budget)
    monkeypatch.setattr(gaps_store, "SCORE_ROWS_PER_INSERT", 2)
    seen: list[str] = []
    snapshot_id = save_snapshot(
        engine,
        (score for score in expected),
        weights=WEIGHTS,
        budget=budget.yearly_amount,
        currency="USD",
        budget_source=budget.source,
        developers=10,
        window_days=365,
        now=NOW,
        seen=lambda score: seen.append(score.upstream),
    )
    assert seen == [s.upstream for s in expected]
    snapshot = load_snapshot(engine, snapshot_id=snapshot_id)
    assert snapshot is not None and snapshot.upstreams == len(expected) == 3
    assert load_scores(engine, snapshot_id=snapshot_id) == expected
