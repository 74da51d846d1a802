"""The Open Source Pledge's rules for a member file, checked before ``pledge.json`` is written.

The Pledge validates member files with zod (``memberSchema``/``memberReportSchema`` in
``src/members/common.ts``): required strings, URLs, ISO dates, the report year as a string. A file
that would fail there must not leave upkeep looking finished: a missing or malformed value stops the
export with a message naming the ``[report]`` setting that supplies it.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from bot.report.interface import ReviewError

_YEAR = re.compile(r"^\d{4}$")

#: Which setting supplies each field of the member file.
SETTINGS = {
    "id": "report.pledge_member_id",
    "name": "report.pledge_name (default: organisation)",
    "url": "report.pledge_url",
    "joinDate": "report.pledge_join_date",
    "annualReports.url": "report.pledge_report_url (default: report.pledge_url)",
}


def _is_url(value: object) -> bool:
    if not isinstance(value, str) or not value or value != value.strip():
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _is_date(value: object) -> bool:
    try:
        return isinstance(value, str) and date.fromisoformat(value).isoformat() == value
    except ValueError:
        return False


def check_member_file(document: dict[str, Any]) -> None:
    """Raise :class:`ReviewError` naming the setting behind the first value the Pledge would refuse."""
    problems: list[str] = []
    for key in ("id", "name"):
        if not isinstance(document.get(key), str) or not document[key].strip():
            problems.append(f"{SETTINGS[key]}: required by the Pledge's member file ({key})")
    if not _is_url(document.get("url")):
        problems.append(
            f"{SETTINGS['url']}: required, an absolute http(s) URL of the organisation's open-source page "
            f"(got {document.get('url')!r})"
        )
    if not _is_date(document.get("joinDate")):
        problems.append(f"{SETTINGS['joinDate']}: required, the day the organisation joined the Pledge (YYYY-MM-DD)")
    reports = document.get("annualReports") or []
    if not reports:
        problems.append("pledge.json: at least one annual report is required")
    years = [str(report.get("year")) for report in reports]
    for report in reports:
        year = report.get("year")
        if not _is_url(report.get("url")):
            problems.append(f"{SETTINGS['annualReports.url']}: the {year} report needs an absolute http(s) URL")
        if not isinstance(year, str) or not _YEAR.match(year):
            problems.append(f"pledge.json: report year {year!r} must be a four-digit string")
        if not _is_date(report.get("reportDate")):
            problems.append(f"pledge.json: the {year} report date {report.get('reportDate')!r} is not YYYY-MM-DD")
        for number in ("averageNumberOfDevs", "usdAmountPaid"):
            value = report.get(number)
            if not isinstance(value, int | float) or value < 0:
                problems.append(f"pledge.json: the {year} report's {number} must be a number ≥ 0 (got {value!r})")
    if years != sorted(set(years), reverse=True):
        problems.append(f"pledge.json: annual reports must be one per year, newest first (got {', '.join(years)})")
    if problems:
        raise ReviewError("pledge.json not written: " + "; ".join(problems))
