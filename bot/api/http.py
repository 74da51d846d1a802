"""``upkeep serve``: the read-only JSON API under ``/api/v1/``, its OpenAPI document, the latest review at
``/``, a page per upstream, and the MCP server at ``/mcp`` — one Starlette application.

Every answer carries a strong ETag (sha256 of the body); a matching ``If-None-Match`` gets 304.
``/api/`` and ``/mcp`` need a bearer token from ``UPKEEP_API_TOKENS`` (:mod:`bot.api.auth`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TypeVar, get_args

import anyio.to_thread
import jinja2
from pydantic import BaseModel, SecretStr
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.api.auth import BearerGuard
from bot.api.mcp_server import build_mcp
from bot.api.openapi import MAX_LIMIT, MAX_OFFSET, openapi_document
from bot.paths import templates_dir
from bot.query import Ledger
from bot.query.history import parse_since
from bot.query.models import SortKey
from bot.report.quarters import Quarter

T = TypeVar("T")
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
QUARTER = re.compile(r"[1-9][0-9]{3}Q[1-4]")
PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


class BadRequest(Exception):
    """A query parameter that is not valid; the message names it."""


def etagged(request: Request, body: bytes, media_type: str) -> Response:
    """``body`` with its ETag, or 304 when the client's ``If-None-Match`` already names it."""
    tag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": tag, "Cache-Control": "no-cache"}
    if media_type.startswith("text/html"):
        headers["Content-Security-Policy"] = PAGE_CSP
    wanted = {t.strip().removeprefix("W/") for t in request.headers.get("if-none-match", "").split(",")}
    if tag in wanted or "*" in wanted:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def json_answer(request: Request, value: BaseModel | Sequence[BaseModel]) -> Response:
    if isinstance(value, BaseModel):
        body = value.model_dump_json(by_alias=True).encode()
    else:
        body = json.dumps([v.model_dump(mode="json", by_alias=True) for v in value]).encode()
    return etagged(request, body, "application/json")


