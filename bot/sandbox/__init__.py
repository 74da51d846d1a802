"""A self-contained world for the demo, the tests and the benchmarks.

``generate_world(seed, scale)`` builds the world; ``truth(world)`` says what a correct run must
find; ``Router`` answers requests for every fake service (``httpx.MockTransport(router.handler)``)
and ``SandboxServer`` serves it on loopback. ``sandbox_settings(base_url, world)`` gives the
settings overrides that point upkeep at a served world, ``sandbox_environment(world)`` the fake
tokens as the environment variables upkeep reads them from.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from bot.sandbox.generate import generate_world
from bot.sandbox.github_app import APP_ID, app_private_key_pem
from bot.sandbox.model import World
from bot.sandbox.server import Knobs, Router, SandboxServer
from bot.sandbox.truth import truth, world_truth_json

__all__ = [
    "Knobs",
    "Router",
    "SandboxServer",
    "World",
    "generate_world",
    "ledger_csv",
    "roster_csv",
    "sandbox_environment",
    "sandbox_settings",
    "sandbox_toml",
    "truth",
    "world_truth_json",
]


def _slack_channel(world: World) -> str:
    name = world.slack_channel or "upkeep"
    try:
        from bot.sandbox.slack import channel_id
    except ImportError:  # the Slack fake is not there: the name works for posting
        return name
    return channel_id(name)


def sandbox_settings(
    base_url: str,
    world: World | None = None,
    *,
    enterprise_server: bool = False,
    app: bool = False,
    time_compression: float | None = None,
) -> dict[str, Any]:
    """Settings overrides (``"section.key": value``, as ``load_settings(overrides=...)`` takes them)
    that point every remote endpoint at the sandbox served at ``base_url``, and, given the world,
    name its organisations, people rules, Open Collective account, Slack channel and OSPO repository.
    ``enterprise_server`` matches a sandbox served as GitHub Enterprise Server (synchronous SBOM route);
    ``app`` authenticates as the world's GitHub App instead of with a token (see :func:`sandbox_environment`);
    ``time_compression`` is the sandbox's declared clock factor (default: the sandbox's default), which
    upkeep applies to its own waits and pace."""
    from bot.sandbox.limits import DEFAULT_TIME_COMPRESSION

    base = base_url.rstrip("/")
    registry = f"{base}/registry"
    compression = DEFAULT_TIME_COMPRESSION if time_compression is None else time_compression
    urls: dict[str, Any] = {
        "github.api_url": f"{base}/api/v3",
        "github.graphql_url": f"{base}/api/graphql",
        "registries.pypi": f"{registry}/pypi",
        "registries.npm": f"{registry}/npm",
        "registries.crates": f"{registry}/crates",
        "registries.goproxy": f"{registry}/goproxy",
        "registries.go_vanity_scheme": "http",
        "registries.go_vanity_base": f"{registry}/govanity",
        "registries.maven": f"{registry}/maven2",
        "registries.rubygems": f"{registry}/rubygems",
        "registries.nuget": f"{registry}/nuget",
        "registries.packagist": f"{registry}/packagist",
        "registries.depsdev": f"{registry}/depsdev",
        "funding.opencollective_url": f"{base}/opencollective/graphql/v2",
        "slack.api_url": f"{base}/slack/api/",
        "github.time_compression": compression,
        "funding.ecb_url": f"{base}/ecb/stats/eurofxref",
    }
    if enterprise_server:
        urls["github.enterprise_server"] = True
    if app:
        urls["github.app_id"] = APP_ID
    if world is None:
        return urls
    extra_logins: dict[str, list[str]] = {}
    for person in world.people:
        if person.identity == "extra-login" and person.alias_of:
            extra_logins.setdefault(person.alias_of, []).append(person.login)
    accounts: dict[str, list[str]] = {}
    for p in world.people:
        if p.gitlab_username and p.gitlab_username.lower() != p.login.lower():
            accounts.setdefault(p.login, []).append(f"{GITLAB_FORGE}:{p.gitlab_username}")
        if p.forgejo_username and p.forgejo_username.lower() != p.login.lower():
            accounts.setdefault(p.login, []).append(f"{FORGEJO_FORGE}:{p.forgejo_username}")
    return {
        "organisation": world.orgs[0],
        **urls,
        "forges": [gitlab_forge(base, world, compression), forgejo_forge(base, world, compression)],
        "people.accounts": accounts,
        "github.orgs": tuple(world.orgs),
        "people.email_domains": tuple(world.email_domains),
        "people.extra_logins": extra_logins,
        "people.bots": tuple(sorted(p.login for p in world.people if p.is_bot)),
        "funding.opencollective_slug": world.opencollective_slug or world.orgs[0],
        "slack.channel": _slack_channel(world),
        "issues.repository": world.ospo_repo,
    }


GITLAB_FORGE = "gitlab"  # the name of the sandbox GitLab's [[forges]] entry
GITLAB_TOKEN_ENV = "GITLAB_TOKEN"


def gitlab_forge(base_url: str, world: World, time_compression: float | None = None) -> dict[str, Any]:
    """The ``[[forges]]`` entry of the sandbox GitLab: its hosts, the organisation's group, its token's variable;
    its clock factor is the sandbox's (default: the sandbox's default), like ``github.time_compression``."""
    from bot.sandbox.limits import DEFAULT_TIME_COMPRESSION

    groups = sorted(g for g in world.gitlab_groups if "/" not in g)
    return {
        "name": GITLAB_FORGE,
        "kind": "gitlab",
        "url": f"{base_url.rstrip('/')}/gitlab",
        "token_env": GITLAB_TOKEN_ENV,
        "hosts": list(world.gitlab_hosts),
        "groups": groups,
        "time_compression": DEFAULT_TIME_COMPRESSION if time_compression is None else time_compression,
    }


FORGEJO_FORGE = "codeberg"  # the name of the sandbox Forgejo's [[forges]] entry
FORGEJO_TOKEN_ENV = "FORGEJO_TOKEN"


def forgejo_forge(base_url: str, world: World, time_compression: float | None = None) -> dict[str, Any]:
    """The ``[[forges]]`` entry of the sandbox Forgejo (Codeberg-like): hosts, organisation, token variable,
    clock factor (as :func:`gitlab_forge`)."""
    from bot.sandbox.limits import DEFAULT_TIME_COMPRESSION

    return {
        "name": FORGEJO_FORGE,
        "kind": "forgejo",
        "url": f"{base_url.rstrip('/')}/forgejo",
        "token_env": FORGEJO_TOKEN_ENV,
        "hosts": list(world.forgejo_hosts),
        "groups": sorted(world.forgejo_orgs),
        "time_compression": DEFAULT_TIME_COMPRESSION if time_compression is None else time_compression,
    }


def sandbox_environment(world: World, *, app: bool = False) -> dict[str, str]:
    """The world's fake tokens under the environment variable names upkeep reads secrets from;
    with ``app``, the world's GitHub App key instead of a GitHub token."""
    github = {"GITHUB_APP_PRIVATE_KEY": app_private_key_pem()} if app else {"GITHUB_TOKEN": world.tokens["github"][0]}
    return {
        **github,
        "SLACK_BOT_TOKEN": world.tokens["slack"][0],
        "OPENCOLLECTIVE_TOKEN": world.tokens["opencollective"][0],
        GITLAB_TOKEN_ENV: world.tokens.get("gitlab", [""])[0],
        FORGEJO_TOKEN_ENV: world.tokens.get("forgejo", [""])[0],
    }


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_value(str(k))} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"{value!r}: not representable in TOML here")


