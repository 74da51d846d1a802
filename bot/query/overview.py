"""Organisation-wide answers: people, Pledge status, unresolved packages, who uses a package, run status,
and the latest review.

Pledge figures and the review come from :func:`bot.report.build.build_review` (the quarterly review's
one computation), so the API, the MCP tools and ``review.html`` never disagree.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.paths import templates_dir
from bot.pipeline import last_runs
from bot.query.models import (
    BudgetOut,
    PackageUsers,
    PersonIdentity,
    PledgeOut,
    RepoUseOut,
    RunOut,
    StatusOut,
    UnresolvedOut,
)
from bot.report.build import build_review
from bot.report.interface import ReviewData
from bot.report.quarters import Quarter
from bot.report.report_stage import default_quarter
from bot.report.review import render_review
from bot.store import evidence as evidence_store
from bot.store import status as store_status
from bot.store.lookups import find_package_keys, load_outbox_counts, load_package_uses, load_resolution
from bot.store.review import load_unresolved


def people(engine: Engine) -> list[PersonIdentity]:
    """Every identity whose contributions count, with where it came from (``upkeep people --json``)."""
    with Session(engine) as session:
        identities = evidence_store.load_identities(session)
    return [
        PersonIdentity.model_validate(
            {
                "person": i.person,
                "account": i.account,
                "source": i.source,
                "detail": i.detail,
                "from": i.valid_from.isoformat() if i.valid_from else None,
                "until": i.valid_until.isoformat() if i.valid_until else None,
            }
        )
        for i in identities
    ]


def review_data(engine: Engine, settings: Settings, *, now: datetime, quarter: str | None = None) -> ReviewData:
    """The review of ``quarter`` (default: the last complete quarter before ``now``, as ``upkeep report``)."""
    return build_review(engine, settings, quarter=Quarter.parse(quarter) if quarter else default_quarter(now), now=now)


def pledge_status(engine: Engine, settings: Settings, *, now: datetime, quarter: str | None = None) -> PledgeOut:
    """The review's Pledge figures for ``quarter`` (trailing twelve months to its end)."""
    data = review_data(engine, settings, now=now, quarter=quarter)
    pledge = data.pledge
    return PledgeOut(
        quarter=data.quarter,
        year=pledge.year,
        developers=pledge.developers,
        amount=pledge.amount,
        currency=data.currency,
        amount_usd=pledge.amount_usd,
        usd_per_developer=pledge.usd_per_developer,
        usd_per_developer_target=pledge.usd_per_developer_target,
        meets_pledge=pledge.meets_pledge,
        member_id=pledge.member.id if pledge.member else None,
    )


@dataclass(frozen=True)
class RenderedReview:
    quarter: str
    html: str
    markdown: str


class ReviewCache:
    """One rendered review and when it was rendered; a lock keeps concurrent requests from rendering twice."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._value: tuple[float, RenderedReview] | None = None

    def get(self, render: Callable[[], RenderedReview], ttl_seconds: float) -> RenderedReview:
        with self._lock:
            if self._value is not None and self._clock() - self._value[0] < ttl_seconds:
                return self._value[1]
            rendered = render()
            self._value = (self._clock(), rendered)
            return rendered


def latest_review(engine: Engine, settings: Settings, *, now: datetime) -> RenderedReview:
    """The latest quarterly review rendered as ``upkeep report`` renders it (in a scratch directory)."""
    data = review_data(engine, settings, now=now)
    with tempfile.TemporaryDirectory(prefix="upkeep-review-") as tmp:
        files = render_review(data, Path(tmp), templates_dir=templates_dir() / "review")
        return RenderedReview(
            data.quarter, files.html.read_text(encoding="utf-8"), files.markdown.read_text(encoding="utf-8")
        )


def unresolved(engine: Engine) -> list[UnresolvedOut]:
    """Packages with no upstream yet, with the reason and how many repositories use them."""
    return [
        UnresolvedOut(package=u.package_key, status=u.status, reason=u.reason, repos=u.repos)
        for u in load_unresolved(engine)
    ]


def package_users(engine: Engine, query: str) -> PackageUsers:
    """Which internal repositories use a package (``pypi/requests``, or a bare name across ecosystems)."""
    keys = find_package_keys(engine, query)
    resolutions = [r for r in (load_resolution(engine, k) for k in keys) if r is not None]
    upstreams = sorted({r.upstream_key for r in resolutions if r.upstream_key})
    statuses = sorted({r.status for r in resolutions})
    return PackageUsers(
        query=query,
        packages=keys,
        upstream=", ".join(upstreams) or None,
        resolution_status=", ".join(statuses) or None,
        users=[
            RepoUseOut(repository=u.repository, team=u.team, version=u.version, depth=u.depth, scope=u.scope)
            for u in load_package_uses(engine, package_keys=keys)
        ],
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def status(engine: Engine, *, runs: int = 5) -> StatusOut:
    """Last runs, the scheduler's leader and next runs, the outbox by state, rate-limit budgets as last seen."""
    snapshot = store_status.read_status(engine)
    return StatusOut(
        runs=[
            RunOut(
                id=run.id or 0,
                kind=run.kind,
                status=run.status,
                started_at=_aware(run.started_at),
                finished_at=_aware(run.finished_at) if run.finished_at else None,
                stages={name: str(info.get("status", "?")) for name, info in run.stages.items()},
            )
            for run in last_runs(engine, runs)
        ],
        leader=snapshot.leader,
        next_runs=dict(sorted(snapshot.next_runs.items())),
        outbox=load_outbox_counts(engine),
        rate_limits=[
            BudgetOut(
                service=b.service,
                resource=b.resource,
                limit=b.limit,
                remaining=b.remaining,
                reset_at=b.reset_at,
                observed_at=b.observed_at,
            )
            for b in snapshot.budgets
        ],
    )
