"""One way to name an upstream on the command line, for every command that takes one.

``github.com/psf/requests``, ``https://github.com/psf/requests.git``, ``git@github.com:psf/requests``,
``psf/requests`` (on ``github.web_host``) and ``requests`` (when one known upstream has that name)
all mean the same upstream. An unknown name is a usage error (exit 2) that suggests close matches.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

import typer
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.cli.app import CliError
from bot.records import current_key
from bot.resolve.repo_url import RepoRef, forge_hosts, parse_repo_url
from bot.store.renames import load_renames
from bot.store.tables import UpstreamRow

UPSTREAM_HELP = "The upstream: HOST/OWNER/NAME, its URL, OWNER/NAME, or NAME alone when only one upstream has it."


def known_upstreams(engine: Engine) -> set[str]:
    """Every upstream key the store knows (resolved ones), for lookups and suggestions."""
    with Session(engine) as session:
        return set(session.exec(select(UpstreamRow.key)).all())


def suggestions(key: str, known: Iterable[str], *, limit: int = 3) -> list[str]:
    """Known keys close to ``key``: those whose NAME is close to its NAME (any owner) first, then keys
    close as a whole (a typo in the owner). A shared host and owner alone is no match."""
    pool = sorted(known)
    name = key.rsplit("/", 1)[-1]
    by_name: dict[str, list[str]] = {}
    for candidate in pool:
        by_name.setdefault(candidate.rsplit("/", 1)[-1], []).append(candidate)
    close: list[str] = []
    for match in difflib.get_close_matches(name, list(by_name), n=limit, cutoff=0.75):
        same_name = by_name[match]  # the same owner first, then the closest whole key
        close += sorted(same_name, key=lambda c: -difflib.SequenceMatcher(None, key, c).ratio())
    close += [c for c in difflib.get_close_matches(key, pool, n=limit, cutoff=0.9) if c not in close]
    return close[:limit]


def _candidate(text: str, *, web_host: str, extra_forges: Iterable[str], known: set[str]) -> str:
    cleaned = text.strip().rstrip("/")
    if not cleaned:
        raise CliError("an upstream is needed: HOST/OWNER/NAME, e.g. github.com/psf/requests")
    lowered = cleaned.lower()
    if lowered in known:
        return lowered
    forges = forge_hosts([*extra_forges, web_host])
    parsed = parse_repo_url(cleaned, forges=forges)
    if isinstance(parsed, RepoRef):
        return str(parsed.upstream)
    parts = lowered.removesuffix(".git").split("/")
    if len(parts) == 3 and all(parts):
        return "/".join(parts)  # a host upkeep does not call a forge, as written
    if len(parts) == 2 and all(parts):
        return f"{web_host}/{parts[0]}/{parts[1]}"
    if len(parts) == 1:
        named = sorted(k for k in known if k.rsplit("/", 1)[-1] == parts[0])
        if len(named) == 1:
            return named[0]
        if named:
            raise CliError(f"{text}: {len(named)} upstreams have that name: {', '.join(named)}; name one in full")
        return parts[0]
    raise CliError(f"{text!r}: not an upstream; write HOST/OWNER/NAME (github.com/psf/requests) or its URL")


def resolve_upstream(
    engine: Engine,
    text: str,
    *,
    web_host: str = "github.com",
    extra_forges: Iterable[str] = (),
    also_known: Iterable[str] = (),
) -> str:
    """The key of the upstream ``text`` names, as it is called now (renames followed, and said so).

    ``also_known`` adds keys the caller knows beyond resolved upstreams (a snapshot's not-scored list).
    Raises :class:`CliError` (exit 2) for a name no known upstream has, with close matches."""
    known = known_upstreams(engine) | set(also_known)
    with Session(engine) as session:
        renames = load_renames(session)
    known |= set(renames)
    key = _candidate(text, web_host=web_host, extra_forges=extra_forges, known=known)
    current = current_key(key, renames)
    if current != key:
        typer.echo(f"{key} is now {current} (renamed or transferred; GitHub redirects the old name)")
    if current in known:
        return current
    close = suggestions(current, known - set(renames))
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    raise CliError(
        f"{text}: unknown upstream ({current}); {hint}"
        "`upkeep resolve` maps packages to upstreams, `upkeep score` lists the used ones"
    )
