"""The ``upkeep`` command. Each command's module registers it on :data:`app` when it is first run.

``bot.cli.registry`` lists every command and the module that holds it, so that ``upkeep --help`` and a
single command import only what they need. Concrete adapters are chosen here and in ``bot.worker``
only; the stages receive instances.
"""

from __future__ import annotations

from bot.cli.app import app, main

__all__ = ["app", "main"]
