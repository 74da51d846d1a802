"""The command table of ``bot.cli.registry`` against the commands themselves, and what a short command imports.

The listing of ``upkeep --help`` is written from the table, so a command added without a line, or
a help text edited in one place only, must fail here. Start-up time itself is measured by
``bench/startup.py``; these tests check the imports that decide it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import typer

from bot.cli import app
from bot.cli.registry import COMMANDS, load_all
from bot.store.engine import MIGRATIONS_DIR, make_engine, script_heads, stored_revisions, upgrade

ROOT = Path(__file__).parent.parent
SBOM = ROOT / "tests" / "data" / "sboms" / "cdx-1.5-cyclic-graph_trivy.json"

#: Modules a command's work needs and ``upkeep --help`` does not.
HEAVY = ("sqlalchemy", "sqlmodel", "pydantic", "alembic", "httpx", "rich", "jinja2")


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _registered() -> dict[str, str]:
    """Every top-level command typer knows once all modules are imported, with its help text."""
    load_all()
    names = [c.name or "" for c in app.registered_commands] + [g.name or "" for g in app.registered_groups]
    group = typer.main.get_command(app)
    assert isinstance(group, click.Group)
    context = click.Context(group)
    helps: dict[str, str] = {}
    for name in names:
        command = group.get_command(context, name)
        assert command is not None
        helps[name] = (command.help or "").split("\f")[0]
    return helps


def test_the_table_names_every_command_once_and_nothing_else() -> None:
    names = [entry.name for entry in COMMANDS]
    assert len(names) == len(set(names))
    assert sorted(names) == sorted(_registered())


def test_each_line_of_the_table_is_the_first_paragraph_of_its_command_help() -> None:
    helps = _registered()
    for entry in COMMANDS:
        first = helps[entry.name].split("\n\n")[0]
        assert _squeeze(entry.help) == _squeeze(first), f"{entry.name}: the table's help differs from the command's"


def test_each_command_lives_in_the_module_the_table_names() -> None:
    load_all()
    modules = {c.name: c.callback.__module__ for c in app.registered_commands if c.callback is not None}
    for group in app.registered_groups:
        assert group.typer_instance is not None
        first = group.typer_instance.registered_commands[0].callback
        assert first is not None
        modules[group.name] = first.__module__
    for entry in COMMANDS:
        assert modules[entry.name] == entry.module, entry.name


def _imported_after(argv: list[str], tmp_path: Path) -> tuple[int, set[str], str]:
    """Run ``upkeep ARGV`` in a fresh interpreter; its exit code, the top-level modules and bot modules it imported."""
    code = (
        "import json, sys\n"
        "from bot.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "    status = 0\n"
        "except SystemExit as exc:\n"
        "    status = exc.code or 0\n"
        "names = sorted({m.split('.')[0] for m in sys.modules} | {m for m in sys.modules if m.startswith('bot.')})\n"
        "print(json.dumps({'status': status, 'modules': names}), file=sys.stderr)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UPKEEP_", "GITHUB_", "SLACK_"))}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["status"], set(report["modules"]), done.stdout


def test_help_imports_no_command_module_and_none_of_the_heavy_libraries(tmp_path: Path) -> None:
    status, modules, out = _imported_after(["--help"], tmp_path)
    assert status == 0 and "ingest" in out and "sandbox" in out
    assert not modules & set(HEAVY), f"upkeep --help imported {sorted(modules & set(HEAVY))}"
    commands = {entry.module for entry in COMMANDS}
    assert not modules & commands, f"upkeep --help imported {sorted(modules & commands)}"


def test_a_command_imports_its_own_module_only(tmp_path: Path) -> None:
    status, modules, _ = _imported_after(["ingest", "--help"], tmp_path)
    assert status == 0
    loaded = {entry.module for entry in COMMANDS} & modules
    assert loaded == {"bot.cli.ingest"}


def test_ingest_into_a_current_store_does_not_import_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'upkeep.db'}"
    first_status, first, _ = _imported_after(["--database-url", url, "ingest", str(SBOM)], tmp_path)
    assert first_status == 0 and "alembic" in first  # a new store: Alembic creates the schema
    status, modules, _ = _imported_after(["--database-url", url, "ingest", "--replace", str(SBOM)], tmp_path)
    assert status == 0
    assert "alembic" not in modules
    assert "httpx" not in modules


def test_the_heads_read_from_the_files_are_alembics() -> None:
    from alembic.script import ScriptDirectory

    assert script_heads() == frozenset(ScriptDirectory(str(MIGRATIONS_DIR)).get_heads())


def test_a_store_behind_the_head_is_still_upgraded(tmp_path: Path) -> None:
    from alembic import command

    from bot.store.engine import alembic_config

    engine = make_engine(f"sqlite:///{tmp_path / 'behind.db'}")
    assert stored_revisions(engine) == frozenset()
    command.upgrade(alembic_config(engine), "0001")
    assert stored_revisions(engine) == {"0001"}
    upgrade(engine)
    assert stored_revisions(engine) == script_heads()


def test_a_mistyped_command_is_answered_with_the_close_names(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UPKEEP_")}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "inges"], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert "No such command 'inges'" in done.stderr and "'ingest'" in done.stderr
