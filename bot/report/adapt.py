"""From the gap model's records to the review's: one place where the two vocabularies meet.

The review stays independent of how scores are computed; the CLI calls these when it builds a
:class:`~bot.report.interface.ReviewData` from a stored snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from bot.gaps.interface import GapScore, RiskSignals
from bot.report.interface import GapRow, RiskKind, RiskRow, TeamUsageRow
from bot.signals.exits import Exit, exit_line


def gap_row(score: GapScore) -> GapRow:
    """A score as the review shows it; ``terms`` become their one-line texts."""
    return GapRow(
        upstream=score.upstream,
        usage_share=score.usage_share,
        expected_share=score.expected_share,
        investment_share=score.investment_share,
        gap=score.gap,
        risk=score.risk,
        priority=score.priority,
        recommended_amount=score.recommended,
        given_amount=score.given,
        terms=tuple(term.text() for term in score.terms),
        repos=score.repos,
        risk_signals=score.risk_signals,
        usage_by_team=team_rows(score),
    )


def team_rows(score: GapScore) -> tuple[TeamUsageRow, ...]:
    """Each team's part of the upstream's usage and of its recommended amount (the one computation of both)."""
    return tuple(
        TeamUsageRow(part.team, part.repos, part.usage, share, recommended)
        for part, share, recommended in score.team_parts()
    )


def risk_rows(
    signals: Iterable[RiskSignals],
    usage_share: Mapping[str, float],
    *,
    exits: Mapping[str, Exit] | None = None,
    repos: Mapping[str, int] | None = None,
) -> tuple[RiskRow, ...]:
    """The sovereignty register: one row per upstream we use that carries any risk, with all its flags,
    most used first.

    "One company does most of the work" (elephant factor 1: a sustainability risk) and "one company
    controls it" (company governance, or the dominant company's CLA: a relicensing and roadmap risk) are
    separate flags; a foundation's governance rules control out, whoever does the work.
    Upstreams missing from ``usage_share`` (or with a zero share) are not ours to worry about here.
    A row carries the upstream's credible exit from ``exits``, saying so when ``repos`` shows the
    organisation already uses the fork.
    """
    rows: list[RiskRow] = []
    for signal in signals:
        share = usage_share.get(signal.upstream, 0.0)
        if share <= 0:
            continue
        flags = risk_flags(signal)
        if flags:
            rows.append(RiskRow(signal.upstream, tuple(flags), "; ".join(flags.values()), share))
    if exits:
        rows = [replace(row, exit=exit_line(row.upstream, exits, repos or {})) for row in rows]
    return tuple(sorted(rows, key=lambda row: (-row.usage_share, row.upstream)))


def risk_flags(signal: RiskSignals) -> dict[RiskKind, str]:
    """Each risk flag of one upstream with the clause that explains it, in :class:`RiskKind` order."""
    flags: dict[RiskKind, str] = {}
    drift = signal.licence_drift
    if drift is not None:
        flags[RiskKind.LICENCE_DRIFT] = f"{drift.from_licence or 'unknown'} → {drift.to_licence or 'unknown'}"
    if signal.bus_factor == 1:
        active = signal.active_maintainers
        flags[RiskKind.BUS_FACTOR_1] = "one person makes half of recent commits" + (
            f"; {active} active maintainer{'s' if active != 1 else ''}" if active is not None else ""
        )
    if signal.archived or signal.deprecated:
        flags[RiskKind.ARCHIVED] = "archived" if signal.archived else "deprecated"
    if signal.company_does_the_work:
        under = " (a foundation governs it)" if signal.governance == "foundation" else ""
        flags[RiskKind.COMPANY_WORK] = f"one company makes half of recent commits{under}"
    if signal.company_controls:
        flags[RiskKind.COMPANY_CONTROL] = (
            "governed by one company"
            if signal.governance == "company"
            else "the company doing the work holds a CLA over every contribution"
        )
    if signal.relicensable:
        flags[RiskKind.RELICENSABLE] = "that company's CLA lets it relicense the project on its own"
    return flags
