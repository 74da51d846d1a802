"""One exit-code rule for every command: 0 done, 1 the work failed, 2 a usage or configuration error
found before anything is written. Each command is run through ``main``, as the ``upkeep`` script runs it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click
import pytest
import typer

from bot.cli import app, main
from bot.cli.sandbox import Scale
from bot.sandbox.generate import SCALES

ROOT = Path(__file__).parent.parent
SBOM = ROOT / "tests" / "data" / "sboms" / "cdx-1.5-cyclic-graph_trivy.json"


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def upkeep(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Run ``upkeep ARGS`` in-process from ``tmp_path`` with no credentials and no config in sight."""
    for name in ("GITHUB_TOKEN", "GITHUB_APP_PRIVATE_KEY", "SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "UPKEEP_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("UPKEEP_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> Result:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def all_commands() -> list[str]:
    """Every command path (``sandbox serve``), walked from the click tree as click lists it (each
    command's module is imported when it is asked for)."""
    group = typer.main.get_command(app)
    found: list[str] = []

    def walk(command: click.Command, prefix: list[str]) -> None:
        if isinstance(command, click.Group):
            context = click.Context(command)
            for name in command.list_commands(context):
                sub = command.get_command(context, name)
                assert sub is not None, f"{' '.join([*prefix, name])}: listed but not found"
                walk(sub, [*prefix, name])
        else:
            found.append(" ".join(prefix))

    walk(group, [])
    return sorted(found)


#: For every command, a usage or configuration error of its own: exit 2, nothing written.
USAGE_ERRORS: dict[str, list[str]] = {
    "db upgrade": ["--database-url", "sqlite:///missing/folder/x.db", "db", "upgrade"],
    "ingest": ["ingest", "empty"],
    "resolve": ["resolve", "--database-url", "sqlite:///missing/x.db"],
    "sync": ["sync"],
    "people": ["people", "--no-such-option"],
    "run": ["run"],
    "worker": ["--config", "worker.toml", "worker"],
    "status": ["status", "--limit", "many"],
    "demo": ["demo", "--scale", "huge", "--out", "demo-out"],
    "gather": ["gather", "--config", "bad.toml"],
    "score": ["score", "--top", "0"],
    "explain": ["explain"],
    "upstream": ["upstream"],
    "report": ["report", "--quarter", "2026Q5"],
    "deliver": ["--database-url", "postgres+nothing://x/y", "deliver"],
    "sandbox serve": ["sandbox", "serve", "--scale", "huge"],
    "sandbox truth": ["sandbox", "truth", "--seed", "seven"],
    "packages": ["packages", "--no-such-option"],
    "history": ["history"],
    "changes": ["changes", "--since", "not-a-date"],
    "serve": ["serve", "--port", "70000"],
    "mcp": ["mcp", "--no-such-option"],
    "decide": ["decide", "github.com/a/b", "maybe"],
}


def test_every_command_has_a_usage_error_case() -> None:
    assert sorted(USAGE_ERRORS) == all_commands()


@pytest.mark.parametrize("command", sorted(USAGE_ERRORS))
def test_usage_errors_exit_2_before_anything_is_written(upkeep, tmp_path: Path, command: str) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "empty").mkdir()
    (tmp_path / "bad.toml").write_text("[resolve]\nttl_days = 'soon'\n")
    (tmp_path / "worker.toml").write_text('[github]\norgs = ["acme"]\n')
    before = sorted(p.name for p in tmp_path.rglob("*"))
    result = upkeep(*USAGE_ERRORS[command])
    assert result.code == 2, (result.out, result.err)
    assert result.err.strip(), "a usage error says what is wrong"
    assert "Traceback" not in result.err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before, "nothing may be written"


def test_messages_say_what_and_what_to_do(upkeep, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "empty").mkdir()
    assert "empty: the folder holds no files to read" in upkeep("ingest", "empty").err
    assert "nope.json: no such file or directory" in upkeep("ingest", "nope.json").err
    missing = upkeep("--database-url", "sqlite:///missing/x.db", "status").err
    assert f"the folder {tmp_path / 'missing'} does not exist; create it (mkdir -p {tmp_path / 'missing'})" in missing
    nothing = upkeep("run").err
    assert "nothing to do:" in nothing and "[github].orgs" in nothing and "upkeep ingest PATH" in nothing
    (tmp_path / "worker.toml").write_text('[github]\norgs = ["acme"]\n[slack]\nchannel = "C1"\n')
    worker = upkeep("--config", "worker.toml", "worker").err
    assert "sync reads github.orgs (acme) but no GitHub credential: set GITHUB_TOKEN" in worker
    assert "digest posts to slack.channel (C1) but neither SLACK_BOT_TOKEN nor SLACK_WEBHOOK_URL" in worker
    huge = upkeep("demo", "--scale", "huge")
    assert "'huge' is not one of 'small', 'medium', 'large'" in huge.err
    assert not (tmp_path / "demo-out").exists()
    (tmp_path / "bad.toml").write_text('[inventory]\npaths = "sboms/"\n[resolve]\nttl_dayz = 1\n')
    bad = upkeep("--config", "bad.toml", "status").err.splitlines()
    assert bad == [
        'upkeep: bad.toml: inventory.paths: expected a list, e.g. ["a", "b"], got \'sboms/\'',
        "bad.toml: resolve.ttl_dayz: unknown key (did you mean ttl_days?)",
    ]


def test_postgres_scheme_is_accepted(upkeep) -> None:  # type: ignore[no-untyped-def]
    # postgres:// is what Heroku and libpq write; the port below has no server, so the connection fails
    # (exit 1, the work failed) with the database named — not "Can't load plugin".
    result = upkeep("--database-url", "postgres://upkeep:s3cret@127.0.0.1:9/none", "status")
    assert result.code == 1
    assert "NoSuchModuleError" not in result.err and "Can't load plugin" not in result.err
    assert "database postgres://upkeep:***@127.0.0.1:9/none:" in result.err and "s3cret" not in result.err


def test_done_is_0_and_failed_work_is_1(upkeep, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = f"sqlite:///{tmp_path / 'x.db'}"
    assert upkeep("--database-url", db, "db", "upgrade").code == 0
    assert upkeep("--database-url", db, "ingest", str(SBOM)).code == 0
    assert upkeep("--database-url", db, "status").code == 0
    (tmp_path / "bad.json").write_text("{not json")
    failed = upkeep("--database-url", db, "ingest", "bad.json")
    assert failed.code == 1 and "bad.json" in failed.err
    # No snapshot yet: explain cannot do its work.
    no_snapshot = upkeep("--database-url", db, "explain", "github.com/psf/requests")
    assert no_snapshot.code == 1 and "run `upkeep score` first" in no_snapshot.err


def test_global_options_work_after_the_command(upkeep, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "after.db"
    assert upkeep("db", "upgrade", "--database-url", f"sqlite:///{db}").code == 0
    assert db.exists()
    db2 = tmp_path / "after2.db"
    assert upkeep("status", f"--database-url=sqlite:///{db2}", "--verbose").code == 0
    assert db2.exists()


def test_scale_is_a_choice_of_the_sandbox_scales() -> None:
    assert [s.value for s in Scale] == list(SCALES)
