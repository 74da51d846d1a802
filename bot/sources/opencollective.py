"""Open Collective: the organisation's outgoing contributions, from the GraphQL v2 API.

The organisation's payments are the ``DEBIT`` transactions of kind ``CONTRIBUTION`` on its own
account (``funding.opencollective_slug``); the amount is negative there and the collective is the
``oppositeAccount``. Pagination is by offset (``limit`` at most 1,000).

Attribution, first that applies: the collective's linked repository (``repositoryUrl``, a GitHub
social link or a ``githubHandle`` of the form ``owner/repo``) when it is an upstream; the upstream
whose FUNDING.yml ``open_collective:`` names the collective; the one upstream of a ``githubHandle``
owner that owns exactly one. Otherwise the payment is kept as unattributed.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from bot.config import Secrets, Settings
from bot.http import RetryPolicy, bucket_for, compressed_policy, make_client
from bot.records import current_key
from bot.sources.money import Payment

PAGE = 1000
#: Open Collective's API limits (its ``express-limiter`` on ``/graphql``): requests a minute with a
#: token, and without one (per IP). See docs/sandbox-limits.md.
PER_MINUTE_WITH_TOKEN = 100
PER_MINUTE_ANONYMOUS = 10
TRANSACTIONS_QUERY = """
query OrgContributions($slug: String!, $limit: Int!, $offset: Int!) {
  account(slug: $slug) {
    slug
    transactions(type: DEBIT, kind: [CONTRIBUTION], limit: $limit, offset: $offset) {
      totalCount
      nodes {
        id
        createdAt
        description
        amount { valueInCents currency }
        oppositeAccount {
          slug
          githubHandle
          repositoryUrl
          socialLinks { type url }
        }
      }
    }
  }
}
"""


def make_opencollective_client(
    settings: Settings, secrets: Secrets, *, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """The one Open Collective client: its token header, and a bucket per token (or for no token) paced under
    Open Collective's requests a minute, which every client of the process with that token shares.

    A ``429`` holds the bucket for its ``Retry-After``; the clock is compressed like GitHub's in the sandbox."""
    token = secrets.opencollective_token.get_secret_value() if secrets.opencollective_token else None
    compression = settings.github.time_compression
    bucket = bucket_for(
        "opencollective",
        token or "anonymous",
        PER_MINUTE_WITH_TOKEN if token else PER_MINUTE_ANONYMOUS,
        time_compression=compression,
        window_seconds=60.0,
    )
    return make_client(
        timeout=30.0,
        transport=transport,
        headers={"Personal-Token": token} if token else {},
        policy=compressed_policy(RetryPolicy(), compression),
        bucket=bucket,
    )


class OpenCollectiveError(Exception):
    """Open Collective answered with errors; the message names the account."""


def fetch_transactions(client: httpx.Client, url: str, slug: str) -> list[dict[str, Any]]:
    """Every DEBIT CONTRIBUTION transaction of the account ``slug``, newest first."""
    out: list[dict[str, Any]] = []
    offset = 0
    while True:
        response = client.post(
            url, json={"query": TRANSACTIONS_QUERY, "variables": {"slug": slug, "limit": PAGE, "offset": offset}}
        )
        try:
            payload = response.json()
        except ValueError as exc:
            raise OpenCollectiveError(
                f"{slug}: Open Collective answered HTTP {response.status_code}, not JSON"
            ) from exc
        if payload.get("errors"):
            raise OpenCollectiveError(f"{slug}: {payload['errors'][0].get('message', payload['errors'][0])}")
        account = (payload.get("data") or {}).get("account")
        if account is None:
            raise OpenCollectiveError(f"{slug}: no such Open Collective account")
        page = account["transactions"]
        nodes = [n for n in page["nodes"] if n]
        out += nodes
        offset += len(nodes)
        if not nodes or offset >= int(page.get("totalCount") or 0):
            return out


def _github_repo(account: Mapping[str, Any], web_host: str) -> str | None:
    urls = [account.get("repositoryUrl")] + [
        link.get("url") for link in account.get("socialLinks") or [] if link.get("type") == "GITHUB"
    ]
    for url in urls:
        if not url:
            continue
        parts = str(url).split("://", 1)[-1].strip("/").split("/")
        if len(parts) >= 3 and parts[0].lower() in {"github.com", web_host.lower()}:
            return f"{web_host}/{parts[1]}/{parts[2].removesuffix('.git')}".lower()
    handle = str(account.get("githubHandle") or "")
    if "/" in handle:
        return f"{web_host}/{handle}".lower()
    return None


def attribute_collective(
    account: Mapping[str, Any],
    *,
    upstreams: Collection[str],
    owners: Mapping[str, Sequence[str]],
    funding_slugs: Mapping[str, Sequence[str]],
    web_host: str = "github.com",
    renames: Mapping[str, str] | None = None,
) -> tuple[tuple[str, ...], str]:
    """The upstreams a collective stands for, and how that was decided (see the module docstring).

    A linked repository known by an old name (``renames``: old key → new) stands for its new name.
    """
    slug = str(account.get("slug") or "")
    repo = _github_repo(account, web_host)
    repo = current_key(repo, renames or {}) if repo is not None else None
    if repo is not None and repo in upstreams:
        return (repo,), f"{slug}: linked repository {repo}"
    named = sorted(funding_slugs.get(slug.lower(), ()))
    if len(named) == 1:
        return (named[0],), f"{slug}: named by the FUNDING.yml of {named[0]}"
    if len(named) > 1:
        return tuple(named), f"{slug}: named by {len(named)} FUNDING.yml files: split evenly"
    handle = str(account.get("githubHandle") or "").lower()
    owned = owners.get(handle, ()) if handle and "/" not in handle else ()
    if len(owned) == 1:
        return (owned[0],), f"{slug}: GitHub owner {handle} has one upstream"
    return (), f"{slug}: no linked repository or FUNDING.yml names it"


def collective_payments(
    transactions: Sequence[Mapping[str, Any]],
    *,
    upstreams: Collection[str],
    owners: Mapping[str, Sequence[str]],
    funding_slugs: Mapping[str, Sequence[str]],
    web_host: str = "github.com",
    renames: Mapping[str, str] | None = None,
) -> list[Payment]:
    """Transactions as payments (positive amounts, original currency) with their attribution."""
    out = []
    for t in transactions:
        account = t.get("oppositeAccount") or {}
        keys, why = attribute_collective(
            account,
            upstreams=upstreams,
            owners=owners,
            funding_slugs=funding_slugs,
            web_host=web_host,
            renames=renames,
        )
        amount = t.get("amount") or {}
        value = abs(Decimal(str(amount.get("valueInCents") or 0))) / 100
        out.append(
            Payment(
                channel="open_collective",
                payee=str(account.get("slug") or "?"),
                paid_on=datetime.fromisoformat(str(t["createdAt"]).replace("Z", "+00:00")).astimezone(UTC),
                amount=value.quantize(Decimal("0.01")),
                currency=str(amount.get("currency") or "USD"),
                upstreams=keys,
                attribution=why,
                source=f"opencollective:{t.get('id', '')}",
            )
        )
    return out
