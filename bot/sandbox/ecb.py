"""The ECB's euro reference-rate feed for a sandbox world: ``/ecb/stats/eurofxref/eurofxref-hist.xml``.

The world's rates are a deterministic walk from its seed, published on weekdays except the fixed
TARGET holidays (1 January, 1 May, 25 and 26 December), from two years before the world's ``now``
up to its day, as the real feed publishes them (four decimals, newest first). Like the ECB, it
serves the whole history, the last ninety days and the last day; anything else is a 404.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

import httpx

from bot.sandbox.interface import ServiceContext
from bot.sandbox.model import World
from bot.sources.ecb import feed_xml

#: Units of each currency one euro buys at the start of the world's series.
_START = {"USD": 1.08, "GBP": 0.86, "JPY": 158.0, "CHF": 0.96, "CAD": 1.47}
_HOLIDAYS = ((1, 1), (5, 1), (12, 25), (12, 26))
HISTORY_DAYS = 730


def is_publication_day(day: date) -> bool:
    return day.weekday() < 5 and (day.month, day.day) not in _HOLIDAYS


@lru_cache(maxsize=8)
def _series(seed: int, last: date) -> tuple[tuple[date, tuple[tuple[str, str], ...]], ...]:
    rng = random.Random(f"ecb-{seed}")
    level = dict(_START)
    out = []
    day = last - timedelta(days=HISTORY_DAYS)
    while day <= last:
        if is_publication_day(day):
            for currency in level:
                level[currency] *= 1 + rng.uniform(-0.004, 0.004)
            out.append((day, tuple((c, f"{v:.4f}") for c, v in sorted(level.items()))))
        day += timedelta(days=1)
    return tuple(out)


def world_rates(world: World) -> dict[date, dict[str, Decimal]]:
    """day → currency → units one euro buys, every publication day of the world's series."""
    return {day: {c: Decimal(r) for c, r in rates} for day, rates in _series(world.seed, world.now.date())}


class EcbRatesService:
    """``/ecb/stats/eurofxref/{eurofxref-hist.xml, eurofxref-hist-90d.xml, eurofxref-daily.xml}``."""

    prefix = "/ecb"

    def __init__(self, world: World) -> None:
        self.world = world

    def handle(self, request: httpx.Request, path: str, context: ServiceContext) -> httpx.Response:
        if request.method != "GET":
            return httpx.Response(405, text="Method Not Allowed")
        days = world_rates(self.world)
        last = max(days)
        spans = {
            "/stats/eurofxref/eurofxref-hist.xml": None,
            "/stats/eurofxref/eurofxref-hist-90d.xml": timedelta(days=90),
            "/stats/eurofxref/eurofxref-daily.xml": timedelta(days=0),
        }
        if path not in spans:
            return httpx.Response(404, text="Not Found")
        span = spans[path]
        chosen = {d: r for d, r in days.items() if span is None or d >= last - span}
        return httpx.Response(200, text=feed_xml(chosen), headers={"content-type": "text/xml"})
