"""The dashboard's checkboxes: one line per upstream and control, and who ticked one, from the body's revisions.

A control is a task-list item carrying a hidden marker, ``- [ ] <!-- upkeep:decide:KIND:HOST/OWNER/NAME -->``,
so a person's wording around it does not matter. Who ticked it and when is read from the issue's
edit history (GitHub GraphQL ``Issue.userContentEdits``: each revision's editor, time and text):
the revision in which the box first shows ticked after one in which it did not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.decisions.interface import CONTROLS

_BOX = re.compile(
    r"^[ \t]*[-*][ \t]+\[([ xX])\][ \t]*<!-- upkeep:decide:(" + "|".join(CONTROLS) + r"):([A-Za-z0-9._/-]+) -->",
    re.MULTILINE,
)


@dataclass(frozen=True, slots=True)
class Revision:
    """One saved version of a body: who saved it, when, its text."""

    editor: str | None
    edited_at: datetime
    body: str


@dataclass(frozen=True, slots=True)
class Tick:
    upstream: str
    kind: str
    actor: str  # "unknown" when no revision shows the tick
    at: datetime


def control_marker(kind: str, upstream: str) -> str:
    return f"<!-- upkeep:decide:{kind}:{upstream} -->"


def ticked(body: str | None) -> set[tuple[str, str]]:
    """``(upstream, kind)`` of every ticked control in ``body``."""
    return {(m.group(3), m.group(2)) for m in _BOX.finditer(body or "") if m.group(1) in "xX"}


def first_shown(present: Callable[[str], bool], revisions: Sequence[Revision]) -> Revision | None:
    """The revision that made ``present`` true for good: the newest step from absent to present,
    provided the newest revision still shows it (``None``: the history does not show it)."""
    found: Revision | None = None
    was = False
    for revision in sorted(revisions, key=lambda r: r.edited_at):
        now = present(revision.body)
        if now and not was:
            found = revision
        was = now
    return found if was else None


def _shows(box: tuple[str, str]) -> Callable[[str], bool]:
    return lambda body: box in ticked(body)


def who_ticked(boxes: set[tuple[str, str]], revisions: Sequence[Revision], *, fallback_at: datetime) -> list[Tick]:
    """For each ticked box, the revision that ticked it (the newest unticked→ticked step)."""
    ticks = []
    for upstream, kind in sorted(boxes):
        found = first_shown(_shows((upstream, kind)), revisions)
        if found is not None:
            ticks.append(Tick(upstream, kind, found.editor or "unknown", found.edited_at))
        else:  # the history does not show it (deleted revisions, a client without history): say so
            ticks.append(Tick(upstream, kind, "unknown", fallback_at))
    return ticks
