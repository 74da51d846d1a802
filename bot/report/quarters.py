"""Calendar quarters as the review names them (``2026Q3``): parsing, bounds, neighbours."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

_QUARTER = re.compile(r"^\s*(\d{4})\s*-?\s*[Qq]([1-4])\s*$")


@dataclass(frozen=True, order=True, slots=True)
class Quarter:
    """A calendar quarter; ``Quarter(2026, 3)`` runs from 1 July to 30 September 2026."""

    year: int
    number: int

    def __post_init__(self) -> None:
        if not 1 <= self.number <= 4:
            raise ValueError(f"{self.year}Q{self.number}: a quarter number is 1 to 4")
        if not 1 <= self.year <= 9999:
            raise ValueError(f"{self.year}Q{self.number}: the year is out of range")

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """Read ``2026Q3`` (also ``2026-Q3`` and ``2026q3``); raise ``ValueError`` naming the text."""
        match = _QUARTER.match(text)
        if match is None:
            raise ValueError(f"{text!r}: a quarter is written YYYYQn, e.g. 2026Q3")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> Quarter:
        """The quarter that contains ``day``."""
        return cls(day.year, (day.month - 1) // 3 + 1)

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"

    @property
    def start(self) -> date:
        """The first day."""
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def end(self) -> date:
        """The last day (inclusive)."""
        return self.next().start - timedelta(days=1) if self < Quarter(9999, 4) else date(9999, 12, 31)

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def shift(self, quarters: int) -> Quarter:
        """The quarter ``quarters`` away (negative: earlier)."""
        index = self.year * 4 + (self.number - 1) + quarters
        return Quarter(index // 4, index % 4 + 1)

    def previous(self) -> Quarter:
        return self.shift(-1)

    def next(self) -> Quarter:
        return self.shift(1)

    def last(self, count: int) -> tuple[Quarter, ...]:
        """The ``count`` quarters ending with this one, oldest first (``last(4)`` for a yearly trend)."""
        if count < 1:
            raise ValueError(f"{self}: count must be at least 1, not {count}")
        return tuple(self.shift(offset) for offset in range(1 - count, 1))

    def trailing_year(self) -> tuple[date, date]:
        """The twelve months ending with this quarter (the Pledge's yearly window), inclusive bounds."""
        return self.shift(-3).start, self.end


@dataclass(frozen=True, slots=True)
class ToDate:
    """A quarter still running on ``today``, and the span of the quarter before that it compares with.

    The running quarter covers its first ``days`` days (``today`` included). The comparison covers
    the same number of first days of the previous quarter, capped at its end; on a quarter's last
    day it is the whole previous quarter (a quarter compares with a quarter, whatever their lengths).
    """

    quarter: Quarter
    today: date

    @property
    def days(self) -> int:
        return (self.today - self.quarter.start).days + 1

    @property
    def previous_span(self) -> tuple[date, date]:
        """Inclusive bounds of the comparable span of the previous quarter."""
        previous = self.quarter.previous()
        if self.today == self.quarter.end:
            return previous.start, previous.end
        return previous.start, min(previous.start + timedelta(days=self.days - 1), previous.end)

    def describe(self) -> str:
        """``2026Q3 to 2026-08-15 (the same first 46 days)``, or ``all of 2026Q3`` on the last day."""
        previous = self.quarter.previous()
        last = self.previous_span[1]
        if last == previous.end:
            return f"all of {previous}"
        days = "day" if self.days == 1 else f"{self.days} days"
        return f"{previous} to {last.isoformat()} (the same first {days})"


def to_date(quarter: Quarter, today: date) -> ToDate | None:
    """The running-quarter view of ``quarter`` on ``today``; ``None`` when the quarter is not in progress."""
    return ToDate(quarter, today) if quarter.contains(today) else None
