"""What the organisation's people gave upstream in code, from GitHub's ``contributionsCollection``.

Cost grows with people, not with people × upstreams: one GraphQL query asks for several accounts
at once through aliases (``p0: user(login: $l0)``, ``github.people_per_query`` of them, default
10) and gets every repository each contributed to in the span, through the four
``*ContributionsByRepository(maxRepositories: $repositories)`` lists. Repositories are joined with
the resolved upstreams locally, afterwards.

Points: GitHub charges each repository a list may hold as one request of its ``contributions``
connection, so a list's room, not what it returns, sets the price: 10 people with room for 100
repositories in each of the four lists cost 40 points, with room for 10 cost 4. Most people
contribute to a few repositories a quarter, so the first ask leaves room for
``github.contribution_repositories`` (default 10); an account whose list is fuller than that (its
``totalRepositoriesWith…`` count says so) is asked again with room for all of them, up to 100.
The counts are the same as asking with room for 100 every time; the points are a tenth.

Spans are calendar quarters (a ``contributionsCollection`` may not exceed one year): one fetch of
each quarter serves both the review's quarters and the trailing window, counted locally from the
contributions' own timestamps (:func:`bot.store.evidence.load_contribution_counts`). A quarter that
has ended is fetched once and never asked again; the running quarter is fetched up to ``now``.
When a list is cut short (more than 100 repositories, or more than 100 contributions to one
repository), that account's span is split in two and asked again, until nothing is cut.

Kinds: ``commit`` (``commitCount`` per day), ``pr_merged`` (pull requests opened and since merged),
``pr_opened`` (opened, not merged), ``issue`` (issues opened), ``review`` (reviews given).
What GitHub does not show is listed in ``docs/evidence.md``.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.ahead import map_ahead
from bot.sources.github_client import GraphQLClient

log = logging.getLogger(__name__)

MAX_REPOSITORIES = 100  # GitHub's most per list
FIRST_REPOSITORIES = 10  # room per list on the first ask (``github.contribution_repositories``)
PAGE = 100
MIN_SPAN = timedelta(hours=1)  # below this a cut-short list is taken as it is (and logged)

_LIST = """
      repository { nameWithOwner isPrivate }
      contributions(first: 100) {
        totalCount
        pageInfo { hasNextPage }
        nodes { %s }
      }"""
CONTRIBUTIONS_FRAGMENT = f"""
fragment Contributions on User {{
  login
  contributionsCollection(from: $from, to: $to) {{
    restrictedContributionsCount
    totalRepositoriesWithContributedCommits
    totalRepositoriesWithContributedIssues
    totalRepositoriesWithContributedPullRequests
    totalRepositoriesWithContributedPullRequestReviews
    commitContributionsByRepository(maxRepositories: $repositories) {{{_LIST % "occurredAt commitCount"}
    }}
    issueContributionsByRepository(maxRepositories: $repositories) {{{_LIST % "occurredAt"}
    }}
    pullRequestContributionsByRepository(maxRepositories: $repositories) {{{_LIST % "occurredAt pullRequest { merged }"}
    }}
    pullRequestReviewContributionsByRepository(maxRepositories: $repositories) {{{_LIST % "occurredAt"}
    }}
  }}
}}
"""
_LISTS = (
    ("commitContributionsByRepository", "totalRepositoriesWithContributedCommits"),
    ("issueContributionsByRepository", "totalRepositoriesWithContributedIssues"),
    ("pullRequestContributionsByRepository", "totalRepositoriesWithContributedPullRequests"),
    ("pullRequestReviewContributionsByRepository", "totalRepositoriesWithContributedPullRequestReviews"),
)


def contributions_query(count: int) -> str:
    """The query for ``count`` accounts over one span (variables ``$from``, ``$to``, ``$repositories``,
    ``$l0`` …)."""
    params = ", ".join(f"$l{i}: String!" for i in range(count))
    fields = "\n".join(f"  p{i}: user(login: $l{i}) {{ ...Contributions }}" for i in range(count))
    head = f"query Contributions($from: DateTime!, $to: DateTime!, $repositories: Int!, {params})"
    # rateLimit's cost is free to ask and says what GitHub charged: the points are counted, not estimated
    return f"{head} {{\n{fields}\n  rateLimit {{ cost }}\n}}\n{CONTRIBUTIONS_FRAGMENT}"


def quarter_start(moment: datetime) -> datetime:
    return datetime(moment.year, 3 * ((moment.month - 1) // 3) + 1, 1, tzinfo=UTC)


def next_quarter(start: datetime) -> datetime:
    return datetime(start.year + (start.month == 10), (start.month + 2) % 12 + 1, 1, tzinfo=UTC)


def quarters(now: datetime, count: int) -> list[tuple[str, datetime, datetime]]:
    """The ``count`` calendar quarters up to and including the one holding ``now``, oldest first."""
    out: list[tuple[str, datetime, datetime]] = []
    start = quarter_start(now)
    for _ in range(count):
        out.append((f"{start.year}Q{(start.month - 1) // 3 + 1}", start, next_quarter(start)))
        start = quarter_start(start - timedelta(days=1))
    return list(reversed(out))


def segments(now: datetime, *, window_days: int, review_quarters: int) -> list[tuple[datetime, datetime]]:
    """The quarters to fetch so that the trailing window and the review's quarters are all covered."""
    earliest = min(quarter_start(now - timedelta(days=window_days)), quarters(now, review_quarters)[0][1])
    out: list[tuple[datetime, datetime]] = []
    start = earliest
    while start <= now:
        end = next_quarter(start)
        out.append((start, end))
        start = end
    return out


