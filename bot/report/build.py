"""Build one quarter's :class:`~bot.report.interface.ReviewData` from the store.

Scores come from the last gap snapshot taken at or before the quarter's end, and the changes from
the last one at or before the previous quarter's end; contributions and money are the quarter's
own. A quarter without a snapshot gets a review that says so instead of numbers nobody computed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.decisions.ledger import decision_ledger
from bot.gaps.figures import recommended_total
from bot.gaps.interface import ContributionKind, GapScore, GapSnapshot
from bot.gaps.scope import ScoringScope
from bot.gaps.score_stage import load_gap_weights, resolve_developers
from bot.gaps.under_invested import UnderInvestment, rank
from bot.report.adapt import gap_row, risk_rows
from bot.report.interface import (
    DEFAULT_CAVEATS,
    UNATTRIBUTED,
    ContributionRow,
    GapRow,
    Headline,
    NotScoredRow,
    PaymentRow,
    PledgeMember,
    PledgeStatus,
    QuarterCount,
    ReviewData,
    RiskRow,
    UnresolvedRow,
)
from bot.report.quarters import Quarter, to_date
from bot.signals.exits import load_configured_exits
from bot.sources.money import Payment
from bot.sources.rates import Conversion, RateBook, describe_unconverted
from bot.store.engine import session_scope
from bot.store.evidence import Bounds
from bot.store.gap_inputs import code_by_upstream_in, load_risk_signals, payments_in, upstream_keys
from bot.store.gaps import latest_snapshots, load_score, load_scores
from bot.store.rates import rate_book
from bot.store.review import any_team, load_unresolved, load_upstream_teams

_KINDS = frozenset(kind.value for kind in ContributionKind)

METHOD: tuple[str, ...] = (
    "Usage weight of an upstream: over the internal repositories using any of its packages, the repository's "
    "weight × a depth factor (direct or transitive) × a scope factor (runtime or development).",
    "Expected share: usage share × risk multiplier, normalised over all upstreams; the risk multiplier adds "
    "a configured factor per signal (bus factor, no active maintainers, archived, unfunded, licence drift, "
    "single vendor, and a single vendor whose CLA lets it relicense), capped.",
    "Investment share: contributions (weighted by kind) and money, each as the upstream's share of the "
    "organisation's totals, blended by the configured weights. Gap: expected share − investment share.",
    "Recommended amount: the yearly budget × expected share, minus the money given over the last year.",
    "Every number is explained term by term in gaps.csv and by `upkeep explain HOST/OWNER/NAME`; the model "
    "and its weights are described in docs/gap-model.md, how contributions and money are gathered in "
    "docs/evidence.md.",
)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _bounds(quarter: Quarter) -> tuple[datetime, datetime]:
    """``[start, end)`` of a quarter as aware UTC instants."""
    return _midnight(quarter.start), _midnight(quarter.end + timedelta(days=1))


def _snapshot_at(engine: Engine, moment: datetime) -> GapSnapshot | None:
    found = latest_snapshots(engine, limit=1, at_or_before=moment)
    return found[0] if found else None


def _channel(payment: Payment) -> str:
    """Ledger rows name their own channel (tidelift, thanks.dev, ...); other sources are their channel."""
    return f"ledger:{payment.subchannel}" if payment.channel == "ledger" and payment.subchannel else payment.channel


@dataclass(frozen=True)
class _Money:
    rows: tuple[PaymentRow, ...]
    total: float  # converted, attributed and unattributed: the sum of ``rows``' converted amounts
    unattributed: int
    unconverted: dict[str, Decimal]  # currency -> amount left unconverted (shown, never counted as zero)


def _rate_text(conversions: list[Conversion]) -> tuple[float | None, str]:
    """The rate a row used (a weighted mean when its payments were converted on several days) and its days."""
    done = [c for c in conversions if c.converted is not None]
    amount = sum((c.amount for c in done), Decimal(0))
    if not done or amount == 0:
        return None, ""
    rate = float(sum((c.converted or Decimal(0) for c in done), Decimal(0)) / amount)
    sources = sorted({f"ECB {c.rate_day}" if c.source == "ECB" else c.source for c in done})
    if len(sources) > 2:
        sources = [sources[0], "…", sources[-1]]
    return rate, ", ".join(sources)


def _money(
    engine: Engine,
    book: RateBook,
    start: datetime,
    end: datetime,
    teams: dict[str, str],
    scope: ScoringScope,
) -> _Money:
    """The period's payments by upstream and channel, each converted at the rate of its own date; payments
    naming no upstream are rows of their own. Shares paid to upstreams left out of the model (the
    organisation's own repositories, say) are not money given to upstreams and count nowhere."""
    groups: dict[tuple[str, str, str], list[Conversion]] = defaultdict(list)
    unattributed = 0
    for payment in payments_in(engine, start=start, end=end, bounds="[start, end)"):
        if not payment.upstreams:
            unattributed += 1
            groups[(UNATTRIBUTED, _channel(payment), payment.currency)].append(book.whole(payment))
            continue
        for upstream in payment.upstreams:
            if scope.scores(upstream):
                groups[(upstream, _channel(payment), payment.currency)].append(book.share(payment))
    rows = []
    unconverted: dict[str, Decimal] = defaultdict(Decimal)
    for (upstream, channel, currency), conversions in sorted(groups.items()):
        missing = [c for c in conversions if c.converted is None]
        for c in missing:
            unconverted[currency] += c.amount
        rate, rate_source = _rate_text(conversions)
        rows.append(
            PaymentRow(
                upstream,
                channel,
                float(sum((c.amount for c in conversions), Decimal(0))),
                currency,
                float(sum((c.converted or Decimal(0) for c in conversions), Decimal(0))),
                teams.get(upstream),
                rate=rate,
                rate_source=rate_source,
                unconverted=float(sum((c.amount for c in missing), Decimal(0))),
                note="; ".join(c.text() for c in missing),
            )
        )
    total = math.fsum(r.converted for r in rows)
    return _Money(tuple(rows), total, unattributed, dict(unconverted))


def _code(
    engine: Engine, start: datetime, end: datetime, scope: ScoringScope, bounds: Bounds = "[start, end)"
) -> dict[str, dict[str, int]]:
    """upstream → kind → count in the window, for the kinds the model weighs (as the scores count them)."""
    scored = {key for key in upstream_keys(engine) if scope.scores(key)}
    code = code_by_upstream_in(engine, start=start, end=end, bounds=bounds, upstreams=scored)
    return {key: {k: n for k, n in kinds.items() if k in _KINDS} for key, kinds in code.items()}


def _ranked_rows(
    engine: Engine, snapshot: GapSnapshot, limit: int, definition: UnderInvestment
) -> tuple[tuple[GapRow, ...], list[GapScore]]:
    """Every score as a row, the top ones (positive gap, highest priority) with their explanations."""
    scores = load_scores(engine, snapshot_id=snapshot.id, with_terms=False)
    top = rank(scores, definition, lambda s: s.recommended)[:limit]
    explained = {s.upstream: load_score(engine, upstream=s.upstream, snapshot_id=snapshot.id) for s in top}
    rows = tuple(gap_row(explained.get(s.upstream) or s) for s in scores)
    return rows, scores


def hidden_sponsorship_amounts(engine: Engine) -> int:
    """Ended sponsorships whose paid total GitHub would not show upkeep's credential (one payment row each)."""
    from bot.sources.sponsors import AMOUNT_HIDDEN
    from bot.store.evidence import load_payments

    with session_scope(engine) as session:
        return sum(
            1 for p in load_payments(session) if p.channel == "github_sponsors" and AMOUNT_HIDDEN in p.attribution
        )


def _usd(book: RateBook, amount: float, on: date) -> float | None:
    """``amount`` in the reporting currency as USD at the rate of ``on`` (the Pledge counts USD); ``None``
    without a USD rate."""
    rate = book.convert(Decimal(1), "USD", on).rate
    return None if rate is None or rate == 0 else amount / float(rate)


def quarter_end(quarter: Quarter) -> datetime:
    """The instant a quarter ends (its snapshots are those taken before it)."""
    return _bounds(quarter)[1]


def build_review(
    engine: Engine, settings: Settings, *, quarter: str | Quarter, now: datetime, note: str | None = None
) -> ReviewData:
    """The review of ``quarter`` (``2026Q3``) as the store knows it at ``now``; ``note`` opens its method
    (why this quarter was chosen)."""
    q = quarter if isinstance(quarter, Quarter) else Quarter.parse(quarter)
    start, end = _bounds(q)
    previous_start, previous_end = _bounds(q.previous())
    running = to_date(q, now.astimezone(UTC).date())
    if running is not None:  # like for like: the same span of the previous quarter
        first, last = running.previous_span
        previous_start, previous_end = _midnight(first), _midnight(last + timedelta(days=1))
    span = " to date" if running is not None else ""
    currency = settings.funding.reporting_currency
    limit = settings.report.top_gaps
    snapshot = _snapshot_at(engine, end)
    before = _snapshot_at(engine, previous_end)
    if before is not None and snapshot is not None and before.id == snapshot.id:
        before = None  # nothing was scored during the quarter: there is no change to show
    teams = load_upstream_teams(engine)
    scope = ScoringScope.from_settings(settings)
    method: list[str] = [note] if note else []
    headline: list[Headline] = []

    weights = load_gap_weights(settings)
    gaps: tuple[GapRow, ...] = ()
    risks: tuple[RiskRow, ...] = ()
    budget = 0.0
    if snapshot is None:
        method.append(
            f"No gap snapshot was taken at or before the end of {q}: run `upkeep score`. This review leaves the "
            "gaps, recommended amounts and risk register out rather than guess them."
        )
    else:
        gaps, scores = _ranked_rows(engine, snapshot, limit, weights.thresholds.under_investment())
        budget = snapshot.budget
        currency = snapshot.currency
        risks = risk_rows(
            load_risk_signals(engine),
            {s.upstream: s.usage_share for s in scores},
            exits=load_configured_exits(settings),
            repos={s.upstream: s.repos for s in scores},
        )
        previous_scores = load_scores(engine, snapshot_id=before.id, with_terms=False) if before else None
        definition = weights.thresholds.under_investment()

        def open_gaps(found: list[GapScore]) -> float:
            return float(len(rank(found, definition, lambda s: s.recommended)))

        def recommended(found: list[GapScore]) -> float:
            return recommended_total(found)

        headline += [
            Headline(
                "upstreams",
                "Upstreams used",
                float(len(scores)),
                None if previous_scores is None else float(len(previous_scores)),
            ),
            Headline(
                "gaps",
                "Under-invested upstreams",
                open_gaps(scores),
                None if previous_scores is None else open_gaps(previous_scores),
            ),
            Headline(
                "recommended",
                "Recommended per year, all gaps",
                recommended(scores),
                None if previous_scores is None else recommended(previous_scores),
                "money",
            ),
        ]
        source = "the configured budget" if snapshot.budget_source == "configured" else "the Open Source Pledge figure"
        developers = f" for {snapshot.developers} developers" if snapshot.developers is not None else ""
        method.append(
            f"Scores come from snapshot {snapshot.id}, taken {snapshot.created_at:%Y-%m-%d %H:%M} UTC (the last at "
            f"or before the end of {q}), over the {(snapshot.window_end - snapshot.window_start).days} days before "
            f"it; the budget is {source}{developers}."
            + (f" Changes compare with snapshot {before.id} of {before.created_at:%Y-%m-%d}." if before else "")
        )
    method += METHOD
    method.append(
        'Contributions and money in "What we gave" are those of the quarter; the risk register shows the '
        "newest signals scan."
    )

    book = rate_book(engine, settings)
    money = _money(engine, book, start, end, teams, scope)
    previous_money = _money(engine, book, previous_start, previous_end, teams, scope)
    code = _code(engine, start, end, scope)
    contributions = tuple(
        ContributionRow(upstream, kind, count, teams.get(upstream))
        for upstream, kinds in sorted(code.items())
        for kind, count in sorted(kinds.items())
        if count > 0
    )
    by_quarter: list[QuarterCount] = []
    for each in q.last(4):
        totals: dict[str, int] = defaultdict(int)
        for kinds in _code(engine, *_bounds(each), scope).values():
            for kind, count in kinds.items():
                totals[kind] += count
        by_quarter += [QuarterCount(str(each), kind, totals[kind]) for kind in sorted(totals)]
    contributed = sum(c.count for c in contributions)
    before_contributed = sum(
        count for kinds in _code(engine, previous_start, previous_end, scope).values() for count in kinds.values()
    )
    headline += [
        Headline("money_given", f"Money given this quarter{span}", money.total, previous_money.total, "money"),
        Headline("contributions", f"Contributions this quarter{span}", float(contributed), float(before_contributed)),
    ]
    if money.unattributed:
        method.append(
            f"{money.unattributed} payments of the quarter name no upstream we use; they count in the money given "
            "and for the Pledge, not for any upstream."
        )
    hidden = hidden_sponsorship_amounts(engine)
    if hidden:
        method.append(
            f"{hidden} ended GitHub Sponsors sponsorships have a paid total upkeep's credential cannot see (GitHub "
            "shows it only to someone who manages the organisation's sponsorships, not to an App installation): "
            "only their first payment is counted; the rest of their amount is unknown, not zero."
        )
    if money.unconverted:
        headline += [
            Headline(
                f"money_unconverted_{cur.lower()}",
                f"Money not converted ({cur}, no rate)",
                float(amount),
                None,
                "money",
                cur,
            )
            for cur, amount in sorted(money.unconverted.items())
        ]
        method.append(
            f"{describe_unconverted(money.unconverted)} paid this quarter could not be converted into {currency} "
            "(no reference rate for the payment's date): it is listed with its reason in the money table and "
            "counts in no total."
        )
    method.append(
        "Each payment converts at the rate of its own date: the ECB euro reference rate of that day, or of the "
        "nearest earlier day the ECB published (weekends and holidays have none, at most 7 days back); "
        "[funding.rates] overrides it with a fixed rate."
    )

    year_start, year_end = q.trailing_year()
    year = _money(engine, book, _midnight(year_start), _midnight(year_end + timedelta(days=1)), teams, scope)
    previous_year_start, previous_year_end = q.previous().trailing_year()
    previous_year = _money(
        engine,
        book,
        _midnight(previous_year_start),
        _midnight(previous_year_end + timedelta(days=1)),
        teams,
        scope,
    )
    if snapshot is not None and snapshot.developers is not None:
        headcount = snapshot.developers
    else:
        headcount = resolve_developers(engine, settings, end - timedelta(seconds=1)).count or 0
    amount_usd = _usd(book, year.total, min(year_end, now.date()))
    if amount_usd is None:
        method.append("funding.rates has no USD rate, so the Pledge figures in USD are shown as zero.")
    report = settings.report
    member = None
    if report.pledge_member_id:
        member = PledgeMember(
            id=report.pledge_member_id,
            name=report.pledge_name or settings.organisation,
            description=report.pledge_description,
            short_description=report.pledge_short_description,
            url=report.pledge_url or "",
            join_date=report.pledge_join_date,
        )
    pledge = PledgeStatus(
        developers=float(headcount),
        amount=year.total,
        amount_usd=amount_usd or 0.0,
        year=str(q.year),
        member=member,
        report_url=report.pledge_report_url,
    )
    if headcount:
        previous_usd = _usd(book, previous_year.total, previous_year_end)
        headline.append(
            Headline(
                "pledge_per_dev",
                "Pledge: USD per developer (12 months)",
                pledge.usd_per_developer,
                None if previous_usd is None else previous_usd / headcount,
                "money",
                "USD",
            )
        )
    unresolved = tuple(UnresolvedRow(u.package_key, u.reason, u.repos) for u in load_unresolved(engine))
    not_scored = tuple(NotScoredRow(n.upstream, n.reason, n.repos) for n in snapshot.not_scored) if snapshot else ()
    if not_scored:
        method.append(
            f"{len(not_scored)} upstreams the organisation uses are left out of the model, with the reason in "
            '"Not scored": their usage, contributions and money count in no share or total above.'
        )
    return ReviewData(
        organisation=settings.organisation,
        quarter=str(q),
        period_start=q.start,
        period_end=running.today if running is not None else q.end,
        currency=currency,
        generated_at=now.astimezone(UTC),
        budget=budget,
        headline=tuple(headline),
        gaps=gaps,
        risks=risks,
        contributions=contributions,
        payments=money.rows,
        contributions_by_quarter=tuple(by_quarter),
        pledge=pledge,
        unresolved=unresolved,
        not_scored=not_scored,
        method=tuple(method),
        caveats=DEFAULT_CAVEATS,
        previous_quarter=str(q.previous()),
        top_gaps_limit=limit,
        gap_threshold=weights.thresholds.gap,
        amount_threshold=weights.thresholds.amount,
        decisions=decision_ledger(engine, settings, until=end),
        teams_mapped=any_team(engine),
        scored=snapshot is not None,
        note=note or "",
        to_date=running is not None,
        comparison=running.describe() if running is not None else str(q.previous()),
    )
