"""GitHub issue bodies and their hidden markers, rendered without PyGithub.

Planning and dry runs only render; keeping this apart from :mod:`bot.deliver.github_issues`
spares them importing PyGithub. upkeep owns one section of each body, from its start marker
(``<!-- upkeep:gap:HOST/OWNER/NAME -->``, ``<!-- upkeep:dashboard -->``) to :data:`END_MARKER`;
:func:`merge_body` rewrites only that section and keeps what people wrote around it. The stored
issue number is an issue's identity; the start marker finds it only when the number is lost.
Upstream text in bodies goes through :mod:`bot.deliver.escape`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bot.config import IssueSettings
from bot.decisions.dashboard import control_marker
from bot.decisions.interface import CONTROLS
from bot.deliver.escape import clip, is_safe_key, plain_text, template_environment
from bot.deliver.interface import GapIssueData

BODY_LIMIT = 65_536  # GitHub: 422 "body is too long (maximum is 65536 characters)"
BODY_CAP = 60_000  # leave room, as Renovate does with 58,000
DASHBOARD_MARKER = "<!-- upkeep:dashboard -->"
END_MARKER = "<!-- upkeep:end -->"
_MARKER = re.compile(r"^[ \t]*(<!-- upkeep:(?:gap:[A-Za-z0-9._/-]+|dashboard) -->)[ \t]*$", re.MULTILINE)


def gap_marker(upstream: str) -> str:
    """The hidden marker of one upstream's issue; refuses keys that could break out of the comment."""
    if not is_safe_key(upstream):
        raise ValueError(f"{upstream!r}: not a HOST/OWNER/NAME key that can go into an issue marker")
    return f"<!-- upkeep:gap:{upstream} -->"


def find_marker(body: str | None) -> str | None:
    """The upkeep start marker on a line of its own (a quoted one, ``> <!-- ...``, is not ours)."""
    match = _MARKER.search(body or "")
    return match.group(1) if match else None


def merge_body(current: str | None, section: str) -> str:
    """``current`` with upkeep's section replaced by ``section``; text outside the section is kept.

    A body whose section was removed gets it back at the end; one that lost only the end marker
    loses what followed the start marker (upkeep cannot tell its text from a person's there).
    """
    text = (current or "").replace("\r\n", "\n")
    match = _MARKER.search(text)
    if match is None:
        kept = text.rstrip()
        return f"{kept}\n\n{section}" if kept else section
    end = text.find(END_MARKER, match.end())
    tail = text[end + len(END_MARKER) :] if end >= 0 else ""
    if section.endswith("\n") and tail.startswith("\n"):
        tail = tail[1:]  # the line break after the end marker is the section's own: merging twice adds nothing
    return f"{text[: match.start()]}{section}{tail}"


def outside_section(body: str | None) -> str:
    """The text a person wrote: ``body`` without upkeep's section (from its start marker to the end marker)."""
    text = (body or "").replace("\r\n", "\n")
    match = _MARKER.search(text)
    if match is None:
        return text
    end = text.find(END_MARKER, match.end())
    return text[: match.start()] + (text[end + len(END_MARKER) :] if end >= 0 else "")


def _shown(items: Sequence[Any], limit: int) -> tuple[list[Any], int]:
    return list(items[:limit]), max(0, len(items) - limit)


def _fit(render: Any, limit: int = 400) -> str:
    """Render with list limits halved until the body is under :data:`BODY_CAP`; lists end with "and N more"."""
    while True:
        body: str = render(limit)
        if len(body) <= BODY_CAP:
            return body
        if limit == 0:
            return clip(body, BODY_CAP, "\n\n…(truncated)\n")
        limit //= 2


