"""Run a blocking call over many items with a few in flight, results in the items' order.

The GitHub stages wait on the network far more than they compute: asking for the next batches
while the current one is stored turns a sum of round trips into a fraction of it. The calls run
in threads (``httpx.Client`` is thread-safe); the caller consumes results in order on its own
thread, so whatever it writes to the store stays single-threaded.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def map_ahead(function: Callable[[T], R], items: Iterable[T], *, workers: int, name: str = "ahead") -> Iterator[R]:
    """``map(function, items)`` with up to ``workers`` calls in flight; an exception is raised at its
    item's turn, after which no new call starts (those in flight finish and are dropped)."""
    if workers <= 1:
        yield from map(function, items)
        return
    source = iter(items)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name) as pool:
        flight: deque[Future[R]] = deque()
        try:
            for item in source:
                flight.append(pool.submit(function, item))
                if len(flight) >= workers:
                    break
            while flight:
                result = flight.popleft().result()
                following = next(source, _END)
                if following is not _END:
                    flight.append(pool.submit(function, following))  # type: ignore[arg-type]
                yield result
        finally:
            for future in flight:
                future.cancel()


_END = object()
