"""Gap issues on a GitLab project (``[issues].forge`` naming a ``kind = "gitlab"`` forge).

The same exactly-once rules as :mod:`bot.deliver.github_issues`: an issue is found again by the
number (GitLab's ``iid``) upkeep stored, else by the hidden marker that starts upkeep's section,
listed once per run (``state=all``, upkeep's label), never by title; every change reconciles toward
the item's payload, so applying an item twice changes nothing the second time. A write is never
retried by the transport: a ``POST`` whose answer was lost may have created the issue, and the next
attempt's marker lookup adopts what it made. upkeep rewrites only its own section of a description
and keeps a title a person changed.

Outbox rows keep the channel ``github`` (the outbox's name for "the issue tracker"): the plan, the
decisions read-back and ``upkeep status`` need not know which forge holds the issues.

What GitLab does not offer, and what follows: no ``state_reason`` (a person's close is read as done,
who and when from ``resource_state_events``), and no
public REST API for a description's earlier versions (:meth:`revisions` is empty, so the dashboard's
ticks are read from the description as it is).
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


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC) if text else None


class GitLabIssueSink:
    """Applies issue items to one GitLab project (``group/subgroup/name``)."""

    channel: Channel = "github"

    def __init__(self, read: httpx.Client, write: httpx.Client, project: str, *, labels: Sequence[str] = ()) -> None:
        self.read, self.write = read, write
        self.project = project
        self.labels = tuple(labels)
        self._base = f"/projects/{quote(project, safe='')}/issues"
        self._index: dict[str, list[dict[str, Any]]] | None = None
        self._by_number: dict[int, dict[str, Any]] = {}

    # ------------------------------------------------------------------ HTTP

    def _check(self, response: httpx.Response, what: str) -> Any:
        if response.status_code >= 400:
            raise DeliveryError(
                f"{self.project}: {what}: GitLab answered {response.status_code}: {response.text[:200]}",
                permanent=response.status_code in _PERMANENT_STATUSES,
            )
        return response.json()

    def _list(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        page: str = "1"
        while page:
            response = self.read.get(path, params={**params, "per_page": 100, "page": page})
            out += [item for item in self._check(response, f"GET {path}") if isinstance(item, dict)]
            page = response.headers.get("x-next-page", "").strip()
        return out

    def _issues(self) -> dict[str, list[dict[str, Any]]]:
        """Our issues by marker, listed once per sink (one run) and kept current as we write."""
        if self._index is None:
            params: dict[str, Any] = {"state": "all", "order_by": "created_at", "sort": "asc"}
            if self.labels:
                params["labels"] = self.labels[0]
            index: dict[str, list[dict[str, Any]]] = {}
            self._by_number = {}
            for issue in self._list(self._base, params):
                self._by_number[int(issue["iid"])] = issue
                marker = find_marker(issue.get("description"))
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
                return None  # deleted or moved: the marker is the fallback
            found = self._check(response, f"GET issue {number}")
            self._by_number[number] = found
        return found

    def _put(self, issue: dict[str, Any], **changes: Any) -> dict[str, Any]:
        updated = self._check(self.write.put(f"{self._base}/{issue['iid']}", json=changes), "PUT issue")
        issue.update(updated)
        return issue

    def _note(self, issue: dict[str, Any], body: str) -> None:
        self._check(self.write.post(f"{self._base}/{issue['iid']}/notes", json={"body": body}), "POST note")

    def _notes(self, issue: dict[str, Any]) -> list[str]:
        return [str(n.get("body", "")) for n in self._list(f"{self._base}/{issue['iid']}/notes", {})]

    # ------------------------------------------------------------------ the sink

    def deliver(self, item: Delivery, *, maybe_sent: bool) -> str:
        """Reconcile the marked issue toward ``item``; return its iid."""
        try:
            return self._deliver(item, maybe_sent=maybe_sent)
        except httpx.TransportError as exc:  # what a write did is unknown: list again before the next item
            self._index = None
            raise DeliveryError(f"{self.project}: {item.subject}: {type(exc).__name__}: {exc}") from exc
        except RateLimited as exc:
            raise DeliveryError(f"{self.project}: {item.subject}: {exc}") from exc

    def _deliver(self, item: Delivery, *, maybe_sent: bool) -> str:
        marker = str(item.payload["marker"])
        issues = list(self._issues().get(marker, []))
        numbered = self._numbered(item.payload)
        if numbered is not None:
            issues = [numbered, *(i for i in issues if i["iid"] != numbered["iid"])]
        if item.action == "close":
            chosen = [numbered] if numbered is not None else sorted(issues, key=lambda i: int(i["iid"]))
            return self._ensure_closed(chosen, item.payload, maybe_sent=maybe_sent)
        adopted = [i for old in item.payload.get("adopt", ()) for i in self._issues().get(str(old), [])]
        ordered = sorted([*issues, *adopted], key=lambda i: int(i["iid"]))
        if numbered is not None:
            ordered = [numbered, *(i for i in ordered if i["iid"] != numbered["iid"])]
        number = self._ensure_open(marker, ordered, item.payload, numbered=numbered is not None)
        if adopted:
            self._index = None
        return number

    def _close_duplicate(self, duplicate: dict[str, Any], keep: dict[str, Any]) -> None:
        self._note(duplicate, f"upkeep: closing as a duplicate of #{keep['iid']}.")
        self._put(duplicate, state_event="close")
        log.info("duplicate issue closed", extra={"repository": self.project, "number": duplicate["iid"]})

    def _ensure_open(
        self, marker: str, issues: list[dict[str, Any]], payload: Mapping[str, Any], *, numbered: bool
    ) -> str:
        title, section = str(payload["title"]), str(payload["body"])
        open_issues = [i for i in issues if i.get("state") == "opened"]
        if numbered:
            keep = issues[0]
            for duplicate in open_issues:
                if duplicate["iid"] != keep["iid"]:
                    self._close_duplicate(duplicate, keep)
        elif open_issues:
            keep = open_issues[0]
            for duplicate in open_issues[1:]:
                self._close_duplicate(duplicate, keep)
        elif issues:
            keep = issues[-1]
        else:
            labels = ",".join(str(label) for label in payload.get("labels", ()))
            created = self._check(
                self.write.post(self._base, json={"title": title, "description": section, "labels": labels}),
                "POST issue",
            )
            self._issues().setdefault(marker, []).append(created)
            self._by_number[int(created["iid"])] = created
            log.info("issue created", extra={"repository": self.project, "number": created["iid"]})
            return str(created["iid"])
        body = merge_body(keep.get("description"), section)
        title_set = payload.get("title_set")
        if title_set is not None and keep.get("title") != title_set:
            title = str(keep.get("title"))  # a person retitled it: their title stays
        changes: dict[str, Any] = {}
        if keep.get("state") != "opened":
            note = payload.get("reopen_note")
            if note and note not in self._notes(keep):
                self._note(keep, str(note))
            changes["state_event"] = "reopen"
        if keep.get("title") != title:
            changes["title"] = title
        if (keep.get("description") or "") != body:
            changes["description"] = body
        missing = [str(label) for label in payload.get("labels", ()) if label not in (keep.get("labels") or [])]
        if missing:
            changes["add_labels"] = ",".join(missing)
        if changes:
            self._put(keep, **changes)
            log.info("issue updated", extra={"repository": self.project, "number": keep["iid"]})
        return str(keep["iid"])

    def _ensure_closed(self, issues: list[dict[str, Any]], payload: Mapping[str, Any], *, maybe_sent: bool) -> str:
        if not issues:
            return "absent"
        comment = str(payload["comment"])
        for issue in issues:
            if issue.get("state") == "opened":
                # the note first: a crash between the two leaves an open issue that is retried, never a silent close
                if not (maybe_sent and comment in self._notes(issue)):
                    self._note(issue, comment)
                self._put(issue, state_event="close")
                log.info("issue closed", extra={"repository": self.project, "number": issue["iid"]})
        return str(issues[0]["iid"])

    def close_duplicates(self) -> list[str]:
        """Close every second open issue carrying the same marker, keeping the oldest."""
        closed = []
        try:
            for issues in self._issues().values():
                open_issues = sorted((i for i in issues if i.get("state") == "opened"), key=lambda i: int(i["iid"]))
                for duplicate in open_issues[1:]:
                    self._close_duplicate(duplicate, open_issues[0])
                    closed.append(f"{self.project}#{duplicate['iid']}")
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
            out[subject] = WatchedIssue(
                number=number,
                state="open" if issue.get("state") == "opened" else "closed",
                state_reason=None if issue.get("state") == "opened" else "completed",  # GitLab states no reason
                closed_at=_moment(issue.get("closed_at")),
                updated_at=_moment(issue.get("updated_at")) or datetime.now(UTC),
                body=str(issue.get("description") or ""),
            )
        return out

    def events(self, number: int) -> list[IssueEvent]:
        found = self._list(f"{self._base}/{number}/resource_state_events", {})
        return [
            IssueEvent(
                event="closed" if e.get("state") == "closed" else "reopened",
                actor=(e.get("user") or {}).get("username"),
                at=_moment(e.get("created_at")) or datetime.now(UTC),
            )
            for e in found
            if e.get("state") in ("closed", "reopened")
        ]

    def revisions(self, number: int) -> list[BodyRevision]:
        return []  # GitLab has no public REST API for a description's earlier versions


def issue_forge(settings: Settings) -> ForgeSettings | None:
    """The ``[[forges]]`` entry ``[issues].forge`` names, when it is a GitLab one."""
    name = settings.issues.forge
    return next((f for f in settings.forges if f.name == name and f.kind == "gitlab"), None)


def make_gitlab_issue_sink(settings: Settings, secrets: Secrets) -> GitLabIssueSink | None:
    """The sink for ``[issues].repository`` on the GitLab ``[issues].forge`` names, or None without a token."""
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
    return GitLabIssueSink(read, write, settings.issues.repository, labels=settings.issues.labels)
