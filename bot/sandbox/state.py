"""Save and restore what upkeep changed in a sandbox world (issues, Slack messages, the scan).

The world itself is regenerated from its seed; only these mutable parts are kept, so a second
``upkeep demo`` continues the same world and shows that nothing is delivered twice.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.sandbox.model import BodyEdit, Issue, IssueComment, IssueEvent, SlackMessage, World

STATE_VERSION = 1


def _default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dump_state(world: World) -> dict[str, Any]:
    return {
        "version": STATE_VERSION,
        "seed": world.seed,
        "scale": world.scale,
        "scan": world.scan,
        "issues": {repo: [asdict(issue) for issue in issues] for repo, issues in world.issues.items()},
        "slack_messages": [asdict(message) for message in world.slack_messages],
        "notify_posts": world.notify_posts,
    }


def save_state(world: World, path: Path) -> None:
    path.write_text(json.dumps(dump_state(world), default=_default, indent=1, sort_keys=True), encoding="utf-8")


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _issue(data: dict[str, Any]) -> Issue:
    comments = [
        IssueComment(id=c["id"], body=c["body"], user=c["user"], created_at=datetime.fromisoformat(c["created_at"]))
        for c in data.get("comments", [])
    ]
    return Issue(
        number=data["number"],
        title=data["title"],
        body=data["body"],
        state=data["state"],
        labels=list(data["labels"]),
        user=data["user"],
        created_at=datetime.fromisoformat(data["created_at"]),
        updated_at=datetime.fromisoformat(data["updated_at"]),
        closed_at=_when(data.get("closed_at")),
        state_reason=data.get("state_reason"),
        comments=comments,
        events=[
            IssueEvent(**{**e, "created_at": datetime.fromisoformat(e["created_at"])}) for e in data.get("events", [])
        ],
        edits=[BodyEdit(**{**e, "edited_at": datetime.fromisoformat(e["edited_at"])}) for e in data.get("edits", [])],
        closed_by=data.get("closed_by"),
    )


def load_state(world: World, path: Path) -> bool:
    """Restore ``path`` into ``world``; False (and no change) when it belongs to another world."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("version") != STATE_VERSION or data.get("seed") != world.seed or data.get("scale") != world.scale:
        return False
    world.scan = int(data.get("scan", 0))
    world.issues = {repo: [_issue(i) for i in issues] for repo, issues in data.get("issues", {}).items()}
    world.slack_messages = [SlackMessage(**m) for m in data.get("slack_messages", [])]
    world.notify_posts = dict(data.get("notify_posts", {}))
    return True
