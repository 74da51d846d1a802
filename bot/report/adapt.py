"""From the gap model's records to the review's: one place where the two vocabularies meet.

The review stays independent of how scores are computed; the CLI calls these when it builds a
:class:`~bot.report.interface.ReviewData` from a stored snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from bot.gaps.interface import GapScore, RiskSignals
from bot.report.interface import GapRow, RiskKind, RiskRow
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
    )


def risk_rows(
    signals: Iterable[RiskSignals],
    usage_share: Mapping[str, float],
    *,
    exits: Mapping[str, Exit] | None = None,
    repos: Mapping[str, int] | None = None,
) -> tuple[RiskRow, ...]:
    """The sovereignty register: one row per risk of each upstream we use, most used first.

    Upstreams missing from ``usage_share`` (or with a zero share) are not ours to worry about here.
    A row carries the upstream's credible exit from ``exits``, saying so when ``repos`` shows the
    organisation already uses the fork.
    """
    rows: list[RiskRow] = []
    for signal in signals:
        share = usage_share.get(signal.upstream, 0.0)
        if share <= 0:
            continue
        drift = signal.licence_drift
        if drift is not None:
            detail = f"{drift.from_licence or 'unknown'} → {drift.to_licence or 'unknown'}"
            rows.append(RiskRow(RiskKind.LICENCE_DRIFT, signal.upstream, detail, share))
        if signal.bus_factor == 1:
            active = signal.active_maintainers
            detail = "one person makes half of recent commits" + (
                f"; {active} active maintainer{'s' if active != 1 else ''}" if active is not None else ""
            )
            rows.append(RiskRow(RiskKind.BUS_FACTOR_1, signal.upstream, detail, share))
        if signal.archived or signal.deprecated:
            detail = "archived" if signal.archived else "deprecated"
            rows.append(RiskRow(RiskKind.ARCHIVED, signal.upstream, detail, share))
        if signal.single_vendor:
            detail = (
                "one organisation makes half of recent commits"
                if signal.elephant_factor == 1
                else "governed by a company"
            )
            rows.append(RiskRow(RiskKind.SINGLE_VENDOR, signal.upstream, detail, share))
        if signal.relicensable:
            detail = "that vendor's CLA lets it relicense the project on its own"
            rows.append(RiskRow(RiskKind.RELICENSABLE, signal.upstream, detail, share))
    if exits:
        rows = [replace(row, exit=exit_line(row.upstream, exits, repos or {})) for row in rows]
    return tuple(sorted(rows, key=lambda row: (-row.usage_share, row.upstream, str(row.kind))))
