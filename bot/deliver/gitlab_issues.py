"""Gap issues on a GitLab project (``[issues].forge`` naming a ``kind = "gitlab"`` forge).

The exactly-once rules of :class:`bot.deliver.rest_issues.RestIssueSink` (found by the number, GitLab's
``iid``, upkeep stored, else by marker; never retried writes; a person's title and body kept), on
GitLab's REST v4: ``PUT`` with ``state_event`` to close or reopen, notes as comments, labels by name.

Outbox rows keep the channel ``github`` (the outbox's name for "the issue tracker"): the plan, the
decisions read-back and ``upkeep status`` need not know which forge holds the issues.

What GitLab does not offer, and what follows: no ``state_reason`` (a person's close is read as done,
who and when from ``resource_state_events``), and no
public REST API for a description's earlier versions (:meth:`revisions` is empty, so the dashboard's
ticks are read from the description as it is).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from bot.config import ForgeSettings, Secrets, Settings
from bot.deliver import rest_issues
from bot.deliver.interface import BodyRevision, IssueEvent
from bot.deliver.rest_issues import RestIssueSink, issue_clients, moment


class GitLabIssueSink(RestIssueSink):
    """Applies issue items to one GitLab project (``group/subgroup/name``)."""

    forge_name = "GitLab"
    number_key = "iid"
    body_key = "description"
    open_state = "opened"
    list_params = {"state": "all", "order_by": "created_at", "sort": "asc"}

    def __init__(self, read: httpx.Client, write: httpx.Client, project: str, *, labels: Sequence[str] = ()) -> None:
        super().__init__(read, write, project, f"/projects/{quote(project, safe='')}/issues", labels=labels)

    # ------------------------------------------------------------------ GitLab's primitives

    def _list(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        page: str = "1"
        while page:
            response = self.read.get(path, params={**params, "per_page": 100, "page": page})
            out += [item for item in self._check(response, f"GET {path}") if isinstance(item, dict)]
            page = response.headers.get("x-next-page", "").strip()
        return out

    def _update(self, issue: dict[str, Any], **changes: Any) -> dict[str, Any]:
        updated = self._check(self.write.put(f"{self._base}/{issue['iid']}", json=changes), "PUT issue")
        issue.update(updated)
        return issue

    def _comment(self, issue: dict[str, Any], body: str) -> None:
        self._check(self.write.post(f"{self._base}/{issue['iid']}/notes", json={"body": body}), "POST note")

    def _comments(self, issue: dict[str, Any]) -> list[str]:
        return [str(n.get("body", "")) for n in self._list(f"{self._base}/{issue['iid']}/notes", {})]

    def _state_change(self, *, open: bool) -> dict[str, Any]:
        return {"state_event": "reopen" if open else "close"}

    def _create(self, title: str, section: str, labels: list[str]) -> dict[str, Any]:
        json = {"title": title, "description": section, "labels": ",".join(labels)}
        created: dict[str, Any] = self._check(self.write.post(self._base, json=json), "POST issue")
        return created

    def _label_names(self, issue: Mapping[str, Any]) -> Sequence[Any]:
        return issue.get("labels") or []  # GitLab lists labels by name

    def _add_labels(self, issue: dict[str, Any], missing: list[str], changes: dict[str, Any]) -> None:
        changes["add_labels"] = ",".join(missing)  # in the one PUT

    def _close_reason(self, issue: Mapping[str, Any]) -> str:
        return "completed"  # GitLab states no reason

    # ------------------------------------------------------------------ reading back what people did

    def events(self, number: int) -> list[IssueEvent]:
        found = self._list(f"{self._base}/{number}/resource_state_events", {})
        return [
            IssueEvent(
                event="closed" if e.get("state") == "closed" else "reopened",
                actor=(e.get("user") or {}).get("username"),
                at=moment(e.get("created_at")) or datetime.now(UTC),
            )
            for e in found
            if e.get("state") in ("closed", "reopened")
        ]

    def revisions(self, number: int) -> list[BodyRevision]:
        return []  # GitLab has no public REST API for a description's earlier versions


def issue_forge(settings: Settings) -> ForgeSettings | None:
    """The ``[[forges]]`` entry ``[issues].forge`` names, when it is a GitLab one."""
    return rest_issues.issue_forge(settings, "gitlab")


def make_gitlab_issue_sink(settings: Settings, secrets: Secrets) -> GitLabIssueSink | None:
    """The sink for ``[issues].repository`` on the GitLab ``[issues].forge`` names, or None without a token."""
    forge = issue_forge(settings)
    if forge is None or not settings.issues.repository:
        return None
    clients = issue_clients(forge, secrets)
    if clients is None:
        return None
    return GitLabIssueSink(*clients, settings.issues.repository, labels=settings.issues.labels)
