"""GitHub Sponsors: what the organisation (and, when configured, its people) paid, per payment.

``sponsorshipsAsSponsor(activeOnly: false)`` lists active and past sponsorships with their tier
(``monthlyPriceInCents``, one-time or monthly) and ``createdAt``, but a ``Sponsorship`` has no end
date. A monthly sponsorship pays on the day it was created and every month after; for an active
one the payments up to ``now`` follow from that. For a past one, the amount actually paid comes
from ``Organization.totalSponsorshipAmountAsSponsorInCents(since, until, sponsorableLogins)``
(readable by the organisation's sponsorship managers), which gives the number of monthly payments.
GitHub answers it only to a user who manages the sponsorships, never to an App installation: when
it says null, the amount is not guessed — only the first payment (which certainly happened) is
counted, and the payment carries :data:`AMOUNT_HIDDEN`, so the review says how many sponsorships
have an amount this credential cannot see.

Attribution: the upstreams whose owner is the sponsored account, or whose FUNDING.yml ``github:``
names it. Several: the money is split evenly and the attribution says so; none: kept as
unattributed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.sources.github_client import GraphQLClient
from bot.sources.money import Payment, cents

SPONSORSHIPS_FIELDS = """
    sponsorshipsAsSponsor(first: 100, after: $after, activeOnly: false) {
      pageInfo { hasNextPage endCursor }
      nodes {
        createdAt
        isActive
        isOneTimePayment
        privacyLevel
        sponsorable {
          ... on User { login }
          ... on Organization { login }
        }
        tier { monthlyPriceInCents isOneTime name }
      }
    }"""
ORG_SPONSORSHIPS_QUERY = f"""
query OrgSponsorships($login: String!, $after: String) {{
  organization(login: $login) {{{SPONSORSHIPS_FIELDS}
  }}
}}
"""
USER_SPONSORSHIPS_QUERY = f"""
query UserSponsorships($login: String!, $after: String) {{
  user(login: $login) {{{SPONSORSHIPS_FIELDS}
  }}
}}
"""
TOTALS_PER_QUERY = 50
#: In a payment's attribution: the paid total of an ended sponsorship is hidden from upkeep's credential.
AMOUNT_HIDDEN = "amount hidden from this credential"


def totals_query(count: int) -> str:
    """Amounts paid to ``count`` sponsorables, each between its own ``$s``/``$u`` (``$a0``, ``$s0``, ``$u0`` …)."""
    params = ", ".join(f"$a{i}: [String!], $s{i}: DateTime, $u{i}: DateTime" for i in range(count))
    fields = "\n".join(
        f"    t{i}: totalSponsorshipAmountAsSponsorInCents(since: $s{i}, until: $u{i}, sponsorableLogins: $a{i})"
        for i in range(count)
    )
    head = f"query SponsorshipTotals($login: String!, {params}) {{"
    return f"{head}\n  organization(login: $login) {{\n{fields}\n  }}\n}}\n"


@dataclass(frozen=True, slots=True)
class Sponsorship:
    sponsor: str
    sponsorable: str
    created_at: datetime
    monthly_cents: int
    one_time: bool
    active: bool
    tier: str = ""


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def fetch_sponsorships(gql: GraphQLClient, login: str, *, organisation: bool) -> list[Sponsorship]:
    """Every sponsorship ``login`` made, active and past."""
    query = ORG_SPONSORSHIPS_QUERY if organisation else USER_SPONSORSHIPS_QUERY
    out: list[Sponsorship] = []
    after: str | None = None
    while True:
        result = gql.query(query, {"login": login, "after": after}, purpose="sponsorships")
        owner = result.data.get("organization" if organisation else "user")
        if owner is None:
            return out
        page = owner["sponsorshipsAsSponsor"]
        for node in page["nodes"]:
            sponsorable = (node.get("sponsorable") or {}).get("login")
            tier = node.get("tier") or {}
            if not sponsorable:
                continue
            out.append(
                Sponsorship(
                    sponsor=login,
                    sponsorable=str(sponsorable),
                    created_at=_moment(node["createdAt"]),
                    monthly_cents=int(tier.get("monthlyPriceInCents") or 0),
                    one_time=bool(node.get("isOneTimePayment") or tier.get("isOneTime")),
                    active=bool(node.get("isActive")),
                    tier=str(tier.get("name") or ""),
                )
            )
        if not page["pageInfo"]["hasNextPage"]:
            return out
        after = page["pageInfo"]["endCursor"]


def fetch_totals(gql: GraphQLClient, org: str, asks: Sequence[tuple[str, datetime, datetime]]) -> dict[int, int | None]:
    """Cents paid to each (sponsorable, since, until), by position in ``asks``; None where GitHub says null."""
    out: dict[int, int | None] = {}
    for first in range(0, len(asks), TOTALS_PER_QUERY):
        chunk = asks[first : first + TOTALS_PER_QUERY]
        variables: dict[str, Any] = {"login": org}
        for i, (login, since, until) in enumerate(chunk):
            variables[f"a{i}"] = [login]
            variables[f"s{i}"] = _iso(since)
            variables[f"u{i}"] = _iso(until)
        result = gql.query(totals_query(len(chunk)), variables, purpose="sponsorship-totals")
        organization = result.data.get("organization") or {}
        for i in range(len(chunk)):
            value = organization.get(f"t{i}")
            out[first + i] = int(value) if value is not None else None
    return out


def total_asks(sponsorships: Sequence[Sponsorship], now: datetime) -> list[tuple[int, tuple[str, datetime, datetime]]]:
    """(position, (sponsorable, since, until)) for each ended monthly sponsorship; ``until`` stops at the next
    sponsorship of the same account, so a later tier's payments are not counted for the earlier one."""
    out = []
    for index, s in enumerate(sponsorships):
        if s.active or s.one_time:
            continue
        later = [
            o.created_at
            for o in sponsorships
            if o.sponsorable.lower() == s.sponsorable.lower() and o.created_at > s.created_at
        ]
        out.append((index, (s.sponsorable, s.created_at, min([*later, now]) - timedelta(seconds=1) if later else now)))
    return out


