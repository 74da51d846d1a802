"""Links from the digest to the gap issues: one place that turns a stored issue number into its web address.

The number is the one the outbox recorded when the issue was delivered (its identity), so the
digest is planned after the issues of the same run are delivered (:func:`bot.deliver.stage.deliver`).
A message is compared with the one sent before by :func:`link_stable_hash`, which leaves the web
address's scheme and host out: an issue that gets a number is a change, the same issues served from
another address (the demo's sandbox on a new port) are not.

The web address is derived from ``github.api_url``: ``https://api.github.com`` →
``https://github.com``, ``https://HOST/api/v3`` (GitHub Enterprise Server, the sandbox) →
``https://HOST``. When ``[issues].forge`` sends the issues to a GitLab or a Forgejo, the address is that
forge's ``url`` with the forge's own issue path (GitLab ``…/-/issues/N``, Forgejo ``…/issues/N``).
An address that is not plain (characters any output format would have to
escape) is not linked at all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from sqlmodel import Session

from bot.config import DEFAULT_GITHUB_API_URL, Settings
from bot.deliver.outbox import content_hash
from bot.records import current_key
from bot.store import outbox as outbox_store
from bot.store.renames import load_renames

# scheme, host[:port], path segments of unreserved characters: safe in mrkdwn, Markdown and HTML alike
_PLAIN_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(?::[0-9]+)?(?:/[A-Za-z0-9._~-]+)*$")


def web_base(api_url: str) -> str | None:
    """The web address of the GitHub behind ``api_url`` (``None``: cannot be told)."""
    api = api_url.rstrip("/")
    if api == DEFAULT_GITHUB_API_URL:
        return "https://github.com"
    if api.endswith("/api/v3"):
        return api.removesuffix("/api/v3")
    return None


def _issue_forge_base(settings: Settings) -> tuple[str | None, str]:
    """The web address of the forge holding the issues, and its path to an issue (GitLab ``-/issues``)."""
    forge = next((f for f in settings.forges if f.name == settings.issues.forge and f.kind != "github"), None)
    if forge is None:
        return web_base(settings.github.api_url), "issues"
    return forge.url.rstrip("/"), "-/issues" if forge.kind == "gitlab" else "issues"


def issue_url(settings: Settings, number: int) -> str | None:
    """The web address of issue ``number`` in the OSPO repository, or ``None`` when it cannot be a plain link."""
    repository = settings.issues.repository
    base, issues = _issue_forge_base(settings)
    if base is None or not repository:
        return None
    url = f"{base}/{repository}/{issues}/{number}"
    return url if _PLAIN_URL.match(url) else None


def issue_links(settings: Settings, numbers: Mapping[str, int]) -> dict[str, str]:
    """Each subject's web address, keyed by upstream (``gap:`` dropped) or ``dashboard``."""
    links = {}
    for subject, number in numbers.items():
        url = issue_url(settings, number)
        if url is not None:
            links[subject.removeprefix("gap:")] = url
    return links


def load_issue_links(session: Session, settings: Settings) -> dict[str, str]:
    """Every upstream with a delivered gap issue (by its old and new names), and ``dashboard``, to its web address."""
    repository = settings.issues.repository
    if not repository:
        return {}
    renames = load_renames(session)
    numbers: dict[str, int] = {}
    for subject, (number, _title) in outbox_store.load_issue_identities(session, target=repository).items():
        if subject.startswith("gap:"):  # by the name it was delivered under and by its name of today
            numbers.setdefault(subject, number)
            numbers[f"gap:{current_key(subject.removeprefix('gap:'), renames)}"] = number
        elif subject == "dashboard":
            numbers[subject] = number
    return issue_links(settings, numbers)


def link_stable_hash(payload: Mapping[str, Any], settings: Settings) -> str:
    """The content hash of a digest ``payload`` with the issue links' web base left out (see the module)."""
    base = _issue_forge_base(settings)[0]
    if base is None:
        return content_hash(payload)
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).replace(base + "/", "/")
    return content_hash({"digest": text})
