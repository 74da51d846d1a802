"""The exactly-once reconciliation shared by the REST issue sinks (GitLab, Forgejo).

An issue is found again by the number upkeep stored, else by the hidden marker that starts upkeep's
section, listed once per run (``state=all``, upkeep's label), never by title; every change reconciles
toward the item's payload, so applying an item twice changes nothing the second time. A write is never
retried by the transport: a ``POST`` whose answer was lost may have created the issue, and the next
attempt's marker lookup adopts what it made. upkeep rewrites only its own section of a body and keeps
a title a person changed.

:class:`RestIssueSink` holds those rules once; each forge's sink supplies the primitives that differ
(field names, state names, paging, how a state change, a comment and a label are written, how a
close's reason is read), so a fix to the rules reaches every forge.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx

from bot.config import ForgeSettings, Secrets, Settings
from bot.deliver.interface import BodyRevision, Channel, Delivery, DeliveryError, IssueEvent, WatchedIssue
from bot.deliver.issue_bodies import find_marker, merge_body
from bot.http import RateLimited, RetryPolicy, bucket_for, compressed_policy, make_client

log = logging.getLogger(__name__)

_PERMANENT_STATUSES = frozenset({401, 403, 404, 410, 422})
S = TypeVar("S", bound="RestIssueSink")


def moment(text: str | None) -> datetime | None:
    """A forge's ISO timestamp as an aware UTC datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC) if text else None


