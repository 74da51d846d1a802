"""The machine-readable files beside the review: CSV tables, ``review.json``, the Pledge report.

``review.json`` follows ``docs/review.schema.json`` (described in ``docs/review-schema.md``);
``pledge.json`` follows the Open Source Pledge's member file (``data/members/<id>.json`` in
opensourcepledge/opensourcepledge.com, schema ``memberSchema`` in ``src/members/common.ts``).
CSV cells holding upstream-controlled text are guarded against spreadsheet formula injection.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

from bot.report.interface import GapRow, PledgeStatus, ReviewData
from bot.report.pledge import check_member_file
from bot.report.series import funding_by_channel, top_gaps

#: Bumped when a field of ``review.json`` changes meaning or disappears (adding fields keeps it).
REVIEW_SCHEMA_VERSION = "upkeep-review/1"

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def ranked_gaps(data: ReviewData) -> tuple[GapRow, ...]:
    """Every scored upstream, highest priority first, then largest gap, then key."""
    return tuple(sorted(data.gaps, key=lambda row: (-row.priority, -row.gap, row.upstream)))


def gaps_csv(data: ReviewData) -> str:
    header = (
        "rank",
        "upstream",
        "usage_share",
        "expected_share",
        "investment_share",
        "gap",
        "risk",
        "priority",
        "recommended_amount",
        "given_amount",
        "currency",
        "repos",
        "terms",
    )
    rows = (
        (
            rank,
            _cell(row.upstream),
            _number(row.usage_share),
            _number(row.expected_share),
            _number(row.investment_share),
            _number(row.gap),
            _number(row.risk),
            _number(row.priority),
            _money(row.recommended_amount),
            _money(row.given_amount),
            data.currency,
            row.repos,
            _cell(" ; ".join(row.terms)),
        )
        for rank, row in enumerate(ranked_gaps(data), start=1)
    )
    return _csv(header, rows)


def funding_csv(data: ReviewData) -> str:
    header = (
        "upstream",
        "channel",
        "amount",
        "currency",
        "converted",
        "reporting_currency",
        "rate",
        "rate_source",
        "unconverted",
        "note",
        "team",
    )
    payments = sorted(data.payments, key=lambda p: (p.upstream, p.channel, p.currency, p.amount))
    rows = (
        (
            _cell(p.upstream),
            _cell(p.channel),
            _money(p.amount),
            _cell(p.currency),
            _money(p.converted),
            data.currency,
            "" if p.rate is None else f"{p.rate:.6f}",
            _cell(p.rate_source),
            _money(p.unconverted),
            _cell(p.note),
            _cell(p.team or ""),
        )
        for p in payments
    )
    return _csv(header, rows)


def contributions_csv(data: ReviewData) -> str:
    header = ("upstream", "kind", "count", "team")
    contributions = sorted(data.contributions, key=lambda c: (c.upstream, c.kind, c.team or ""))
    rows = ((_cell(c.upstream), _cell(c.kind), c.count, _cell(c.team or "")) for c in contributions)
    return _csv(header, rows)


def usage_by_team_csv(data: ReviewData) -> str:
    """Which teams' repositories make each upstream's usage, and their part of its recommended amount
    (charge-back); the rows of one upstream add up to its usage and its recommended amount."""
    header = ("rank", "upstream", "team", "repos", "usage", "share", "recommended_amount", "currency")
    rows = (
        (
            rank,
            _cell(row.upstream),
            _cell(part.team or ""),
            part.repos,
            _number(part.usage),
            _number(part.share),
            _money(part.recommended_amount),
            data.currency,
        )
        for rank, row in enumerate(ranked_gaps(data), start=1)
        for part in row.usage_by_team
    )
    return _csv(header, rows)


def review_json(data: ReviewData) -> str:
    """The whole review as one JSON document (``docs/review.schema.json``)."""
    pledge = data.pledge
    document: dict[str, Any] = {
        "schema": REVIEW_SCHEMA_VERSION,
        "organisation": data.organisation,
        "quarter": data.quarter,
        "previous_quarter": data.previous_quarter,
        "to_date": data.to_date,
        "comparison": data.comparison,
        "period": {"start": data.period_start.isoformat(), "end": data.period_end.isoformat()},
        "currency": data.currency,
        "generated_at": data.generated_at.isoformat(),
        "budget": data.budget,
        "headline": [
            {
                "key": h.key,
                "label": h.label,
                "unit": h.unit,
                "value": h.value,
                "previous": h.previous,
                "change": h.change,
                "currency": h.currency,
            }
            for h in data.headline
        ],
        "top_gaps": [row.upstream for row in top_gaps(data)],
        "gaps": [
            {
                "upstream": row.upstream,
                "usage_share": row.usage_share,
                "expected_share": row.expected_share,
                "investment_share": row.investment_share,
                "gap": row.gap,
                "risk": row.risk,
                "priority": row.priority,
                "recommended_amount": row.recommended_amount,
                "given_amount": row.given_amount,
                "repos": row.repos,
                "risk_signals": list(row.risk_signals),
                "terms": list(row.terms),
                "usage_by_team": [
                    {
                        "team": part.team,
                        "repos": part.repos,
                        "usage": part.usage,
                        "share": part.share,
                        "recommended_amount": part.recommended_amount,
                    }
                    for part in row.usage_by_team
                ],
            }
            for row in ranked_gaps(data)
        ],
        "risks": [
            {
                "upstream": r.upstream,
                "flags": [str(flag) for flag in r.flags],
                "detail": r.detail,
                "usage_share": r.usage_share,
                "exit": r.exit,
            }
            for r in sorted(data.risks, key=lambda r: (-r.usage_share, r.upstream))
        ],
        "contributions": [
            {"upstream": c.upstream, "kind": c.kind, "count": c.count, "team": c.team}
            for c in sorted(data.contributions, key=lambda c: (c.upstream, c.kind, c.team or ""))
        ],
        "payments": [
            {
                "upstream": p.upstream,
                "channel": p.channel,
                "amount": p.amount,
                "currency": p.currency,
                "converted": p.converted,
                "rate": p.rate,
                "rate_source": p.rate_source,
                "unconverted": p.unconverted,
                "note": p.note,
                "team": p.team,
            }
            for p in sorted(data.payments, key=lambda p: (p.upstream, p.channel, p.currency, p.amount))
        ],
        "funding_by_channel": [{"channel": c, "amount": a} for c, a in funding_by_channel(data)],
        "contributions_by_quarter": [
            {"quarter": q.quarter, "kind": q.kind, "count": q.count}
            for q in sorted(data.contributions_by_quarter, key=lambda q: (q.quarter, q.kind))
        ],
        "pledge": {
            "developers": pledge.developers,
            "amount": pledge.amount,
            "amount_usd": pledge.amount_usd,
            "usd_per_developer": pledge.usd_per_developer,
            "usd_per_developer_target": pledge.usd_per_developer_target,
            "meets_pledge": pledge.meets_pledge,
            "year": pledge.year,
            "member_id": pledge.member.id if pledge.member else None,
        },
        "unresolved": [
            {"package_key": u.package_key, "reason": u.reason, "repos": u.repos}
            for u in sorted(data.unresolved, key=lambda u: (-u.repos, u.package_key))
        ],
        "not_scored": [
            {"upstream": n.upstream, "reason": n.reason, "repos": n.repos}
            for n in sorted(data.not_scored, key=lambda n: (-n.repos, n.upstream))
        ],
        "method": list(data.method),
        "caveats": list(data.caveats),
    }
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def pledge_member(pledge: PledgeStatus, *, report_date: str) -> dict[str, Any] | None:
    """The organisation's Open Source Pledge member file, or ``None`` when it is not a member.

    Amounts are USD, as the Pledge requires; the newest annual report comes first, as in the
    Pledge's own files. ``report_date`` is an ISO date (the day the review was generated).
    """
    member = pledge.member
    if member is None:
        return None
    current = {
        "url": pledge.report_url or member.url,
        "year": pledge.year,
        "reportDate": report_date,
        "averageNumberOfDevs": pledge.developers,
        "usdAmountPaid": round(pledge.amount_usd, 2),
    }
    earlier = [
        {
            "url": report.url,
            "year": report.year,
            "reportDate": report.report_date.isoformat(),
            "averageNumberOfDevs": report.developers,
            "usdAmountPaid": round(report.usd_amount_paid, 2),
        }
        for report in pledge.history
        if report.year != pledge.year
    ]
    return {
        "id": member.id,
        "role": member.role,
        "active": member.active,
        "name": member.name,
        "description": member.description,
        "shortDescription": member.short_description,
        "url": member.url,
        "joinDate": member.join_date.isoformat() if member.join_date else "",
        "annualReports": [current, *sorted(earlier, key=lambda r: str(r["year"]), reverse=True)],
    }


def pledge_json(data: ReviewData) -> str | None:
    """The member file, or ``None`` when not a member; :class:`ReviewError` naming the setting when the Pledge
    would refuse it."""
    document = pledge_member(data.pledge, report_date=data.generated_at.date().isoformat())
    if document is None:
        return None
    check_member_file(document)
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _cell(text: str) -> str:
    """Text a spreadsheet must not run as a formula (OWASP "CSV injection": prefix with ')."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _number(value: float) -> str:
    return f"{value:.6f}"


def _money(value: float) -> str:
    return f"{value:.2f}"