@dataclass
class Span:
    """One account's ask: ``[start, end)`` of the segment ``segment``; ``end`` is capped at ``now`` when open."""

    account: str
    segment: datetime
    start: datetime
    end: datetime


@dataclass
class SpanResult:
    """What GitHub said about one span: counts by (repository, kind, instant), that it must be split
    (``cut_short``), or that it must be asked again with room for ``room_needed`` repositories."""

    span: Span
    counts: dict[tuple[str, str, datetime], int] = field(default_factory=dict)
    missing: bool = False
    restricted: int = 0
    cut_short: bool = False
    room_needed: int = 0
    room: int = MAX_REPOSITORIES  # repositories per list it was asked with


def parse_moment(text: str) -> datetime:
    """A forge's ISO 8601 timestamp (``Z`` or an offset) as an aware UTC datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def parse_collection(span: Span, collection: dict[str, Any], web_host: str, room: int = MAX_REPOSITORIES) -> SpanResult:
    """A ``ContributionsCollection`` answer, asked with ``room`` repositories per list, as counts.

    A list as full as its room with more repositories behind it sets ``room_needed`` (room for all
    of them, up to GitHub's 100); one that is still cut short at 100, or a repository with more
    contributions than one page, sets ``cut_short``."""
    result = SpanResult(span, restricted=int(collection.get("restrictedContributionsCount") or 0), room=room)
    for list_name, total_name in _LISTS:
        entries = collection.get(list_name) or []
        total = int(collection.get(total_name) or 0)
        if len(entries) < total and len(entries) >= room:
            if room < MAX_REPOSITORIES:
                result.room_needed = max(result.room_needed, min(MAX_REPOSITORIES, total))
            else:
                result.cut_short = True
        for entry in entries:
            repository = f"{web_host}/{entry['repository']['nameWithOwner']}".lower()
            page = entry["contributions"]
            if page["pageInfo"]["hasNextPage"]:
                result.cut_short = True
            for node in page["nodes"]:
                moment = parse_moment(node["occurredAt"])
                if not span.start <= moment < span.end:
                    continue  # the API's bounds are inclusive; ours are [start, end)
                if list_name.startswith("commit"):
                    kind, count = "commit", int(node.get("commitCount") or 1)
                elif list_name.startswith("issue"):
                    kind, count = "issue", 1
                elif list_name.startswith("pullRequestReview"):
                    kind, count = "review", 1
                else:
                    merged = bool((node.get("pullRequest") or {}).get("merged"))
                    kind, count = ("pr_merged" if merged else "pr_opened"), 1
                key = (repository, kind, moment)
                result.counts[key] = result.counts.get(key, 0) + count
    return result


class GitHubContributionSource:
    """Asks GitHub for spans, several accounts per query; asks again with more room the accounts
    whose lists were full, and splits spans whose lists were cut short at GitHub's 100."""

    def __init__(
        self,
        gql: GraphQLClient,
        *,
        web_host: str = "github.com",
        per_query: int = 10,
        workers: int = 1,
        first_room: int = FIRST_REPOSITORIES,
    ) -> None:
        self.gql, self.web_host, self.per_query, self.workers = gql, web_host, per_query, workers
        self.first_room = max(1, min(MAX_REPOSITORIES, first_room))
        self.asked_again = 0  # spans asked again with more room, for the log

    def _ask(self, batch: tuple[int, Sequence[Span]]) -> list[SpanResult]:
        room, spans = batch
        start, end = spans[0].start, spans[0].end
        variables: dict[str, Any] = {
            "from": format_moment(start),
            "to": format_moment(end - timedelta(seconds=1)),
            "repositories": room,
        }
        variables.update({f"l{i}": s.account for i, s in enumerate(spans)})
        answer = self.gql.query(contributions_query(len(spans)), variables, purpose="contributions")
        out = []
        for i, span in enumerate(spans):
            user = answer.data.get(f"p{i}")
            if user is None:
                out.append(SpanResult(span, missing=True))
                continue
            out.append(parse_collection(span, user["contributionsCollection"], self.web_host, room))
        return out

    def fetch(self, spans: Sequence[Span]) -> Iterator[SpanResult]:
        """Complete results (never cut short, unless a span is already under an hour long), in batches."""
        # spans by (start, end, room per list): one query asks accounts of one span at one room
        pending: dict[tuple[datetime, datetime, int], list[Span]] = {}
        for span in spans:
            pending.setdefault((span.start, span.end, self.first_room), []).append(span)
        while pending:
            # up to ``workers`` queries asked at once; spans asked again or split here come in the next round
            batches: list[tuple[int, list[Span]]] = []
            while pending and len(batches) < self.workers:
                key = next(iter(pending))
                group = pending[key]
                batches.append((key[2], group[: self.per_query]))
                if group[self.per_query :]:
                    pending[key] = group[self.per_query :]
                else:
                    del pending[key]
            for result in itertools.chain.from_iterable(map_ahead(self._ask, batches, workers=self.workers)):
                span = result.span
                if result.room_needed:  # asked again, whole, with room for every repository
                    self.asked_again += 1
                    pending.setdefault((span.start, span.end, result.room_needed), []).append(span)
                    continue
                if result.cut_short and span.end - span.start > MIN_SPAN:
                    middle = span.start + (span.end - span.start) / 2
                    for half in (
                        Span(span.account, span.segment, span.start, middle),
                        Span(span.account, span.segment, middle, span.end),
                    ):
                        pending.setdefault((half.start, half.end, result.room), []).append(half)
                    yield SpanResult(span, cut_short=True)
                    continue
                if result.cut_short:
                    log.warning(
                        "contributions: %s %s: still cut short over one hour; taken as is", span.account, span.start
                    )
                    result.cut_short = False
                yield result
        if self.asked_again:
            log.info("contributions: %d account-spans asked again with room for more repositories", self.asked_again)


def format_moment(moment: datetime) -> str:
    """``moment`` as the ``YYYY-MM-DDTHH:MM:SSZ`` forges take in queries."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
