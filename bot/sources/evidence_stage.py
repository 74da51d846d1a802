"""The evidence stage, first half: people, their contributions upstream, and the money paid.

``gather_evidence`` runs the parts in order and writes each as it goes, so a crash or a rate-limit
stop keeps what was done: contribution segments carry checkpoints (an ended quarter is never asked
again, the running one is asked up to ``now``), and a long rate-limit wait ends the run with
``stopped`` set instead of sleeping, so the next run continues where this one stopped.

Reading helpers (:func:`contributions_by_upstream`, :func:`money_by_upstream`) turn the stored
evidence into per-window figures (``bot.store.gap_inputs`` converts them for the gap model).
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import Secrets, Settings
from bot.forges.interface import Forge, ForgeError
from bot.forges.people import expected_groups, forge_identities
from bot.forges.registry import make_forges
from bot.http import RateLimited, make_client
from bot.pipeline import StageContext
from bot.progress import start_progress
from bot.sources.contributions import GitHubContributionSource, Span, SpanResult, segments
from bot.sources.ecb import RatesFeedError, fetch_new_days
from bot.sources.github_client import GraphQLClient, api_client_for, uses_app
from bot.sources.ledger import read_ledger
from bot.sources.money import Payment
from bot.sources.opencollective import collective_payments, fetch_transactions, make_opencollective_client
from bot.sources.people import Identity, discover_people
from bot.sources.sponsors import (
    fetch_funding_links,
    fetch_sponsorships,
    fetch_totals,
    funding_names,
    sponsorship_payments,
    total_asks,
)
from bot.store import evidence as store
from bot.store.engine import session_scope
from bot.store.rates import newest_rate_day, save_rates
from bot.store.renames import load_renames

log = logging.getLogger(__name__)
PARTS = ("people", "contributions", "money")
FLUSH_EVERY = 50


@dataclass
class EvidenceSummary:
    """What one run gathered; ``stopped`` says when a rate limit ended it early (rerun to resume)."""

    identities: int = 0
    people: int = 0
    bots: list[str] = field(default_factory=list)
    people_problems: list[str] = field(default_factory=list)
    segments_fetched: int = 0
    segments_skipped: int = 0
    segments_split: int = 0
    missing_accounts: list[str] = field(default_factory=list)
    restricted: int = 0
    payments: dict[str, int] = field(default_factory=dict)
    unattributed_payments: int = 0
    ledger_problems: list[str] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    points: dict[str, int] = field(default_factory=dict)  # GraphQL points charged, by purpose (rateLimit.cost)
    queries_by_org: dict[str, int] = field(default_factory=dict)  # GraphQL queries per App installation
    points_by_org: dict[str, int] = field(default_factory=dict)  # GraphQL points per App installation
    stopped: str | None = None
    rate_days_added: int = 0  # ECB reference-rate days added to the store
    rates_problem: str | None = None  # why the ECB rates could not be fetched (payments may stay unconverted)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Clients:
    """The network, injected: GitHub GraphQL and Open Collective.

    ``by_org`` holds one GraphQL client per organisation when upkeep runs as a GitHub App: each
    installation has its own budget of points, so what concerns an organisation (its members, its
    people's contributions, its sponsorships) is asked through that organisation's installation, and
    the budgets add up instead of one installation paying for all. ``github`` serves the rest."""

    github: GraphQLClient
    opencollective: httpx.Client | None = None
    ecb: httpx.Client | None = None  # the ECB reference-rate feed (None: not fetched)
    forges: dict[str, Forge] = field(default_factory=dict)  # [[forges]] adapters by name (GitLab, ...)
    by_org: Mapping[str, GraphQLClient] = field(default_factory=dict)

    def for_org(self, org: str | None) -> GraphQLClient:
        """The client of ``org``'s installation, or the default one."""
        return self.by_org.get(org, self.github) if org else self.github

    def calls(self) -> dict[str, int]:
        """Queries sent by purpose, over every client."""
        return self._summed("calls")

    def points(self) -> dict[str, int]:
        """GraphQL points GitHub charged by purpose (queries that ask for their cost), over every client."""
        return self._summed("points")

    def _summed(self, counter: Literal["calls", "points"]) -> dict[str, int]:
        total: dict[str, int] = {}
        for client in {id(c): c for c in (self.github, *self.by_org.values())}.values():
            for purpose, count in getattr(client, counter).items():
                total[purpose] = total.get(purpose, 0) + count
        return total


def make_clients(settings: Settings, secrets: Secrets, *, transport: httpx.BaseTransport | None = None) -> Clients:
    """Clients on the configured base URLs with the configured credentials (one per installation for an App)."""
    org = settings.github.orgs[0] if settings.github.orgs else settings.organisation
    api = api_client_for(settings, secrets, org, transport=transport)
    github = GraphQLClient(api, settings.github.graphql_url, time_compression=settings.github.time_compression)
    by_org: dict[str, GraphQLClient] = {}
    if uses_app(settings, secrets):
        for name in settings.github.orgs:
            if name == org:
                by_org[name] = github
            else:
                client = api_client_for(settings, secrets, name, transport=transport)
                by_org[name] = GraphQLClient(
                    client, settings.github.graphql_url, time_compression=settings.github.time_compression
                )
    oc: httpx.Client | None = None
    if settings.funding.opencollective_slug:
        oc = make_opencollective_client(settings, secrets, transport=transport)
    ecb = make_client(timeout=60.0, transport=transport) if settings.funding.ecb_rates else None
    forges = make_forges(settings, secrets, transport=transport)
    return Clients(github, oc, ecb, forges=forges, by_org=by_org)


# --------------------------------------------------------------------------- people


def gather_people(
    engine: Engine, settings: Settings, clients: Clients, summary: EvidenceSummary, now: datetime
) -> None:
    result = discover_people(settings, clients.github, client_for=clients.for_org)
    elsewhere = forge_identities(settings, clients.forges)  # members and accounts on the other forges
    result.identities += elsewhere.identities
    result.bots = sorted({*result.bots, *elsewhere.bots})
    result.problems += elsewhere.problems
    with session_scope(engine) as session:
        # membership history moves only when every org and group answered (a lost one must not end its members)
        listed = bool(settings.github.orgs) and set(result.members_seen) == set(settings.github.orgs)
        listed = listed and set(elsewhere.groups_seen) == expected_groups(settings, clients.forges)
        store.save_identities(session, result.identities, now=now, members_listed=listed)
    summary.identities = len(result.identities)
    summary.people = len({i.person for i in result.identities})
    summary.bots = result.bots
    summary.people_problems = result.problems


# --------------------------------------------------------------------------- contributions


def _could_count(identities: Sequence[Identity], start: datetime, end: datetime) -> bool:
    for identity in identities:
        if identity.valid_until is not None and identity.valid_until < start.date():
            continue
        if identity.valid_from is not None and identity.valid_from > end.date():
            continue
        return True
    return False


def pending_spans(engine: Engine, settings: Settings, now: datetime) -> tuple[list[Span], int]:
    """Spans still to ask (account × quarter not complete up to ``now``), and how many were already complete."""
    with Session(engine) as session:
        identities = store.load_identities(session)
        checkpoints = store.load_checkpoints(session)
    by_account: dict[str, list[Identity]] = defaultdict(list)
    for identity in identities:
        by_account[identity.account].append(identity)
    spans: list[Span] = []
    skipped = 0
    for start, end in segments(
        now, window_days=settings.gaps.window_days, review_quarters=settings.people.review_quarters
    ):
        capped = min(end, now + timedelta(seconds=1))
        for account in sorted(by_account):
            if not _could_count(by_account[account], start, capped):
                continue
            done = checkpoints.get((account, start))
            if done is not None and done.fetched_until >= capped:
                skipped += 1
                continue
            spans.append(Span(account, start, start, capped))
    return spans, skipped


def installation_of(identities: Iterable[Identity], orgs: Sequence[str]) -> dict[str, str | None]:
    """account → the organisation whose installation asks for its contributions: the first configured
    organisation it is a member of; None (the default client) for an account known only from the
    config or the roster."""
    member_of: dict[str, set[str]] = defaultdict(set)
    for identity in identities:
        if identity.source == "member":
            member_of[identity.account].update(part.strip() for part in identity.detail.split(","))
        else:
            member_of.setdefault(identity.account, set())
    return {account: next((org for org in orgs if org in found), None) for account, found in member_of.items()}


def _fetch_by_installation(
    engine: Engine, settings: Settings, clients: Clients, spans: Sequence[Span]
) -> Iterator[SpanResult]:
    """Each span through the installation of its account's organisation (one client when not an App).

    The installations' groups are asked at the same time, one thread each: a group spends only its
    own installation's budget, so asking them one after another would add up the waits the budgets
    impose instead of overlapping them. Results arrive on this thread, which alone writes the store."""
    groups: dict[str | None, list[Span]] = defaultdict(list)
    if clients.by_org:
        with Session(engine) as session:
            owner = installation_of(store.load_identities(session), settings.github.orgs)
        for span in spans:
            groups[owner.get(span.account)].append(span)
    else:
        groups[None] = list(spans)
    sources = [
        (
            GitHubContributionSource(
                clients.for_org(org),
                web_host=settings.github.web_host,
                per_query=settings.github.people_per_query,
                workers=settings.github.max_concurrent_queries,
                first_room=settings.github.contribution_repositories,
            ),
            group,
        )
        for org, group in groups.items()
        if group
    ]
    if len(sources) <= 1:
        for source, group in sources:
            yield from source.fetch(group)
        return
    results: queue.Queue[SpanResult | BaseException | None] = queue.Queue()
    stop = threading.Event()

    def produce(source: GitHubContributionSource, group: list[Span]) -> None:
        try:
            for result in source.fetch(group):
                if stop.is_set():
                    return
                results.put(result)
        except BaseException as exc:  # handed to the consuming thread, which raises it
            results.put(exc)
        finally:
            results.put(None)

    threads = [
        threading.Thread(target=produce, args=pair, name=f"contributions-{n}", daemon=True)
        for n, pair in enumerate(sources)
    ]
    for thread in threads:
        thread.start()
    try:
        running = len(threads)
        while running:
            item = results.get()
            if item is None:
                running -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def gather_contributions(
    engine: Engine, settings: Settings, clients: Clients, summary: EvidenceSummary, now: datetime
) -> None:
    every, summary.segments_skipped = pending_spans(engine, settings, now)
    spans = [s for s in every if ":" not in s.account]  # GitHub logins; FORGE:username accounts go to their forge
    elsewhere: dict[str, list[Span]] = defaultdict(list)
    for span in every:
        if ":" in span.account:
            elsewhere[span.account.split(":", 1)[0]].append(span)
    for name in sorted(set(elsewhere) - set(clients.forges)):
        log.warning("contributions: accounts on forge %s, which is not configured any more: not asked", name)
    asked = spans + [s for name, group in elsewhere.items() if name in clients.forges for s in group]
    outstanding: dict[tuple[str, datetime], int] = {(s.account, s.segment): 1 for s in asked}
    ends = {(s.account, s.segment): s.end for s in asked}
    merged: dict[tuple[str, datetime], SpanResult] = {}
    done: list[SpanResult] = []

    progress = start_progress("gather contributions", total=len(outstanding), unit="person-segments")

    def flush() -> None:
        if not done:
            return
        progress.advance(len(done))
        with session_scope(engine) as session:
            for result in done:
                span = result.span
                store.save_segment(
                    session,
                    account=span.account,
                    segment_start=span.segment,
                    segment_end=ends[(span.account, span.segment)],
                    fetched_until=ends[(span.account, span.segment)],
                    counts=result.counts,
                    status="missing" if result.missing else "ok",
                    restricted=result.restricted,
                    now=now,
                )
        summary.segments_fetched += len(done)
        done.clear()

    try:
        answers = itertools.chain(
            _fetch_by_installation(engine, settings, clients, spans),
            *(
                _guarded(name, clients.forges[name].contributions(group))
                for name, group in elsewhere.items()
                if name in clients.forges
            ),
        )
        for result in answers:
            key = (result.span.account, result.span.segment)
            if result.cut_short:
                outstanding[key] += 1
                summary.segments_split += 1
                continue
            whole = merged.setdefault(key, SpanResult(Span(key[0], key[1], key[1], ends[key])))
            for count_key, count in result.counts.items():
                whole.counts[count_key] = whole.counts.get(count_key, 0) + count
            whole.restricted += result.restricted
            whole.missing = whole.missing or result.missing
            outstanding[key] -= 1
            if outstanding[key] == 0:
                done.append(merged.pop(key))
                if whole.missing and key[0] not in summary.missing_accounts:
                    summary.missing_accounts.append(key[0])
                summary.restricted += whole.restricted
                if len(done) >= FLUSH_EVERY:
                    flush()
    finally:
        flush()
        progress.close()


def _guarded(forge: str, results: Iterator[SpanResult]) -> Iterator[SpanResult]:
    """A forge's answers until it fails; what it did not answer is asked again on the next run."""
    try:
        yield from results
    except ForgeError as exc:
        log.warning("contributions: forge %s stopped answering (%s); the rest is asked on the next run", forge, exc)


# --------------------------------------------------------------------------- money


def _owners(upstreams: Iterable[str]) -> dict[str, list[str]]:
    """owner → upstream keys, on every forge: a sponsored GitHub account often owns its project elsewhere too."""
    owners: dict[str, list[str]] = defaultdict(list)
    for key in sorted(upstreams):
        _, owner, _ = key.split("/", 2)
        owners[owner.lower()].append(key)
    return owners


def gather_money(engine: Engine, settings: Settings, clients: Clients, summary: EvidenceSummary, now: datetime) -> None:
    with Session(engine) as session:
        upstreams = store.load_upstream_keys(session)
        accounts = sorted({i.account for i in store.load_identities(session) if ":" not in i.account})
        renames = load_renames(session)
    web_host = settings.github.web_host
    owners = _owners(upstreams)
    sponsorships = []
    for org in settings.github.orgs:
        found = fetch_sponsorships(clients.for_org(org), org, organisation=True)
        asks = total_asks(found, now)
        totals = fetch_totals(clients.for_org(org), org, [ask for _, ask in asks])
        sponsorships.append((found, {i: totals.get(n) for n, (i, _) in enumerate(asks)}))
    if settings.funding.include_people_sponsorships:
        sponsorships += [(fetch_sponsorships(clients.github, a, organisation=False), {}) for a in accounts]
    slug = settings.funding.opencollective_slug
    transactions = []
    if slug and clients.opencollective is not None:
        transactions = fetch_transactions(clients.opencollective, settings.funding.opencollective_url, slug)
    links: dict[str, list[tuple[str, str]]] = {}
    if any(found for found, _ in sponsorships) or transactions:  # FUNDING.yml is only needed to attribute them
        links = fetch_funding_links(clients.github, sorted(k for k in upstreams if k.startswith(f"{web_host}/")))
    payments: dict[str, list[Payment]] = {}
    if settings.github.orgs or settings.funding.include_people_sponsorships:
        funding_github = funding_names(links, "GITHUB")
        payments["github_sponsors"] = [
            p
            for found, totals in sponsorships
            for p in sponsorship_payments(found, totals, now=now, owners=owners, funding_github=funding_github)
        ]
    if slug and clients.opencollective is not None:
        payments["open_collective"] = collective_payments(
            transactions,
            upstreams=upstreams,
            owners=owners,
            funding_slugs=funding_names(links, "OPEN_COLLECTIVE"),
            web_host=web_host,
            renames=renames,
        )
    if settings.funding.ledger_csv:
        path = Path(settings.funding.ledger_csv)
        if not path.is_absolute() and settings.config_path is not None:
            path = settings.config_path.parent / path
        ledger, problems = read_ledger(path, upstreams=upstreams, renames=renames)
        payments["ledger"] = ledger
        summary.ledger_problems = [str(p) for p in problems]
    with session_scope(engine) as session:
        for channel, found_payments in payments.items():
            summary.payments[channel] = store.replace_payments(session, channel, found_payments, now=now)
    summary.unattributed_payments = sum(1 for ps in payments.values() for p in ps if not p.upstreams)
    gather_rates(engine, settings, clients, summary, now)


def gather_rates(engine: Engine, settings: Settings, clients: Clients, summary: EvidenceSummary, now: datetime) -> None:
    """Extend the store's ECB reference rates with the days it does not have; a feed that fails is reported
    (the payments it would convert show as not converted), not fatal."""
    if clients.ecb is None:
        return
    with Session(engine) as session:
        newest = newest_rate_day(session)
    try:
        days = fetch_new_days(clients.ecb, settings.funding.ecb_url, newest_stored=newest, today=now.date())
    except RatesFeedError as exc:
        summary.rates_problem = str(exc)
        log.warning("evidence: ECB reference rates not fetched: %s", exc)
        return
    with session_scope(engine) as session:
        summary.rate_days_added = save_rates(session, days, now=now)


# --------------------------------------------------------------------------- the stage


def gather_evidence(
    engine: Engine,
    settings: Settings,
    secrets: Secrets,
    *,
    now: datetime,
    clients: Clients | None = None,
    parts: Sequence[str] = PARTS,
) -> EvidenceSummary:
    """Run the chosen parts; a long rate-limit wait stops the run with ``stopped`` set (rerun to resume)."""
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise ValueError(f"unknown evidence part(s) {', '.join(unknown)}; known: {', '.join(PARTS)}")
    clients = clients or make_clients(settings, secrets)
    summary = EvidenceSummary()
    steps = {"people": gather_people, "contributions": gather_contributions, "money": gather_money}
    try:
        for name in PARTS:
            if name in parts:
                steps[name](engine, settings, clients, summary, now)
    except RateLimited as exc:
        summary.stopped = exc.reset_at.isoformat()
        log.warning("evidence: rate limited until %s; the next run resumes here", summary.stopped)
    summary.calls = clients.calls()
    for name, forge in clients.forges.items():
        summary.calls[f"forge:{name}"] = int(getattr(forge, "calls", 0))
    summary.points = clients.points()
    summary.queries_by_org = {org: sum(client.calls.values()) for org, client in clients.by_org.items()}
    summary.points_by_org = {org: sum(client.points.values()) for org, client in clients.by_org.items()}
    return summary


# --------------------------------------------------------------------------- reading


def contributions_by_upstream(
    session: Session, *, start: datetime, end: datetime, bounds: store.Bounds, upstreams: set[str] | None = None
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """repository → kind → count for the inventory's upstreams, and the same for the rest ("also contributed to")."""
    counts = store.load_contribution_counts(session, start=start, end=end, bounds=bounds)
    keys = store.load_upstream_keys(session) if upstreams is None else upstreams
    inside: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    outside: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for repos in counts.values():
        for repo, kinds in repos.items():
            target = inside if repo in keys else outside
            for kind, n in kinds.items():
                target[repo][kind] += n
    return {k: dict(v) for k, v in inside.items()}, {k: dict(v) for k, v in outside.items()}


def money_by_upstream(payments: Iterable[Payment]) -> tuple[dict[str, dict[str, dict[str, Decimal]]], list[Payment]]:
    """(upstream → channel → currency → amount, with split payments shared evenly; unattributed payments)."""
    tree: dict[str, dict[str, dict[str, Decimal]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(Decimal)))
    unattributed = []
    for p in payments:
        if not p.upstreams:
            unattributed.append(p)
            continue
        for upstream in p.upstreams:
            tree[upstream][p.channel][p.currency] += p.share()
    return {u: {c: dict(cur) for c, cur in chs.items()} for u, chs in tree.items()}, unattributed


def describe_evidence(summary: EvidenceSummary) -> str:
    """What ``upkeep gather`` prints for the contributions and money parts."""
    calls = ", ".join(f"{k} {v}" for k, v in sorted(summary.calls.items()) if v)
    money = ", ".join(f"{k} {v}" for k, v in sorted(summary.payments.items()))
    lines = [
        f"people: {summary.people} people, {summary.identities} identities; bots excluded: {len(summary.bots)}",
        f"contributions: {summary.segments_fetched} account-quarters fetched ({summary.segments_split} split), "
        f"{summary.segments_skipped} already complete; {len(summary.missing_accounts)} accounts not found, "
        f"{summary.restricted} restricted contributions not visible",
        f"money: payments {money or 'none'} ({summary.unattributed_payments} unattributed); calls: {calls or 'none'}",
    ]
    spent = summary.points.get("contributions", 0)
    if spent:
        per = spent / summary.segments_fetched if summary.segments_fetched else 0.0
        lines.append(f"GraphQL points: contributions {spent} ({per:.2f} per account-quarter fetched)")
    lines.append(f"rates: {summary.rate_days_added} ECB reference-rate days added")
    if summary.rates_problem:
        lines.append(
            f"problem: ECB reference rates not fetched ({summary.rates_problem}); "
            "payments in other currencies may stay unconverted"
        )
    lines += [f"problem: {p}" for p in [*summary.people_problems, *summary.ledger_problems]]
    if summary.stopped:
        lines.append(f"stopped by a rate limit until {summary.stopped}; rerun then to continue")
    return "\n".join(lines)


def describe_upstream(session: Session, upstream: str, *, now: datetime, window_days: int) -> list[str]:
    """Contributions and money for one upstream over the trailing window (``upkeep upstream``)."""
    start = now - timedelta(days=window_days)
    lines = []
    if not store.load_checkpoints(session):
        lines.append("contributions: not gathered yet")
    else:
        counts = store.load_contribution_counts(session, start=start, end=now, bounds="(start, end]")
        kinds: dict[str, int] = defaultdict(int)
        people = 0
        for repos in counts.values():
            if upstream in repos:
                people += 1
                for kind, n in repos[upstream].items():
                    kinds[kind] += n
        shown = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
        lines.append(
            f"contributions (last {window_days} days): " + (f"{shown} by {people} people" if kinds else "none")
        )
    payments = store.load_payments(session)
    if not payments:
        lines.append("money: not gathered yet")
    else:
        money, _ = money_by_upstream(p for p in payments if start < p.paid_on <= now)
        amounts = [
            f"{channel} {amount:.2f} {currency}"
            for channel, currencies in sorted(money.get(upstream, {}).items())
            for currency, amount in sorted(currencies.items())
        ]
        lines.append(f"money (last {window_days} days): {', '.join(amounts) or 'none'}")
    return lines


def evidence_stage(context: StageContext) -> dict[str, Any]:
    """The pipeline's evidence half of ``gather``: people, contributions and money (``options["parts"]`` narrows)."""
    parts = tuple(context.options.get("parts") or PARTS)
    return gather_evidence(context.engine, context.settings, context.secrets, now=context.now, parts=parts).to_dict()
