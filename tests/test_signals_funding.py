"""Funding channels from real FUNDING.yml, funding.json and npm files (tests/data/funding, see SOURCES.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bot.signals.funding import dedupe_channels, parse_funding_json, parse_funding_yml, parse_npm_funding

DATA = Path(__file__).parent / "data" / "funding"
VALID = sorted((DATA / "schemastore" / "valid").glob("*.json"))
INVALID = sorted((DATA / "schemastore" / "invalid").glob("*.json"))


def as_yaml(path: Path) -> str:
    return yaml.safe_dump(json.loads(path.read_text()))


def test_qs_template_keeps_tidelift_and_reports_every_null_and_the_retired_key() -> None:
    parsed = parse_funding_yml((DATA / "qs_FUNDING.yml").read_text())
    assert [(c.platform, c.target, c.url) for c in parsed.channels] == [
        ("tidelift", "npm/qs", "https://tidelift.com/funding/github/npm/qs")
    ]
    keys = {p.key for p in parsed.problems}
    assert {"github", "patreon", "open_collective", "ko_fi", "community_bridge", "custom", "otechie"} <= keys
    assert any("retired" in p.message for p in parsed.problems if p.key == "otechie")


def test_real_files_give_their_channels() -> None:
    pygithub = parse_funding_yml((DATA / "PyGithub_FUNDING.yml").read_text())
    assert len(pygithub.channels) == 3 and {c.platform for c in pygithub.channels} == {"github"}
    assert all(c.url and c.url.startswith("https://github.com/sponsors/") for c in pygithub.channels)
    eslint = parse_funding_yml((DATA / "eslint_FUNDING.yml").read_text())
    assert {c.platform for c in eslint.channels} == {"github", "open_collective"} and not eslint.problems
    drf = parse_funding_yml((DATA / "django-rest-framework_FUNDING.yml").read_text())
    assert "custom" in {c.platform for c in drf.channels}
    pytest_file = parse_funding_yml((DATA / "pytest_FUNDING.yml").read_text())
    assert ("tidelift", "pypi/pytest") in {(c.platform, c.target) for c in pytest_file.channels}


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_schemastore_valid_files_have_channels_and_no_problems(path: Path) -> None:
    parsed = parse_funding_yml(as_yaml(path))
    assert parsed.channels and not parsed.problems


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_schemastore_invalid_files_report_a_problem_on_their_key(path: Path) -> None:
    key = next(iter(json.loads(path.read_text())))
    parsed = parse_funding_yml(as_yaml(path))
    assert key in {p.key for p in parsed.problems}


def test_unknown_keys_and_broken_yaml_are_problems_not_exceptions() -> None:
    parsed = parse_funding_yml("github: alice\nmystery: bob\n")
    assert [c.target for c in parsed.channels] == ["alice"]
    assert [p.key for p in parsed.problems] == ["mystery"]
    assert parse_funding_yml("github: [unclosed").problems[0].key == "(file)"
    assert parse_funding_yml("- a list\n").problems[0].key == "(file)"


def test_floss_fund_manifest_channels() -> None:
    parsed = parse_funding_json((DATA / "funding-json_reactive-resume.json").read_text())
    assert parsed.kind == "floss.fund-v1.0.0"
    assert [c.url for c in parsed.channels] == [
        "https://github.com/sponsors/AmruthPillai",
        "https://opencollective.com/reactive-resume",
    ]
    assert not parsed.problems


def test_optimism_funding_json_is_recognised_and_gives_no_channels() -> None:
    parsed = parse_funding_json((DATA / "funding-json_optimism-retropgf_ape.json").read_text())
    assert parsed.kind == "optimism-retropgf"
    assert parsed.channels == () and "Optimism" in parsed.problems[0].message


def test_funding_json_v1_1_without_version_is_detected_by_shape() -> None:
    data = json.loads((DATA / "funding-json_reactive-resume.json").read_text())
    del data["version"], data["$schema"]
    parsed = parse_funding_json(json.dumps(data))
    assert parsed.kind == "floss.fund-v1.1.0" and len(parsed.channels) == 2
    assert parse_funding_json("{not json").problems[0].key == "(file)"


def test_npm_funding_forms() -> None:
    packument = json.loads((DATA / "npm_is-stream.json").read_text())
    latest = packument["versions"][packument["dist-tags"]["latest"]]
    string_form = parse_npm_funding(latest["funding"])
    assert [(c.platform, c.url) for c in string_form.channels] == [
        ("github", "https://github.com/sponsors/sindresorhus")
    ]
    object_form = parse_npm_funding({"type": "opencollective", "url": "https://opencollective.com/babel"})
    assert [(c.platform, c.source) for c in object_form.channels] == [("opencollective", "npm")]
    array_form = parse_npm_funding(
        ["https://github.com/sponsors/a", {"type": "patreon", "url": "https://patreon.com/a"}, 42]
    )
    assert len(array_form.channels) == 2 and array_form.problems[0].key == "funding[2]"


def test_dedupe_keeps_the_first_source() -> None:
    a = parse_funding_yml("github: sindresorhus").channels
    b = parse_npm_funding("https://github.com/sponsors/sindresorhus/").channels
    assert [c.source for c in dedupe_channels([*a, *b])] == ["FUNDING.yml"]
