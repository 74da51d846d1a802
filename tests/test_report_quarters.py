"""Quarters as the review names them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.report.quarters import Quarter, to_date


@pytest.mark.parametrize("text", ["2026Q3", "2026q3", "2026-Q3", " 2026Q3 "])
def test_parse_accepts_the_usual_spellings(text: str) -> None:
    assert Quarter.parse(text) == Quarter(2026, 3)


@pytest.mark.parametrize("text", ["2026Q5", "2026Q0", "26Q1", "2026", "Q3 2026", ""])
def test_parse_refuses_other_text_naming_it(text: str) -> None:
    with pytest.raises(ValueError, match="YYYYQn"):
        Quarter.parse(text)


def test_format_round_trips() -> None:
    assert str(Quarter.parse("2026Q3")) == "2026Q3"


@pytest.mark.parametrize(
    ("quarter", "start", "end"),
    [
        (Quarter(2026, 1), date(2026, 1, 1), date(2026, 3, 31)),
        (Quarter(2024, 1), date(2024, 1, 1), date(2024, 3, 31)),
        (Quarter(2026, 2), date(2026, 4, 1), date(2026, 6, 30)),
        (Quarter(2026, 3), date(2026, 7, 1), date(2026, 9, 30)),
        (Quarter(2026, 4), date(2026, 10, 1), date(2026, 12, 31)),
    ],
)
def test_bounds_are_calendar_quarters(quarter: Quarter, start: date, end: date) -> None:
    assert (quarter.start, quarter.end) == (start, end)
    assert quarter.contains(start) and quarter.contains(end)
    assert not quarter.contains(end + timedelta(days=1))
    assert not quarter.contains(start - timedelta(days=1))


def test_of_finds_the_quarter_of_a_day() -> None:
    assert Quarter.of(date(2026, 9, 30)) == Quarter(2026, 3)
    assert Quarter.of(date(2026, 10, 1)) == Quarter(2026, 4)


def test_previous_and_next_cross_years() -> None:
    assert Quarter(2026, 1).previous() == Quarter(2025, 4)
    assert Quarter(2025, 4).next() == Quarter(2026, 1)
    assert Quarter(2026, 3).shift(-7) == Quarter(2024, 4)


def test_last_four_quarters_end_with_this_one_oldest_first() -> None:
    assert [str(q) for q in Quarter(2026, 3).last(4)] == ["2025Q4", "2026Q1", "2026Q2", "2026Q3"]
    with pytest.raises(ValueError, match="count"):
        Quarter(2026, 3).last(0)


def test_trailing_year_covers_twelve_months() -> None:
    assert Quarter(2026, 3).trailing_year() == (date(2025, 10, 1), date(2026, 9, 30))


def test_quarters_order_by_time() -> None:
    assert sorted([Quarter(2026, 1), Quarter(2025, 4), Quarter(2026, 3)]) == [
        Quarter(2025, 4),
        Quarter(2026, 1),
        Quarter(2026, 3),
    ]


def test_an_impossible_quarter_is_refused() -> None:
    with pytest.raises(ValueError, match="1 to 4"):
        Quarter(2026, 5)


@pytest.mark.parametrize(
    ("today", "days", "span", "text"),
    [
        # first day of a quarter: one day against the previous quarter's first day
        (date(2026, 10, 1), 1, (date(2026, 7, 1), date(2026, 7, 1)), "2026Q3 to 2026-07-01 (the same first day)"),
        (
            date(2026, 11, 15),
            46,
            (date(2026, 7, 1), date(2026, 8, 15)),
            "2026Q3 to 2026-08-15 (the same first 46 days)",
        ),
        # last day of a quarter: the whole previous quarter, whatever the lengths (92 days against 92)
        (date(2026, 12, 31), 92, (date(2026, 7, 1), date(2026, 9, 30)), "all of 2026Q3"),
        # Q1 2026 has 90 days, Q4 2025 has 92: the day before the last compares 89 days, the last all of Q4
        (
            date(2026, 3, 30),
            89,
            (date(2025, 10, 1), date(2025, 12, 28)),
            "2025Q4 to 2025-12-28 (the same first 89 days)",
        ),
        (date(2026, 3, 31), 90, (date(2025, 10, 1), date(2025, 12, 31)), "all of 2025Q4"),
        # Q3 has 92 days, Q2 91: from day 91 on, the span is capped at the end of Q2
        (date(2026, 9, 29), 91, (date(2026, 4, 1), date(2026, 6, 30)), "all of 2026Q2"),
        (date(2026, 1, 1), 1, (date(2025, 10, 1), date(2025, 10, 1)), "2025Q4 to 2025-10-01 (the same first day)"),
    ],
)
def test_a_quarter_to_date_compares_with_the_same_span_of_the_previous_one(
    today: date, days: int, span: tuple[date, date], text: str
) -> None:
    running = to_date(Quarter.of(today), today)
    assert running is not None
    assert (running.days, running.previous_span, running.describe()) == (days, span, text)


def test_a_complete_or_future_quarter_is_not_to_date() -> None:
    assert to_date(Quarter(2026, 3), date(2026, 10, 1)) is None  # the day after its last
    assert to_date(Quarter(2026, 4), date(2026, 9, 30)) is None  # the day before its first
