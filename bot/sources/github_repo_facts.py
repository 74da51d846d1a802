"""What GitHub says about the organisation's repositories beyond their SBOMs: custom property values,
topics and CODEOWNERS, read by ``upkeep sync`` to weight repositories and name their teams.

- Custom properties: ``GET /orgs/{org}/properties/values`` (100 per page), each page revalidated with
  its stored ETag, so an unchanged organisation costs ``304`` answers. An App needs the
  ``organization_custom_properties: read`` permission; a token, read access to the repositories.
- Topics come with the repository listing (``topics`` on each repository): no request of their own.
- CODEOWNERS: ``GET /repos/{owner}/{name}/contents/{path}`` at ``.github/CODEOWNERS``, then
  ``CODEOWNERS``, then ``docs/CODEOWNERS`` (GitHub uses the first it finds), read again only when the
  repository was pushed to since (``repositories.codeowners_pushed_at``).

A 403 or 404 on properties or CODEOWNERS is a warning naming the organisation or repository, never a
failed stage: the repository then keeps no team from that source.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.http import cache_key
from bot.sources.repo_weights import CODEOWNERS_PATHS, parse_codeowners_team
from bot.store.engine import session_scope
from bot.store.tables import HttpCacheRow, utcnow

log = logging.getLogger(__name__)
PER_PAGE = 100

PropertyValues = dict[str, dict[str, str | tuple[str, ...]]]


@dataclass
class FactsCalls:
    """Requests made for repository facts (for the sync summary and the benchmark)."""

    property_pages: int = 0
    property_pages_not_modified: int = 0
    codeowners_requests: int = 0
    codeowners_reused: int = 0
    warnings: list[str] = field(default_factory=list)


def cached_page(engine: Engine, url: str) -> HttpCacheRow | None:
    """The stored answer of a GET (its ETag and body), or None."""
    with Session(engine) as session:
        return session.exec(select(HttpCacheRow).where(HttpCacheRow.url == cache_key(url))).first()


def cache_page(engine: Engine, url: str, etag: str | None, body: bytes) -> None:
    """Store a 200 answer's ETag and body, for the next conditional request."""
    key = cache_key(url)
    with session_scope(engine) as session:
        row = session.exec(select(HttpCacheRow).where(HttpCacheRow.url == key)).first() or HttpCacheRow(
            url=key, body=b""
        )
        row.etag, row.body, row.status_code, row.fetched_at = etag, body, 200, utcnow()
        session.add(row)


def conditional_get(engine: Engine, api: httpx.Client, url: str) -> tuple[int, bytes, bool]:
    """GET ``url`` with the stored ETag: (status, body, not modified). A 304 gives the stored body."""
    cached = cached_page(engine, url)
    headers = {"If-None-Match": cached.etag} if cached is not None and cached.etag else {}
    response = api.get(url, headers=headers)
    if response.status_code == 304 and cached is not None:
        return 200, cached.body, True
    if response.status_code == 200:
        cache_page(engine, url, response.headers.get("etag"), response.content)
    return response.status_code, response.content, False


def _message(body: bytes) -> str:
    try:
        return str(json.loads(body).get("message", "")).strip()
    except (ValueError, AttributeError):
        return ""


def _value(raw: object) -> str | tuple[str, ...] | None:
    if raw is None:
        return None
    if isinstance(raw, list):
        return tuple(str(v) for v in raw)
    return str(raw)


def fetch_property_values(
    engine: Engine, api: httpx.Client, api_url: str, org: str, calls: FactsCalls
) -> PropertyValues | None:
    """Custom property values of every repository of ``org`` (``owner/name`` lower-cased → name → value);
    None, with a warning, when GitHub refuses (403) or has none to give (404)."""
    values: PropertyValues = {}
    page = 1
    while True:
        url = f"{api_url.rstrip('/')}/orgs/{org}/properties/values?per_page={PER_PAGE}&page={page}"
        status, body, not_modified = conditional_get(engine, api, url)
        calls.property_pages += 1
        calls.property_pages_not_modified += not_modified
        if status in (403, 404):
            reason = _message(body) or f"HTTP {status}"
            calls.warnings.append(
                f"{org}: custom properties not readable ({status}: {reason}); weights and teams from properties "
                "are left out (an App needs organization_custom_properties: read)"
            )
            return None
        if status != 200:
            calls.warnings.append(f"{org}: custom properties answered HTTP {status}; left out this run")
            return None
        items = json.loads(body)
        for item in items:
            props = {
                str(p["property_name"]): value
                for p in item.get("properties") or []
                if (value := _value(p.get("value"))) is not None
            }
            values[str(item["repository_full_name"]).lower()] = props
        if len(items) < PER_PAGE:
            return values
        page += 1


def fetch_codeowners_team(
    api: httpx.Client, api_url: str, full_name: str, calls: FactsCalls
) -> tuple[str | None, bool]:
    """The owning team of the repository's CODEOWNERS ``*`` rule, and whether the answer is settled
    (False after a 403 or an error: ask again next run). No file at any of the three places: (None, True)."""
    for path in CODEOWNERS_PATHS:
        url = f"{api_url.rstrip('/')}/repos/{full_name}/contents/{path}"
        response = api.get(url)
        calls.codeowners_requests += 1
        if response.status_code == 404:
            continue
        if response.status_code != 200:
            reason = _message(response.content) or f"HTTP {response.status_code}"
            calls.warnings.append(f"{full_name}: CODEOWNERS not readable ({response.status_code}: {reason})")
            return None, False
        try:
            document = response.json()
            text = base64.b64decode(str(document.get("content", "")), validate=False).decode("utf-8", "replace")
        except (ValueError, binascii.Error, AttributeError):
            calls.warnings.append(f"{full_name}: {path} is not a readable file")
            return None, True
        return parse_codeowners_team(text), True
    return None, True


def properties_of(
    values: Mapping[str, Mapping[str, str | tuple[str, ...]]] | None, full_name: str
) -> dict[str, str | tuple[str, ...]]:
    """One repository's property values (empty when none were read)."""
    return dict((values or {}).get(full_name.lower(), {}))
