"""The image and the Action as a platform engineer checks them: pinned, locked, labelled, healthy."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).parent.parent
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$")
#: Current major versions (node24 runners); a commit is pinned with its release in a comment.
MAJORS = {"actions/checkout": 7, "actions/setup-python": 7, "actions/cache": 5, "actions/upload-artifact": 7}


def _steps(path: Path) -> list[dict[str, object]]:
    document = yaml.safe_load(path.read_text())
    if "runs" in document:
        return list(document["runs"]["steps"])
    return [step for job in document["jobs"].values() for step in job["steps"]]


def _uses_lines(path: Path) -> list[str]:
    lines = path.read_text().splitlines()
    return [line.split("uses:", 1)[1].strip() for line in lines if re.match(r"^\s*(- )?uses:", line)]


def test_actions_are_pinned_by_commit_at_current_majors() -> None:
    for path in (ROOT / "action.yml", ROOT / "docs/examples/upkeep-workflow.yml", ROOT / ".ci/action-workflow.yml"):
        for uses in _uses_lines(path):
            if uses.startswith(("./", "upkeep-ospo/upkeep@")):
                continue
            assert SHA_PIN.match(uses), f"{path.name}: {uses} is not pinned by commit"
            action = "/".join(uses.split("@")[0].split("/")[:2])
            assert int(uses.split("# v")[1].split(".")[0]) == MAJORS[action], uses


def test_inputs_reach_scripts_only_through_env() -> None:
    for step in _steps(ROOT / "action.yml"):
        assert "${{" not in str(step.get("run", "")), f"expression in a script: {step.get('name') or step.get('id')}"


def test_the_review_survives_a_failed_run_and_pip_is_cached() -> None:
    steps = {str(step.get("name")): step for step in _steps(ROOT / "action.yml")}
    assert steps["Render the quarterly review"]["if"] == "always()"
    assert steps["Upload the review"]["if"] == "always()"
    assert str(steps["Save the SQLite store"]["if"]).startswith("always()")
    assert steps["Cache pip downloads"]["with"]["path"] == "~/.cache/pip"  # type: ignore[index]
    assert "--require-hashes -r" in str(steps["Install upkeep"]["run"])


def test_the_lock_file_pins_every_runtime_dependency_with_hashes() -> None:
    lock = (ROOT / "requirements.lock").read_text()
    pinned = {m.group(1).lower() for m in re.finditer(r"^([A-Za-z0-9_.-]+)==", lock, re.MULTILINE)}
    pyproject = (ROOT / "pyproject.toml").read_text()
    block = pyproject.split("dependencies = [", 1)[1].split("]\n", 1)[0]
    wanted = {re.split(r"[\[<>=!~ ;]", line.strip().strip('",'))[0].lower() for line in block.splitlines()}
    wanted = {name for name in wanted if name and not name.startswith("#")}
    assert wanted <= pinned, f"not in requirements.lock (run `make lock`): {sorted(wanted - pinned)}"
    for entry in re.split(r"\n(?=[A-Za-z0-9_.-]+==)", lock.split("\n", 2)[2]):
        if "==" in entry:
            assert "--hash=sha256:" in entry, entry.splitlines()[0]


def test_dockerfile_pins_the_base_installs_the_lock_labels_and_checks_health() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim@sha256:[0-9a-f]{64}$", dockerfile, re.MULTILINE)
    assert dockerfile.count("FROM ${PYTHON_IMAGE}") == 2
    assert "--require-hashes" in dockerfile and "COPY requirements.lock" in dockerfile
    for label in ("title", "description", "licenses", "version", "revision", "created"):
        assert f"org.opencontainers.image.{label}=" in dockerfile
    assert 'CMD ["upkeep", "status", "--check"]' in dockerfile and "HEALTHCHECK" in dockerfile


def test_dockerignore_keeps_databases_venvs_and_outputs_out() -> None:
    patterns = {
        line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")
    }
    assert {"**/*.db", ".venv/", "demo-out/", "out/", "config/upkeep.toml"} <= patterns


def test_the_base_label_sees_the_base_argument() -> None:
    # An ARG declared before the first FROM is empty inside a stage unless declared again there: the
    # org.opencontainers.image.base.name label was built empty until it was.
    dockerfile = (ROOT / "Dockerfile").read_text()
    final_stage = dockerfile.rsplit("FROM ${PYTHON_IMAGE}", 1)[1]
    assert re.search(r"^ARG PYTHON_IMAGE$", final_stage, re.MULTILINE)
    assert 'org.opencontainers.image.base.name="${PYTHON_IMAGE}"' in final_stage


def test_actionlint_is_called_with_flags_it_has() -> None:
    script = (ROOT / ".ci/actionlint").read_text()
    calls = [line for line in script.splitlines() if re.search(r"exec \S*actionlint ", line)]
    assert calls and all("-no-color" in line and "-color=" not in line for line in calls)
