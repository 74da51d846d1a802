"""Failures described in one line that names the host, file or key and says what to do."""

from __future__ import annotations

import httpx
import pytest

from bot.config import Settings
from bot.errors import describe_error, keys_for_host, redact_url


def test_an_unreachable_host_is_named_with_the_key_that_points_at_it() -> None:
    settings = Settings(registries={"pypi": "http://127.0.0.1:9"})  # type: ignore[arg-type]
    with pytest.raises(httpx.ConnectError) as caught:
        httpx.get("http://127.0.0.1:9/simple/")
    line = describe_error(caught.value, settings)
    assert line.startswith("127.0.0.1 cannot be reached (ConnectError: ")
    assert "check the network, DNS and any HTTPS_PROXY" in line
    assert line.endswith("or correct registries.pypi in the config")


def test_keys_for_host_and_redaction() -> None:
    settings = Settings(
        github={"api_url": "https://ghe.example/api/v3", "graphql_url": "https://ghe.example/api/graphql"}
    )  # type: ignore[arg-type]
    assert keys_for_host(settings, "ghe.example") == ["github.api_url", "github.graphql_url"]
    assert redact_url("postgresql://u:pw@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert redact_url("sqlite:///x.db") == "sqlite:///x.db"


def test_anything_else_keeps_its_type_and_message() -> None:
    assert describe_error(RuntimeError("registry down")) == "RuntimeError: registry down"
