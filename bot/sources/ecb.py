"""The European Central Bank's euro foreign exchange reference rates, read from its XML feed.

The ECB publishes, on each TARGET business day around 16:00 CET, how many units of some thirty
currencies one euro buys (``https://www.ecb.europa.eu/stats/eurofxref/``): ``eurofxref-hist.xml``
holds every day since 1999, ``eurofxref-hist-90d.xml`` the last ninety days, both newest first::

    <gesmes:Envelope ...><Cube><Cube time="2026-03-16"><Cube currency="USD" rate="1.0921"/>...

The whole history is fetched once into the store; later runs ask only the ninety-day file and keep
the days the store does not have yet (:func:`fetch_new_days`). No key, no account.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

import defusedxml.ElementTree as SafeET
import httpx

HISTORY = "eurofxref-hist.xml"
RECENT = "eurofxref-hist-90d.xml"
#: A store whose newest day is at most this old is extended from the ninety-day file.
RECENT_SPAN = timedelta(days=80)
_NS = "{http://www.ecb.int/vocabulary/2002-08-01/eurofxref}"

#: day → currency → units of that currency one euro buys.
Days = dict[date, dict[str, Decimal]]


class RatesFeedError(Exception):
    """The feed could not be read (an HTTP error, or a document that is not the ECB's format)."""


def parse_feed(text: bytes | str, *, source: str = "ECB feed") -> Days:
    """Every day of one ECB reference-rate document; a malformed entry is an error naming it."""
    try:
        root = SafeET.fromstring(text)
    except SafeET.ParseError as exc:
        raise RatesFeedError(f"{source}: not XML ({exc})") from exc
    days: Days = {}
    for cube in root.iter(f"{_NS}Cube"):
        when = cube.get("time")
        if when is None:
            continue
        try:
            day = date.fromisoformat(when)
        except ValueError as exc:
            raise RatesFeedError(f"{source}: day {when!r} is not a date") from exc
        rates: dict[str, Decimal] = {}
        for entry in cube.findall(f"{_NS}Cube"):
            currency, rate = entry.get("currency"), entry.get("rate")
            if not currency or rate is None:
                raise RatesFeedError(f"{source}: {day}: an entry without currency or rate")
            try:
                value = Decimal(rate)
            except InvalidOperation as exc:
                raise RatesFeedError(f"{source}: {day} {currency}: rate {rate!r} is not a number") from exc
            if value <= 0:
                raise RatesFeedError(f"{source}: {day} {currency}: rate {rate} is not positive")
            rates[currency.upper()] = value
        days[day] = rates
    if not days and root.find(f"{_NS}Cube") is None:
        raise RatesFeedError(f"{source}: no <Cube> element: not an ECB reference-rate document")
    return days


def feed_for(newest_stored: date | None, today: date) -> str:
    """Which file extends a store whose newest day is ``newest_stored`` (None: an empty store)."""
    if newest_stored is not None and today - newest_stored <= RECENT_SPAN:
        return RECENT
    return HISTORY


def fetch_new_days(client: httpx.Client, base_url: str, *, newest_stored: date | None, today: date) -> Days:
    """The days after ``newest_stored`` the feed has (nothing is asked when ``newest_stored`` is today)."""
    if newest_stored is not None and newest_stored >= today:
        return {}
    name = feed_for(newest_stored, today)
    url = f"{base_url.rstrip('/')}/{name}"
    try:
        response = client.get(url)
    except httpx.HTTPError as exc:
        raise RatesFeedError(f"{url}: {exc.__class__.__name__}: {exc}") from exc
    if response.status_code != 200:
        raise RatesFeedError(f"{url}: HTTP {response.status_code}")
    days = parse_feed(response.content, source=url)
    return {day: rates for day, rates in days.items() if newest_stored is None or day > newest_stored}


def feed_xml(days: Mapping[date, Mapping[str, Decimal | float | str]]) -> str:
    """``days`` as the ECB writes them (newest first); the sandbox serves its world's rates with this."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" '
        'xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">',
        "\t<gesmes:subject>Reference rates</gesmes:subject>",
        "\t<gesmes:Sender>",
        "\t\t<gesmes:name>European Central Bank</gesmes:name>",
        "\t</gesmes:Sender>",
        "\t<Cube>",
    ]
    for day in sorted(days, reverse=True):
        lines.append(f'\t\t<Cube time="{day.isoformat()}">')
        lines += [f'\t\t\t<Cube currency="{cur}" rate="{rate}"/>' for cur, rate in sorted(days[day].items())]
        lines.append("\t\t</Cube>")
    lines += ["\t</Cube>", "</gesmes:Envelope>", ""]
    return "\n".join(lines)