def sandbox_toml(base_url: str, world: World, *, enterprise_server: bool = False) -> str:
    """:func:`sandbox_settings` as a TOML config snippet (tokens are not in it: they go in the environment)."""
    sections: dict[str, dict[str, Any]] = {}
    top: dict[str, Any] = {}
    for key, value in sandbox_settings(base_url, world, enterprise_server=enterprise_server).items():
        section, _, leaf = key.partition(".")
        if leaf:
            sections.setdefault(section, {})[leaf] = value
        else:
            top[section] = value
    lines = [f"{k} = {_toml_value(v)}" for k, v in top.items()]
    for section, values in sections.items():
        lines += ["", f"[{section}]"] + [f"{k} = {_toml_value(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


def roster_csv(world: World) -> str:
    """The people roster as CSV (login,name,email,start,end): members, email-domain people and leavers."""
    rows = ["login,name,email,start,end"]
    for p in world.people:
        if p.is_bot or p.identity in ("outsider", "extra-login"):
            continue
        start = p.roster_start.isoformat() if p.roster_start else ""
        end = p.roster_end.isoformat() if p.roster_end else ""
        rows.append(f"{p.login},{p.name},{p.emails[0]},{start},{end}")
    return "\n".join(rows) + "\n"


def ledger_csv(world: World) -> str:
    """The organisation's ledger of other payments as the CSV ``[funding].ledger_csv`` reads
    (date,upstream,amount,currency,channel,note); quoted by the csv module, so notes may hold commas."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["date", "upstream", "amount", "currency", "channel", "note"])
    for e in world.ledger:
        writer.writerow([e.paid_on.isoformat(), e.upstream, e.amount, e.currency, e.channel, e.note])
    return out.getvalue()
