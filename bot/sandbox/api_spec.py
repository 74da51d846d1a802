"""Check requests against vendored OpenAPI descriptions (``bot/sandbox/data``, see ``SOURCES.md``).

The Mattermost and Matrix fakes answer only operations their published API descriptions define,
and refuse what those descriptions refuse: a missing required query parameter, a parameter of the
wrong type, a request body that does not match the operation's schema. A request the real server
would reject never passes the sandbox because the fake forgot a rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import yaml

METHODS = ("get", "put", "post", "delete", "patch")
DATA = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Operation:
    method: str
    template: str  # as written in the description, e.g. /rooms/{roomId}/send/{eventType}/{txnId}
    pattern: re.Pattern[str]
    spec: dict[str, Any]

    @property
    def operation_id(self) -> str:
        return str(self.spec.get("operationId", ""))


class SpecError(Exception):
    """The request breaks the API description; ``status`` is what the real server answers."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@cache
def load_description(name: str) -> dict[str, Any]:
    """A vendored description file from ``bot/sandbox/data``."""
    data = yaml.safe_load((DATA / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _compile(template: str) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(template))
    return re.compile(f"^{pattern}$")


class ApiDescription:
    """The operations of one or more description files under one base path."""

    def __init__(self, files: tuple[str, ...], base_path: str = "") -> None:
        self.operations: list[Operation] = []
        for name in files:
            paths = load_description(name).get("paths") or {}
            for template, item in paths.items():
                for method in METHODS:
                    if method in item:
                        full = base_path + template
                        self.operations.append(Operation(method.upper(), full, _compile(full), item[method]))

    def match(self, method: str, path: str) -> tuple[Operation, list[str]] | None:
        """The operation for ``method`` and ``path`` (percent-encoded) and its path values, or None."""
        for operation in self.operations:
            found = operation.pattern.match(path)
            if found and operation.method == method:
                return operation, [httpx.URL("/" + v).path[1:] for v in found.groups()]
        return None

    def check(self, operation: Operation, request: httpx.Request) -> Any:
        """Check query parameters and the JSON body against ``operation``; return the decoded body (or None)."""
        params = request.url.params
        for parameter in operation.spec.get("parameters") or ():
            if parameter.get("in") != "query":
                continue
            name = parameter["name"]
            if name not in params:
                if parameter.get("required"):
                    raise SpecError(f"query parameter {name!r} is required")
                continue
            kind = (parameter.get("schema") or {}).get("type")
            value = params[name]
            if kind == "integer" and not re.fullmatch(r"-?\d+", value):
                raise SpecError(f"query parameter {name!r}: {value!r} is not an integer")
            if kind == "boolean" and value not in ("true", "false"):
                raise SpecError(f"query parameter {name!r}: {value!r} is not a boolean")
            allowed = (parameter.get("schema") or {}).get("enum")
            if allowed and value not in allowed:
                raise SpecError(f"query parameter {name!r}: {value!r} is not one of {allowed}")
        body_spec = operation.spec.get("requestBody")
        if body_spec is None:
            return None
        if not request.content:
            if body_spec.get("required"):
                raise SpecError("a request body is required")
            return None
        try:
            body = httpx.Response(200, content=request.content).json()
        except ValueError as exc:
            raise SpecError(f"the body is not JSON: {exc}") from exc
        schema = ((body_spec.get("content") or {}).get("application/json") or {}).get("schema")
        if schema:
            validate(body, schema)
        return body


def validate(instance: Any, schema: dict[str, Any]) -> None:
    """Raise :class:`SpecError` naming the first place ``instance`` breaks ``schema``."""
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(instance))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(body)"
        raise SpecError(f"{where}: {error.message}")
