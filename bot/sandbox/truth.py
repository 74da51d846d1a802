"""The ground truth of a sandbox world: what a correct upkeep run must find.

Computed from the world's own facts with deliberately plain code, independently of anything in
``bot/`` outside the sandbox, so tests can compare upkeep's results with it. The rules:

* **People who count**: org members, ``email-domain`` identities and ``roster`` people (only
  for the days between ``roster_start`` and ``roster_end``); an ``extra-login`` account counts
  for the person in its ``alias_of``; bots and outsiders never count.
* **Windows**: ``trailing_12_months`` is ``(now - 365 days, now]``; quarters are calendar
  quarters ``[start, end)`` in UTC.
* **Bus factor**: the smallest number of authors making at least half of the non-bot commits of
  the trailing 12 months (an author is the commit's login, else its email). **Elephant factor**:
  the same over organisations, an organisation being the email domain, except public-mail
  domains where each author is their own organisation. **Active maintainers**: distinct non-bot
  authors in the window. All three are 0 without commits in the window.
* **Money** in original currency, per channel, paid inside the window: GitHub Sponsors by the
  organisation (monthly sponsorships pay on the day they were created and every month after,
  until ``ended_at`` or ``now``; one-time ones once), attributed to the upstreams the sponsored
  account owns; Open Collective contributions, attributed, first that applies, to the
  collective's linked repository (a GitHub handle ``owner/repo`` that is an upstream), to the one
  upstream whose FUNDING.yml ``open_collective:`` names the collective, or to the one upstream of
  a handle ``owner`` that owns exactly one; ledger entries whose ``upstream`` is an upstream key
  or a former name of one (others are listed as ``unattributed``).
* **Money converted** (``money_converted``): each attributed payment in US dollars at the world's
  ECB reference rate of its own day (or the nearest earlier publication day, at most seven days
  back), rounded to the cent per payment; payments without a rate are listed in
  ``money_unconverted``, never counted as zero.
* **Own upstreams**: repositories of the organisation's own accounts (``world.orgs``) that its
  repositories use; counted in usage and contributions like any other, but ``own_upstreams`` lists
  them, because the gap model leaves them out (``[gaps].exclude_own``).
* **Renamed upstreams**: a repository renamed or transferred is known by its current name
  (``true_upstream``); registries may still name the old one (``declared_upstream``), which a
  resolver finds until GitHub's redirect is followed. ``renamed_upstreams`` maps old keys to new.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import yaml
from packageurl import PackageURL

from bot.sandbox.ecb import world_rates
from bot.sandbox.model import Person, UpstreamRepo, World
from bot.sandbox.repo_facts import repo_facts_truth, usage_by_team_truth

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 20x faster
PUBLIC_MAIL_DOMAINS = frozenset(
    {"gmail.com", "outlook.com", "hotmail.com", "yahoo.com", "proton.me", "icloud.com", "users.noreply.github.com"}
)
LICENSE_CLASSES = {
    "MIT": "permissive",
    "Apache-2.0": "permissive",
    "BSD-3-Clause": "permissive",
    "BSD-2-Clause": "permissive",
    "ISC": "permissive",
    "Unlicense": "public-domain",
    "MPL-2.0": "weak-copyleft",
    "EPL-2.0": "weak-copyleft",
    "LGPL-2.1-only": "weak-copyleft",
    "GPL-2.0-or-later": "copyleft",
    "GPL-3.0-only": "copyleft",
    "AGPL-3.0-only": "copyleft",
    "BUSL-1.1": "source-available",
    "SSPL-1.0": "source-available",
    "Elastic-2.0": "source-available",
}
FUNDING_YML_CHANNELS = {
    "github": "github_sponsors",
    "open_collective": "open_collective",
    "tidelift": "tidelift",
    "thanks_dev": "thanks_dev",
    "liberapay": "liberapay",
    "patreon": "patreon",
    "ko_fi": "ko_fi",
    "custom": "custom",
    "polar": "polar",
    "buy_me_a_coffee": "buy_me_a_coffee",
    "community_bridge": "community_bridge",
    "issuehunt": "issuehunt",
}


def _iso(moment: datetime | date | None) -> str | None:
    if moment is None:
        return None
    if isinstance(moment, datetime):
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.isoformat()


def quarters(now: datetime, count: int = 6) -> list[tuple[str, datetime, datetime]]:
    """The ``count`` calendar quarters up to and including the one holding ``now``, oldest first."""
    year, q = now.year, (now.month - 1) // 3
    out = []
    for _ in range(count):
        start = datetime(year, 3 * q + 1, 1, tzinfo=UTC)
        end = datetime(year + (q == 3), 3 * ((q + 1) % 4) + 1, 1, tzinfo=UTC)
        out.append((f"{year}Q{q + 1}", start, end))
        year, q = (year, q - 1) if q else (year - 1, 3)
    return list(reversed(out))


def _window(world: World) -> tuple[datetime, datetime]:
    return world.now - timedelta(days=365), world.now


def _in_window(moment: datetime, world: World) -> bool:
    start, end = _window(world)
    return start < moment <= end


def purl_of(ecosystem: str, namespace: str | None, name: str) -> str:
    """The version-less purl of a package, as packageurl-python writes it."""
    return str(PackageURL(type=ecosystem, namespace=namespace, name=name).to_string())


def _is_bot(login: str | None, bots: set[str]) -> bool:
    return login is not None and (login in bots or login.endswith("[bot]"))


def _counted_as(person: Person) -> str | None:
    if person.is_bot or person.identity in ("bot", "outsider"):
        return None
    if person.identity == "extra-login":
        return person.alias_of
    return person.login


def _counts_on(person: Person, moment: datetime) -> bool:
    day = moment.date()
    if person.roster_start and day < person.roster_start:
        return False
    return not (person.roster_end and day > person.roster_end)


def license_class(spdx: str | None) -> str:
    """permissive, public-domain, weak-copyleft, copyleft, source-available, or none."""
    return "none" if spdx is None else LICENSE_CLASSES.get(spdx, "other")


def commit_factors(up: UpstreamRepo, world: World, bots: set[str]) -> dict[str, int]:
    """Bus factor, elephant factor and active maintainers from the window's non-bot commits."""
    authors: dict[str, int] = defaultdict(int)
    orgs: dict[str, int] = defaultdict(int)
    for commit in up.commits:
        if not _in_window(commit.committed_at, world) or _is_bot(commit.author_login, bots):
            continue
        email = commit.author_email.lower()
        authors[commit.author_login or email] += 1
        domain = email.rsplit("@", 1)[-1]
        orgs[email if domain in PUBLIC_MAIL_DOMAINS else domain] += 1

    def smallest_half(counts: dict[str, int]) -> int:
        total, running = sum(counts.values()), 0
        for n, value in enumerate(sorted(counts.values(), reverse=True), start=1):
            running += value
            if 2 * running >= total:
                return n
        return 0

    return {
        "bus_factor": smallest_half(authors),
        "elephant_factor": smallest_half(orgs),
        "active_maintainers": len(authors),
        "window_commits": sum(authors.values()),
    }


