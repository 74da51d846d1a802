"""The OpenAPI 3.1 document of ``/api/v1/``, built from the query layer's pydantic models.

The response schemas are the models' own JSON schemas (serialisation mode), so the document, the
CLI's ``--json`` and the MCP tools' output schemas cannot drift apart.
"""

from __future__ import annotations

from typing import Any, get_args

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from bot import __version__
from bot.query.models import (
    Changes,
    DeliveryPlan,
    Explanation,
    PackageUsers,
    PersonIdentity,
    PledgeOut,
    SortKey,
    StatusOut,
    UnresolvedOut,
    UpstreamHistory,
    UpstreamPage,
    UpstreamRecord,
)

# Explanation and DeliveryPlan are the CLI's only (`explain --json`, `deliver --dry-run --json`); they are
# components here so one document describes every shape.
MODELS: tuple[type[BaseModel], ...] = (
    Explanation,
    DeliveryPlan,
    UpstreamPage,
    UpstreamRecord,
    UpstreamHistory,
    Changes,
    PackageUsers,
    PersonIdentity,
    PledgeOut,
    UnresolvedOut,
    StatusOut,
)
MAX_LIMIT = 500
MAX_OFFSET = 1_000_000_000

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
    "required": ["error", "detail"],
}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _responses(ok: dict[str, Any], *, not_found: bool = False, bad_request: bool = False) -> dict[str, Any]:
    found: dict[str, Any] = {
        "200": _json(ok, "The answer; carries an ETag."),
        "304": {"description": "Not modified: the If-None-Match ETag is current."},
        "401": _json(_ref("Error"), "No valid bearer token."),
    }
    if bad_request:
        found["400"] = _json(_ref("Error"), "A query parameter is not valid.")
    if not_found:
        found["404"] = _json(_ref("Error"), "No such upstream.")
    return found


def _param(name: str, schema: dict[str, Any], description: str, *, where: str = "query") -> dict[str, Any]:
    return {"name": name, "in": where, "required": where == "path", "schema": schema, "description": description}


UPSTREAM_PATH = [
    _param("host", {"type": "string", "pattern": "^[^/]+$"}, "Forge host, e.g. github.com.", where="path"),
    _param("owner", {"type": "string", "pattern": "^[^/]+$"}, "Owner or organisation.", where="path"),
    _param("name", {"type": "string", "pattern": "^[^/]+$"}, "Repository name.", where="path"),
]


def _get(summary: str, operation_id: str, responses: dict[str, Any], parameters: list[Any] | None = None) -> Any:
    op: dict[str, Any] = {
        "summary": summary,
        "operationId": operation_id,
        "security": [{"bearer": []}],
        "responses": responses,
    }
    if parameters:
        op["parameters"] = parameters
    return {"get": op}


def openapi_document() -> dict[str, Any]:
    """The whole document (what ``GET /openapi.json`` answers)."""
    _, defs = models_json_schema([(m, "serialization") for m in MODELS], ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    schemas["Error"] = ERROR_SCHEMA
    list_params = [
        _param(
            "ecosystem", {"type": "string"}, "Only upstreams publishing packages in this ecosystem (pypi, npm, ...)."
        ),
        _param("team", {"type": "string"}, "Only upstreams whose heaviest user is this team."),
        _param("decision", {"type": "string"}, "Only upstreams with this recorded decision."),
        _param("min_gap", {"type": "number"}, "Only gaps at least this share (0.01 = 1 %)."),
        _param("scored", {"type": "boolean"}, "true: only scored upstreams; false: only those left out."),
        _param("sort", {"type": "string", "enum": list(get_args(SortKey)), "default": "priority"}, "Sort key."),
        _param("order", {"type": "string", "enum": ["desc", "asc"], "default": "desc"}, "Sort order."),
        _param("offset", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}, "Rows to skip."),
        _param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 50}, "Rows per page."),
    ]
    paths = {
        "/api/v1/upstreams": _get(
            "Upstreams of the latest snapshot, filtered, sorted and paged",
            "listUpstreams",
            _responses(_ref("UpstreamPage"), bad_request=True),
            list_params,
        ),
        "/api/v1/upstreams/{host}/{owner}/{name}": _get(
            "One upstream's whole record",
            "getUpstream",
            _responses(_ref("UpstreamRecord"), not_found=True),
            UPSTREAM_PATH,
        ),
        "/api/v1/upstreams/{host}/{owner}/{name}/history": _get(
            "One upstream in every stored snapshot, oldest first",
            "getUpstreamHistory",
            _responses(_ref("UpstreamHistory")),
            UPSTREAM_PATH,
        ),
        "/api/v1/changes": _get(
            "What changed between the latest snapshot and an earlier one",
            "getChanges",
            _responses(_ref("Changes"), bad_request=True),
            [
                _param(
                    "since",
                    {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
                    "Compare with the last snapshot at or before it.",
                )
            ],
        ),
        "/api/v1/packages/users": _get(
            "Which internal repositories use a package",
            "getPackageUsers",
            _responses(_ref("PackageUsers"), bad_request=True),
            [
                {
                    **_param("package", {"type": "string", "minLength": 1}, "pypi/requests, or a bare name."),
                    "required": True,
                }
            ],
        ),
        "/api/v1/pledge": _get(
            "Open Source Pledge status (trailing twelve months)",
            "getPledge",
            _responses(_ref("PledgeOut"), bad_request=True),
            [
                _param(
                    "quarter",
                    {"type": "string", "pattern": "^[1-9][0-9]{3}Q[1-4]$"},
                    "e.g. 2026Q3; default: the last complete.",
                )
            ],
        ),
        "/api/v1/unresolved": _get(
            "Packages without an upstream",
            "listUnresolved",
            _responses({"type": "array", "items": _ref("UnresolvedOut")}),
        ),
        "/api/v1/people": _get(
            "Identities whose contributions count",
            "listPeople",
            _responses({"type": "array", "items": _ref("PersonIdentity")}),
        ),
        "/api/v1/status": _get("Runs, outbox and rate limits", "getStatus", _responses(_ref("StatusOut"))),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "upkeep API",
            "version": __version__,
            "description": "Read-only answers over upkeep's ledger. Shares are fractions of 1; amounts are in the "
            "snapshot's reporting currency unless a field says otherwise. See docs/api.md.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
