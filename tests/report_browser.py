"""Open a page in headless Chromium over the DevTools protocol, through a pipe (no extra packages).

``--remote-debugging-pipe`` makes Chromium read protocol commands from file descriptor 3 and
write answers and events to descriptor 4, one NUL-terminated JSON message each (the transport
Puppeteer uses). That is enough to load the review, collect console errors, exceptions, log
entries and network requests, evaluate a script in the page and take a screenshot.

Run as a script to refresh the README screenshot from the sample review::

    .venv/bin/python -m tests.report_browser docs/review-screenshot.png
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "/usr/bin/chromium")


def find_chromium() -> str | None:
    """Debian's ``chromium`` (or ``$UPKEEP_CHROMIUM``), or ``None`` when it is not installed."""
    configured = os.environ.get("UPKEEP_CHROMIUM")
    if configured:
        return configured if Path(configured).exists() else None
    for candidate in CHROMIUM_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


class BrowserError(Exception):
    """Chromium did not start, answered an error, or took too long."""


@dataclass
class PageReport:
    """What happened while a page loaded."""

    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    log_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return [*self.console_errors, *self.exceptions, *self.log_errors]


class Chromium:
    """One headless Chromium process driven over the DevTools pipe; use as a context manager."""

    def __init__(self, executable: str, *, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self._profile = tempfile.TemporaryDirectory(prefix="upkeep-chromium-")
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()

        def wire_pipes() -> None:  # runs in the child: protocol in on fd 3, out on fd 4
            # Copy both ends above 3 and 4 first, so neither dup2 below has its own target as source (a
            # same-number dup2 would leave close-on-exec set). Files the parent had open may hold 3
            # and 4 here, or not.
            reader = fcntl.fcntl(to_browser_read, fcntl.F_DUPFD, 10)
            writer = fcntl.fcntl(from_browser_write, fcntl.F_DUPFD, 10)
            os.dup2(reader, 3)
            os.dup2(writer, 4)

        args = [
            executable,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-first-run",
            "--no-default-browser-check",
            "--hide-scrollbars",
            "--remote-debugging-pipe",
            f"--user-data-dir={self._profile.name}",
            "about:blank",
        ]
        self._process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=wire_pipes,  # the child needs fds 3 and 4 at fixed numbers
            close_fds=False,  # it would run after preexec_fn and close 3 and 4; Python's own fds are non-inheritable
        )
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            if self._process.poll() is None:
                with contextlib.suppress(BrowserError, OSError):
                    self.call("Browser.close", timeout=5)
                try:
                    self._process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait(timeout=5)
        finally:
            for fd in (self._to_browser, self._from_browser):
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._profile.cleanup()

    def call(
        self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None, timeout: float = 0
    ) -> dict[str, Any]:
        """Send one command and wait for its answer; events arriving meanwhile are kept."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            answer = self._receive(deadline, method)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error'].get('message')}")
                result: dict[str, Any] = answer.get("result", {})
                return result
            self._events.append(answer)

    def wait_for(self, event: str, *, session: str | None = None) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while True:
            for i, message in enumerate(self._events):
                if message.get("method") == event and (session is None or message.get("sessionId") == session):
                    del self._events[i]
                    return message
            self._events.append(self._receive(deadline, event))

    def events(self) -> list[dict[str, Any]]:
        return list(self._events)

    def _receive(self, deadline: float, waiting_for: str) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrowserError(f"{waiting_for}: no answer from Chromium in {self.timeout:.0f} s")
            ready, _, _ = select.select([self._from_browser], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise BrowserError(f"{waiting_for}: Chromium closed the DevTools pipe (exit {self._process.poll()})")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message


@dataclass
class LoadedPage:
    browser: Chromium
    session: str
    report: PageReport

    def evaluate(self, expression: str) -> Any:
        answer = self.browser.call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=self.session
        )
        if "exceptionDetails" in answer:
            raise BrowserError(f"evaluate: {answer['exceptionDetails'].get('text')}")
        return answer["result"].get("value")


def open_page(browser: Chromium, url: str, *, width: int = 1280, height: int = 900) -> LoadedPage:
    """Load ``url`` in a new tab and report console errors, exceptions, error logs and requests."""
    target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        browser.call(f"{domain}.enable", session=session)
    browser.call(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        session=session,
    )
    browser.call("Page.navigate", {"url": url}, session=session)
    browser.wait_for("Page.loadEventFired", session=session)
    page = LoadedPage(browser, session, PageReport())
    page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    for message in browser.events():
        if message.get("sessionId") != session:
            continue
        params = message.get("params", {})
        method = message.get("method")
        if method == "Runtime.consoleAPICalled" and params.get("type") in {"error", "assert"}:
            page.report.console_errors.append(
                " ".join(str(a.get("value", a.get("description"))) for a in params["args"])
            )
        elif method == "Runtime.exceptionThrown":
            page.report.exceptions.append(params["exceptionDetails"].get("text", "exception"))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            page.report.log_errors.append(params["entry"].get("text", ""))
        elif method == "Network.requestWillBeSent":
            page.report.requests.append(params["request"]["url"])
    return page


def save_sample_screenshot(path: Path) -> None:
    """Render the sample review and photograph its first screen-and-a-half for the README."""
    from bot.report.review import render_review
    from tests.report_sample import sample_review

    executable = find_chromium()
    if executable is None:
        raise SystemExit("chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as out, Chromium(executable) as browser:
        files = render_review(sample_review(), Path(out))
        page = open_page(browser, files.html.as_uri(), width=1280, height=1500)
        shot = browser.call(
            "Page.captureScreenshot",
            {"format": "png", "clip": {"x": 0, "y": 0, "width": 1280, "height": 1500, "scale": 1}},
            session=page.session,
        )
        path.write_bytes(base64.b64decode(shot["data"]))
        if page.report.errors:
            raise SystemExit(f"{files.html}: the page logged errors: {page.report.errors}")


if __name__ == "__main__":
    save_sample_screenshot(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/review-screenshot.png"))
