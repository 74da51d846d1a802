"""Planning and dry runs render issues without importing PyGithub, which only a real delivery needs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_delivery_stage_does_not_import_pygithub() -> None:
    # A fresh interpreter: this one has PyGithub loaded already by other tests.
    result = subprocess.run(
        [sys.executable, "-c", "import sys, bot.deliver.stage, bot.deliver.sinks; print('github' in sys.modules)"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "False"
