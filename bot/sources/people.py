"""Who counts as the organisation: org members, configured extra logins, the roster, minus bots.

Each GitHub account becomes an :class:`Identity` that names the person it counts for and where it
came from (``member`` of an org, ``extra-login`` from config, ``roster`` file line, or
``email-domain`` for a roster line whose email is at one of the organisation's commit domains).
A roster line with dates bounds the account to those days, so someone who left counts only for
their time. Bots (``[bot]`` logins and ``people.bots``) are dropped here and listed as such.

Membership history: an account listed by an org earlier but not now keeps its identity, bounded by
the last day it was seen (see :func:`bot.store.evidence.save_identities`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from bot.config import Settings
from bot.sources.github_client import GraphQLClient

MEMBERS_QUERY = """
query OrgMembers($org: String!, $after: String) {
  organization(login: $org) {
    membersWithRole(first: 100, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { login name }
    }
  }
}
"""
ROSTER_COLUMNS = ("login", "name", "start", "end")


@dataclass(frozen=True, slots=True)
class Identity:
    """One account and the person it counts for; ``valid_from``/``valid_until`` are inclusive days."""

    account: str
    person: str
    source: str  # member | extra-login | roster | email-domain
    detail: str = ""
    name: str | None = None
    email: str | None = None
    valid_from: date | None = None
    valid_until: date | None = None


@dataclass
class PeopleResult:
    """Identities found, accounts excluded as bots, and roster lines that could not be read."""

    identities: list[Identity] = field(default_factory=list)
    bots: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    members_seen: dict[str, int] = field(default_factory=dict)  # org -> members listed


def is_bot(login: str, configured: Iterable[str]) -> bool:
    """GitHub Apps' ``[bot]`` accounts and the configured machine users."""
    lowered = login.lower()
    return lowered.endswith("[bot]") or lowered in {b.lower() for b in configured}


def fetch_members(gql: GraphQLClient, org: str) -> list[tuple[str, str | None]] | None:
    """(login, name) of each member the token may see (concealed ones need a member's token); None: no such org."""
    members: list[tuple[str, str | None]] = []
    after: str | None = None
    while True:
        result = gql.query(MEMBERS_QUERY, {"org": org, "after": after}, purpose="members")
        organization = result.data.get("organization")
        if organization is None:
            return None
        page = organization["membersWithRole"]
        members += [(str(n["login"]), n.get("name")) for n in page["nodes"] if n]
        if not page["pageInfo"]["hasNextPage"]:
            return members
        after = page["pageInfo"]["endCursor"]


def _day(text: str, where: str, column: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{where}: column {column}: {text!r} is not a date (YYYY-MM-DD)") from exc


def parse_roster(
    text: str, *, source: str, email_domains: Sequence[str], forges: Sequence[str] | None = None
) -> tuple[list[Identity], list[str]]:
    """Roster CSV (``login,name[,email],start,end[,accounts]``; header required) → identities, and one problem
    per bad line. ``accounts`` lists the person's accounts on other forges (``FORGE:username``, separated by
    spaces or semicolons); each is bounded by the line's dates like the login. ``forges``: the configured
    ``[[forges]]`` names (None: not checked)."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in ROSTER_COLUMNS if c not in header]
    if missing:
        return [], [f"{source}:1: header lacks column(s) {', '.join(missing)} (expected login,name[,email],start,end)"]
    reader.fieldnames = header
    domains = {d.lower().lstrip("@") for d in email_domains}
    identities: list[Identity] = []
    problems: list[str] = []
    for row in reader:
        where = f"{source}:{reader.line_num}"
        login = (row.get("login") or "").strip()
        if not login:
            problems.append(f"{where}: column login: empty")
            continue
        try:
            start = _day(row.get("start") or "", where, "start")
            end = _day(row.get("end") or "", where, "end")
        except ValueError as exc:
            problems.append(str(exc))
            continue
        if start and end and end < start:
            problems.append(f"{where}: column end: {end} is before start {start}")
            continue
        email = (row.get("email") or "").strip() or None
        at_domain = email is not None and email.rsplit("@", 1)[-1].lower() in domains
        kind = "email-domain" if at_domain and start is None and end is None else "roster"
        identities.append(
            Identity(
                account=login.lower(),
                person=login.lower(),
                source=kind,
                detail=where,
                name=(row.get("name") or "").strip() or None,
                email=email,
                valid_from=start,
                valid_until=end,
            )
        )
        for account in (row.get("accounts") or "").replace(";", " ").split():
            forge, sep, username = account.partition(":")
            if not sep or not username or (forges is not None and forge not in forges):
                problems.append(f"{where}: column accounts: {account!r} is not FORGE:username of a [[forges]] name")
                continue
            identities.append(
                Identity(f"{forge}:{username.lower()}", login.lower(), "roster", where, None, None, start, end)
            )
    return identities, problems


def discover_people(
    settings: Settings, gql: GraphQLClient | None, *, client_for: Callable[[str], GraphQLClient] | None = None
) -> PeopleResult:
    """Every identity from the orgs (when a GraphQL client is given), the config and the roster file.

    ``client_for`` names the client of an organisation's own App installation, whose budget its
    member listing spends; without it ``gql`` asks for every organisation."""
    people = settings.people
    result = PeopleResult()
    found: list[Identity] = []
    if gql is not None:
        for org in settings.github.orgs:
            members = fetch_members(client_for(org) if client_for is not None else gql, org)
            if members is None:
                result.problems.append(f"github.orgs: {org}: no such organisation visible to the token")
                continue
            result.members_seen[org] = len(members)
            found += [Identity(login.lower(), login.lower(), "member", org, name) for login, name in members]
    for person, logins in sorted(people.extra_logins.items()):
        for login in logins:
            found.append(Identity(login.lower(), person.lower(), "extra-login", f"people.extra_logins.{person}"))
    if people.roster_csv:
        path = Path(people.roster_csv)
        if not path.is_absolute() and settings.config_path is not None:
            path = settings.config_path.parent / path
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as exc:
            result.problems.append(f"{path}: cannot read the roster: {exc.strerror or exc}")
        else:
            roster, problems = parse_roster(
                text,
                source=str(path),
                email_domains=people.email_domains,
                forges=[f.name for f in settings.forges],
            )
            found += roster
            result.problems += problems
    kept: dict[tuple[str, str], Identity] = {}
    for identity in found:
        if is_bot(identity.account.rsplit(":", 1)[-1], people.bots):  # a bot on any forge
            if identity.account not in result.bots:
                result.bots.append(identity.account)
            continue
        key = (identity.account, identity.source)
        earlier = kept.get(key)
        if earlier is None:
            kept[key] = identity
        elif identity.source == "member":  # a member of several orgs: one identity naming them all
            kept[key] = replace(earlier, detail=f"{earlier.detail}, {identity.detail}")
    result.identities = list(kept.values())
    result.bots.sort()
    return result
