"""GitHub issues in the OSPO repository: one per upstream over a threshold, plus one dashboard.

An issue is found again by the number upkeep stored when it delivered it; only when that is
not known (the first delivery, a lost answer) by the hidden marker that starts upkeep's section
(``<!-- upkeep:gap:HOST/OWNER/NAME -->``, ``<!-- upkeep:dashboard -->``), never by title, by
listing the repository's issues (``state=all``, our label, optionally our login) once per run.
upkeep rewrites only its own section of a body (:func:`~bot.deliver.issue_bodies.merge_body`) and
keeps a title a person changed. Listing rather than search: search is eventually consistent and limited to 30
requests a minute. Every change is a reconciliation toward the item's payload, so applying
an item twice (after a crash between the write and the outbox update) changes nothing the
second time. Bodies and markers are rendered by :mod:`bot.deliver.issue_bodies`, which does
not import PyGithub.

After each item the sink notes the budget PyGithub last read from GitHub's headers
(``github/core``: issues are REST core calls) for ``upkeep status``; PyGithub uses requests, so
the httpx budget watch of :mod:`bot.sources.github_client` never sees these calls.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from github import Github, GithubException, GithubRetry
from github.GithubObject import NotSet
from github.Issue import Issue
from github.Repository import Repository
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter
from urllib3.util.retry import Retry

from bot.config import Secrets, Settings
from bot.deliver.interface import BodyRevision, Channel, Delivery, DeliveryError, IssueEvent, WatchedIssue
from bot.deliver.issue_bodies import find_marker, merge_body
from bot.sources.github_client import github_auth
from bot.store.rate_limits import BUDGETS, Budget, BudgetLog

log = logging.getLogger(__name__)

_PERMANENT_STATUSES = frozenset({401, 404, 410, 422})
_REVISIONS = """
query($owner: String!, $name: String!, $number: Int!) {
  repository(owner: $owner, name: $name) {
    issue(number: $number) {
      userContentEdits(last: 100) { nodes { editedAt deletedAt diff editor { login } } }
    }
  }
}
"""


class GitHubIssueSink:
    """Applies issue items to one repository through PyGithub."""

    channel: Channel = "github"

    def __init__(
        self,
        client: Github,
        repository: str,
        *,
        labels: Sequence[str] = (),
        creator: str | None = None,
        budgets: BudgetLog = BUDGETS,
    ):
        self._client = client
        self._budgets = budgets
        self.repository = repository
        self.labels = tuple(labels)
        self.creator = creator
        self._repo: Repository | None = None
        self._index: dict[str, list[Issue]] | None = None
        self._by_number: dict[int, Issue] = {}

    def _repository(self) -> Repository:
        if self._repo is None:
            self._repo = self._client.get_repo(self.repository)
        return self._repo

    @retry(
        retry=retry_if_exception_type(OSError),  # a cut body or a reset while paging; listing again is safe
        stop=stop_after_attempt(3),
        wait=wait_exponential_jitter(multiplier=0.2, max=2.0, jitter=0.2),
        reraise=True,
    )
    def _issues(self) -> dict[str, list[Issue]]:
        """Our issues by marker, listed once per sink (one run) and kept current as we write."""
        if self._index is None:
            index: dict[str, list[Issue]] = {}
            self._by_number = {}
            listing = self._repository().get_issues(
                state="all",
                labels=[self.labels[0]] if self.labels else NotSet,
                creator=self.creator if self.creator else NotSet,  # type: ignore[arg-type]  # PyGithub takes a login
                direction="asc",
            )
            for issue in listing:
                if "/pull/" in issue.html_url:  # not ``issue.pull_request``: absent, it costs a GET per issue
                    continue
                self._by_number[issue.number] = issue
                marker = find_marker(issue.body)
                if marker:
                    index.setdefault(marker, []).append(issue)
            self._index = index
        return self._index

    def _numbered(self, payload: Mapping[str, Any]) -> Issue | None:
        """The issue upkeep stored for this subject, by number (listed, or read when a person unlabelled it)."""
        number = payload.get("number")
        if not isinstance(number, int):
            return None
        self._issues()
        found = self._by_number.get(number)
        if found is None:
            try:
                found = self._repository().get_issue(number)
            except GithubException as exc:
                if exc.status in (404, 410):  # deleted or transferred: the marker is the fallback
                    return None
                raise
            self._by_number[number] = found
        return found

    def deliver(self, item: Delivery, *, maybe_sent: bool) -> str:
        """Reconcile the marked issue toward ``item``; return its number.

        The marker lookup already finds an issue an earlier attempt created; ``maybe_sent`` only
        makes a close look for the closing comment an earlier attempt may have left.
        """
        try:
            return self._deliver(item, maybe_sent=maybe_sent)
        finally:
            self.note_budget()

    def _deliver(self, item: Delivery, *, maybe_sent: bool) -> str:
        marker = str(item.payload["marker"])
        try:
            issues = self._issues().get(marker, [])
            numbered = self._numbered(item.payload)
            if numbered is not None:  # the identity; copies carrying the marker are duplicates of it
                issues = [numbered, *(i for i in issues if i.number != numbered.number)]
            if item.action == "close":
                return self._ensure_closed(
                    [numbered] if numbered is not None else sorted(issues, key=lambda i: i.number),
                    item.payload,
                    maybe_sent=maybe_sent,
                )
            # An upstream renamed since its issue was opened: that issue (under the old name's marker) is the
            # one to keep, re-marked by the new body; a copy under the new marker goes as a duplicate.
            adopted = [i for old in item.payload.get("adopt", ()) for i in self._issues().get(str(old), [])]
            ordered = sorted([*issues, *adopted], key=lambda i: i.number)
            if numbered is not None:
                ordered = [numbered, *(i for i in ordered if i.number != numbered.number)]
            number = self._ensure_open(marker, ordered, item.payload, numbered=numbered is not None)
            if adopted:
                self._index = None  # markers changed: list again before the next item
            return number
        except GithubException as exc:
            message = exc.data.get("message") if isinstance(exc.data, dict) else exc.data
            raise DeliveryError(
                f"{self.repository}: {item.subject}: GitHub answered {exc.status}: {message}",
                permanent=exc.status in _PERMANENT_STATUSES,
            ) from exc
        except OSError as exc:  # requests' ConnectionError is an OSError; what the POST did is unknown
            self._index = None  # list again before the next item
            raise DeliveryError(f"{self.repository}: {item.subject}: {type(exc).__name__}: {exc}") from exc

    def watch(self, numbers: Mapping[str, int]) -> dict[str, WatchedIssue]:
        """Each subject's issue as it is now, from the one listing (a GET only for an issue not in it)."""
        found: dict[str, WatchedIssue] = {}
        try:
            for subject, number in numbers.items():
                issue = self._numbered({"number": number})
                if issue is not None:
                    # An open issue's listing has no ``state_reason``; asking PyGithub for it would cost a GET.
                    closed = issue.state == "closed"
                    found[subject] = WatchedIssue(
                        number=issue.number,
                        state=issue.state,
                        state_reason=issue.state_reason if closed else None,
                        closed_at=issue.closed_at if closed else None,
                        updated_at=issue.updated_at,
                        body=issue.body or "",
                    )
        except GithubException as exc:
            raise DeliveryError(f"{self.repository}: reading issues back: GitHub answered {exc.status}") from exc
        except OSError as exc:
            self._index = None
            raise DeliveryError(f"{self.repository}: reading issues back: {type(exc).__name__}: {exc}") from exc
        finally:
            self.note_budget()
        return found

    def events(self, number: int) -> list[IssueEvent]:
        """``GET /repos/{owner}/{repo}/issues/{number}/events``: who closed or reopened it, and why."""
        try:
            events = []
            for event in self._repository().get_issue(number).get_events():
                # PyGithub 2.x has no ``state_reason`` on events, and ``raw_data`` would GET each event again.
                raw: dict[str, Any] = getattr(event, "_rawData", {})
                events.append(
                    IssueEvent(
                        event=str(raw.get("event") or ""),
                        actor=(raw.get("actor") or {}).get("login"),
                        at=datetime.fromisoformat(str(raw["created_at"]).replace("Z", "+00:00")),
                        state_reason=raw.get("state_reason"),
                    )
                )
            return events
        except GithubException as exc:
            raise DeliveryError(f"{self.repository}#{number}: events: GitHub answered {exc.status}") from exc
        except OSError as exc:
            raise DeliveryError(f"{self.repository}#{number}: events: {type(exc).__name__}: {exc}") from exc
        finally:
            self.note_budget()

    def revisions(self, number: int) -> list[BodyRevision]:
        """The body's saved versions (GraphQL ``Issue.userContentEdits``, up to the last 100), oldest first."""
        owner, name = self.repository.split("/", 1)
        try:
            _, data = self._client.requester.graphql_query(_REVISIONS, {"owner": owner, "name": name, "number": number})
        except GithubException as exc:
            raise DeliveryError(f"{self.repository}#{number}: edit history: GitHub answered {exc.status}") from exc
        except OSError as exc:
            raise DeliveryError(f"{self.repository}#{number}: edit history: {type(exc).__name__}: {exc}") from exc
        issue = ((data.get("data") or {}).get("repository") or {}).get("issue") or {}
        nodes = (issue.get("userContentEdits") or {}).get("nodes") or []
        revisions = [
            BodyRevision(
                editor=(node.get("editor") or {}).get("login"),
                edited_at=datetime.fromisoformat(str(node["editedAt"]).replace("Z", "+00:00")),
                body=str(node.get("diff") or ""),
            )
            for node in reversed(nodes)  # GitHub lists the newest first; ties within a second keep that order
            if node and node.get("editedAt") and node.get("deletedAt") is None
        ]
        return sorted(revisions, key=lambda r: r.edited_at)

    def close_duplicates(self) -> list[str]:
        """Close every second open issue carrying the same marker, keeping the oldest; return what was closed.

        Runs every time, not only when an item for the marker is due, because copies appear
        outside upkeep (a hand-made copy, a retried POST). Changes nothing when there are none.
        """
        try:
            return self._close_duplicates()
        finally:
            self.note_budget()

    def note_budget(self) -> None:
        """Note the budget of PyGithub's last answer (its requester keeps it; reading it costs no call)."""
        requester = self._client.requester
        remaining, limit = requester.rate_limiting
        if limit < 0:  # no answer carried the headers yet
            return
        reset = requester.rate_limiting_resettime
        self._budgets.note(
            Budget(
                service="github",
                resource="core",
                limit=limit,
                remaining=remaining,
                reset_at=datetime.fromtimestamp(reset, tz=UTC) if reset > 0 else None,
                observed_at=datetime.now(UTC),
            )
        )

    def _close_duplicates(self) -> list[str]:
        closed = []
        try:
            for issues in self._issues().values():
                open_issues = sorted((i for i in issues if i.state == "open"), key=lambda issue: issue.number)
                for duplicate in open_issues[1:]:
                    self._close_duplicate(duplicate, open_issues[0])
                    closed.append(f"{self.repository}#{duplicate.number}")
        except GithubException as exc:
            raise DeliveryError(f"{self.repository}: closing duplicates: GitHub answered {exc.status}") from exc
        except OSError as exc:
            self._index = None
            raise DeliveryError(f"{self.repository}: closing duplicates: {type(exc).__name__}: {exc}") from exc
        return closed

    def _close_duplicate(self, duplicate: Issue, keep: Issue) -> None:
        duplicate.create_comment(f"upkeep: closing as a duplicate of #{keep.number}.")
        duplicate.edit(state="closed", state_reason="not_planned")
        log.info("duplicate issue closed", extra={"repository": self.repository, "number": duplicate.number})

    def _ensure_open(self, marker: str, issues: list[Issue], payload: Mapping[str, Any], *, numbered: bool) -> str:
        title, section = str(payload["title"]), str(payload["body"])
        open_issues = [issue for issue in issues if issue.state == "open"]
        if numbered:  # the stored issue is kept, open or closed; open copies of it go
            keep = issues[0]
            for duplicate in open_issues:
                if duplicate.number != keep.number:
                    self._close_duplicate(duplicate, keep)
        elif open_issues:
            keep = open_issues[0]
            for duplicate in open_issues[1:]:
                self._close_duplicate(duplicate, keep)
        elif issues:
            # The newest one closed as resolved comes back, not a copy closed as a duplicate.
            resolved = [issue for issue in issues if issue.state_reason != "not_planned"]
            keep = (resolved or issues)[-1]
        else:
            labels = [str(label) for label in payload.get("labels", ())]
            issue = self._repository().create_issue(title=title, body=section, labels=labels)
            self._issues().setdefault(marker, []).append(issue)
            log.info("issue created", extra={"repository": self.repository, "number": issue.number})
            return str(issue.number)
        body = merge_body(keep.body, section)
        title_set = payload.get("title_set")
        if title_set is not None and keep.title != title_set:
            title = keep.title  # a person retitled it: their title stays
        if keep.state != "open":
            note = payload.get("reopen_note")
            if note and not any(c.body == note for c in keep.get_comments()):
                keep.create_comment(str(note))  # why upkeep reopens what a person closed
            keep.edit(title=title, body=body, state="open", state_reason="reopened")
            log.info("issue reopened", extra={"repository": self.repository, "number": keep.number})
        elif keep.title != title or (keep.body or "") != body:
            keep.edit(title=title, body=body)
            log.info("issue updated", extra={"repository": self.repository, "number": keep.number})
        present = {label.name for label in keep.labels}
        missing = [str(label) for label in payload.get("labels", ()) if label not in present]
        if missing:
            keep.add_to_labels(*missing)
        return str(keep.number)

    def _ensure_closed(self, issues: list[Issue], payload: Mapping[str, Any], *, maybe_sent: bool) -> str:
        if not issues:
            return "absent"  # never created (or deleted by hand): nothing to close
        comment = str(payload["comment"])
        for issue in issues:
            if issue.state == "open":
                # Comment first, so a crash between the two leaves an open issue that is retried, never a
                # silent close; a retry does not repeat a comment the earlier attempt left.
                if not (maybe_sent and any(c.body == comment for c in issue.get_comments())):
                    issue.create_comment(comment)
                issue.edit(state="closed", state_reason=str(payload.get("state_reason") or "completed"))
                log.info("issue closed", extra={"repository": self.repository, "number": issue.number})
        return str(issues[0].number)


def make_github_issue_sink(settings: Settings, secrets: Secrets) -> GitHubIssueSink | None:
    """The sink for the configured OSPO repository, or None when the repository or credentials are missing.

    With a GitHub App, the sink writes as the App's installation on the repository's owner (the
    App needs Issues read/write there); otherwise with ``GITHUB_TOKEN``.
    """
    if not settings.issues.repository:
        return None
    repository = settings.issues.repository
    auth = github_auth(settings, secrets, repository.split("/", 1)[0], write_issues_in=repository)
    if auth is None:
        return None
    client = Github(
        auth=auth,
        base_url=settings.github.api_url.rstrip("/"),
        per_page=100,
        seconds_between_requests=settings.issues.seconds_between_requests,
        seconds_between_writes=settings.issues.seconds_between_writes,
        # GithubRetry retries POST too; a POST whose answer was lost may have created the issue or
        # comment, so only reads and PATCH (idempotent) are retried here. The next run's marker
        # lookup finds what a lost POST made.
        retry=GithubRetry(total=5, allowed_methods=Retry.DEFAULT_ALLOWED_METHODS | {"PATCH"}),
    )
    return GitHubIssueSink(
        client, settings.issues.repository, labels=settings.issues.labels, creator=settings.issues.creator
    )
