"""The command line: one clear line per error, exit codes that scripts can trust."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def _upkeep(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_version_and_help(tmp_path: Path) -> None:
    assert _upkeep("--version", cwd=tmp_path).stdout.startswith("upkeep ")
    help_text = _upkeep("--help", cwd=tmp_path).stdout
    for command in ("ingest", "resolve", "gather", "deliver", "run", "worker", "status", "demo", "sandbox"):
        assert command in help_text


def test_bad_config_is_one_line_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[resolve]\nttl_dayz = 1\n")
    result = _upkeep("--config", str(config), "status", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == f"upkeep: {config}: resolve.ttl_dayz: unknown key (did you mean ttl_days?)"


def test_failed_ingest_exits_non_zero(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = _upkeep("--database-url", f"sqlite:///{tmp_path / 'x.db'}", "ingest", str(bad), cwd=tmp_path)
    assert result.returncode == 1
    assert str(bad) in result.stdout + result.stderr


def test_unknown_stage_exits_non_zero(tmp_path: Path) -> None:
    result = _upkeep("--database-url", f"sqlite:///{tmp_path / 'x.db'}", "run", "--stages", "nope", cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown stage(s) nope" in result.stderr
