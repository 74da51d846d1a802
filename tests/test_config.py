"""Settings: the example documents every key, wrong keys and values are named, secrets stay out."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from bot.config import ConfigError, Secrets, Settings, load_settings

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "config" / "upkeep.example.toml"


def _documented_keys(text: str) -> set[str]:
    """Keys that appear in the example, set or commented out (``# key = ...``)."""
    keys: set[str] = set()
    section = ""
    for raw in text.splitlines():
        line = raw.strip().lstrip("#").strip()
        if line.startswith("[") and line.endswith("]") and "=" not in line:
            table = line.strip("[]")
            section = table.split(".")[0]
            if "." in table:  # a sub-table such as [resolve.overrides] documents that key
                keys.add(table)
            continue
        if "=" in line and not line.startswith('"'):
            key = line.split("=", 1)[0].strip()
            if key.isidentifier():
                keys.add(f"{section}.{key}" if section else key)
    return keys


def test_example_config_loads_and_equals_defaults() -> None:
    settings = load_settings(EXAMPLE)
    assert settings.config_path == EXAMPLE
    defaults = Settings()
    for name in Settings.model_fields:
        if name != "config_path":
            assert getattr(settings, name) == getattr(defaults, name), name


def test_example_config_documents_every_key() -> None:
    documented = _documented_keys(EXAMPLE.read_text())
    expected: set[str] = set()
    for name, field in Settings.model_fields.items():
        if name == "config_path":
            continue
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            expected |= {f"{name}.{sub}" for sub in annotation.model_fields}
        else:
            expected.add(name)
    missing = expected - documented
    assert not missing, f"keys missing from {EXAMPLE.name}: {sorted(missing)}"


def test_unknown_key_is_named(tmp_path: Path) -> None:
    path = tmp_path / "upkeep.toml"
    path.write_text("[resolve]\nttl_dayz = 3\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert str(err.value) == f"{path}: resolve.ttl_dayz: unknown key (did you mean ttl_days?)"


def test_wrong_value_is_named(tmp_path: Path) -> None:
    path = tmp_path / "upkeep.toml"
    path.write_text("[resolve]\nper_host_limit = 0\n")
    with pytest.raises(ConfigError, match=r"resolve\.per_host_limit: Input should be greater than or equal to 1"):
        load_settings(path)


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "upkeep.toml"
    path.write_text("[github\norgs = 1")
    with pytest.raises(ConfigError, match=rf"^{path}: not valid TOML"):
        load_settings(path)


def test_secret_in_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "upkeep.toml"
    path.write_text('[github]\ntoken = "ghp_abc"\n')
    with pytest.raises(ConfigError, match=r"github\.token: secrets are read only from the environment") as err:
        load_settings(path)
    assert "ghp_abc" not in str(err.value)


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "upkeep.toml"
    path.write_text("[resolve]\nttl_days = 3\n")
    monkeypatch.setenv("UPKEEP_RESOLVE__TTL_DAYS", "5")
    assert load_settings(path).resolve.ttl_days == 5


def test_config_path_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / "env.toml"
    env_file.write_text('organisation = "from-env-path"\n')
    explicit = tmp_path / "explicit.toml"
    explicit.write_text('organisation = "explicit"\n')
    monkeypatch.setenv("UPKEEP_CONFIG", str(env_file))
    assert load_settings().organisation == "from-env-path"
    assert load_settings(explicit).organisation == "explicit"


def test_default_database_sits_beside_the_config(tmp_path: Path) -> None:
    path = tmp_path / "upkeep.toml"
    path.write_text("")
    assert load_settings(path).database_url() == f"sqlite:///{tmp_path.resolve() / 'upkeep.db'}"


def test_secrets_come_from_environment_and_never_print() -> None:
    secrets = Secrets.from_environment({"GITHUB_TOKEN": "ghp_secretvalue", "SLACK_BOT_TOKEN": " "})
    assert secrets.github_token is not None
    assert secrets.slack_bot_token is None
    assert "ghp_secretvalue" not in repr(secrets) and "ghp_secretvalue" not in str(secrets)
    assert secrets.values() == ["ghp_secretvalue"]


def test_review_dir_is_beside_the_config_file_like_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.config import load_settings

    monkeypatch.chdir(tmp_path)
    config = tmp_path / "deploy" / "upkeep.toml"
    config.parent.mkdir()
    config.write_text('[report]\nout_dir = "reviews/quarterly"\n')
    settings = load_settings(config)
    assert settings.review_dir() == (config.parent / "reviews" / "quarterly").resolve()
    assert settings.database_url() == f"sqlite:///{(config.parent / 'upkeep.db').resolve()}"
    absolute = load_settings(config, overrides={"report.out_dir": str(tmp_path / "elsewhere")})
    assert absolute.review_dir() == tmp_path / "elsewhere"
    assert load_settings(None, search=False).review_dir() == (tmp_path / "out" / "review").resolve()
