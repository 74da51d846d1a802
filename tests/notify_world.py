"""Shared pieces for the notification tests: a hostile digest, settings for all five kinds, the SMTP server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.config import Secrets, Settings, load_settings
from bot.deliver.interface import DigestData, DigestGap, LicenceDrift
from bot.sandbox import SandboxServer, World, generate_world, sandbox_environment, sandbox_settings
from bot.sandbox.notify_targets import notify_entries, notify_environment
from bot.sandbox.smtp import SandboxSmtp

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
#: Upstream-controlled text that tries every trick of every format.
HOSTILE = (
    "github.com/evil/@room <b>bold</b> @channel @all @here @alice:evil.org <at>Alice</at> "
    "[click](https://evil.example) https://evil.example/x <script>alert(1)</script> ~town-square *star* _u_ &amp;"
)


def hostile_digest(period: str = "2026-W48") -> DigestData:
    gaps = tuple(
        DigestGap(upstream, 0.2 - i / 100, 2.5, 1000.0 + i, usage_share=0.3, investment_share=0.1)
        for i, upstream in enumerate([HOSTILE, "github.com/psf/requests", "github.com/pallets/flask"])
    )
    return DigestData(
        organisation="acme @here",
        period=period,
        currency="EUR",
        upstream_count=42,
        usage_total=314,
        yearly_budget=50_000.0,
        recommended_total=12_345.0,
        given_total=2_000.0,
        top_gaps=gaps,
        new_gaps=(HOSTILE,),
        licence_drift=(LicenceDrift(HOSTILE, "MIT", "BUSL-1.1 <at>x</at>"),),
    )


@dataclass
class NotifyWorld:
    world: World
    base_url: str
    smtp: SandboxSmtp
    settings: Settings
    secrets: Secrets

    @property
    def now(self) -> datetime:
        """The world's clock, which the fakes stamp messages with."""
        return self.world.now


@contextmanager
def notify_world(tmp_path: Path, *, overrides: dict[str, Any] | None = None) -> Iterator[NotifyWorld]:
    """A served sandbox and SMTP server, and settings that deliver the digest to all five kinds."""
    world = generate_world(7, "small")
    with SandboxServer(world) as server, SandboxSmtp(world, tmp_path / "tls") as smtp:
        base = server.base_url
        settings_overrides = sandbox_settings(base, world)
        settings_overrides["database.url"] = f"sqlite:///{tmp_path / 'upkeep.db'}"
        settings_overrides["notify"] = notify_entries(base, smtp_url=smtp.url, ca_file=smtp.ca_file)
        settings_overrides.update(overrides or {})
        settings = load_settings(None, overrides=settings_overrides, search=False)
        environment = {**sandbox_environment(world), **notify_environment(base, world)}
        secrets = Secrets.from_environment(environment, names=settings.notify_secret_names())
        yield NotifyWorld(world, base, smtp, settings, secrets)
