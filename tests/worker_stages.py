"""A small stage registry for worker and pipeline tests: real stages write real rows, slowly."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

from bot.pipeline import StageContext, StageFunction
from bot.store.engine import session_scope
from bot.store.tables import RepositoryRow


def _slow_sync(context: StageContext) -> Mapping[str, Any]:
    """Adds one repository row per call, after a pause long enough to overlap a second worker."""
    time.sleep(float(os.environ.get("UPKEEP_TEST_STAGE_SECONDS", "1.0")))
    with session_scope(context.engine) as session:
        session.add(RepositoryRow(full_name=f"job/{time.time_ns()}", note=f"pid {os.getpid()}"))
    return {"pid": os.getpid()}


def _failing(context: StageContext) -> Mapping[str, Any]:
    if os.environ.get("UPKEEP_TEST_FAIL_RESOLVE") == "1":
        raise RuntimeError("registry down")
    return {"resolved": 1}


REGISTRY: dict[str, StageFunction] = {"sync": _slow_sync, "resolve": _failing}
