"""The ``upkeep`` command. Each sub-module registers its commands on :data:`app`.

Concrete adapters are chosen here and in ``bot.worker`` only; the stages receive instances.
"""

from __future__ import annotations

from bot.cli.app import app, main

# Command modules register themselves on import; keep this list in pipeline order.
from bot.cli import db as _db  # noqa: F401  isort: skip
from bot.cli import ingest as _ingest  # noqa: F401  isort: skip
from bot.cli import resolve as _resolve  # noqa: F401  isort: skip
from bot.cli import packages as _packages  # noqa: F401  isort: skip
from bot.cli import sync as _sync  # noqa: F401  isort: skip
from bot.cli import people as _people  # noqa: F401  isort: skip
from bot.cli import run as _run  # noqa: F401  isort: skip
from bot.cli import demo as _demo  # noqa: F401  isort: skip
from bot.cli import gather as _gather  # noqa: F401  isort: skip
from bot.cli import score as _score  # noqa: F401  isort: skip
from bot.cli import report as _report  # noqa: F401  isort: skip
from bot.cli import deliver as _deliver  # noqa: F401  isort: skip
from bot.cli import decide as _decide  # noqa: F401  isort: skip
from bot.cli import sandbox as _sandbox  # noqa: F401  isort: skip
from bot.cli import query as _query  # noqa: F401  isort: skip
from bot.cli import serve as _serve  # noqa: F401  isort: skip

__all__ = ["app", "main"]
