"""The generated world: determinism, scale, the messy forms it promises, and a truth that matches it."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.config import load_settings
from bot.sandbox import generate_world, ledger_csv, roster_csv, sandbox_settings, sandbox_toml, truth, world_truth_json
from bot.sandbox.model import LedgerEntry, World
from bot.sandbox.registries import registry_services
from bot.sandbox.server import Knobs, Router
from bot.sandbox.truth import LICENSE_CLASSES
from bot.sources.ledger import parse_ledger

pytest_plugins = ["tests.sandbox_fixtures"]  # harmless once the lead registers it globally


def _rendered_digest(world: World) -> str:
    """A digest of every registry document of the world, as served."""
    import httpx

    # Limits off: this compares documents, and a fast loop over crates.io would meet its one a second.
    router = Router(world, services=registry_services(world), knobs=Knobs(limits="off"))
    digest = hashlib.sha256()
    with httpx.Client(transport=httpx.MockTransport(router.handler), base_url="http://sandbox.test") as client:
        for pkg in world.packages:
            if pkg.ecosystem in ("pypi", "cargo", "npm", "gem"):
                name = f"{pkg.namespace}%2F{pkg.name}" if pkg.namespace else pkg.name
                url = {
                    "pypi": f"/registry/pypi/pypi/{pkg.name}/json",
                    "cargo": f"/registry/crates/api/v1/crates/{pkg.name}",
                    "npm": f"/registry/npm/{name}",
                    "gem": f"/registry/rubygems/api/v1/gems/{pkg.name}.json",
                }[pkg.ecosystem]
                digest.update(client.get(url).content)
    return digest.hexdigest()


def test_same_seed_gives_the_same_world_byte_for_byte() -> None:
    first, second = generate_world(11, "small"), generate_world(11, "small")
    assert world_truth_json(first) == world_truth_json(second)
    assert _rendered_digest(first) == _rendered_digest(second)
    other = generate_world(12, "small")
    assert world_truth_json(other) != world_truth_json(first)


def test_the_world_does_not_depend_on_string_hashing() -> None:
    """Another process with another PYTHONHASHSEED must produce the same bytes."""
    script = "import sys; from bot.sandbox import generate_world, world_truth_json; " + (
        "sys.stdout.write(world_truth_json(generate_world(11, 'small')))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, check=True, text=True)
    assert out.stdout == world_truth_json(generate_world(11, "small"))


def test_small_world_is_fast_and_has_the_promised_size(sandbox_world: World) -> None:
    started = time.perf_counter()
    generate_world(3, "small")
    assert time.perf_counter() - started < 1.0
    facts = truth(sandbox_world)
    assert len(sandbox_world.internal_repos) == 20
    assert 1 <= len(sandbox_world.orgs) <= 2
    # 300 packages of 120 upstreams, and the organisation's own library beside them
    (own,) = facts["own_upstreams"]
    assert len(sandbox_world.packages) == 301
    assert len({p.package_key for p in sandbox_world.packages if p.true_upstream != own}) == 300
    assert len({p.ecosystem for p in sandbox_world.packages}) >= 6
    assert len(facts["upstreams"]) == 121 and own in facts["upstreams"]
    assert len(sandbox_world.people) == 30
    used = {d.package for r in sandbox_world.internal_repos for d in r.dependencies}
    assert used == {p.package_key for p in sandbox_world.packages}


def test_unknown_scale_is_refused() -> None:
    with pytest.raises(ValueError, match="huge"):
        generate_world(1, "huge")


def test_registry_metadata_uses_every_messy_form(sandbox_world: World) -> None:
    forms = {(p.ecosystem, p.repository_form) for p in sandbox_world.packages}
    wanted = {
        ("npm", "monorepo-directory"),
        ("pypi", "home-page-only"),
        ("pypi", "project-urls-source"),
        ("maven", "parent-scm"),
        ("golang", "vanity"),
        ("golang", "golang-x"),
        ("golang", "github-subdir"),
        ("gem", "source-code-tree"),
        ("githubactions", "action"),
        ("composer", "split-mirror"),
    }
    assert wanted <= forms
    npm_forms = {f for e, f in forms if e == "npm"}
    assert len(npm_forms & {"git+https", "git-ssh", "github-shorthand", "bare", "https", "git-protocol"}) >= 3
    hosts = {u.host for u in sandbox_world.upstreams}
    assert {"github.com", "gitlab.com"} <= hosts or {"github.com", "codeberg.org"} <= hosts
    unresolved = [p for p in sandbox_world.packages if p.true_upstream is None]
    assert unresolved and all(p.unresolvable_reason for p in unresolved)
    per_upstream = Counter(p.true_upstream for p in sandbox_world.packages if p.true_upstream)
    assert max(per_upstream.values()) >= 3  # monorepos: several packages, one upstream


def test_bus_and_elephant_factors_are_known_by_construction(sandbox_world: World) -> None:
    signals = truth(sandbox_world)["signals"]
    for key, s in signals.items():
        assert (s["bus_factor"], s["elephant_factor"]) == (s["designed_bus_factor"], s["designed_elephant_factor"]), key
    live = [s for s in signals.values() if not s["archived"]]
    assert {s["bus_factor"] for s in live} == {1, 2, 3, 4}
    assert any(s["elephant_factor"] < s["bus_factor"] for s in live)
    assert all(s["bus_factor"] == 0 for s in signals.values() if s["archived"])


def test_licences_drift_some_to_source_available(sandbox_world: World) -> None:
    signals = truth(sandbox_world)["signals"]
    drifted = [s for s in signals.values() if s["license_drift"]]
    assert drifted
    assert any(s["license_classes"][-1] == "source-available" for s in drifted)
    assert all(lic is None or lic in LICENSE_CLASSES for s in signals.values() for lic in s["licenses"])


def test_funding_manifests_include_the_optimism_trap(sandbox_world: World) -> None:
    signals = truth(sandbox_world)["signals"]
    traps = [u for u in sandbox_world.upstreams if u.funding_json and "opRetro" in u.funding_json]
    assert len(traps) == 1
    assert "funding_json" not in signals[traps[0].key]["funding_channels"]
    manifests = [u for u in sandbox_world.upstreams if u.funding_json and '"version": "v1.0.0"' in u.funding_json]
    assert manifests and all("funding_json" in signals[u.key]["funding_channels"] for u in manifests)
    template = [u for u in sandbox_world.upstreams if u.funding_yml and "otechie" in u.funding_yml]
    assert template and all(signals[u.key]["funding_channels"] == ["tidelift"] for u in template)


def test_people_who_count_and_for_when(sandbox_world: World) -> None:
    facts = truth(sandbox_world)
    identities = {p.identity for p in sandbox_world.people}
    assert identities == {"member", "email-domain", "extra-login", "roster", "outsider", "bot"}
    counted = facts["contributions"]["trailing_12_months"]
    bots = {p.login for p in sandbox_world.people if p.is_bot}
    outsiders = {p.login for p in sandbox_world.people if p.identity == "outsider"}
    aliases = {p.login: p.alias_of for p in sandbox_world.people if p.identity == "extra-login"}
    assert not (set(counted) & (bots | outsiders | set(aliases)))
    leaver = next(p for p in sandbox_world.people if p.identity == "roster")
    assert leaver.roster_end is not None
    theirs = [c for c in sandbox_world.contributions if c.login == leaver.login]
    assert any(c.occurred_at.date() > leaver.roster_end for c in theirs)
    start = sandbox_world.now - timedelta(days=365)
    expected = sum(c.count for c in theirs if start < c.occurred_at and c.occurred_at.date() <= leaver.roster_end)
    assert sum(n for kinds in counted.get(leaver.login, {}).values() for n in kinds.values()) == expected
    alias, primary = next(iter(aliases.items()))
    alias_total = sum(c.count for c in sandbox_world.contributions if c.login == alias and c.occurred_at > start)
    primary_total = sum(c.count for c in sandbox_world.contributions if c.login == primary and c.occurred_at > start)
    assert sum(n for kinds in counted[primary].values() for n in kinds.values()) == alias_total + primary_total


def test_under_invested_upstreams_are_heavily_used_and_get_nothing(sandbox_world: World) -> None:
    facts = truth(sandbox_world)
    under = facts["under_invested"]
    assert len(under) == 5
    usage = [facts["usage"][key]["direct_runtime_repos"] for key in under]
    assert usage == sorted(usage, reverse=True)
    assert min(usage) >= len(sandbox_world.internal_repos) // 2
    contributed = {up for ups in facts["contributions"]["trailing_12_months"].values() for up in ups}
    assert not set(under) & (contributed | set(facts["money"]))


def test_money_is_attributed_by_channel_in_original_currency(sandbox_world: World) -> None:
    facts = truth(sandbox_world)
    channels = {ch for chans in facts["money"].values() for ch in chans}
    assert channels == {"github_sponsors", "open_collective", "ledger"}
    assert set(facts["money"]) <= set(facts["upstreams"])
    assert any(m["channel"] == "foundation-membership" for m in facts["money_unattributed"])
    kinds = {(s.is_one_time, s.ended_at is not None) for s in sandbox_world.sponsorships}
    assert {(False, False), (False, True), (True, False)} <= kinds  # active, past, one-time
    ended = next(s for s in sandbox_world.sponsorships if s.ended_at is not None and s.sponsor in sandbox_world.orgs)
    owner_keys = [u.key for u in sandbox_world.upstreams if u.owner == ended.sponsorable]
    paid = sum(facts["money"].get(k, {}).get("github_sponsors", {}).get("USD", 0) for k in owner_keys)
    assert ended.ended_at is not None
    start = max(ended.created_at, sandbox_world.now - timedelta(days=365))
    assert paid <= ended.monthly_cents * (((ended.ended_at - start).days // 28) + 1)


def test_organisation_repositories_have_the_promised_variety(sandbox_world: World) -> None:
    repos = sandbox_world.internal_repos
    assert sandbox_world.ospo_repo in {r.full_name for r in repos}
    assert sandbox_world.issues == {sandbox_world.ospo_repo: []}
    assert sum(not r.dependency_graph_enabled for r in repos) == 1
    assert any(r.fork for r in repos) and any(r.archived for r in repos) and any(r.private for r in repos)
    deps = [d for r in repos for d in r.dependencies]
    assert {(d.direct, d.scope) for d in deps} >= {(True, "runtime"), (False, "runtime"), (True, "development")}
    assert all(d.via for d in deps if not d.direct)
    assert set(sandbox_world.tokens) == {
        "github",
        "slack",
        "opencollective",
        "mattermost",
        "matrix",
        "teams",
        "smtp",
        "gitlab",
        "forgejo",
    }


def test_sandbox_settings_are_valid_upkeep_settings(sandbox_world: World) -> None:
    overrides = sandbox_settings("http://127.0.0.1:9", sandbox_world)
    settings = load_settings(None, overrides=overrides)
    assert settings.github.api_url == "http://127.0.0.1:9/api/v3"
    assert settings.registries.go_vanity_base == "http://127.0.0.1:9/registry/govanity"
    assert settings.issues.repository == sandbox_world.ospo_repo
    assert settings.people.extra_logins
    assert 'api_url = "http://127.0.0.1:9/slack/api/"' in sandbox_toml("http://127.0.0.1:9", sandbox_world)
    roster = roster_csv(sandbox_world).splitlines()
    assert roster[0] == "login,name,email,start,end" and any(line.split(",")[4] for line in roster[1:])


def test_cli_truth_json_is_the_truth(sandbox_world: World) -> None:
    result = CliRunner().invoke(app, ["sandbox", "truth", "--seed", "7", "--scale", "small", "--json"])
    assert result.exit_code == 0, result.output
    assert result.output == world_truth_json(sandbox_world)
    assert json.loads(result.output)["under_invested"] == sandbox_world.under_invested


def _window_domains(world: World, key: str) -> tuple[Counter[str], int]:
    """Commits per e-mail domain among the upstream's non-bot commits of the trailing 12 months."""
    up = next(u for u in world.upstreams if u.key == key)
    start = world.now - timedelta(days=365)
    bots = {p.login for p in world.people if p.is_bot}
    kept = [
        c
        for c in up.commits
        if start < c.committed_at <= world.now
        and not (c.author_login and (c.author_login in bots or c.author_login.endswith("[bot]")))
    ]
    return Counter(c.author_email.rsplit("@", 1)[-1].lower() for c in kept), len(kept)


