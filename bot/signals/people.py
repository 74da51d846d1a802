"""Who keeps an upstream alive: active maintainers, the absence (bus) factor and the elephant factor.

Pure functions over a list of commits. The absence factor is the fewest people whose commits
make at least half of the window's commits (CHAOSS "Bus Factor"); the elephant factor is the
same count over organisations, where an organisation is a commit e-mail domain and addresses
at public mail providers count as one organisation per person (CHAOSS "Elephant Factor").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta

from bot.signals.records import CommitAuthor, PeopleSignals

#: Domains where an address says nothing about an employer: each person there is their own organisation.
PUBLIC_MAIL_DOMAINS = frozenset(
    {
        "users.noreply.github.com",
        "noreply.github.com",
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "hotmail.co.uk",
        "live.com",
        "msn.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.fr",
        "ymail.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "pm.me",
        "gmx.de",
        "gmx.net",
        "gmx.com",
        "web.de",
        "mail.ru",
        "yandex.ru",
        "yandex.com",
        "qq.com",
        "163.com",
        "126.com",
        "foxmail.com",
        "fastmail.com",
        "fastmail.fm",
        "hey.com",
        "tutanota.com",
        "zoho.com",
        "posteo.de",
        "mailbox.org",
        "free.fr",
        "orange.fr",
        "laposte.net",
        "naver.com",
        "hanmail.net",
        "rediffmail.com",
        "duck.com",
        "users.noreply.gitlab.com",
        "noreply.codeberg.org",
    }
)


def is_bot(identity: str, email: str | None = None, bots: Iterable[str] = ()) -> bool:
    """GitHub Apps end in ``[bot]``; operators add other automation accounts by name in config."""
    names = {b.strip().lower() for b in bots}
    ident = identity.strip().lower()
    if ident.endswith("[bot]") or ident in names:
        return True
    local = (email or "").split("@", 1)[0].lower()
    return local.endswith("[bot]") or (bool(local) and local.split("+", 1)[-1] in names)


def author_identity(login: str | None, email: str | None, name: str | None) -> str:
    """One identity per person: the forge login when linked, else the e-mail, else the name."""
    for value in (login, email, name):
        if value and value.strip():
            return value.strip().lower()
    return "(unknown)"


def organisation_of(author: CommitAuthor, public_domains: frozenset[str] = PUBLIC_MAIL_DOMAINS) -> str:
    """The organisation a commit counts for: its e-mail domain, or the person at a public provider."""
    domain = (author.email or "").rpartition("@")[2].strip().lower()
    if not domain or domain in public_domains:
        return f"person:{author.identity}"
    return domain


def smallest_half(counts: Iterable[int]) -> int:
    """The fewest of the largest counts whose sum reaches at least half of the total (0 for none)."""
    ordered = sorted((c for c in counts if c > 0), reverse=True)
    total = sum(ordered)
    running = 0
    for taken, count in enumerate(ordered, start=1):
        running += count
        if 2 * running >= total:
            return taken
    return 0


def compute_people(
    commits: Iterable[CommitAuthor],
    *,
    now: datetime,
    window_days: int = 365,
    bots: Iterable[str] = (),
    public_domains: frozenset[str] = PUBLIC_MAIL_DOMAINS,
) -> PeopleSignals:
    """Active maintainers, bus and elephant factors over the window ``(now - window_days, now]``."""
    since = now - timedelta(days=window_days)
    bot_names = tuple(bots)
    kept = [c for c in commits if since < c.committed_at <= now and not is_bot(c.identity, c.email, bot_names)]
    people = Counter(c.identity for c in kept)
    organisations = Counter(organisation_of(c, public_domains) for c in kept)
    top_domain, top_count = None, 0
    for org, count in organisations.most_common():
        if not org.startswith("person:"):
            top_domain, top_count = org, count
            break
    return PeopleSignals(
        commits=len(kept),
        active_maintainers=len(people),
        bus_factor=smallest_half(people.values()),
        elephant_factor=smallest_half(organisations.values()),
        top_domain=top_domain,
        top_domain_share=top_count / len(kept) if kept else 0.0,
    )
