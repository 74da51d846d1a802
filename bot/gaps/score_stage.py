"""The pipeline's ``score`` stage: read the stored inputs, score every upstream, keep a snapshot.

The budget is ``gaps.yearly_budget`` when set, else the Open Source Pledge figure
(``gaps.pledge_per_developer`` USD, converted to the reporting currency, × developers). Developers
are ``gaps.developers`` when set; otherwise the people the evidence stage counts on the day of the
run (members of the configured organisations, roster and extra identities, bots excluded), and the
summary says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.gaps.interface import Budget, GapError, GapScore
from bot.gaps.model import compute_budget
from bot.gaps.scope import ScoringScope
from bot.gaps.stage import score_from_inputs
from bot.gaps.under_invested import rank
from bot.gaps.weights import GapWeights, load_weights
from bot.paths import resolve_config_file
from bot.pipeline import StageContext
from bot.progress import track
from bot.store.gap_inputs import count_people, load_investment_inputs, load_risk_signals
from bot.store.gaps import latest_trends, load_scores
from bot.store.rates import rate_book
from bot.store.usage import load_upstream_usages

TOP = 5


@dataclass(frozen=True, slots=True)
class Developers:
    """The headcount behind the Pledge figure and where it came from."""

    count: int | None
    source: str  # "gaps.developers" | "people counted by the evidence stage on YYYY-MM-DD"


def load_gap_weights(settings: Settings) -> GapWeights:
    """``gaps.weights_file`` as given, else beside the bundled config (works in a checkout and the image)."""
    return load_weights(resolve_config_file(settings.gaps.weights_file, settings.config_path))


def resolve_developers(engine: Engine, settings: Settings, now: datetime) -> Developers:
    if settings.gaps.developers is not None:
        return Developers(settings.gaps.developers, "gaps.developers")
    day = now.date()
    return Developers(count_people(engine, on=day), f"people counted by the evidence stage on {day.isoformat()}")


def pledge_per_developer(engine: Engine, settings: Settings, on: date) -> float:
    """``gaps.pledge_per_developer`` (USD) in the reporting currency at the rate of ``on``."""
    funding = settings.funding
    conversion = rate_book(engine, settings).convert(Decimal(str(settings.gaps.pledge_per_developer)), "USD", on)
    if conversion.converted is None:
        raise GapError(
            f"funding.rates: {conversion.reason}, needed to convert the Open Source Pledge figure "
            f"to {funding.reporting_currency}; add USD to funding.rates or set gaps.yearly_budget"
        )
    return float(conversion.converted)


def make_budget(engine: Engine, settings: Settings, now: datetime) -> tuple[Budget, Developers]:
    """The yearly budget the recommendations share out, and the developer count it used."""
    developers = resolve_developers(engine, settings, now)
    budget = compute_budget(
        yearly_budget=settings.gaps.yearly_budget,
        developers=developers.count,
        per_developer=pledge_per_developer(engine, settings, now.date())
        if settings.gaps.yearly_budget is None
        else 0.0,
        currency=settings.funding.reporting_currency,
        window_days=settings.gaps.window_days,
    )
    return budget, developers


def ranked(scores: list[GapScore]) -> list[GapScore]:
    """Highest priority first, then largest gap, then key: the order the review and the CLI show."""
    return sorted(scores, key=lambda s: (-s.priority, -s.gap, s.upstream))


#: The steps :func:`score_stage` reports progress in: usage, investment, risk signals, scoring, ranking.
SCORE_STEPS = 5


def score_stage(context: StageContext) -> dict[str, Any]:
    """Score every upstream from the stored inputs and store one snapshot; return what an operator reads."""
    settings, engine, now = context.settings, context.engine, context.now
    # Scoring is a few whole-store steps, not a loop over upstreams: its progress counts the steps.
    with track("score", total=SCORE_STEPS, unit="steps") as progress:
        weights = load_gap_weights(settings)
        budget, developers = make_budget(engine, settings, now)
        scope = ScoringScope.from_settings(settings)
        usages, not_scored = scope.split(load_upstream_usages(engine))
        progress.advance()
        inputs = load_investment_inputs(
            engine, settings, window_start=now - timedelta(days=settings.gaps.window_days), window_end=now
        )
        investments = [i for i in inputs.investments if scope.scores(i.upstream)]
        progress.advance()
        signals = [s for s in load_risk_signals(engine) if scope.scores(s.upstream)]
        progress.advance()
        snapshot_id = score_from_inputs(
            engine, usages, investments, signals, weights, budget, now, not_scored=not_scored
        )
        progress.advance()
        scores = ranked(load_scores(engine, snapshot_id=snapshot_id, with_terms=False))
        definition = weights.thresholds.under_investment()
        trends = latest_trends(engine, threshold=definition, movers=TOP)
        progress.advance()
    return {
        "snapshot": snapshot_id,
        "upstreams": len(scores),
        "open_gaps": len(rank(scores, definition, lambda s: s.recommended)),
        "budget": round(budget.yearly_amount, 2),
        "currency": budget.currency,
        "budget_source": (
            "gaps.yearly_budget"
            if budget.source == "configured"
            else f"Open Source Pledge: {budget.per_developer or 0:,.2f} {budget.currency} × {developers.count} people"
        ),
        "developers": developers.count,
        "developers_source": developers.source,
        "window_days": budget.window_days,
        "top": [
            {
                "upstream": s.upstream,
                "gap": round(s.gap, 6),
                "priority": round(s.priority, 6),
                "recommended": round(s.recommended, 2),
            }
            for s in scores[:TOP]
        ],
        "since_last_snapshot": None
        if trends is None
        else {
            "new_gaps": [m.upstream for m in trends.new_gaps],
            "closed_gaps": [m.upstream for m in trends.closed_gaps],
            "movers": [{"upstream": m.upstream, "change": round(m.change, 6)} for m in trends.movers],
        },
        "not_scored": [{"upstream": n.upstream, "reason": n.reason} for n in not_scored],
        "no_rate_currencies": list(inputs.no_rate),
        # each payment share left out of "given", with the reason it was not converted (as the issue shows it)
        "not_converted": [
            {
                "upstream": u.upstream,
                "channel": u.channel,
                "payment": u.conversion.text(),
                "reason": u.conversion.reason,
            }
            for u in inputs.unconverted
        ],
        "unknown_contribution_kinds": list(inputs.unknown_kinds),
        "unattributed_payments": inputs.unattributed_payments,
    }
