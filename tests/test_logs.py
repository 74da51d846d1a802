"""Logs are one line per event and never carry a secret."""

from __future__ import annotations

import json
import logging

import pytest

from bot.logs import configure_logging


def test_secret_is_redacted_in_message_and_fields(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json_lines=True, secrets=["ghp_TOPSECRET123"])
    log = logging.getLogger("bot.test")
    log.info("calling with ghp_TOPSECRET123 now", extra={"header": "Bearer ghp_TOPSECRET123", "count": 3})
    line = capsys.readouterr().err.strip()
    assert "ghp_TOPSECRET123" not in line
    event = json.loads(line)
    assert event["event"] == "calling with [redacted] now"
    assert event["header"] == "Bearer [redacted]"
    assert event["count"] == 3


def test_key_value_lines(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json_lines=False, secrets=[])
    logging.getLogger("bot.test").warning("resolved %d packages", 5, extra={"ecosystem": "pypi"})
    assert capsys.readouterr().err.strip() == "warning bot.test: resolved 5 packages ecosystem=pypi"
