"""Plain-text explanation of one score: the numbers first, then every step of the arithmetic.

This backs ``upkeep explain HOST/OWNER/NAME``; each line is a :class:`Term` rendered as
``name value = operand op operand`` so a reader can redo the sum by hand.
"""

from __future__ import annotations

from bot.gaps.interface import GapScore, format_number


def explain(score: GapScore, *, currency: str | None = None) -> str:
    """Render ``score`` as lines: a headline, the risk signals, then one line per term."""
    unit = f" {currency}" if currency else ""
    signals = ", ".join(score.risk_signals) or "none"
    lines = [
        f"{score.upstream}",
        f"  used by {score.repos} internal {'repository' if score.repos == 1 else 'repositories'}; "
        f"risk signals: {signals}",
        f"  usage share {format_number(score.usage_share)}, expected share {format_number(score.expected_share)}, "
        f"investment share {format_number(score.investment_share)}, gap {format_number(score.gap)}, "
        f"risk {format_number(score.risk)}, priority {format_number(score.priority)}",
        f"  given {format_number(score.given)}{unit} per year, recommended {format_number(score.recommended)}{unit} "
        "per year",
    ]
    if any(part.team is not None for part in score.usage_by_team):
        lines.append("  usage by team (its part of the usage and of the recommended amount):")
        for part, share, recommended in score.team_parts():
            repos = f"{part.repos} {'repository' if part.repos == 1 else 'repositories'}"
            lines.append(
                f"    {part.team or '(no team)'}: usage {format_number(part.usage)} = {share:.1%} ({repos}), "
                f"{format_number(recommended)}{unit} per year"
            )
    lines.append("  how:")
    lines += [f"    {term.text()}" for term in score.terms]
    return "\n".join(lines) + "\n"
