"""Delivery inputs derived from a sandbox world, for the deliver tests.

The real gap model lives in ``bot.gaps``; these tests need inputs of the right shape and
scale, taken from the world's own facts (which internal repositories use which upstream
through which packages, who contributed, what was paid), with a deliberately simple score:
usage share minus investment share. ``resolved`` upstreams are scored as fully funded, which
is how a test closes a gap.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from bot.deliver.interface import DigestData, DigestGap, GapIssueData, LicenceDrift, Term
from bot.sandbox.model import World


@dataclass(frozen=True)
class WorldInputs:
    digest: DigestData
    gap_issues: tuple[GapIssueData, ...]


def world_inputs(
    world: World,
    *,
    resolved: Iterable[str] = (),
    period: str = "2026-W47",
    previous: Iterable[str] | None = None,
    rename: dict[str, str] | None = None,
) -> WorldInputs:
    """Score every upstream of ``world``; ``previous`` is the set of gaps of the last digest (None: first)."""
    resolved = set(resolved)
    rename = rename or {}
    upstream_of = {p.package_key: p.true_upstream for p in world.packages if p.true_upstream}
    packages: dict[str, list[str]] = defaultdict(list)
    for package in world.packages:
        if package.true_upstream:
            packages[package.true_upstream].append(package.package_key)
    repos: dict[str, set[str]] = defaultdict(set)
    for repo in world.internal_repos:
        for dep in repo.dependencies:
            upstream = upstream_of.get(dep.package)
            if upstream:
                repos[upstream].add(repo.full_name)
    members = {p.login for p in world.people if p.org_member and not p.is_bot}
    invested: dict[str, float] = defaultdict(float)
    for contribution in world.contributions:
        if contribution.login in members:
            invested[contribution.upstream] += contribution.count
    for entry in world.ledger:
        invested[entry.upstream] += float(entry.amount) / 100
    total_use = sum(len(r) for r in repos.values()) or 1
    total_invested = sum(invested.values()) or 1.0
    by_key = {u.key: u for u in world.upstreams}
    budget = 2000.0 * len(members)
    scored: list[GapIssueData] = []
    for upstream, users in repos.items():
        usage_share = len(users) / total_use
        investment_share = usage_share if upstream in resolved else invested.get(upstream, 0.0) / total_invested
        gap = usage_share - investment_share
        repo = by_key.get(upstream)
        flags = []
        if repo is not None and repo.archived:
            flags.append("archived")
        if repo is not None and len(set(repo.licenses)) > 1:
            flags.append(f"licence changed: {repo.licenses[0]} → {repo.licenses[-1]}")
        risk = 1.0 + 0.5 * len(flags)
        scored.append(
            GapIssueData(
                upstream=upstream,
                display_name=rename.get(upstream, upstream.rsplit("/", 1)[-1]),
                usage_share=usage_share,
                expected_share=usage_share,
                investment_share=investment_share,
                gap=gap,
                risk=risk,
                priority=max(gap, 0.0) * risk,
                recommended_amount=round(max(gap, 0.0) * budget, 2),
                given_amount=0.0,
                terms=(
                    Term("usage share", usage_share, f"{len(users)} of {total_use} repository uses"),
                    Term("investment share", investment_share, "contributions and money"),
                ),
                risk_flags=tuple(flags),
                packages=tuple(sorted(packages[upstream])),
                internal_repos=tuple(sorted(users)),
            )
        )
    scored.sort(key=lambda g: (-g.priority, g.upstream))
    gaps = [g for g in scored if g.gap > 0]
    current = {g.upstream for g in gaps}
    before = current if previous is None else set(previous)
    new = sorted(current - before) if previous is not None else sorted(current)
    drift = tuple(
        LicenceDrift(u.key, u.licenses[0], u.licenses[-1]) for u in world.upstreams if len(set(u.licenses)) > 1
    )
    digest = DigestData(
        organisation=world.orgs[0],
        period=period,
        currency="USD",
        upstream_count=len(repos),
        usage_total=total_use,
        yearly_budget=budget,
        recommended_total=sum(g.recommended_amount for g in gaps),
        given_total=0.0,
        top_gaps=tuple(
            DigestGap(
                rename.get(g.upstream, g.upstream),
                g.gap,
                g.risk,
                g.recommended_amount,
                usage_share=g.usage_share,
                investment_share=g.investment_share,
            )
            for g in gaps
        ),
        new_gaps=tuple(rename.get(u, u) for u in new),
        closed_gaps=tuple(sorted(before - current)),
        licence_drift=drift,
        contributions_since_last=sum(c.count for c in world.contributions if c.login in members),
        money_given_since_last=0.0,
        review_url="https://ospo.example/reviews/2026-Q3.html",
    )
    return WorldInputs(digest, tuple(scored))
