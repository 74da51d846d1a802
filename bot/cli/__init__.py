"""The ``upkeep`` command. Each sub-module registers its commands on :data:`app`.

Concrete adapters are chosen here and in ``bot.worker`` only; the stages receive instances.
"""

from __future__ import annotations

from bot.cli.app import app, main

# Command modules register themselves on import; keep this list in pipeline order.
from bot.cli import db as _db  # noqa: F401  isort: skip

__all__ = ["app", "main"]
