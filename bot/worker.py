"""The scheduled worker: APScheduler 3.x, its job store in upkeep's own database, one leader.

APScheduler 3.x cannot share a job store between processes (its FAQ: "You can't"), so every
worker competes for the ``scheduler`` lease in the store and only the holder runs the
scheduler; the others stand by and take over when the lease expires. Each job also takes a
lease named after itself while it runs, so even a leader that lost its lease mid-job cannot
run a job at the same time as its successor. Jobs run the pipeline's stages, which are
idempotent, so a job cut short by a crash is simply completed by its next run.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import socket
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.engine import Engine

from bot.config import ScheduleSettings, Secrets, Settings, load_settings
from bot.pipeline import StageContext, StageFunction, run_pipeline
from bot.store import leases
from bot.store.engine import make_engine, upgrade
from bot.store.leases import SCHEDULER_LEASE

log = logging.getLogger("bot.worker")

#: Job name -> (stages it runs, options handed to the stages). "gather" scores right after.
JOBS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "sync": (("sync",), {}),
    "resolve": (("resolve",), {}),
    "gather": (("gather", "score"), {}),
    "score": (("score",), {}),
    "digest": (("deliver",), {"channels": ["slack"]}),
    "issues": (("deliver",), {"channels": ["issues"]}),
    "review": (("report",), {}),
    "pipeline": (("sync", "resolve", "gather", "score", "report", "deliver"), {}),
}


def cron_trigger(expression: str, timezone: str) -> CronTrigger:
    """A 5-field crontab, or 6 fields with seconds first (handy for tests)."""
    fields = expression.split()
    if len(fields) == 6:
        second, minute, hour, day, month, day_of_week = fields
        return CronTrigger(
            second=second, minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week, timezone=timezone
        )
    return CronTrigger.from_crontab(expression, timezone=timezone)


def job_schedules(schedule: ScheduleSettings) -> dict[str, str]:
    """The cron expression of every enabled job (an empty expression disables a job)."""
    return {name: getattr(schedule, name) for name in JOBS if getattr(schedule, name).strip()}


def load_registry(path: str | None) -> Mapping[str, StageFunction]:
    """The stage registry: ``module:attribute``, default ``bot.stages:REGISTRY``."""
    module_name, _, attribute = (path or "bot.stages:REGISTRY").partition(":")
    registry = getattr(importlib.import_module(module_name), attribute or "REGISTRY")
    assert isinstance(registry, Mapping)
    return registry


def run_job(job: str, config_path: str | None, database_url: str | None, registry_path: str | None) -> str:
    """Run one scheduled job under its own lease (module level and picklable for the job store)."""
    overrides = {"database.url": database_url} if database_url else {}
    settings = load_settings(config_path, overrides=overrides)
    engine = make_engine(settings.database_url())
    holder = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
    lease_name = f"job:{job}"
    ttl = settings.schedule.lease_seconds
    if not leases.try_acquire(engine, lease_name, holder, ttl_seconds=ttl):
        log.warning("job already running elsewhere; skipped", extra={"job": job})
        return "skipped"
    renew = _Heartbeat(engine, lease_name, holder, ttl)
    renew.start()
    try:
        stages, options = JOBS[job]
        context = StageContext(
            settings=settings,
            secrets=Secrets.from_environment(),
            engine=engine,
            now=datetime.now(UTC),
            options={**options, "job": job},
        )
        result = run_pipeline(context, load_registry(registry_path), stages=list(stages))
        log.info("job finished", extra={"job": job, "status": result.status, "run_id": result.run_id})
        return result.status
    finally:
        renew.stop()
        leases.release(engine, lease_name, holder)
        engine.dispose()


class _Heartbeat(threading.Thread):
    """Renews a lease while its holder works, so a long stage keeps it and a dead one loses it."""

    def __init__(self, engine: Engine, name: str, holder: str, ttl: float) -> None:
        super().__init__(daemon=True, name=f"lease-{name}")
        self.engine, self.lease, self.holder, self.ttl = engine, name, holder, ttl
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.ttl / 3):
            leases.try_acquire(self.engine, self.lease, self.holder, ttl_seconds=self.ttl)

    def stop(self) -> None:
        self.stopped.set()


@dataclass
class Worker:
    """One worker process: stands by until it holds the scheduler lease, then schedules the jobs."""

    settings: Settings
    config_path: str | None = None
    registry_path: str | None = None
    poll_seconds: float | None = None

    def __post_init__(self) -> None:
        self.identity = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.engine = make_engine(self.settings.database_url())
        upgrade(self.engine)
        self.stopping = threading.Event()
        self.scheduler: BackgroundScheduler | None = None

    def _build_scheduler(self) -> BackgroundScheduler:
        schedule = self.settings.schedule
        scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=self.engine, tablename="apscheduler_jobs")},
            executors={"default": ThreadPoolExecutor(max_workers=2)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": schedule.misfire_grace_seconds},
            timezone=schedule.timezone,
        )
        for job, expression in job_schedules(schedule).items():
            scheduler.add_job(
                run_job,
                trigger=cron_trigger(expression, schedule.timezone),
                args=[job, self.config_path, self.settings.database.url, self.registry_path],
                id=job,
                name=job,
                replace_existing=True,
            )
        return scheduler

    def step(self) -> bool:
        """Renew or take leadership and start or stop the scheduler to match; True when leading."""
        leading = leases.try_acquire(
            self.engine, SCHEDULER_LEASE, self.identity, ttl_seconds=self.settings.schedule.lease_seconds
        )
        if leading and self.scheduler is None:
            log.info("took the scheduler lease; scheduling jobs", extra={"worker": self.identity})
            self.scheduler = self._build_scheduler()
            self.scheduler.start()
        elif not leading and self.scheduler is not None:
            log.warning("lost the scheduler lease; standing by", extra={"worker": self.identity})
            self.scheduler.shutdown(wait=True)
            self.scheduler = None
        return leading

    def next_runs(self) -> dict[str, datetime | None]:
        if self.scheduler is None:
            return {}
        return {job.id: job.next_run_time for job in self.scheduler.get_jobs()}

    def run_forever(self) -> None:
        """Loop until SIGTERM/SIGINT; a running job is allowed to finish before the process exits."""
        interval = self.poll_seconds or max(1.0, self.settings.schedule.lease_seconds / 3)
        while not self.stopping.is_set():
            self.step()
            self.stopping.wait(interval)
        self.shutdown()

    def shutdown(self) -> None:
        if self.scheduler is not None:
            log.info("stopping: letting the running job finish", extra={"worker": self.identity})
            self.scheduler.shutdown(wait=True)
            self.scheduler = None
        leases.release(self.engine, SCHEDULER_LEASE, self.identity)
        self.engine.dispose()

    def install_signal_handlers(self) -> None:
        def _stop(signum: int, _frame: FrameType | None) -> None:
            log.info("signal received", extra={"signal": signal.Signals(signum).name})
            self.stopping.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
