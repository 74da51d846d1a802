"""Gap issues on a Forgejo (or Gitea) repository (``[issues].forge`` naming a ``kind = "forgejo"`` forge).

The same exactly-once rules as :mod:`bot.deliver.github_issues` and :mod:`bot.deliver.gitlab_issues`:
an issue is found again by the number upkeep stored, else by the hidden marker that starts upkeep's
section, listed once per run (``state=all``, upkeep's label), never by title; every change reconciles
toward the item's payload, so applying an item twice changes nothing the second time. A write is
never retried by the transport: a ``POST`` whose answer was lost may have created the issue, and the
next attempt's marker lookup adopts what it made. upkeep rewrites only its own section of a body and
keeps a title a person changed. Outbox rows keep the channel ``github`` (the issue tracker).

What Forgejo's API v1 gives, and what follows:

* labels are set by **id**: the repository's labels are listed once (``GET …/labels``) and a missing
  one is created (``POST …/labels``) before it is used;
* an edit is a ``PATCH`` whose ``state`` closes or reopens; who closed and when are read from the
  issue's ``timeline`` (entries of ``type`` ``close`` and ``reopen``);
* issues carry **no close reason**: a person's close is read as *not planned* when the issue bears one
  of :data:`NOT_PLANNED_LABELS` (``not planned``, ``wontfix``, any case) at that moment, else as
  *completed*;
* no API for a body's earlier versions (:meth:`revisions` is empty): the dashboard's ticks are read
  from the body as it is.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from bot.config import ForgeSettings, Secrets, Settings
from bot.deliver.interface import BodyRevision, Channel, Delivery, DeliveryError, IssueEvent, WatchedIssue
from bot.deliver.issue_bodies import find_marker, merge_body
from bot.http import RateLimited, RetryPolicy, bucket_for, compressed_policy, make_client

log = logging.getLogger(__name__)

_PERMANENT_STATUSES = frozenset({401, 403, 404, 410, 422})
LIMIT = 50  # Forgejo's default MAX_RESPONSE_ITEMS
NOT_PLANNED_LABELS = frozenset({"not planned", "wontfix"})  # a close with one of these is "not planned"
LABEL_COLOUR = "#8250df"


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC) if text else None


def _label_names(issue: Mapping[str, Any]) -> list[str]:
    return [str(label.get("name")) for label in issue.get("labels") or () if isinstance(label, dict)]


class ForgejoIssueSink:
    """Applies issue items to one Forgejo repository (``owner/name``)."""

    channel: Channel = "github"

    def __init__(self, read: httpx.Client, write: httpx.Client, repository: str, *, labels: Sequence[str] = ()) -> None:
        self.read, self.write = read, write
        self.project = repository
        self.labels = tuple(labels)
        owner, _, name = repository.partition("/")
        self._repo = f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"
        self._base = f"{self._repo}/issues"
        self._index: dict[str, list[dict[str, Any]]] | None = None
        self._by_number: dict[int, dict[str, Any]] = {}
        self._label_ids: dict[str, int] | None = None

    # ------------------------------------------------------------------ HTTP

    def _check(self, response: httpx.Response, what: str) -> Any:
        if response.status_code >= 400:
            raise DeliveryError(
                f"{self.project}: {what}: Forgejo answered {response.status_code}: {response.text[:200]}",
                permanent=response.status_code in _PERMANENT_STATUSES,
            )
        return response.json()

    def _list(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        page = 1
        while True:
            response = self.read.get(path, params={**params, "limit": LIMIT, "page": page})
            body = self._check(response, f"GET {path}")
            out += [item for item in body if isinstance(item, dict)]
            if len(body) < LIMIT:
                return out
            page += 1

    def _issues(self) -> dict[str, list[dict[str, Any]]]:
        """Our issues by marker, listed once per sink (one run) and kept current as we write."""
        if self._index is None:
            params: dict[str, Any] = {"state": "all", "type": "issues"}
            if self.labels:
                params["labels"] = self.labels[0]
            index: dict[str, list[dict[str, Any]]] = {}
            self._by_number = {}
            for issue in self._list(self._base, params):
                self._by_number[int(issue["number"])] = issue
                marker = find_marker(issue.get("body"))
                if marker:
                    index.setdefault(marker, []).append(issue)
            self._index = index
        return self._index

    def _numbered(self, payload: Mapping[str, Any]) -> dict[str, Any] | None:
        number = payload.get("number")
        if not isinstance(number, int):
            return None
        self._issues()
        found = self._by_number.get(number)
        if found is None:
            response = self.read.get(f"{self._base}/{number}")
            if response.status_code == 404:
                return None  # deleted or transferred: the marker is the fallback
            found = self._check(response, f"GET issue {number}")
            self._by_number[number] = found
        return found

    def _label_id(self, name: str) -> int:
        """The id of the repository's label ``name``, created when missing (labels are set by id)."""
        if self._label_ids is None:
            self._label_ids = {str(x["name"]): int(x["id"]) for x in self._list(f"{self._repo}/labels", {})}
        if name not in self._label_ids:
            response = self.write.post(f"{self._repo}/labels", json={"name": name, "color": LABEL_COLOUR})
            if response.status_code == 409:  # made by an attempt whose answer was lost
                self._label_ids = None
                return self._label_id(name)
            self._label_ids[name] = int(self._check(response, "POST label")["id"])
        return self._label_ids[name]

    def _patch(self, issue: dict[str, Any], **changes: Any) -> dict[str, Any]:
        updated = self._check(self.write.patch(f"{self._base}/{issue['number']}", json=changes), "PATCH issue")
        issue.update(updated)
        return issue

    def _comment(self, issue: dict[str, Any], body: str) -> None:
        self._check(self.write.post(f"{self._base}/{issue['number']}/comments", json={"body": body}), "POST comment")

    def _comments(self, issue: dict[str, Any]) -> list[str]:
        return [str(c.get("body", "")) for c in self._list(f"{self._base}/{issue['number']}/comments", {})]

    # ------------------------------------------------------------------ the sink

    def deliver(self, item: Delivery, *, maybe_sent: bool) -> str:
        """Reconcile the marked issue toward ``item``; return its number."""
        try:
            return self._deliver(item, maybe_sent=maybe_sent)
        except httpx.TransportError as exc:  # what a write did is unknown: list again before the next item
            self._index = self._label_ids = None
            raise DeliveryError(f"{self.project}: {item.subject}: {type(exc).__name__}: {exc}") from exc
        except RateLimited as exc:
            raise DeliveryError(f"{self.project}: {item.subject}: {exc}") from exc

    def _deliver(self, item: Delivery, *, maybe_sent: bool) -> str:
        marker = str(item.payload["marker"])
        issues = list(self._issues().get(marker, []))
        numbered = self._numbered(item.payload)
        if numbered is not None:
            issues = [numbered, *(i for i in issues if i["number"] != numbered["number"])]
        if item.action == "close":
            chosen = [numbered] if numbered is not None else sorted(issues, key=lambda i: int(i["number"]))
            return self._ensure_closed(chosen, item.payload, maybe_sent=maybe_sent)
        adopted = [i for old in item.payload.get("adopt", ()) for i in self._issues().get(str(old), [])]
        ordered = sorted([*issues, *adopted], key=lambda i: int(i["number"]))
        if numbered is not None:
            ordered = [numbered, *(i for i in ordered if i["number"] != numbered["number"])]
        number = self._ensure_open(marker, ordered, item.payload, numbered=numbered is not None)
        if adopted:
            self._index = None
        return number

    def _close_duplicate(self, duplicate: dict[str, Any], keep: dict[str, Any]) -> None:
        self._comment(duplicate, f"upkeep: closing as a duplicate of #{keep['number']}.")
        self._patch(duplicate, state="closed")
        log.info("duplicate issue closed", extra={"repository": self.project, "number": duplicate["number"]})

    def _ensure_open(
        self, marker: str, issues: list[dict[str, Any]], payload: Mapping[str, Any], *, numbered: bool
    ) -> str:
        title, section = str(payload["title"]), str(payload["body"])
        open_issues = [i for i in issues if i.get("state") == "open"]
        if numbered:
            keep = issues[0]
            for duplicate in open_issues:
                if duplicate["number"] != keep["number"]:
                    self._close_duplicate(duplicate, keep)
        elif open_issues:
            keep = open_issues[0]
            for duplicate in open_issues[1:]:
                self._close_duplicate(duplicate, keep)
        elif issues:
            keep = issues[-1]
        else:
            ids = [self._label_id(str(label)) for label in payload.get("labels", ())]
            created = self._check(
                self.write.post(self._base, json={"title": title, "body": section, "labels": ids}), "POST issue"
            )
            self._issues().setdefault(marker, []).append(created)
            self._by_number[int(created["number"])] = created
            log.info("issue created", extra={"repository": self.project, "number": created["number"]})
            return str(created["number"])
        body = merge_body(keep.get("body"), section)
        title_set = payload.get("title_set")
        if title_set is not None and keep.get("title") != title_set:
            title = str(keep.get("title"))  # a person retitled it: their title stays
        changes: dict[str, Any] = {}
        if keep.get("state") != "open":
            note = payload.get("reopen_note")
            if note and note not in self._comments(keep):
                self._comment(keep, str(note))
            changes["state"] = "open"
        if keep.get("title") != title:
            changes["title"] = title
        if (keep.get("body") or "") != body:
            changes["body"] = body
        missing = [str(label) for label in payload.get("labels", ()) if label not in _label_names(keep)]
        if missing:
            ids = [self._label_id(label) for label in missing]
            labels = self._check(
                self.write.post(f"{self._base}/{keep['number']}/labels", json={"labels": ids}), "POST labels"
            )
            keep["labels"] = labels
        if changes:
            self._patch(keep, **changes)
        if changes or missing:
            log.info("issue updated", extra={"repository": self.project, "number": keep["number"]})
        return str(keep["number"])

    def _ensure_closed(self, issues: list[dict[str, Any]], payload: Mapping[str, Any], *, maybe_sent: bool) -> str:
        if not issues:
            return "absent"
        comment = str(payload["comment"])
        for issue in issues:
            if issue.get("state") == "open":
                # the comment first: a crash between the two leaves an open issue that is retried, never a silent close
                if not (maybe_sent and comment in self._comments(issue)):
                    self._comment(issue, comment)
                self._patch(issue, state="closed")
                log.info("issue closed", extra={"repository": self.project, "number": issue["number"]})
        return str(issues[0]["number"])

    def close_duplicates(self) -> list[str]:
        """Close every second open issue carrying the same marker, keeping the oldest."""
        closed = []
        try:
            for issues in self._issues().values():
                open_issues = sorted((i for i in issues if i.get("state") == "open"), key=lambda i: int(i["number"]))
                for duplicate in open_issues[1:]:
                    self._close_duplicate(duplicate, open_issues[0])
                    closed.append(f"{self.project}#{duplicate['number']}")
        except httpx.TransportError as exc:
            self._index = None
            raise DeliveryError(f"{self.project}: closing duplicates: {type(exc).__name__}: {exc}") from exc
        return closed

    # ------------------------------------------------------------------ reading back what people did

    def watch(self, numbers: Mapping[str, int]) -> dict[str, WatchedIssue]:
        out: dict[str, WatchedIssue] = {}
        for subject, number in numbers.items():
            issue = self._numbered({"number": number})
            if issue is None:
                continue
            is_open = issue.get("state") == "open"
            out[subject] = WatchedIssue(
                number=number,
                state="open" if is_open else "closed",
                state_reason=None if is_open else close_reason(issue),
                closed_at=_moment(issue.get("closed_at")),
                updated_at=_moment(issue.get("updated_at")) or datetime.now(UTC),
                body=str(issue.get("body") or ""),
            )
        return out

    def events(self, number: int) -> list[IssueEvent]:
        found = self._list(f"{self._base}/{number}/timeline", {})
        return [
            IssueEvent(
                event="closed" if e.get("type") == "close" else "reopened",
                actor=(e.get("user") or {}).get("login"),
                at=_moment(e.get("created_at")) or datetime.now(UTC),
            )
            for e in found
            if e.get("type") in ("close", "reopen")
        ]

    def revisions(self, number: int) -> list[BodyRevision]:
        return []  # Forgejo has no API for a body's earlier versions


