"""Builds the forge adapters of ``[[forges]]``: one client each, on the shared HTTP policy.

Each forge's token is read from the environment variable its entry names (``token_env``), paced by
the process's one token bucket for that credential (``requests_per_hour``), and never logged. A
``github`` entry is served by the existing GitHub code (``[github]``), so it builds no adapter here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

import httpx

from bot.config import ForgeSettings, Secrets, Settings
from bot.forges.forgejo import ForgejoForge
from bot.forges.gitlab import GitLabForge
from bot.forges.interface import Forge
from bot.http import RetryPolicy, bucket_for, compressed_policy, make_client


def make_forge(
    config: ForgeSettings,
    secrets: Secrets,
    *,
    bots: Iterable[str] = (),
    transport: httpx.BaseTransport | None = None,
    environ: Mapping[str, str] | None = None,
) -> Forge | None:
    """The adapter for one entry (None for ``github``, which ``[github]`` serves)."""
    if config.kind not in ("gitlab", "forgejo"):
        return None
    secret = secrets.named_secret(config.token_env)
    env = os.environ if environ is None else environ
    token = secret.get_secret_value() if secret is not None else (env.get(config.token_env or "", "").strip() or None)
    bucket = bucket_for(
        f"forge:{config.name}",
        token or f"anonymous:{config.api_base}",
        config.requests_per_hour,
        time_compression=config.time_compression,
    )
    client = make_client(
        config.api_base,
        token=token,
        timeout=config.timeout_seconds,
        transport=transport,
        bucket=bucket,
        policy=compressed_policy(RetryPolicy(), config.time_compression),
    )
    if config.kind == "forgejo":
        return ForgejoForge(config, client, bots=bots)
    return GitLabForge(config, client, bots=bots)


def make_forges(
    settings: Settings, secrets: Secrets, *, transport: httpx.BaseTransport | None = None
) -> dict[str, Forge]:
    """Every configured forge that has an adapter, by name."""
    out: dict[str, Forge] = {}
    for config in settings.forges:
        forge = make_forge(config, secrets, bots=settings.people.bots, transport=transport)
        if forge is not None:
            out[config.name] = forge
    return out


def forge_hosts(settings: Settings) -> dict[str, str]:
    """Upstream host → the name of the forge that serves it (GitHub entries excluded)."""
    return {host: f.name for f in settings.forges if f.kind != "github" for host in f.hosts}


def close_forges(forges: dict[str, Forge]) -> None:
    for forge in forges.values():
        client = getattr(forge, "client", None)
        if isinstance(client, httpx.Client):
            client.close()
