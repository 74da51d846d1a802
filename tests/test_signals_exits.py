"""Credible exits: the bundled list loads, a wrong entry is named, and the register shows the way out."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
from bot.gaps.interface import RiskSignals
from bot.report.adapt import risk_rows
from bot.signals.exits import ExitListError, load_configured_exits, load_exits, parse_exits

TERRAFORM, OPENTOFU = "github.com/hashicorp/terraform", "github.com/opentofu/opentofu"


def test_the_bundled_list_names_the_well_known_forks() -> None:
    exits = load_configured_exits(Settings())
    assert exits[TERRAFORM].fork == OPENTOFU
    assert exits["github.com/redis/redis"].fork == "github.com/valkey-io/valkey"
    assert all(e.source.startswith("https://") and e.why for e in exits.values())


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"exits": []}, "exits must be a table"),
        ({"exits": {"terraform": {}}}, "exits.'terraform': 'terraform': an upstream is written HOST/OWNER/NAME"),
        ({"exits": {TERRAFORM: "opentofu"}}, "must be a table with fork, why and source"),
        ({"exits": {TERRAFORM: {"fork": OPENTOFU, "why": "x"}}}, f"exits.{TERRAFORM!r}.source: must be a non-empty"),
        ({"exits": {TERRAFORM: {"fork": OPENTOFU, "why": "x", "source": "y", "url": "z"}}}, "unknown key(s) url"),
        ({"exits": {TERRAFORM: {"fork": "opentofu", "why": "x", "source": "y"}}}, ".fork: 'opentofu': an upstream"),
        ({"exits": {TERRAFORM: {"fork": TERRAFORM, "why": "x", "source": "y"}}}, "cannot be the upstream itself"),
    ],
)
def test_a_wrong_entry_is_named_with_its_file(data: dict[str, object], says: str) -> None:
    with pytest.raises(ExitListError) as caught:
        parse_exits(data, source="exits.toml")
    assert str(caught.value).startswith("exits.toml: ") and says in str(caught.value)


def test_a_missing_or_broken_file_names_itself(tmp_path: Path) -> None:
    with pytest.raises(ExitListError, match=r"not-there\.toml: cannot read"):
        load_exits(tmp_path / "not-there.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[exits\n", encoding="utf-8")
    with pytest.raises(ExitListError, match=r"broken\.toml: not TOML"):
        load_exits(broken)
    with pytest.raises(ExitListError, match=r"signals\.exits_file"):
        load_configured_exits(Settings(signals={"exits_file": str(tmp_path / "gone.toml")}))


def test_the_register_carries_the_exit_and_says_when_we_already_use_it() -> None:
    exits = load_configured_exits(Settings())
    signals = [RiskSignals(TERRAFORM, governance="company", contributor_agreement="cla")]
    rows = risk_rows(signals, {TERRAFORM: 0.3}, exits=exits, repos={OPENTOFU: 2})
    assert {row.exit for row in rows} == {f"{OPENTOFU}: {exits[TERRAFORM].why} (already used by 2 of our repositories)"}
    assert {row.exit for row in risk_rows(signals, {TERRAFORM: 0.3}, exits=exits)} == {
        f"{OPENTOFU}: {exits[TERRAFORM].why}"
    }
    other = [RiskSignals("github.com/acme/x", governance="company")]
    assert {row.exit for row in risk_rows(other, {"github.com/acme/x": 0.1}, exits=exits)} == {None}
