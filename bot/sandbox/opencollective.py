"""The sandbox's Open Collective GraphQL v2: an account's contributions, validated against OC's schema.

Served under ``/opencollective/graphql/v2``. Queries are parsed and validated against
``data/opencollective-schema-v2.graphql`` (opencollective/opencollective-api, MIT), so a field Open
Collective does not have fails as it does there. Resolved subset: ``account(slug | githubHandle)``
for the organisation's own account (``World.opencollective_slug``, or an org login) and for each
collective, with ``transactions(type, kind, dateFrom, dateTo, limit, offset)`` as a
``TransactionCollection`` (offset pagination, ``limit`` at most 1,000), each transaction with
``amount``, ``createdAt``, ``fromAccount``/``toAccount``/``oppositeAccount`` and the collective's
``githubHandle``, ``repositoryUrl`` and ``socialLinks``.

Like Open Collective's ledger, the organisation's payment is a ``DEBIT`` of kind ``CONTRIBUTION`` on
its own account with a negative amount (the collective's side is the matching positive ``CREDIT``).
Public data needs no token; a token sent as ``Personal-Token``, ``Api-Key`` or a bearer
``Authorization`` header must be one of ``world.tokens["opencollective"]``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLResolveInfo,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    execute_sync,
)

from bot.sandbox.github_rest import iso, parse_time
from bot.sandbox.graphql_schema import PublishedSchema
from bot.sandbox.interface import ServiceContext
from bot.sandbox.limits import OPENCOLLECTIVE_PREFIX, opencollective_token
from bot.sandbox.model import Collective, OpenCollectiveContribution, World

SCHEMA_PATH = Path(__file__).parent / "data" / "opencollective-schema-v2.graphql"
MAX_LIMIT = 1000
#: Open Collective refuses queries nested deeper than this, or with more aliases (validation rules of its API).
MAX_DEPTH = 20
MAX_ALIASES = 100
Info = GraphQLResolveInfo[Any]
OPENCOLLECTIVE_SCHEMA = PublishedSchema(SCHEMA_PATH)


def _id(*parts: object) -> str:
    return str(uuid.UUID(bytes=hashlib.sha256(":".join(map(str, parts)).encode()).digest()[:16], version=4))


def _legacy(*parts: object) -> int:
    return int(hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:8], 16) % 10**7


class OpenCollectiveService:
    """Open Collective's GraphQL v2 endpoint over a sandbox ``World``."""

    prefix = OPENCOLLECTIVE_PREFIX

    def __init__(self, world: World) -> None:
        self.world = world
        self.org_slugs = {s.lower() for s in ([world.opencollective_slug] if world.opencollective_slug else world.orgs)}
        self.org_slug = world.opencollective_slug or (world.orgs[0] if world.orgs else "")
        self.collectives = {c.slug.lower(): c for c in world.collectives}
        self.payments = sorted(world.oc_contributions, key=lambda p: p.created_at, reverse=True)

    def handle(self, request: httpx.Request, path: str, context: ServiceContext) -> httpx.Response:
        token = opencollective_token(request)
        if token is not None and token not in self.world.tokens.get("opencollective", []):
            return httpx.Response(
                401, json={"errors": [{"message": "Invalid personal token", "extensions": {"code": "Unauthorized"}}]}
            )
        if request.method != "POST":
            return httpx.Response(400, json={"errors": [{"message": "GET query missing."}]})
        try:
            payload = json.loads(request.content or b"")
        except ValueError:
            return httpx.Response(400, json={"errors": [{"message": "POST body sent invalid JSON."}]})
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return httpx.Response(400, json={"errors": [{"message": "POST body missing query."}]})
        document, errors = OPENCOLLECTIVE_SCHEMA.check(payload["query"])
        if document is None or errors:
            body = {"errors": [{**e.formatted, "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}} for e in errors]}
            return httpx.Response(400, json=body)
        refused = query_shape_error(document)
        if refused is not None:
            return httpx.Response(
                400, json={"errors": [{"message": refused, "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}]}
            )
        result = execute_sync(
            OPENCOLLECTIVE_SCHEMA.schema(),
            document,
            root_value=_Root(self),
            variable_values=payload.get("variables") or None,
            operation_name=payload.get("operationName"),
            type_resolver=lambda value, info, abstract: value.get("__typename") if isinstance(value, dict) else None,
        )
        out: dict[str, Any] = {"data": result.data}
        if result.errors:
            out["errors"] = [e.formatted for e in result.errors]
        return httpx.Response(200, json=out)

    # -- accounts and transactions ----------------------------------------------------------------

    def org_account(self) -> dict[str, Any]:
        slug = self.org_slug
        return {
            "__typename": "Organization",
            "id": _id("oc-account", slug),
            "legacyId": _legacy("oc-account", slug),
            "slug": slug,
            "type": "ORGANIZATION",
            "name": slug.title(),
            "currency": "USD",
            "githubHandle": None,
            "repositoryUrl": None,
            "socialLinks": [],
            "website": None,
            "isActive": True,
            "transactions": lambda info, **args: self.transactions(None, args),
        }

    def collective_account(self, collective: Collective) -> dict[str, Any]:
        handle = collective.github_handle
        links = [{"type": "GITHUB", "url": f"https://github.com/{handle}"}] if handle else []
        return {
            "__typename": "Collective",
            "id": _id("oc-account", collective.slug),
            "legacyId": _legacy("oc-account", collective.slug),
            "slug": collective.slug,
            "type": "COLLECTIVE",
            "name": collective.name,
            "currency": collective.currency,
            "githubHandle": handle,
            "repositoryUrl": f"https://github.com/{handle}" if handle and "/" in handle else None,
            "socialLinks": links,
            "website": None,
            "isActive": True,
            "transactions": lambda info, **args: self.transactions(collective, args),
        }

    def account(self, slug: str | None, github_handle: str | None) -> dict[str, Any] | None:
        if slug is not None:
            if slug.lower() in self.org_slugs:
                return self.org_account()
            found = self.collectives.get(slug.lower())
            return self.collective_account(found) if found else None
        if github_handle is not None:
            found = next(
                (c for c in self.collectives.values() if (c.github_handle or "").lower() == github_handle.lower()), None
            )
            return self.collective_account(found) if found else None
        return None

    def transactions(self, collective: Collective | None, args: dict[str, Any]) -> dict[str, Any]:
        """The org's DEBITs (``collective`` None) or one collective's CREDITs from the org."""
        limit, offset = int(args.get("limit", 100) or 0), int(args.get("offset", 0) or 0)
        if limit > MAX_LIMIT:
            raise GraphQLError(
                f"Cannot fetch more than {MAX_LIMIT:,} transactions at the same time, please adjust the limit"
            )
        side = "DEBIT" if collective is None else "CREDIT"
        kinds = args.get("kind")
        date_from, date_to = _date(args.get("dateFrom")), _date(args.get("dateTo"))
        rows = [
            p
            for p in self.payments
            if (collective is None or p.collective.lower() == collective.slug.lower())
            and args.get("type") in (None, side)
            and (not kinds or "CONTRIBUTION" in kinds)
            and (date_from is None or p.created_at >= date_from)
            and (date_to is None or p.created_at <= date_to)
        ]
        chunk = rows[offset : offset + limit]
        return {
            "offset": offset,
            "limit": limit,
            "totalCount": len(rows),
            "nodes": [self.transaction(p, side) for p in chunk],
            "kinds": ["CONTRIBUTION"] if rows else [],
        }

    def transaction(self, payment: OpenCollectiveContribution, side: str) -> dict[str, Any]:
        collective = self.collectives.get(payment.collective.lower())
        to_account = self.collective_account(collective) if collective else None
        org = self.org_account()
        sign = -1 if side == "DEBIT" else 1
        amount = {
            "valueInCents": sign * payment.amount_cents,
            "value": sign * payment.amount_cents / 100,
            "currency": payment.currency,
        }
        key = (payment.collective, iso(payment.created_at), payment.amount_cents)
        return {
            "__typename": "Debit" if side == "DEBIT" else "Credit",
            "id": _id("oc-transaction", side, *key),
            "legacyId": _legacy("oc-transaction", side, *key),
            "uuid": _id("oc-transaction", side, *key),
            "group": _id("oc-group", *key),
            "type": side,
            "kind": "CONTRIBUTION",
            "description": payment.description or f"Contribution to {payment.collective}",
            "amount": amount,
            "amountInHostCurrency": amount,
            "netAmount": amount,
            "createdAt": iso(payment.created_at),
            "updatedAt": iso(payment.created_at),
            "clearedAt": iso(payment.created_at),
            "account": org if side == "DEBIT" else to_account,
            "oppositeAccount": to_account if side == "DEBIT" else org,
            "fromAccount": org,
            "toAccount": to_account,
            "isRefund": False,
            "isRefunded": False,
        }


class _Root:
    def __init__(self, service: OpenCollectiveService) -> None:
        self.s = service

    def account(self, info: Info, **args: Any) -> dict[str, Any] | None:
        found = self.s.account(args.get("slug"), args.get("githubHandle"))
        if found is None and args.get("throwIfMissing", True):
            raise GraphQLError("Account Not Found", extensions={"code": "NotFound"})
        return found

    def collective(self, info: Info, **args: Any) -> dict[str, Any] | None:
        found = self.s.account(args.get("slug"), args.get("githubHandle"))
        if found is None or found["__typename"] != "Collective":
            if args.get("throwIfMissing", True):
                raise GraphQLError("Collective Not Found", extensions={"code": "NotFound"})
            return None
        return found


def _date(value: Any) -> datetime | None:
    if value is None:
        return None
    moment = parse_time(str(value))
    if moment is None:
        raise GraphQLError(f"Value is not a valid DateTime: {value}")
    return moment


def query_shape_error(document: DocumentNode) -> str | None:
    """Why Open Collective refuses ``document`` before running it (too deep, too many aliases), else None."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    aliases = 0

    def depth(selection_set: SelectionSetNode | None, seen: frozenset[str]) -> int:
        nonlocal aliases
        deepest = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                aliases += selection.alias is not None
                below = 1 + depth(selection.selection_set, seen) if selection.selection_set else 0
                deepest = max(deepest, below)
            elif isinstance(selection, InlineFragmentNode):
                deepest = max(deepest, depth(selection.selection_set, seen))
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in fragments and name not in seen:
                    deepest = max(deepest, depth(fragments[name].selection_set, seen | {name}))
        return deepest

    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        levels = depth(definition.selection_set, frozenset())
        name = definition.name.value if definition.name else "query"
        if levels > MAX_DEPTH:
            return f"'{name}' exceeds maximum operation depth of {MAX_DEPTH}"
    if aliases > MAX_ALIASES:
        return f"Too many aliases: {aliases} (at most {MAX_ALIASES})"
    return None
