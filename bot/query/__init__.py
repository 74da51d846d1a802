"""The one query layer over the store: the CLI's ``--json``, the HTTP API and the MCP server all read here.

:class:`Ledger` binds an engine and the settings; every method returns a typed record of
:mod:`bot.query.models`, whose JSON schemas document the CLI output, the OpenAPI document and the
MCP tools' output alike. Read-only: nothing here writes to the store.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.query import history as _history
from bot.query import overview as _overview
from bot.query import upstreams as _upstreams
from bot.query.models import (
    Changes,
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
from bot.query.overview import RenderedReview


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Ledger:
    """Read-only answers about the store, for one configuration."""

    engine: Engine
    settings: Settings
    clock: Callable[[], datetime] = field(default=_utcnow)
    review_ttl_seconds: float = 60.0  # rendering the review (charts included) takes seconds; reuse it this long
    _review: _overview.ReviewCache = field(default_factory=_overview.ReviewCache, repr=False, compare=False)

    def upstreams(
        self,
        *,
        ecosystem: str | None = None,
        team: str | None = None,
        decision: str | None = None,
        min_gap: float | None = None,
        scored: bool | None = None,
        sort: SortKey = "priority",
        descending: bool = True,
        offset: int = 0,
        limit: int = 50,
    ) -> UpstreamPage:
        return _upstreams.list_upstreams(
            self.engine,
            ecosystem=ecosystem,
            team=team,
            decision=decision,
            min_gap=min_gap,
            scored=scored,
            sort=sort,
            descending=descending,
            offset=offset,
            limit=limit,
        )

    def upstream(self, key: str) -> UpstreamRecord:
        return _upstreams.upstream_record(self.engine, self.settings, key, now=self.clock())

    def explain(self, key: str) -> Explanation:
        return _upstreams.explanation(self.engine, key)

    def history(self, key: str) -> UpstreamHistory:
        return _history.upstream_history(self.engine, key)

    def changes(self, *, since: datetime | None = None) -> Changes:
        return _history.changes(self.engine, self.settings, since=since)

    def people(self) -> list[PersonIdentity]:
        return _overview.people(self.engine)

    def pledge(self, *, quarter: str | None = None) -> PledgeOut:
        return _overview.pledge_status(self.engine, self.settings, now=self.clock(), quarter=quarter)

    def unresolved(self) -> list[UnresolvedOut]:
        return _overview.unresolved(self.engine)

    def package_users(self, package: str) -> PackageUsers:
        return _overview.package_users(self.engine, package)

    def status(self, *, runs: int = 5) -> StatusOut:
        return _overview.status(self.engine, runs=runs)

    def review(self) -> RenderedReview:
        """The latest review, rendered at most once per ``review_ttl_seconds``."""
        return self._review.get(
            lambda: _overview.latest_review(self.engine, self.settings, now=self.clock()), self.review_ttl_seconds
        )


def to_json(value: BaseModel | Sequence[BaseModel]) -> str:
    """The JSON the CLI prints: the model's own serialisation, indented."""
    if isinstance(value, BaseModel):
        return value.model_dump_json(indent=2)
    return json.dumps([item.model_dump(mode="json", by_alias=True) for item in value], indent=2)


__all__ = ["Ledger", "RenderedReview", "to_json"]
