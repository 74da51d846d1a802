"""Where upkeep finds its templates and bundled config, in a checkout and in the container."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _first_existing(*candidates: Path) -> Path:
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return candidates[0]


def templates_dir() -> Path:
    """``$UPKEEP_TEMPLATES``, else ``templates/`` of the checkout, else ``./templates`` (the image's /app)."""
    if os.environ.get("UPKEEP_TEMPLATES"):
        return Path(os.environ["UPKEEP_TEMPLATES"])
    return _first_existing(REPO_ROOT / "templates", Path.cwd() / "templates")


def config_dir() -> Path:
    """``config/`` of the checkout, else ``./config``: bundled data such as gaps.toml and foundations.toml."""
    return _first_existing(REPO_ROOT / "config", Path.cwd() / "config")


def resolve_config_file(name: str) -> Path:
    """A config-relative file: as given when it exists, else inside :func:`config_dir`."""
    path = Path(name)
    if path.exists() or path.is_absolute():
        return path
    return config_dir() / path.name
