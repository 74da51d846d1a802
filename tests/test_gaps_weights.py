"""The gap weights: config/gaps.toml is the documented default, and every mistake names its key."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from bot.gaps.weights import GapWeights, GapWeightsError, load_weights, parse_weights

ROOT = Path(__file__).parent.parent
SHIPPED = ROOT / "config" / "gaps.toml"
DOC = ROOT / "docs" / "gap-model.md"


def _leaves(model: type[BaseModel], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys |= _leaves(annotation, f"{prefix}{name}.")
        else:
            keys.add(f"{prefix}{name}")
    return keys


def _toml_leaves(data: dict[str, Any], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for key, value in data.items():
        if isinstance(value, dict):
            keys |= _toml_leaves(value, f"{prefix}{key}.")
        else:
            keys.add(f"{prefix}{key}")
    return keys


def test_shipped_file_sets_every_key_to_the_documented_default() -> None:
    assert load_weights(SHIPPED) == GapWeights()
    assert _toml_leaves(tomllib.loads(SHIPPED.read_text())) == _leaves(GapWeights)


def test_every_factor_is_documented_in_the_method() -> None:
    text = DOC.read_text()
    for key in _leaves(GapWeights):
        assert f"`{key}`" in text, f"docs/gap-model.md does not document {key}"


def test_missing_tables_take_the_defaults() -> None:
    weights = parse_weights("[usage.scope]\ndevelopment = 0.1\n")
    assert weights.usage.scope.development == 0.1
    assert weights.usage.scope.runtime == GapWeights().usage.scope.runtime
    assert weights.risk == GapWeights().risk


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[risk.bus_factor]\nfactor = -1\n",
            "tests.toml: risk.bus_factor.factor: Input should be greater than or equal to 0",
        ),
        ("[usage.depth]\nindirect = 0.5\n", "tests.toml: usage.depth.indirect: unknown key"),
        (
            "[investment]\ncode = 0.7\nmoney = 0.5\n",
            "tests.toml: investment: Value error, code (0.7) + money (0.5) must add up to 1",
        ),
        (
            '[investment.kinds]\nreview = "many"\n',
            "tests.toml: investment.kinds.review: expected a number, got 'many'",
        ),
        (
            "[risk]\nmax_multiplier = 0.5\n",
            "tests.toml: risk.max_multiplier: Input should be greater than or equal to 1",
        ),
        ("[thresholds\ngap = 1\n", "tests.toml: not valid TOML"),
    ],
)
def test_errors_name_the_file_and_key(text: str, message: str) -> None:
    with pytest.raises(GapWeightsError) as error:
        parse_weights(text, "tests.toml")
    assert str(error.value).startswith(message)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(GapWeightsError, match=r"nowhere\.toml: gap weights file not found"):
        load_weights(tmp_path / "nowhere.toml")


def test_digest_is_stable_and_follows_the_values() -> None:
    assert GapWeights().digest() == load_weights(SHIPPED).digest()
    assert len(GapWeights().digest()) == 64
    assert parse_weights("[risk.archived]\nfactor = 0.6\n").digest() != GapWeights().digest()