def error(status: int, kind: str, detail: str, headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps({"error": kind, "detail": detail})
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _only(request: Request, *names: str) -> None:
    """Refuse parameters the operation does not know (a typo would otherwise be silently ignored)."""
    unknown = sorted(set(request.query_params) - set(names))
    if unknown:
        raise BadRequest(
            f"unknown query parameter(s): {', '.join(repr(u) for u in unknown)}; known: {', '.join(names)}"
        )


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query_params.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError as exc:
        raise BadRequest(f"{name}={text!r}: not an integer") from exc
    if not low <= value <= high:
        raise BadRequest(f"{name}={value}: must be between {low} and {high}")
    return value


def _choice(request: Request, name: str, choices: Sequence[str], default: str) -> str:
    value = request.query_params.get(name, default)
    if value not in choices:
        raise BadRequest(f"{name}={value!r}: one of {', '.join(choices)}")
    return value


def _float(request: Request, name: str) -> float | None:
    text = request.query_params.get(name)
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError as exc:
        raise BadRequest(f"{name}={text!r}: not a number") from exc
    if value != value or value in (float("inf"), float("-inf")):
        raise BadRequest(f"{name}={text!r}: not a finite number")
    return value


def _bool(request: Request, name: str) -> bool | None:
    text = request.query_params.get(name)
    if text is None:
        return None
    if text.lower() not in ("true", "false"):
        raise BadRequest(f"{name}={text!r}: true or false")
    return text.lower() == "true"


def _key(request: Request) -> str:
    p = request.path_params
    return f"{p['host']}/{p['owner']}/{p['name']}".lower()


def page_environment() -> jinja2.Environment:
    """The pages' templates (``templates/api/``), HTML-escaped: upstream text is shown, never interpreted."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir() / "api"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def build_app(ledger: Ledger, tokens: Sequence[SecretStr], *, host: str = "127.0.0.1") -> Starlette:
    """The whole server over ``ledger``; ``tokens`` guard ``/api/`` and ``/mcp``."""
    mcp = build_mcp(ledger, host=host)
    mcp_app = mcp.streamable_http_app()
    pages = page_environment()
    openapi = json.dumps(openapi_document()).encode()

    async def run(call: Callable[[], T]) -> T:
        return await anyio.to_thread.run_sync(call)

    async def list_upstreams(request: Request) -> Response:
        _only(request, "ecosystem", "team", "decision", "min_gap", "scored", "sort", "order", "offset", "limit")
        sort = _choice(request, "sort", get_args(SortKey), "priority")
        page = await run(
            lambda: ledger.upstreams(
                ecosystem=request.query_params.get("ecosystem"),
                team=request.query_params.get("team"),
                decision=request.query_params.get("decision"),
                min_gap=_float(request, "min_gap"),
                scored=_bool(request, "scored"),
                sort=sort,  # type: ignore[arg-type]  # checked against SortKey above
                descending=_choice(request, "order", ("desc", "asc"), "desc") == "desc",
                offset=_int(request, "offset", 0, 0, MAX_OFFSET),
                limit=_int(request, "limit", 50, 1, MAX_LIMIT),
            )
        )
        return json_answer(request, page)

    async def get_upstream(request: Request) -> Response:
        _only(request)
        record = await run(lambda: ledger.upstream(_key(request)))
        if not record.known:
            return error(404, "not_found", f"{record.upstream}: unknown upstream")
        return json_answer(request, record)

    async def get_history(request: Request) -> Response:
        _only(request)
        return json_answer(request, await run(lambda: ledger.history(_key(request))))

    async def get_changes(request: Request) -> Response:
        _only(request, "since")
        text = request.query_params.get("since")
        if text is not None and not DATE.fullmatch(text):
            raise BadRequest(f"since={text!r}: a date, YYYY-MM-DD")
        try:
            since = parse_since(text)
        except ValueError as exc:
            raise BadRequest(str(exc)) from exc
        return json_answer(request, await run(lambda: ledger.changes(since=since)))

    async def package_users(request: Request) -> Response:
        _only(request, "package")
        package = request.query_params.get("package", "")
        if not package:
            raise BadRequest("package: required (pypi/requests, or a bare name)")
        return json_answer(request, await run(lambda: ledger.package_users(package)))

    async def pledge(request: Request) -> Response:
        _only(request, "quarter")
        quarter = request.query_params.get("quarter")
        if quarter is not None:
            try:
                if not QUARTER.fullmatch(quarter):
                    raise ValueError(quarter)
                Quarter.parse(quarter)
            except ValueError as exc:
                raise BadRequest(f"quarter={quarter!r}: written like 2026Q3") from exc
        return json_answer(request, await run(lambda: ledger.pledge(quarter=quarter)))

    async def unresolved(request: Request) -> Response:
        _only(request)
        return json_answer(request, await run(ledger.unresolved))

    async def people(request: Request) -> Response:
        _only(request)
        return json_answer(request, await run(ledger.people))

    async def status(request: Request) -> Response:
        _only(request)
        return json_answer(request, await run(ledger.status))

    async def openapi_json(request: Request) -> Response:
        return etagged(request, openapi, "application/json")

    async def review_page(request: Request) -> Response:
        review = await run(ledger.review)
        return etagged(request, review.html.encode(), "text/html; charset=utf-8")

    async def upstreams_page(request: Request) -> Response:
        page = await run(lambda: ledger.upstreams(limit=MAX_LIMIT))
        html = pages.get_template("upstreams.html.j2").render(page=page)
        return etagged(request, html.encode(), "text/html; charset=utf-8")

    async def upstream_page(request: Request) -> Response:
        record = await run(lambda: ledger.upstream(_key(request)))
        if not record.known:
            raise HTTPException(404, f"{record.upstream}: unknown upstream")
        html = pages.get_template("upstream.html.j2").render(record=record)
        return etagged(request, html.encode(), "text/html; charset=utf-8")

    async def bad_request(request: Request, exc: Exception) -> Response:
        return error(400, "bad_request", str(exc))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        kind = "not_found" if exc.status_code == 404 else "http_error"
        return error(exc.status_code, kind, str(exc.detail), exc.headers)  # 405 keeps its Allow header

    upstream = "/api/v1/upstreams/{host}/{owner}/{name}"
    routes: list[BaseRoute] = [
        Route("/api/v1/upstreams", list_upstreams),
        Route(upstream, get_upstream),
        Route(upstream + "/history", get_history),
        Route("/api/v1/changes", get_changes),
        Route("/api/v1/packages/users", package_users),
        Route("/api/v1/pledge", pledge),
        Route("/api/v1/unresolved", unresolved),
        Route("/api/v1/people", people),
        Route("/api/v1/status", status),
        Route("/openapi.json", openapi_json),
        Route("/", review_page),
        Route("/upstreams", upstreams_page),
        Route("/upstreams/{host}/{owner}/{name}", upstream_page),
        *mcp_app.routes,  # /mcp
    ]

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with mcp.session_manager.run():
            yield

    return Starlette(
        routes=routes,
        middleware=[Middleware(BearerGuard, tokens=tuple(tokens))],
        exception_handlers={BadRequest: bad_request, HTTPException: http_error},
        lifespan=lifespan,
    )