def monthly_dates(start: datetime, count: int) -> list[datetime]:
    """``count`` monthly payment instants from ``start`` (same day of month, which Sponsors keeps ≤ 28)."""
    out = []
    for n in range(count):
        month = start.month - 1 + n
        out.append(start.replace(year=start.year + month // 12, month=month % 12 + 1))
    return out


def payments_until(start: datetime, end: datetime) -> list[datetime]:
    """Monthly payment instants from ``start`` strictly before ``end``."""
    out: list[datetime] = []
    n = 0
    while True:
        moment = monthly_dates(start, n + 1)[-1]
        if moment >= end:
            return out
        out.append(moment)
        n += 1


def attribute(
    login: str, owners: Mapping[str, Sequence[str]], funding_github: Mapping[str, Sequence[str]]
) -> tuple[tuple[str, ...], str]:
    """The upstreams a sponsored account stands for, and how that was decided."""
    keys = sorted({*owners.get(login.lower(), ()), *funding_github.get(login.lower(), ())})
    if not keys:
        return (), f"{login} owns no upstream and no FUNDING.yml names it"
    if len(keys) == 1:
        return (keys[0],), f"{login} owns or is named in the FUNDING.yml of {keys[0]}"
    return tuple(keys), f"{login} stands for {len(keys)} upstreams: split evenly"


def sponsorship_payments(
    sponsorships: Sequence[Sponsorship],
    totals: Mapping[int, int | None],
    *,
    now: datetime,
    owners: Mapping[str, Sequence[str]],
    funding_github: Mapping[str, Sequence[str]],
) -> list[Payment]:
    """Each sponsorship's payments up to ``now``; ``totals`` holds paid cents for past monthly ones, by position."""
    out: list[Payment] = []
    for index, s in enumerate(sponsorships):
        upstreams, why = attribute(s.sponsorable, owners, funding_github)
        if s.one_time:
            dates, note = [s.created_at], "one-time"
        elif s.active:
            dates, note = payments_until(s.created_at, now), "monthly, active"
        else:
            paid = totals.get(index)
            if paid is None or s.monthly_cents <= 0:
                dates, note = (
                    [s.created_at],
                    f"monthly, ended: {AMOUNT_HIDDEN}, end unknown (GitHub gave no total), first payment only",
                )
            else:
                dates, note = (
                    monthly_dates(s.created_at, paid // s.monthly_cents),
                    "monthly, ended: paid total from GitHub",
                )
        for moment in dates:
            out.append(
                Payment(
                    channel="github_sponsors",
                    payee=s.sponsorable,
                    paid_on=moment,
                    amount=cents(s.monthly_cents),
                    currency="USD",
                    upstreams=upstreams,
                    attribution=f"{why}; {note}",
                    subchannel=s.sponsor,
                    source="github-graphql",
                )
            )
    return out


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


FUNDING_PER_QUERY = 50


def funding_links_query(count: int) -> str:
    """``fundingLinks`` (GitHub's parsed FUNDING.yml) of ``count`` repositories (``$o0``/``$n0`` …)."""
    params = ", ".join(f"$o{i}: String!, $n{i}: String!" for i in range(count))
    fields = "\n".join(
        f"  r{i}: repository(owner: $o{i}, name: $n{i}) {{ fundingLinks {{ platform url }} }}" for i in range(count)
    )
    return f"query FundingLinks({params}) {{\n{fields}\n}}\n"


def fetch_funding_links(gql: GraphQLClient, upstream_keys: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """upstream key → [(platform, url)] for ``host/owner/name`` keys on the GitHub instance."""
    out: dict[str, list[tuple[str, str]]] = {}
    for first in range(0, len(upstream_keys), FUNDING_PER_QUERY):
        chunk = upstream_keys[first : first + FUNDING_PER_QUERY]
        variables: dict[str, Any] = {}
        for i, key in enumerate(chunk):
            _, owner, name = key.split("/", 2)
            variables[f"o{i}"], variables[f"n{i}"] = owner, name
        result = gql.query(funding_links_query(len(chunk)), variables, purpose="funding-links")
        for i, key in enumerate(chunk):
            repo = result.data.get(f"r{i}")
            if repo:
                out[key] = [(str(link["platform"]), str(link["url"])) for link in repo.get("fundingLinks") or []]
    return out


def funding_names(links: Mapping[str, Sequence[tuple[str, str]]], platform: str) -> dict[str, list[str]]:
    """account or slug (lower-cased, the URL's last path segment) → upstreams whose FUNDING.yml names it."""
    out: dict[str, list[str]] = {}
    for key, entries in links.items():
        for kind, url in entries:
            if kind != platform:
                continue
            name = url.rstrip("/").rsplit("/", 1)[-1].lower()
            if name and key not in out.setdefault(name, []):
                out[name].append(key)
    return out