def funding_channels(up: UpstreamRepo) -> list[str]:
    """Channels the repository declares: FUNDING.yml keys with a value, and a floss.fund funding.json."""
    channels: set[str] = set()
    if up.funding_yml:
        data = yaml.load(up.funding_yml, Loader=_YAML_LOADER) or {}  # noqa: S506 - a safe loader
        for key, value in data.items():
            if value and key in FUNDING_YML_CHANNELS:
                channels.add(FUNDING_YML_CHANNELS[key])
    if up.funding_json:
        manifest = json.loads(up.funding_json)
        if isinstance(manifest, dict) and str(manifest.get("version", "")).startswith("v1"):
            channels.add("funding_json")
    return sorted(channels)


def funding_yml_collectives(up: UpstreamRepo) -> list[str]:
    """The Open Collective slugs the repository's FUNDING.yml ``open_collective:`` names, lower-cased."""
    if not up.funding_yml:
        return []
    data = yaml.load(up.funding_yml, Loader=_YAML_LOADER) or {}  # noqa: S506 - a safe loader
    value = data.get("open_collective") if isinstance(data, dict) else None
    values = value if isinstance(value, list) else [value]
    return [str(v).strip().lower() for v in values if isinstance(v, str) and v.strip()]


def _monthly_payments(start: datetime, end: datetime) -> list[datetime]:
    out: list[datetime] = []
    n = 0
    while True:
        month = start.month - 1 + n
        moment = start.replace(year=start.year + month // 12, month=month % 12 + 1)
        if moment >= end:
            return out
        out.append(moment)
        n += 1


def sponsorship_payments(world: World) -> list[tuple[str, str, datetime, int]]:
    """(sponsor, sponsorable, paid at, cents) for every payment up to ``now``."""
    payments = []
    for s in world.sponsorships:
        if s.is_one_time:
            payments.append((s.sponsor, s.sponsorable, s.created_at, s.monthly_cents))
            continue
        for moment in _monthly_payments(s.created_at, min(s.ended_at or world.now, world.now)):
            payments.append((s.sponsor, s.sponsorable, moment, s.monthly_cents))
    return payments


#: The reporting currency the truth converts the world's money into (upkeep's default).
REPORTING_CURRENCY = "USD"


def _usd_cents(world: World, cents: int, currency: str, day: date) -> int | None:
    """``cents`` of ``currency`` paid on ``day`` in US cents at the world's ECB rate of that day, or of the
    nearest earlier publication day up to seven days back; rounded half to even; None: no rate."""
    if currency == REPORTING_CURRENCY:
        return cents
    rates = world_rates(world)
    for back in range(8):
        published = rates.get(day - timedelta(days=back))
        if published is None:
            continue
        per_euro = Decimal(1) if currency == "EUR" else published.get(currency)
        if per_euro is None:
            return None
        value = Decimal(cents) * published[REPORTING_CURRENCY] / per_euro
        return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    return None


def _converted(world: World, paid: list[tuple[str, str, str, int, date]]) -> tuple[dict[str, Any], list[Any]]:
    """upstream → channel → amount in the reporting currency; and the payments without a rate."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    missing = []
    for key, channel, currency, cents, day in paid:
        value = _usd_cents(world, cents, currency, day)
        if value is None:
            missing.append({"upstream": key, "channel": channel, "cents": cents, "currency": currency, "day": str(day)})
            continue
        out[key][channel] += value
    plain = {key: {ch: cents / 100 for ch, cents in sorted(chs.items())} for key, chs in sorted(out.items())}
    return plain, missing


def _money(
    world: World, used: set[str], paid: list[tuple[str, str, str, int, date]] | None = None
) -> tuple[dict[str, dict[str, dict[str, Any]]], list[dict[str, Any]]]:
    owned: dict[str, list[str]] = defaultdict(list)
    for up in world.upstreams:
        if up.key in used:
            owned[up.owner.lower()].append(up.key)
    money: dict[str, dict[str, dict[str, Any]]] = defaultdict(lambda: defaultdict(dict))
    unattributed: list[dict[str, Any]] = []
    orgs = {o.lower() for o in world.orgs}
    for sponsor, sponsorable, moment, cents in sponsorship_payments(world):
        if sponsor.lower() not in orgs or not _in_window(moment, world):
            continue
        keys = owned.get(sponsorable.lower(), [])
        if len(keys) != 1:
            unattributed.append({"channel": "github_sponsors", "payee": sponsorable, "cents": cents, "currency": "USD"})
            continue
        bucket = money[keys[0]]["github_sponsors"]
        bucket["USD"] = bucket.get("USD", 0) + cents
        if paid is not None:
            paid.append((keys[0], "github_sponsors", "USD", cents, moment.date()))
    named: dict[str, list[str]] = defaultdict(list)  # collective slug -> upstreams whose FUNDING.yml names it
    for up in world.upstreams:
        if up.key in used:
            for slug in funding_yml_collectives(up):
                named[slug].append(up.key)
    collective_upstream: dict[str, str | None] = {}
    for collective in world.collectives:
        handle = (collective.github_handle or "").lower()
        linked = f"github.com/{handle}" if "/" in handle else None
        by_funding = named.get(collective.slug.lower(), [])
        target = None
        if linked in used:
            target = linked
        elif len(by_funding) == 1:
            target = by_funding[0]
        elif "/" not in handle and len(owned.get(handle, [])) == 1:
            target = owned[handle][0]
        collective_upstream[collective.slug] = target
    for contribution in world.oc_contributions:
        if not _in_window(contribution.created_at, world):
            continue
        key = collective_upstream.get(contribution.collective)
        if key is None:
            unattributed.append(
                {
                    "channel": "open_collective",
                    "payee": contribution.collective,
                    "cents": contribution.amount_cents,
                    "currency": contribution.currency,
                }
            )
            continue
        bucket = money[key]["open_collective"]
        bucket[contribution.currency] = bucket.get(contribution.currency, 0) + contribution.amount_cents
        if paid is not None:
            day = contribution.created_at.date()
            paid.append((key, "open_collective", contribution.currency, contribution.amount_cents, day))
    start, end = _window(world)
    current = renamed_upstreams(world)
    for entry in world.ledger:
        if not start.date() < entry.paid_on <= end.date():
            continue
        cents = int(Decimal(entry.amount) * 100)
        upstream = current.get(entry.upstream, entry.upstream)
        if upstream not in used:
            unattributed.append(
                {"channel": entry.channel, "payee": entry.upstream, "cents": cents, "currency": entry.currency}
            )
            continue
        bucket = money[upstream]["ledger"]
        bucket[entry.currency] = bucket.get(entry.currency, 0) + cents
        if paid is not None:
            paid.append((upstream, "ledger", entry.currency, cents, entry.paid_on))
    plain = {key: {ch: dict(sorted(cur.items())) for ch, cur in sorted(chs.items())} for key, chs in money.items()}
    return dict(sorted(plain.items())), unattributed


def _contributions(world: World) -> tuple[dict[str, Any], dict[str, Any]]:
    people = {p.login: p for p in world.people}
    windows = [("trailing_12_months", *_window(world))]
    quarter_list = quarters(world.now)
    trailing: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    per_quarter: dict[str, dict[str, dict[str, dict[str, int]]]] = {
        name: defaultdict(lambda: defaultdict(lambda: defaultdict(int))) for name, _, _ in quarter_list
    }
    for c in world.contributions:
        person = people.get(c.login)
        if person is None:
            continue
        counted = _counted_as(person)
        if counted is None or not _counts_on(person, c.occurred_at):
            continue
        _, start, end = windows[0]
        if start < c.occurred_at <= end:
            trailing[counted][c.upstream][c.kind] += c.count
        for name, q_start, q_end in quarter_list:
            if q_start <= c.occurred_at < q_end:
                per_quarter[name][counted][c.upstream][c.kind] += c.count

    def plain(tree: dict[str, dict[str, dict[str, int]]]) -> dict[str, Any]:
        return {
            login: {up: dict(sorted(kinds.items())) for up, kinds in sorted(ups.items())}
            for login, ups in sorted(tree.items())
        }

    counts = {"trailing_12_months": plain(trailing), "quarters": {n: plain(t) for n, t in per_quarter.items()}}
    spans = {
        "trailing_12_months": {"start": _iso(windows[0][1]), "end": _iso(windows[0][2]), "bounds": "(start, end]"},
        "quarters": {n: {"start": _iso(s), "end": _iso(e), "bounds": "[start, end)"} for n, s, e in quarter_list},
    }
    return counts, spans


def own_upstreams(world: World) -> list[str]:
    """The organisation's own repositories among the upstreams: used, but no upstream it could under-invest in."""
    orgs = {org.lower() for org in world.orgs}
    return sorted(up.key for up in world.upstreams if up.host == "github.com" and up.owner.lower() in orgs)


def renamed_upstreams(world: World) -> dict[str, str]:
    """Old key → current key of every renamed or transferred upstream."""
    return {former: up.key for up in world.upstreams for former in up.former_keys}


def truth(world: World) -> dict[str, Any]:
    """The ground truth as a JSON-serialisable dict in a stable order (see the module docstring)."""
    bots = {p.login for p in world.people if p.is_bot}
    packages = []
    for pkg in sorted(world.packages, key=lambda p: p.package_key):
        packages.append(
            {
                "package": pkg.package_key,
                "purl": purl_of(pkg.ecosystem, pkg.namespace, pkg.name),
                "ecosystem": pkg.ecosystem,
                "true_upstream": pkg.true_upstream,
                "declared_upstream": pkg.declared_upstream,
                "unresolvable_reason": pkg.unresolvable_reason,
                "repository_form": pkg.repository_form,
                "subdirectory": pkg.subdirectory,
            }
        )
    used = {p.true_upstream for p in world.packages if p.true_upstream}
    usage: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_package = {p.package_key: p.true_upstream for p in world.packages}
    for repo in world.internal_repos:
        seen: dict[str, tuple[bool, bool]] = {}
        for dep in repo.dependencies:
            key = by_package.get(dep.package)
            if key is None:
                continue
            direct, runtime = seen.get(key, (False, False))
            seen[key] = (direct or dep.direct, runtime or dep.scope == "runtime")
        for key, (direct, runtime) in seen.items():
            usage[key]["repos"] += 1
            usage[key]["direct_repos"] += direct
            usage[key]["runtime_repos"] += runtime
            usage[key]["direct_runtime_repos"] += direct and runtime
    signals = {}
    for up in sorted(world.upstreams, key=lambda u: u.key):
        licenses = list(up.licenses) or [None]
        drift = [
            {"scan": i, "from": licenses[i - 1], "to": licenses[i]}
            for i in range(1, len(licenses))
            if licenses[i] != licenses[i - 1]
        ]
        signals[up.key] = {
            "used": up.key in used,
            **commit_factors(up, world, bots),
            "designed_bus_factor": up.designed_bus_factor,
            "designed_elephant_factor": up.designed_elephant_factor,
            "licenses": licenses,
            "license_classes": [license_class(lic) for lic in licenses],
            "license_drift": drift,
            "archived": up.archived,
            "governance": up.governance,
            "owner_type": up.owner_type,
            "funding_channels": funding_channels(up),
            "last_commit_at": _iso(up.commits[0].committed_at) if up.commits else None,
            "last_release_at": _iso(max((r.published_at for r in up.releases), default=None)),
            "scorecard": up.scorecard,
            "contributor_agreement": up.contributor_agreement,
        }
    people = []
    for p in sorted(world.people, key=lambda x: x.login):
        counted = _counted_as(p)
        people.append(
            {
                "login": p.login,
                "identity": p.identity,
                "counts": counted is not None,
                "counts_as": counted,
                "from": _iso(p.roster_start),
                "until": _iso(p.roster_end),
                "is_bot": p.is_bot,
                "org_member": p.org_member,
                "member_of": list(p.member_of),
            }
        )
    counts, spans = _contributions(world)
    paid: list[tuple[str, str, str, int, date]] = []
    money, unattributed = _money(world, used, paid)
    converted, unconverted = _converted(world, paid)
    return {
        "seed": world.seed,
        "scale": world.scale,
        "now": _iso(world.now),
        "orgs": list(world.orgs),
        "email_domains": list(world.email_domains),
        "windows": spans,
        "packages": packages,
        "upstreams": sorted(used),
        "usage": {key: dict(sorted(v.items())) for key, v in sorted(usage.items())},
        "people": people,
        "contributions": counts,
        "money": money,
        "money_unattributed": unattributed,
        "money_converted": converted,
        "money_unconverted": unconverted,
        "reporting_currency": REPORTING_CURRENCY,
        "signals": signals,
        "under_invested": list(world.under_invested),
        "renamed_upstreams": dict(sorted(renamed_upstreams(world).items())),
        "own_upstreams": own_upstreams(world),
        "repo_facts": repo_facts_truth(world),
        "usage_by_team": usage_by_team_truth(world),
    }


def world_truth_json(world: World) -> str:
    """The truth as canonical JSON text (sorted keys, two-space indent): same world, same bytes."""
    return json.dumps(truth(world), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
