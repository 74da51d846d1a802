"""Gap issues on a Forgejo (or Gitea) repository (``[issues].forge`` naming a ``kind = "forgejo"`` forge).

The exactly-once rules of :class:`bot.deliver.rest_issues.RestIssueSink` (found by the number upkeep
stored, else by marker; never retried writes; a person's title and body kept). Outbox rows keep the
channel ``github`` (the issue tracker).

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

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from bot.config import Secrets, Settings
from bot.deliver.rest_issues import RestIssueSink, make_rest_issue_sink

LIMIT = 50  # Forgejo's default MAX_RESPONSE_ITEMS
NOT_PLANNED_LABELS = frozenset({"not planned", "wontfix"})  # a close with one of these is "not planned"
LABEL_COLOUR = "#8250df"


def _label_names(issue: Mapping[str, Any]) -> list[str]:
    return [str(label.get("name")) for label in issue.get("labels") or () if isinstance(label, dict)]


class ForgejoIssueSink(RestIssueSink):
    """Applies issue items to one Forgejo repository (``owner/name``)."""

    forge_name = "Forgejo"
    list_params = {"state": "all", "type": "issues"}

    def __init__(self, read: httpx.Client, write: httpx.Client, repository: str, *, labels: Sequence[str] = ()) -> None:
        owner, _, name = repository.partition("/")
        self._repo = f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"
        super().__init__(read, write, repository, f"{self._repo}/issues", labels=labels)
        self._label_ids: dict[str, int] | None = None

    # ------------------------------------------------------------------ Forgejo's primitives

    def _forget(self) -> None:
        self._index = self._label_ids = None

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

    def _state_change(self, *, open: bool) -> dict[str, Any]:
        return {"state": "open" if open else "closed"}

    def _new_issue(self, title: str, section: str, labels: list[str]) -> dict[str, Any]:
        return {"title": title, "body": section, "labels": [self._label_id(label) for label in labels]}

    def _label_names(self, issue: Mapping[str, Any]) -> Sequence[Any]:
        return _label_names(issue)

    def _add_labels(self, issue: dict[str, Any], missing: list[str], changes: dict[str, Any]) -> None:
        ids = [self._label_id(label) for label in missing]
        labels = self._check(
            self.write.post(f"{self._base}/{issue['number']}/labels", json={"labels": ids}), "POST labels"
        )
        issue["labels"] = labels

    def _close_reason(self, issue: Mapping[str, Any]) -> str:
        return close_reason(issue)


def close_reason(issue: Mapping[str, Any]) -> str:
    """Forgejo states no close reason: a ``not planned``/``wontfix`` label says so, anything else is done."""
    names = {name.strip().lower() for name in _label_names(issue)}
    return "not_planned" if names & NOT_PLANNED_LABELS else "completed"


def make_forgejo_issue_sink(settings: Settings, secrets: Secrets) -> ForgejoIssueSink | None:
    """The sink for ``[issues].repository`` on the Forgejo ``[issues].forge`` names, or None without a token."""
    return make_rest_issue_sink(settings, secrets, "forgejo", ForgejoIssueSink)
