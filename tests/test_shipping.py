"""What ships: the wheel carries its data, the Action calls commands that exist, the image runs the worker."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from bot.paths import DataFileNotFound, find_data_file

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return zipfile.ZipFile(next(out.glob("upkeep-*.whl")))


def test_wheel_carries_migrations_and_sandbox_schemas(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    migrations = sorted(ROOT.glob("bot/store/migrations/versions/0*.py"))
    assert migrations
    for path in migrations:
        assert f"bot/store/migrations/versions/{path.name}" in names
    assert "bot/store/migrations/env.py" in names and "bot/store/migrations/script.py.mako" in names
    assert "bot/sandbox/data/github-schema.graphql" in names
    assert any(name.endswith("entry_points.txt") for name in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "upkeep = bot.cli:main" in wheel.read(entry_points).decode()


def _help(*command: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "bot", *command, "--help"], capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout


def test_action_calls_only_real_commands_and_options() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    scripts = "\n".join(step.get("run", "") for step in action["runs"]["steps"])
    assert "--log-json" in _help() and "--config" in _help()
    assert "--stages" in _help("run")
    report_help = _help("report")
    assert "--out" in report_help and "--quarter" in report_help
    assert re.search(r"args=\(--config .* --log-json run\)", scripts)
    assert "GITHUB_STEP_SUMMARY" in scripts
    for name in ("github-token", "slack-bot-token", "config", "database-url"):
        assert name in action["inputs"]


def test_dockerfile_runs_the_worker_as_non_root_with_bundled_files() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["upkeep"]' in dockerfile and 'CMD ["worker"]' in dockerfile
    assert re.search(r"^USER upkeep$", dockerfile, re.MULTILINE)
    assert "COPY templates ./templates" in dockerfile and "COPY config ./config" in dockerfile
    assert "python:3.11-slim" in dockerfile  # the Makefile's floor: requires-python >= 3.11


def test_data_files_are_found_beside_the_config_then_bundled(tmp_path: Path) -> None:
    config = tmp_path / "upkeep.toml"
    config.write_text("")
    assert find_data_file("config/gaps.toml", config_path=config) == ROOT / "config" / "gaps.toml"
    own = tmp_path / "config" / "gaps.toml"
    own.parent.mkdir()
    own.write_text("# an organisation's own weights\n")
    assert find_data_file("config/gaps.toml", config_path=config) == own
    with pytest.raises(DataFileNotFound, match=r"gaps\.weights_file: config/nope\.toml not found"):
        find_data_file("config/nope.toml", config_path=config, setting="gaps.weights_file")
