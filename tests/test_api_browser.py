"""The pages ``upkeep serve`` shows, in headless Chromium: the latest review at /, the upstream list and a
page per upstream, loaded from the real loopback server over a sandbox-filled store.

Without Chromium the tests fail when ``CI`` is set and skip otherwise (as tests/test_report_browser.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.api_fixtures import Served
from tests.report_browser import Chromium, find_chromium, open_page

pytest_plugins = ["tests.sandbox_fixtures", "tests.api_fixtures"]
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    found = find_chromium()
    if found is None:
        message = "headless Chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with Chromium(found) as chromium:
        yield chromium


def _local(served: Served, requests: list[str]) -> list[str]:
    return [url for url in requests if not url.startswith(served.base_url)]


def test_the_review_is_served_at_the_root(browser: Chromium, served: Served) -> None:
    page = open_page(browser, served.base_url + "/")
    assert page.report.errors == []
    assert _local(served, page.report.requests) == []
    assert page.evaluate("document.title").startswith("Open-source review")
    assert page.evaluate("document.querySelectorAll('svg[data-chart]').length") > 0
    assert page.evaluate("document.querySelectorAll('script').length") == 0


def test_the_upstream_list_links_every_row_to_its_page(browser: Chromium, served: Served) -> None:
    page = open_page(browser, served.base_url + "/upstreams")
    assert page.report.errors == []
    rows = page.evaluate("[...document.querySelectorAll('#upstreams tbody tr')].length")
    assert rows == served.store.ledger.upstreams(limit=500).total
    hrefs = page.evaluate("[...document.querySelectorAll('#upstreams a')].map(a => a.getAttribute('href'))")
    assert f"/upstreams/{served.store.held_out}" in hrefs


def test_an_upstream_page_shows_its_score_packages_and_arithmetic(browser: Chromium, served: Served) -> None:
    key = served.store.held_out
    record = served.store.ledger.upstream(key)
    page = open_page(browser, f"{served.base_url}/upstreams/{key}")
    assert page.report.errors == []
    assert _local(served, page.report.requests) == []
    assert page.evaluate("document.querySelector('#upstream').textContent") == key
    packages = page.evaluate("[...document.querySelectorAll('#packages code')].map(c => c.textContent)")
    assert packages == [p.package for p in record.packages]
    assert page.evaluate("document.querySelector('#explanation').textContent") == record.explanation
    assert page.evaluate("document.querySelectorAll('script').length") == 0
    # The pages need no token; the API behind them does.
    assert page.evaluate("document.querySelectorAll('#score tr').length") == 8