class RestIssueSink:
    """Applies issue items to one repository through a forge's REST API; subclasses name the forge's fields."""

    channel: Channel = "github"
    forge_name = ""  # in error messages
    number_key = "number"  # the issue's number within the repository
    body_key = "body"  # the issue's description text
    open_state = "open"  # the ``state`` of an open issue
    list_params: Mapping[str, Any] = {}  # listing our issues, besides upkeep's label
    update_method = "PATCH"  # the verb that edits an issue
    comments_path = "comments"  # an issue's comments, below the issue
    comment_name = "comment"  # in error messages
    events_path = "timeline"  # an issue's close and reopen events, below the issue
    event_field = "type"  # the field naming an event's kind
    event_kinds = ("close", "reopen")  # its values for a close and a reopen
    actor_field = "login"  # the field of an event's ``user`` naming them

    def __init__(
        self, read: httpx.Client, write: httpx.Client, project: str, base: str, *, labels: Sequence[str] = ()
    ) -> None:
        self.read, self.write = read, write
        self.project = project
        self.labels = tuple(labels)
        self._base = base
        self._index: dict[str, list[dict[str, Any]]] | None = None
        self._by_number: dict[int, dict[str, Any]] = {}

    # ------------------------------------------------------------------ primitives each forge supplies

    def _list(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _state_change(self, *, open: bool) -> dict[str, Any]:
        """The update fields that reopen (``open``) or close an issue."""
        raise NotImplementedError

    def _new_issue(self, title: str, section: str, labels: list[str]) -> dict[str, Any]:
        """The body of the ``POST`` that creates an issue."""
        raise NotImplementedError

    def _label_names(self, issue: Mapping[str, Any]) -> Sequence[Any]:
        raise NotImplementedError

    def _add_labels(self, issue: dict[str, Any], missing: list[str], changes: dict[str, Any]) -> None:
        """Add the ``missing`` labels: written at once, or put into ``changes`` for the one update."""
        raise NotImplementedError

    def _close_reason(self, issue: Mapping[str, Any]) -> str:
        raise NotImplementedError

    def _forget(self) -> None:
        """Drop what was listed: after a lost answer, what a write did is unknown."""
        self._index = None

    # ------------------------------------------------------------------ HTTP

    def _check(self, response: httpx.Response, what: str) -> Any:
        if response.status_code >= 400:
            raise DeliveryError(
                f"{self.project}: {what}: {self.forge_name} answered {response.status_code}: {response.text[:200]}",
                permanent=response.status_code in _PERMANENT_STATUSES,
            )
        return response.json()

    def _update(self, issue: dict[str, Any], **changes: Any) -> dict[str, Any]:
        """Write ``changes`` to ``issue`` and take the forge's answer into it."""
        url = f"{self._base}/{issue[self.number_key]}"
        updated = self._check(self.write.request(self.update_method, url, json=changes), f"{self.update_method} issue")
        issue.update(updated)
        return issue

    def _comment(self, issue: dict[str, Any], body: str) -> None:
        url = f"{self._base}/{issue[self.number_key]}/{self.comments_path}"
        self._check(self.write.post(url, json={"body": body}), f"POST {self.comment_name}")

    def _comments(self, issue: dict[str, Any]) -> list[str]:
        found = self._list(f"{self._base}/{issue[self.number_key]}/{self.comments_path}", {})
        return [str(c.get("body", "")) for c in found]

    def _number(self, issue: Mapping[str, Any]) -> Any:
        return issue[self.number_key]

    def _is_open(self, issue: Mapping[str, Any]) -> bool:
        return issue.get("state") == self.open_state

    def _issues(self) -> dict[str, list[dict[str, Any]]]:
        """Our issues by marker, listed once per sink (one run) and kept current as we write."""
        if self._index is None:
            params: dict[str, Any] = dict(self.list_params)
            if self.labels:
                params["labels"] = self.labels[0]
            index: dict[str, list[dict[str, Any]]] = {}
            self._by_number = {}
            for issue in self._list(self._base, params):
                self._by_number[int(self._number(issue))] = issue
                marker = find_marker(issue.get(self.body_key))
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
                return None  # deleted, moved or transferred: the marker is the fallback
            found = self._check(response, f"GET issue {number}")
            self._by_number[number] = found
        return found

    # ------------------------------------------------------------------ the sink

    def deliver(self, item: Delivery, *, maybe_sent: bool) -> str:
        """Reconcile the marked issue toward ``item``; return its number."""
        try:
            return self._deliver(item, maybe_sent=maybe_sent)
        except httpx.TransportError as exc:  # what a write did is unknown: list again before the next item
            self._forget()
            raise DeliveryError(f"{self.project}: {item.subject}: {type(exc).__name__}: {exc}") from exc
        except RateLimited as exc:
            raise DeliveryError(f"{self.project}: {item.subject}: {exc}") from exc

    def _deliver(self, item: Delivery, *, maybe_sent: bool) -> str:
        key = self.number_key
        marker = str(item.payload["marker"])
        issues = list(self._issues().get(marker, []))
        numbered = self._numbered(item.payload)
        if numbered is not None:
            issues = [numbered, *(i for i in issues if i[key] != numbered[key])]
        if item.action == "close":
            chosen = [numbered] if numbered is not None else sorted(issues, key=lambda i: int(i[key]))
            return self._ensure_closed(chosen, item.payload, maybe_sent=maybe_sent)
        adopted = [i for old in item.payload.get("adopt", ()) for i in self._issues().get(str(old), [])]
        ordered = sorted([*issues, *adopted], key=lambda i: int(i[key]))
        if numbered is not None:
            ordered = [numbered, *(i for i in ordered if i[key] != numbered[key])]
        number = self._ensure_open(marker, ordered, item.payload, numbered=numbered is not None)
        if adopted:
            self._index = None
        return number

    def _close_duplicate(self, duplicate: dict[str, Any], keep: dict[str, Any]) -> None:
        self._comment(duplicate, f"upkeep: closing as a duplicate of #{self._number(keep)}.")
        self._update(duplicate, **self._state_change(open=False))
        log.info("duplicate issue closed", extra={"repository": self.project, "number": self._number(duplicate)})

    def _ensure_open(
        self, marker: str, issues: list[dict[str, Any]], payload: Mapping[str, Any], *, numbered: bool
    ) -> str:
        key = self.number_key
        title, section = str(payload["title"]), str(payload["body"])
        open_issues = [i for i in issues if self._is_open(i)]
        if numbered:
            keep = issues[0]
            for duplicate in open_issues:
                if duplicate[key] != keep[key]:
                    self._close_duplicate(duplicate, keep)
        elif open_issues:
            keep = open_issues[0]
            for duplicate in open_issues[1:]:
                self._close_duplicate(duplicate, keep)
        elif issues:
            keep = issues[-1]
        else:
            new = self._new_issue(title, section, [str(label) for label in payload.get("labels", ())])
            created = self._check(self.write.post(self._base, json=new), "POST issue")
            self._issues().setdefault(marker, []).append(created)
            self._by_number[int(created[key])] = created
            log.info("issue created", extra={"repository": self.project, "number": created[key]})
            return str(created[key])
        body = merge_body(keep.get(self.body_key), section)
        title_set = payload.get("title_set")
        if title_set is not None and keep.get("title") != title_set:
            title = str(keep.get("title"))  # a person retitled it: their title stays
        changes: dict[str, Any] = {}
        if not self._is_open(keep):
            note = payload.get("reopen_note")
            if note and note not in self._comments(keep):
                self._comment(keep, str(note))
            changes.update(self._state_change(open=True))
        if keep.get("title") != title:
            changes["title"] = title
        if (keep.get(self.body_key) or "") != body:
            changes[self.body_key] = body
        missing = [str(label) for label in payload.get("labels", ()) if label not in self._label_names(keep)]
        if missing:
            self._add_labels(keep, missing, changes)
        if changes:
            self._update(keep, **changes)
        if changes or missing:
            log.info("issue updated", extra={"repository": self.project, "number": keep[key]})
        return str(keep[key])

    def _ensure_closed(self, issues: list[dict[str, Any]], payload: Mapping[str, Any], *, maybe_sent: bool) -> str:
        if not issues:
            return "absent"
        comment = str(payload["comment"])
        for issue in issues:
            if self._is_open(issue):
                # the comment first: a crash between the two leaves an open issue that is retried, never a silent close
                if not (maybe_sent and comment in self._comments(issue)):
                    self._comment(issue, comment)
                self._update(issue, **self._state_change(open=False))
                log.info("issue closed", extra={"repository": self.project, "number": self._number(issue)})
        return str(self._number(issues[0]))

    def close_duplicates(self) -> list[str]:
        """Close every second open issue carrying the same marker, keeping the oldest."""
        closed = []
        try:
            for issues in self._issues().values():
                open_issues = sorted((i for i in issues if self._is_open(i)), key=lambda i: int(self._number(i)))
                for duplicate in open_issues[1:]:
                    self._close_duplicate(duplicate, open_issues[0])
                    closed.append(f"{self.project}#{self._number(duplicate)}")
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
            is_open = self._is_open(issue)
            out[subject] = WatchedIssue(
                number=number,
                state="open" if is_open else "closed",
                state_reason=None if is_open else self._close_reason(issue),
                closed_at=moment(issue.get("closed_at")),
                updated_at=moment(issue.get("updated_at")) or datetime.now(UTC),
                body=str(issue.get(self.body_key) or ""),
            )
        return out

    def events(self, number: int) -> list[IssueEvent]:
        """Who closed or reopened the issue, and when."""
        closed, reopened = self.event_kinds
        found = self._list(f"{self._base}/{number}/{self.events_path}", {})
        return [
            IssueEvent(
                event="closed" if e.get(self.event_field) == closed else "reopened",
                actor=(e.get("user") or {}).get(self.actor_field),
                at=moment(e.get("created_at")) or datetime.now(UTC),
            )
            for e in found
            if e.get(self.event_field) in (closed, reopened)
        ]

    def revisions(self, number: int) -> list[BodyRevision]:
        return []  # neither GitLab nor Forgejo has a REST API for a body's earlier versions


def make_rest_issue_sink(settings: Settings, secrets: Secrets, kind: str, sink: Callable[..., S]) -> S | None:
    """A ``sink`` for ``[issues].repository`` on the ``kind`` forge ``[issues].forge`` names; None without a token."""
    name = settings.issues.forge
    forge = next((f for f in settings.forges if f.name == name and f.kind == kind), None)
    if forge is None or not settings.issues.repository:
        return None
    clients = issue_clients(forge, secrets)
    if clients is None:
        return None
    return sink(*clients, settings.issues.repository, labels=settings.issues.labels)


def issue_clients(forge: ForgeSettings, secrets: Secrets) -> tuple[httpx.Client, httpx.Client] | None:
    """The read and write clients for the forge's issue token, or None without one; writes are never retried."""
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
    return read, write
