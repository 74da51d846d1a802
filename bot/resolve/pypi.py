"""PyPI: ``GET {pypi}/pypi/{name}/json`` → the repository, read from every field that can name it.

Order of evidence (the first that is a forge repository wins; :func:`candidates_from_info`):

1. ``project_urls`` under a source label (``Source``, ``Repository``, ``Code``, ``GitHub``...; PEP 753
   normalised): the maintainers say "this is the repository". A refusal here is the reason shown.
2. ``project_urls`` ``Homepage``, then ``home_page``: often the repository itself.
3. ``download_url``: a forge archive (``github.com/o/n/archive/v1.tar.gz``) names its repository.
4. ``project_urls`` tracker and changelog labels (issues live in the repository).
5. Any other ``project_urls`` entry, in the document's order (``Documentation`` pointing at a README).
   Funding, Sponsors and site pages are refused by the URL rules, never taken for a repository.
"""

from __future__ import annotations

import re
import string
from typing import Any

from bot.resolve.fetch import Fetcher, json_at
from bot.resolve.interface import Outcome, PackageRef, Unresolved
from bot.resolve.repo_url import Candidate, choose_repository
from bot.signals.registry import pypi_signals

# Well-known labels after PEP 753 normalisation (https://packaging.python.org/en/latest/specifications/well-known-project-urls/).
SOURCE_LABELS = ("source", "repository", "sourcecode", "github", "code", "sourcerepository", "git", "gitlab")
HOMEPAGE_LABELS = ("homepage",)
# Last resort: a tracker or changelog link on a forge names the repository too.
OTHER_LABELS = ("issues", "bugs", "issue", "tracker", "issuetracker", "bugtracker", "changelog", "releasenotes")
# Never a repository, even on a forge (github.com/sponsors/x is refused anyway; these are skipped outright).
FUNDING_LABELS = ("funding", "sponsor", "sponsors", "donate", "donation", "tidelift", "opencollective")
_STRIP = str.maketrans("", "", string.punctuation + string.whitespace)


def normalise_label(label: str) -> str:
    """PEP 753: remove ASCII punctuation and whitespace, lower-case (``"Source Code"`` → ``sourcecode``)."""
    return label.translate(_STRIP).lower()


def pep503_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def candidates_from_info(info: dict[str, Any]) -> list[Candidate]:
    urls = info.get("project_urls") or {}
    labelled: dict[str, tuple[str, str]] = {}
    if isinstance(urls, dict):
        for label, url in urls.items():
            if isinstance(label, str) and isinstance(url, str):
                labelled.setdefault(normalise_label(label), (label, url))
    found: list[Candidate] = []
    for wanted, declared in ((SOURCE_LABELS, True), (HOMEPAGE_LABELS, False)):
        for key in wanted:
            if key in labelled:
                label, url = labelled[key]
                found.append(Candidate(f"pypi:project_urls.{label}", url, declared))
    found.append(Candidate("pypi:home_page", info.get("home_page"), False))
    found.append(Candidate("pypi:download_url", info.get("download_url"), False))
    for key in OTHER_LABELS:
        if key in labelled:
            label, url = labelled[key]
            found.append(Candidate(f"pypi:project_urls.{label}", url, False))
    named = set(SOURCE_LABELS) | set(HOMEPAGE_LABELS) | set(OTHER_LABELS)
    for key, (label, url) in labelled.items():
        if key not in named and key not in FUNDING_LABELS:
            found.append(Candidate(f"pypi:project_urls.{label}", url, False))
    return found


class PyPIResolver:
    ecosystem = "pypi"

    def __init__(self, base_url: str, forges: frozenset[str]) -> None:
        self.base_url = base_url.rstrip("/")
        self.forges = forges

    async def resolve(self, package: PackageRef, client: Fetcher) -> Outcome:
        result = await client.get(f"{self.base_url}/pypi/{pep503_name(package.name)}/json")
        info = json_at(result, "info")
        client.note_signals(result.url, "pypi", None if isinstance(info, Unresolved) else pypi_signals({"info": info}))
        if isinstance(info, Unresolved):
            return info
        return choose_repository(candidates_from_info(info), forges=self.forges)
