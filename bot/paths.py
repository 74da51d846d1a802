"""Where upkeep finds its templates and bundled data files, in a checkout, the container and the Action.

Bundled files (``templates/``, ``config/gaps.toml``, ``config/foundations.toml``) live beside the
package in a checkout or an editable install, and in the working directory of the container
(``/app``). Relative paths in the configuration are looked up beside the config file first, so an
organisation can ship its own copy.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


class DataFileNotFound(FileNotFoundError):
    """A configured data file exists in none of the places upkeep looks; the message lists them."""


def templates_dir() -> Path:
    """``$UPKEEP_TEMPLATES``, else ``templates/`` of the checkout, else ``./templates`` (the image's /app)."""
    if os.environ.get("UPKEEP_TEMPLATES"):
        return Path(os.environ["UPKEEP_TEMPLATES"])
    for candidate in (REPO_ROOT / "templates", Path.cwd() / "templates"):
        if candidate.is_dir():
            return candidate
    return REPO_ROOT / "templates"


def find_data_file(name: str | Path, *, config_path: Path | None = None, setting: str = "") -> Path:
    """An absolute path as given; a relative one beside the config file, in the working directory, or in
    the checkout, else the bundled file of the same name. Raises :class:`DataFileNotFound` naming the setting."""
    path = Path(name)
    if path.is_absolute():
        if path.is_file():
            return path
        raise DataFileNotFound(f"{setting or path}: {path} does not exist")
    bases = ([config_path.parent] if config_path else []) + [Path.cwd(), REPO_ROOT]
    candidates = [base / path for base in bases] + [REPO_ROOT / "config" / path.name, Path.cwd() / "config" / path.name]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    where = ", ".join(str(c.parent) for c in dict.fromkeys(candidates))
    raise DataFileNotFound(f"{setting or path}: {path} not found (looked in {where})")


def resolve_config_file(name: str, config_path: Path | None = None) -> Path:
    """Compatibility wrapper: :func:`find_data_file` that returns the path as given when nothing exists,
    so the caller's own error (which names the file) is raised."""
    try:
        return find_data_file(name, config_path=config_path)
    except DataFileNotFound:
        return Path(name)