@pytest.mark.parametrize("seed", [7, 11])
def test_company_governance_shows_in_the_commits(seed: int) -> None:
    """Company-governed upstreams commit mostly (>= 2/3) from their owner's domain; no other organisation
    reaches that share, so governance follows from the commits alone."""
    world = generate_world(seed, "small")
    signals = truth(world)["signals"]
    public = {"gmail.com", "outlook.com", "hotmail.com", "yahoo.com", "proton.me", "icloud.com"}
    public.add("users.noreply.github.com")
    companies = [u for u in world.upstreams if u.governance == "company"]
    assert len(companies) >= 10
    for up in companies:
        domains, total = _window_domains(world, up.key)
        domain, count = domains.most_common(1)[0]
        assert not up.archived and up.owner_type == "Organization"
        owner = "google" if up.owner == "golang" else up.owner.lower()  # golang.org/x is Google's
        assert owner.startswith(domain.removesuffix(".example")), (up.key, domain)
        assert 3 * count >= 2 * total, (up.key, count, total)
        assert signals[up.key]["elephant_factor"] == signals[up.key]["designed_elephant_factor"] == 1
    for up in world.upstreams:
        if up.owner_type == "Organization" and up.governance == "community":
            domains, total = _window_domains(world, up.key)
            shares = [n for d, n in domains.items() if d not in public]
            assert total == 0 or 3 * max(shares, default=0) < 2 * total, up.key


