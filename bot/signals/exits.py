"""Credible exits: open forks that continue upstreams which left open source or stalled.

A maintained list (``config/exits.toml``, extensible) maps an upstream key to its fork, why the
fork is a way out, and where that is said. The review's risk register and ``upkeep upstream``
show it next to the upstream, so a risk comes with the way out, not only the alarm.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.config import Settings
from bot.paths import DataFileNotFound, find_data_file
from bot.records import UpstreamKey


class ExitListError(Exception):
    """The exits file cannot be read; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class Exit:
    upstream: str
    fork: str  # upstream key of the fork
    why: str
    source: str  # where the fork says what it is (a URL)


def parse_exits(data: Mapping[str, object], *, source: str) -> dict[str, Exit]:
    """``[exits."HOST/OWNER/NAME"]`` tables with ``fork``, ``why`` and ``source``, checked entry by entry."""
    table = data.get("exits", {})
    if not isinstance(table, dict):
        raise ExitListError(f"{source}: exits must be a table of upstream keys")
    found: dict[str, Exit] = {}
    for key, entry in table.items():
        where = f"{source}: exits.{key!r}"
        try:
            upstream = str(UpstreamKey.parse(key))
        except ValueError as exc:
            raise ExitListError(f"{where}: {exc}") from exc
        if not isinstance(entry, dict):
            raise ExitListError(f"{where}: must be a table with fork, why and source")
        unknown = sorted(set(entry) - {"fork", "why", "source"})
        if unknown:
            raise ExitListError(f"{where}: unknown key(s) {', '.join(unknown)} (fork, why and source are read)")
        values = {name: entry.get(name) for name in ("fork", "why", "source")}
        for name, value in values.items():
            if not isinstance(value, str) or not value.strip():
                raise ExitListError(f"{where}.{name}: must be a non-empty string")
        try:
            fork = str(UpstreamKey.parse(str(values["fork"])))
        except ValueError as exc:
            raise ExitListError(f"{where}.fork: {exc}") from exc
        if fork == upstream:
            raise ExitListError(f"{where}.fork: an exit cannot be the upstream itself")
        found[upstream] = Exit(upstream, fork, str(values["why"]).strip(), str(values["source"]).strip())
    return found


def load_exits(path: Path) -> dict[str, Exit]:
    """:func:`parse_exits` of a TOML file; a missing or broken file is an :class:`ExitListError` naming it."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ExitListError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ExitListError(f"{path}: not TOML: {exc}") from exc
    return parse_exits(data, source=str(path))


def load_configured_exits(settings: Settings) -> dict[str, Exit]:
    """``signals.exits_file``, found beside the config file, in the working directory or bundled."""
    try:
        path = find_data_file(
            settings.signals.exits_file, config_path=settings.config_path, setting="signals.exits_file"
        )
    except DataFileNotFound as exc:
        raise ExitListError(str(exc)) from exc
    return load_exits(path)


def describe_exit(exit_: Exit, *, used_by: int = 0) -> str:
    """One line: the fork, why it is a way out, and whether the organisation already uses it."""
    already = f" (already used by {used_by} of our repositories)" if used_by else ""
    return f"{exit_.fork}: {exit_.why}{already}"


def exit_line(upstream: str, exits: Mapping[str, Exit], repos: Mapping[str, int]) -> str | None:
    """:func:`describe_exit` of ``upstream``'s exit, with how many repositories use the fork; None without one."""
    found = exits.get(upstream)
    return describe_exit(found, used_by=repos.get(found.fork, 0)) if found else None