def close_reason(issue: Mapping[str, Any]) -> str:
    """Forgejo states no close reason: a ``not planned``/``wontfix`` label says so, anything else is done."""
    names = {name.strip().lower() for name in _label_names(issue)}
    return "not_planned" if names & NOT_PLANNED_LABELS else "completed"


def issue_forge(settings: Settings) -> ForgeSettings | None:
    """The ``[[forges]]`` entry ``[issues].forge`` names, when it is a Forgejo one."""
    name = settings.issues.forge
    return next((f for f in settings.forges if f.name == name and f.kind == "forgejo"), None)


def make_forgejo_issue_sink(settings: Settings, secrets: Secrets) -> ForgejoIssueSink | None:
    """The sink for ``[issues].repository`` on the Forgejo ``[issues].forge`` names, or None without a token."""
    forge = issue_forge(settings)
    if forge is None or not settings.issues.repository:
        return None
    secret = secrets.named_secret(forge.issue_token_env or forge.token_env)
    if secret is None:
        return None
    token = secret.get_secret_value()
    bucket = bucket_for(f"forge:{forge.name}", token, forge.requests_per_hour, time_compression=forge.time_compression)
    policy = compressed_policy(RetryPolicy(), forge.time_compression)
    read = make_client(forge.api_base, token=token, timeout=forge.timeout_seconds, bucket=bucket, policy=policy)
    # writes are never retried: a lost answer's issue is adopted by the next attempt's marker lookup
    write_policy = compressed_policy(RetryPolicy(max_retries=0), forge.time_compression)
    write = make_client(forge.api_base, token=token, timeout=forge.timeout_seconds, bucket=bucket, policy=write_policy)
    return ForgejoIssueSink(read, write, settings.issues.repository, labels=settings.issues.labels)
