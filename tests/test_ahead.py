"""map_ahead: a few calls in flight, results in order, an error at its item's turn."""

from __future__ import annotations

import threading
import time

import pytest

from bot.ahead import map_ahead


def test_results_come_in_order_with_at_most_workers_in_flight() -> None:
    lock = threading.Lock()
    state = {"now": 0, "most": 0}

    def call(item: int) -> int:
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.01 * (5 - item % 5))  # later items finish first
        with lock:
            state["now"] -= 1
        return item * item

    assert list(map_ahead(call, range(20), workers=3)) == [i * i for i in range(20)]
    assert 1 < state["most"] <= 3


def test_one_worker_is_plain_map_on_this_thread() -> None:
    threads = list(map_ahead(lambda _: threading.current_thread().name, range(3), workers=1))
    assert threads == [threading.current_thread().name] * 3


def test_an_error_is_raised_at_its_turn_and_no_new_call_starts() -> None:
    started: list[int] = []

    def call(item: int) -> int:
        started.append(item)
        if item == 2:
            raise ValueError("two")
        return item

    results = map_ahead(call, range(100), workers=2)
    assert next(results) == 0 and next(results) == 1
    with pytest.raises(ValueError, match="two"):
        next(results)
    assert max(started) < 10  # nothing past the window was asked