def test_open_collective_is_attributed_by_the_funding_yml_that_names_it() -> None:
    world = generate_world(7, "small")
    start = world.now - timedelta(days=365)
    paid = Counter(c.collective for c in world.oc_contributions if c.created_at > start)
    collective = next(c for c in world.collectives if paid[c.slug])
    named = next(
        u for u in world.upstreams if u.funding_yml and f"open_collective: {collective.slug}\n" in u.funding_yml
    )
    used = set(truth(world)["upstreams"])
    owners = Counter(u.owner for u in world.upstreams if u.key in used)
    several = next(owner for owner, n in owners.most_common() if n > 1 and owner != named.owner)
    collective.github_handle = several  # an owner of several upstreams: the handle alone cannot tell
    money = truth(world)["money"]
    assert money[named.key]["open_collective"] == {
        collective.currency: sum(
            c.amount_cents for c in world.oc_contributions if c.collective == collective.slug and c.created_at > start
        )
    }
    named.funding_yml = None  # nothing names it any more: unattributed
    facts = truth(world)
    assert "open_collective" not in facts["money"].get(named.key, {})
    assert {i["payee"] for i in facts["money_unattributed"] if i["channel"] == "open_collective"} == {collective.slug}


def test_ledger_csv_reads_back_through_upkeeps_ledger_reader() -> None:
    world = generate_world(7, "small")
    world.ledger.append(LedgerEntry(world.now.date(), "Example Foundation", "12.50", "EUR", "grant", "Q4, renewed"))
    payments, problems = parse_ledger(
        ledger_csv(world), source="ledger.csv", upstreams=[u.key for u in world.upstreams]
    )
    assert problems == []
    assert len(payments) == len(world.ledger)
    assert sorted((p.payee, p.amount, p.currency) for p in payments) == sorted(
        (e.upstream, Decimal(e.amount), e.currency) for e in world.ledger
    )
