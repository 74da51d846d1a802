"""Every help text reads as written: no Rich markup eats ``[schedule]``, every option says what it is."""

from __future__ import annotations

import re

import click
import pytest
import typer

from bot.cli import app, main
from tests.test_cli_exits import all_commands


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _command(path: str) -> click.Command:
    command: click.Command = typer.main.get_command(app)
    for name in path.split():
        assert isinstance(command, click.Group)
        found = command.get_command(click.Context(command), name)
        assert found is not None, f"{path}: no such command"
        command = found
    return command


def _help(path: str) -> None:
    """``upkeep PATH --help`` through ``main``, which returns after help or exits 0."""
    try:
        main([*path.split(), "--help"])
    except SystemExit as exc:
        assert exc.code in (0, None)


@pytest.mark.parametrize("path", ["", *all_commands()])
def test_help_shows_every_text_as_written(path: str, capsys: pytest.CaptureFixture[str]) -> None:
    _help(path)
    out = capsys.readouterr().out
    assert "\\[" not in out, f"{path or 'upkeep'}: an escaped bracket shows in the help"
    shown = _squeeze(out)
    command = _command(path)
    texts = [(command.help or "").split("\f")[0]]
    texts += [p.help for p in command.params if isinstance(p, click.Option) and not p.hidden and p.help]
    for text in texts:
        assert _squeeze(text) in shown, f"{path or 'upkeep'}: help text changed on the way: {text!r}"


def test_the_worker_help_names_its_schedule_table(capsys: pytest.CaptureFixture[str]) -> None:
    _help("worker")
    assert "jobs from [schedule]" in " ".join(capsys.readouterr().out.split())


def test_choices_are_listed() -> None:
    scale = next(p for p in _command("demo").params if p.name == "scale")
    assert isinstance(scale.type, click.Choice) and list(scale.type.choices) == ["small", "medium", "large"]
