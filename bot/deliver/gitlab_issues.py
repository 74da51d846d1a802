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
from typing import Any
from urllib.parse import quote

import httpx

from bot.config import Secrets, Settings
from bot.deliver.rest_issues import RestIssueSink, make_rest_issue_sink


class GitLabIssueSink(RestIssueSink):
    """Applies issue items to one GitLab project (``group/subgroup/name``)."""

    forge_name = "GitLab"
    number_key = "iid"
    body_key = "description"
    open_state = "opened"
    list_params = {"state": "all", "order_by": "created_at", "sort": "asc"}
    update_method = "PUT"
    comments_path = "notes"
    comment_name = "note"
    events_path = "resource_state_events"
    event_field = "state"
    event_kinds = ("closed", "reopened")
    actor_field = "username"

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

    def _state_change(self, *, open: bool) -> dict[str, Any]:
        return {"state_event": "reopen" if open else "close"}

    def _new_issue(self, title: str, section: str, labels: list[str]) -> dict[str, Any]:
        return {"title": title, "description": section, "labels": ",".join(labels)}

    def _label_names(self, issue: Mapping[str, Any]) -> Sequence[Any]:
        return issue.get("labels") or []  # GitLab lists labels by name

    def _add_labels(self, issue: dict[str, Any], missing: list[str], changes: dict[str, Any]) -> None:
        changes["add_labels"] = ",".join(missing)  # in the one PUT

    def _close_reason(self, issue: Mapping[str, Any]) -> str:
        return "completed"  # GitLab states no reason


def make_gitlab_issue_sink(settings: Settings, secrets: Secrets) -> GitLabIssueSink | None:
    """The sink for ``[issues].repository`` on the GitLab ``[issues].forge`` names, or None without a token."""
    return make_rest_issue_sink(settings, secrets, "gitlab", GitLabIssueSink)
