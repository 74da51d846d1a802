"""The pipeline's ``report`` stage: render one quarter's OSPO review and its exports into a directory.

The quarter is ``options["quarter"]`` (``2026Q3``), else the last complete quarter before the run;
when that quarter has no gap snapshot (a first run scores now, in the running quarter), the review
covers the running quarter to date and says so, rather than an empty review. The directory is
``options["out"]``, else ``report.out_dir``.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.paths import templates_dir
from bot.pipeline import StageContext
from bot.progress import track
from bot.report.build import build_review, quarter_end
from bot.report.interface import ReviewFiles
from bot.report.quarters import Quarter
from bot.report.review import render_review
from bot.report.series import top_gaps
from bot.store.gaps import latest_snapshots


def default_quarter(now: datetime) -> Quarter:
    """The last quarter that ended before ``now``."""
    return Quarter.of(now.date()).previous()


def written(files: ReviewFiles) -> list[Path]:
    """The paths one rendering wrote, in the order of :class:`ReviewFiles`."""
    paths = (getattr(files, f.name) for f in fields(files))
    return [path for path in paths if path is not None]


def report_stage(context: StageContext) -> dict[str, Any]:
    """Build the review from the store, render it, and say which files it wrote."""
    option = context.options.get("quarter")
    quarter = Quarter.parse(str(option)) if option else default_quarter(context.now)
    note = None
    if not option and not latest_snapshots(context.engine, limit=1, at_or_before=quarter_end(quarter)):
        running = Quarter.of(context.now.date())
        note = (
            f"No gap snapshot was taken by the end of {quarter}, the last complete quarter, so this first review "
            f"covers {running} to date ({running.start.isoformat()} to {context.now.date().isoformat()})."
        )
        quarter = running
    option = context.options.get("out")  # --out is relative to the cwd, report.out_dir to the config file
    out_dir = Path(str(option)) if option else context.settings.review_dir()
    with track("report", total=2, unit="steps") as progress:  # building the review, then rendering it
        data = build_review(context.engine, context.settings, quarter=quarter, now=context.now, note=note)
        progress.advance()
        files = render_review(data, out_dir, templates_dir=templates_dir() / "review")
        progress.advance()
    return {
        "quarter": str(quarter),
        "out_dir": str(out_dir),
        "files": [str(path) for path in written(files)],
        "scored": bool(data.gaps),
        "to_date": note is not None,
        "top_gaps": [
            {"upstream": row.upstream, "recommended": round(row.recommended_amount, 2)} for row in top_gaps(data)
        ],
    }