def render_gap_issue(
    data: GapIssueData,
    *,
    organisation: str,
    labels: Iterable[str],
    decision: str | None = None,
    unread: Sequence[str] = (),
) -> dict[str, Any]:
    """The payload of one upstream's issue: marker, title, body (under the size cap), labels.

    ``unread``: fund lines a person wrote in the issue that upkeep could not read, with the reasons.
    """
    marker = gap_marker(data.upstream)
    template = template_environment().get_template("issues/gap.md.j2")

    def render(limit: int) -> str:
        flags, flags_more = _shown(data.risk_flags, limit)
        terms, terms_more = _shown(data.terms, limit)
        packages, packages_more = _shown(data.packages, limit)
        repos, repos_more = _shown(data.internal_repos, limit)
        links, links_more = _shown(data.funding_links, limit)
        return template.render(
            marker=marker,
            end_marker=END_MARKER,
            organisation=organisation,
            display_name=data.display_name or data.upstream,
            upstream=data.upstream,
            usage_share=data.usage_share,
            expected_share=data.expected_share,
            investment_share=data.investment_share,
            gap=data.gap,
            risk=data.risk,
            priority=data.priority,
            recommended_amount=data.recommended_amount,
            given_amount=data.given_amount,
            currency=data.currency,
            risk_flags=flags,
            risk_flags_more=flags_more,
            terms=terms,
            terms_more=terms_more,
            packages=packages,
            packages_more=packages_more,
            packages_count=len(data.packages),
            repos=repos,
            repos_more=repos_more,
            repos_count=len(data.internal_repos),
            funding_links=links,
            funding_links_more=links_more,
            credible_exit=data.credible_exit,
            not_converted=data.not_converted,
            decision=decision,
            unread=list(unread[:limit]),
        )

    return {
        "marker": marker,
        "title": plain_text(f"Under-investment: {data.display_name or data.upstream}"),
        "body": _fit(render),
        "labels": list(labels),
    }


def render_dashboard(
    gaps: Sequence[GapIssueData],
    *,
    organisation: str,
    settings: IssueSettings,
    issued: int,
    numbers: Mapping[str, int] | None = None,
    status: Mapping[str, str] | None = None,
    snooze_days: int = 90,
    unread: Sequence[str] = (),
) -> dict[str, Any]:
    """The payload of the dashboard issue: every under-invested upstream, a link to its issue, its
    decision, and the checkboxes (fund, contribute, decline, snooze) read on the next run."""
    template = template_environment().get_template("issues/dashboard.md.j2")
    numbers = numbers or {}
    status = status or {}

    def render(limit: int) -> str:
        rows, more = _shown(gaps, limit)
        return template.render(
            numbers=numbers,
            status=status,
            control_rows=[
                (row, [(kind, control_marker(kind, row.upstream)) for kind in CONTROLS])
                for row in rows
                if is_safe_key(row.upstream)
            ],
            snooze_days=snooze_days,
            marker=DASHBOARD_MARKER,
            end_marker=END_MARKER,
            organisation=organisation,
            rows=rows,
            more=more,
            total=len(gaps),
            issued=issued,
            max_open=settings.max_open,
            unread=list(unread[:limit]),
        )

    return {
        "marker": DASHBOARD_MARKER,
        "title": plain_text(f"upkeep dashboard: upstream investment gaps ({organisation})"),
        "body": _fit(render, 2000),
        "labels": list(settings.labels),
    }


def close_payload(marker: str, subject: str, *, why: str | None = None, held: bool = False) -> dict[str, Any]:
    """The payload that closes a subject's issue, with the comment that says why.

    ``held``: a person's decision holds it (closed as not planned, the decision in the comment);
    ``why``: it is still under-invested but outside the top ``issues.max_open``; neither: resolved.
    """
    what = "the dashboard" if subject == "dashboard" else f"`{subject.removeprefix('gap:')}`"
    if held:
        comment = f"upkeep: {what}: {why}. Closing as not planned; upkeep leaves it closed while the decision holds."
        return {"marker": marker, "comment": comment, "state_reason": "not_planned"}
    if why:
        comment = f"upkeep: {what} {why}. Closing; it stays listed on the dashboard."
        return {"marker": marker, "comment": comment, "state_reason": "not_planned"}
    comment = (
        f"upkeep: the gap for {what} is resolved: it is no longer under-invested. "
        "Closing; upkeep reopens this issue if the gap returns."
    )
    return {"marker": marker, "comment": comment}
