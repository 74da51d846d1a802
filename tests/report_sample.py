"""A realistic quarterly review for the report tests, the browser test and the README screenshot.

The numbers hang together the way the gap model makes them: usage shares from weighted
repositories, expected share = usage × risk (normalised), the budget shared by expected share
minus what was given. Upstream names are real projects; amounts are invented.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from bot.report.interface import (
    ContributionRow,
    GapRow,
    Headline,
    PaymentRow,
    PledgeMember,
    PledgeReport,
    PledgeStatus,
    QuarterCount,
    ReviewData,
    RiskKind,
    RiskRow,
    TeamUsageRow,
    UnresolvedRow,
)

DEVELOPERS = 40
EUR_PER_USD = 0.92
BUDGET_EUR = 2000 * DEVELOPERS * EUR_PER_USD  # the Pledge figure in the reporting currency

# upstream, repos using it (weighted), risk multiplier, money given (EUR), team
_UPSTREAMS: tuple[tuple[str, float, float, float, str | None], ...] = (
    ("github.com/psf/requests", 14.0, 1.0, 1200.0, "platform"),
    ("github.com/pallets/flask", 9.0, 1.0, 0.0, "web"),
    ("github.com/openssl/openssl", 12.0, 1.5, 0.0, "platform"),
    ("github.com/curl/curl", 8.0, 1.2, 500.0, "platform"),
    ("github.com/tiangolo/fastapi", 6.0, 1.0, 2500.0, "web"),
    ("github.com/pydantic/pydantic", 7.0, 1.0, 3000.0, "web"),
    ("github.com/sqlalchemy/sqlalchemy", 5.0, 1.0, 0.0, "data"),
    ("github.com/hashicorp/terraform", 4.0, 1.8, 0.0, "infra"),
    ("github.com/redis/redis", 4.5, 1.6, 0.0, "data"),
    ("github.com/madler/zlib", 10.0, 2.0, 0.0, "platform"),
    ("github.com/eslint/eslint", 3.0, 1.0, 1800.0, "web"),
    ("github.com/vuejs/core", 2.5, 1.0, 900.0, "web"),
    ("github.com/pytest-dev/pytest", 6.5, 1.0, 400.0, "data"),
    ("github.com/encode/django-rest-framework", 2.0, 1.0, 0.0, "web"),
    ("github.com/ljharb/qs", 3.5, 1.3, 0.0, "web"),
    ("github.com/yaml/pyyaml", 5.5, 1.1, 0.0, "data"),
)


def sample_gaps(budget: float = BUDGET_EUR) -> tuple[GapRow, ...]:
    total_usage = sum(repos for _, repos, _, _, _ in _UPSTREAMS)
    weighted = {key: repos / total_usage * risk for key, repos, risk, _, _ in _UPSTREAMS}
    total_weighted = sum(weighted.values())
    total_given = sum(given for *_, given, _ in _UPSTREAMS)
    rows = []
    for key, repos, risk, given, team in _UPSTREAMS:
        usage = repos / total_usage
        expected = weighted[key] / total_weighted
        investment = given / total_given
        gap = expected - investment
        rows.append(
            GapRow(
                upstream=key,
                usage_share=usage,
                expected_share=expected,
                investment_share=investment,
                gap=gap,
                risk=risk,
                priority=max(gap, 0.0) * risk,
                recommended_amount=max(budget * expected - given, 0.0),
                given_amount=given,
                terms=(
                    f"usage {usage:.3f} = {repos:g} weighted repos / {total_usage:g}",
                    f"risk × {risk:.2f}",
                    f"expected {expected:.3f} = usage × risk / Σ(usage × risk)",
                    f"investment {investment:.3f} = {given:,.0f} EUR / {total_given:,.0f} EUR",
                    f"gap {gap:+.3f} = expected − investment",
                ),
                repos=round(repos),
                usage_by_team=_team_parts(repos, team, max(budget * expected - given, 0.0)),
            )
        )
    return tuple(rows)


def _team_parts(repos: float, team: str | None, recommended: float) -> tuple[TeamUsageRow, ...]:
    """Two thirds of an upstream's repositories (rounded up) belong to its team, the rest to no known team."""
    owned = -(-round(repos) * 2 // 3) if team else 0
    parts = [(team, owned), (None, round(repos) - owned)]
    total = sum(n for _, n in parts)
    return tuple(
        TeamUsageRow(name, n, float(n), n / total, recommended * n / total) for name, n in parts if n > 0 and total
    )


def sample_review() -> ReviewData:
    """The sample organisation's review of 2026Q3, reported in EUR."""
    payments = []
    for key, _, _, given, team in _UPSTREAMS:
        if given <= 0:
            continue
        if key.endswith("/fastapi") or key.endswith("/pydantic"):
            payments.append(PaymentRow(key, "open-collective", given / EUR_PER_USD, "USD", given, team))
        elif key.endswith("/requests"):
            payments.append(PaymentRow(key, "ledger:tidelift", given / 1.15, "GBP", given, team))
        else:
            payments.append(PaymentRow(key, "github-sponsors", given / EUR_PER_USD, "USD", given, team))
    teams = {key: team for key, *_, team in _UPSTREAMS}
    contributions = []
    for i, (key, *_rest) in enumerate(_UPSTREAMS[:10]):
        for j, kind in enumerate(("pr_merged", "review", "issue", "commit")):
            count = (i * 7 + j * 3) % 11
            if count:
                contributions.append(ContributionRow(key, kind, count, teams[key]))
    by_quarter = []
    for q, scale in (("2025Q4", 0.6), ("2026Q1", 0.8), ("2026Q2", 1.1), ("2026Q3", 1.0)):
        for kind in ("pr_merged", "review", "issue", "commit"):
            total = sum(row.count for row in contributions if row.kind == kind)
            by_quarter.append(QuarterCount(q, kind, round(total * scale)))
    money = sum(p.converted for p in payments)
    yearly_usd = money * 4.1 / EUR_PER_USD  # the trailing twelve months, a little more than four such quarters
    return ReviewData(
        organisation="Example Corp",
        quarter="2026Q3",
        period_start=date(2026, 7, 1),
        period_end=date(2026, 9, 30),
        currency="EUR",
        generated_at=datetime(2026, 10, 2, 8, 0, tzinfo=UTC),
        budget=BUDGET_EUR,
        headline=(
            Headline("upstreams", "Upstreams used", len(_UPSTREAMS), 15),
            Headline("gaps", "Under-invested upstreams", 9, 10),
            Headline("money_given", "Money given this quarter", money, 9100.0, "money"),
            Headline("contributions", "Contributions this quarter", sum(r.count for r in contributions), 160),
            Headline(
                "pledge_per_dev",
                "Pledge: USD per developer (12 months)",
                yearly_usd / DEVELOPERS,
                1012.0,
                "money",
                "USD",
            ),
            Headline("coverage", "Packages resolved to an upstream", 0.962, 0.951, "share"),
        ),
        gaps=sample_gaps(),
        risks=(
            RiskRow("github.com/madler/zlib", (RiskKind.BUS_FACTOR_1,), "1 maintainer active in 12 months", 10 / 93.5),
            RiskRow(
                "github.com/hashicorp/terraform",
                (RiskKind.LICENCE_DRIFT, RiskKind.COMPANY_CONTROL),
                "MPL-2.0 → BUSL-1.1; governed by one company",
                4 / 93.5,
            ),
            RiskRow("github.com/redis/redis", (RiskKind.LICENCE_DRIFT,), "BSD-3-Clause → RSALv2 OR SSPLv1", 4.5 / 93.5),
            RiskRow("github.com/ljharb/qs", (RiskKind.ARCHIVED,), "archived on 2026-05-02", 3.5 / 93.5),
        ),
        contributions=tuple(contributions),
        payments=tuple(payments),
        contributions_by_quarter=tuple(by_quarter),
        pledge=PledgeStatus(
            developers=DEVELOPERS,
            amount=yearly_usd * EUR_PER_USD,
            amount_usd=yearly_usd,
            year="2026",
            member=PledgeMember(
                id="example-corp",
                name="Example Corp",
                description="Example Corp builds payment software on open source and pays it forward.",
                short_description="We pay the maintainers we depend on.",
                url="https://example.com/open-source",
                join_date=date(2025, 3, 1),
            ),
            report_url="https://example.com/open-source/2026",
            history=(PledgeReport("2025", date(2025, 12, 15), "https://example.com/open-source/2025", 36, 52000.0),),
        ),
        unresolved=(
            UnresolvedRow("npm/@internal/left-pad", "no repository link in the registry", 3),
            UnresolvedRow("maven/com.example/legacy-client", "registry answered 404", 1),
            UnresolvedRow("nopurl:generic/libfoo", "component has no purl and no name match", 2),
        ),
        method=(
            "Usage weight: repositories using the upstream × direct/transitive × runtime/development factors.",
            "Expected share: usage share × risk multiplier, normalised over all upstreams.",
            "Recommended amount: the yearly budget × expected share, minus what was given.",
        ),
        previous_quarter="2026Q2",
        teams_mapped=True,
    )


HOSTILE_NAMES = (
    "<script>alert(1)</script>",
    "| x | y |",
    "`rm -rf /` [link](http://evil.example) ![img](x) **bold** $x^2$ & <b>",
)


def hostile_review() -> ReviewData:
    """The sample with upstream-controlled text that tries to break tables or inject markup."""
    data = sample_review()
    gaps = list(data.gaps)
    for i, name in enumerate(HOSTILE_NAMES):
        gaps[i] = replace(gaps[i], upstream=name, terms=(name, *gaps[i].terms))
    return replace(
        data,
        gaps=tuple(gaps),
        risks=(*data.risks, RiskRow(HOSTILE_NAMES[1], (RiskKind.ARCHIVED,), HOSTILE_NAMES[0], 0.5)),
        payments=(*data.payments, PaymentRow(HOSTILE_NAMES[0], HOSTILE_NAMES[1], 10.0, "USD", 9.2, HOSTILE_NAMES[2])),
        contributions=(*data.contributions, ContributionRow(HOSTILE_NAMES[2], HOSTILE_NAMES[1], 3, HOSTILE_NAMES[0])),
        unresolved=(*data.unresolved, UnresolvedRow(HOSTILE_NAMES[1], HOSTILE_NAMES[2], 1)),
        organisation=HOSTILE_NAMES[0],
    )
