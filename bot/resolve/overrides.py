"""Overrides from ``[resolve.overrides]``: purl pattern (fnmatch) → ``HOST/OWNER/NAME``; they win over everything.

A pattern is matched against the package's purl with and without version (``pkg:npm/%40babel/core``)
and against ``pkg:`` + package key (``pkg:npm/@babel/core``), so either spelling works.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from packageurl import PackageURL

from bot.records import UpstreamKey
from bot.resolve.interface import PackageRef, Resolution


class OverrideError(ValueError):
    """An override target is not ``HOST/OWNER/NAME``; the message names the pattern."""


def _spellings(package: PackageRef) -> set[str]:
    names = {f"pkg:{package.package_key}"}
    if package.purl:
        names.add(package.purl)
        try:
            purl = PackageURL.from_string(package.purl)
        except ValueError:
            return names
        names.add(PackageURL(type=purl.type, namespace=purl.namespace, name=purl.name).to_string())
    return names


class Overrides:
    def __init__(self, patterns: dict[str, str]) -> None:
        self.rules: list[tuple[str, UpstreamKey]] = []
        for pattern, target in patterns.items():
            try:
                self.rules.append((pattern, UpstreamKey.parse(target)))
            except ValueError as exc:
                raise OverrideError(f"resolve.overrides.{pattern!r}: {exc}") from exc

    def __bool__(self) -> bool:
        return bool(self.rules)

    def match(self, package: PackageRef) -> Resolution | None:
        """The first rule (in config order) whose pattern matches one spelling of the package."""
        spellings = _spellings(package)
        for pattern, upstream in self.rules:
            if any(fnmatchcase(s, pattern) or fnmatchcase(s.lower(), pattern.lower()) for s in spellings):
                return Resolution(upstream, None, f"override:{pattern}", None, is_override=True)
        return None
