"""Funding channels from FUNDING.yml, funding.json manifests and npm ``funding`` fields.

Real files are messy: GitHub's FUNDING.yml template left in place has every key present with
a null value, old templates carry the retired ``otechie`` key, and ``funding.json`` is both
the floss.fund manifest and an unrelated Optimism RetroPGF file. Each parser returns the
channels it could read plus its problems as data, one per key, so one bad key never hides
the good ones.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import yaml

from bot.signals.records import FundingChannel, FundingParse, FundingProblem

# https://docs.github.com/.../displaying-a-sponsor-button-in-your-repository and the SchemaStore schema.
_HANDLE_URLS: dict[str, Callable[[str], str]] = {
    "github": lambda h: f"https://github.com/sponsors/{h}",
    "patreon": lambda h: f"https://www.patreon.com/{h}",
    "open_collective": lambda h: f"https://opencollective.com/{h}",
    "ko_fi": lambda h: f"https://ko-fi.com/{h}",
    "tidelift": lambda h: f"https://tidelift.com/funding/github/{h}",
    "community_bridge": lambda h: f"https://funding.communitybridge.org/projects/{h}",
    "liberapay": lambda h: f"https://liberapay.com/{h}",
    "issuehunt": lambda h: f"https://issuehunt.io/r/{h}",
    "polar": lambda h: f"https://polar.sh/{h}",
    "buy_me_a_coffee": lambda h: f"https://www.buymeacoffee.com/{h}",
    "thanks_dev": lambda h: f"https://thanks.dev/{h}",
    "lfx_crowdfunding": lambda h: f"https://crowdfunding.lfx.linuxfoundation.org/projects/{h}",
}
_LIST_LIMITS = {"github": 5, "custom": 4}  # one org and four users; four custom URLs
_RETIRED = {"otechie"}
_TIDELIFT = re.compile(r"^(npm|pypi|rubygems|maven|packagist|nuget)/.+$")
_THANKS_DEV = re.compile(r"^u/gh/.+$")
_URL_LIKE = re.compile(r"^([a-z][a-z0-9+.-]*://\S+|[\w-]+(\.[\w-]+)+(/\S*)?)$", re.IGNORECASE)

FLOSS_FUND_VERSIONS = ("v1.0.0", "v1.1.0")


def _yaml_values(key: str, value: Any, problems: list[FundingProblem]) -> list[str]:
    """The handles under one key, or nothing with a problem saying why."""
    if value is None:
        problems.append(FundingProblem(key, "no value (a template key left empty); ignored"))
        return []
    items = value if isinstance(value, list) else [value]
    if isinstance(value, list):
        limit = _LIST_LIMITS.get(key)
        if limit is None:
            problems.append(FundingProblem(key, "takes one value, not a list; every item is read"))
        if not value:
            problems.append(FundingProblem(key, "empty list"))
        elif limit is not None and len(value) > limit:
            problems.append(FundingProblem(key, f"at most {limit} values, found {len(value)}; the first {limit} kept"))
            items = value[:limit]
        if len({str(v) for v in value}) != len(value):
            problems.append(FundingProblem(key, "repeated values"))
    handles = []
    for item in items:
        if not isinstance(item, str | int) or isinstance(item, bool):
            problems.append(FundingProblem(key, f"expected a string, found {type(item).__name__}"))
            continue
        text = str(item).strip()
        if not text:
            problems.append(FundingProblem(key, "empty string"))
            continue
        if key == "tidelift" and not _TIDELIFT.match(text):
            problems.append(FundingProblem(key, f"{text!r}: expected PLATFORM/PACKAGE with a Tidelift platform"))
            continue
        if key == "thanks_dev" and not _THANKS_DEV.match(text):
            problems.append(FundingProblem(key, f"{text!r}: expected u/gh/USERNAME"))
            continue
        if key == "custom" and not _URL_LIKE.match(text):
            problems.append(FundingProblem(key, f"{text!r}: not a URL"))
            continue
        if text not in handles:
            handles.append(text)
    return handles


def _custom_url(text: str) -> str:
    return text if "://" in text else f"https://{text}"


def parse_funding_yml(text: str, source: str = "FUNDING.yml") -> FundingParse:
    """Channels from a ``.github/FUNDING.yml`` text; problems per key (null, retired, unknown, malformed)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return FundingParse((), (FundingProblem("(file)", f"not valid YAML: {exc}"),))
    if data is None:
        return FundingParse((), (FundingProblem("(file)", "empty"),))
    if not isinstance(data, dict):
        return FundingParse((), (FundingProblem("(file)", f"expected a mapping, found {type(data).__name__}"),))
    channels: list[FundingChannel] = []
    problems: list[FundingProblem] = []
    for raw_key, value in data.items():
        key = str(raw_key).strip().lower()
        if key in _RETIRED:
            if value is not None:
                problems.append(FundingProblem(key, "retired platform; ignored"))
            else:
                problems.append(FundingProblem(key, "retired platform, no value; ignored"))
            continue
        if key != "custom" and key not in _HANDLE_URLS:
            problems.append(FundingProblem(key, "unknown platform; ignored"))
            continue
        for handle in _yaml_values(key, value, problems):
            url = _custom_url(handle) if key == "custom" else _HANDLE_URLS[key](handle)
            channels.append(FundingChannel(key, handle, url, source))
    return FundingParse(tuple(channels), tuple(problems))


def funding_json_kind(data: Any) -> str:
    """Which file this ``funding.json`` is: a floss.fund manifest (by version/$schema), Optimism's, or unknown."""
    if not isinstance(data, dict):
        return "unknown"
    if "opRetro" in data:
        return "optimism-retropgf"
    version = data.get("version")
    schema = str(data.get("$schema", ""))
    if version in FLOSS_FUND_VERSIONS:
        return f"floss.fund-{version}"
    match = re.search(r"(v?\d+\.\d+\.\d+)", schema) if ("fundingjson.org" in schema or "floss.fund" in schema) else None
    if match:
        return f"floss.fund-v{match.group(1).lstrip('v')}"
    if isinstance(data.get("entity"), dict) and isinstance(data.get("funding"), dict):
        return "floss.fund-v1.1.0"  # v1.1.0 made ``version`` optional
    return "unknown"


def parse_funding_json(text: str, source: str = "funding.json") -> FundingParse:
    """Channels of a floss.fund manifest; other files of the same name give no channels and say why."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return FundingParse((), (FundingProblem("(file)", f"not valid JSON: {exc.msg} at line {exc.lineno}"),))
    kind = funding_json_kind(data)
    if not kind.startswith("floss.fund"):
        reason = (
            "an Optimism RetroPGF file, not a floss.fund manifest"
            if kind == "optimism-retropgf"
            else "neither a floss.fund manifest (version/$schema) nor a known format"
        )
        return FundingParse((), (FundingProblem("(file)", reason),), kind)
    problems: list[FundingProblem] = []
    if data.get("version") not in (*FLOSS_FUND_VERSIONS, None):
        problems.append(FundingProblem("version", f"{data.get('version')!r}: unknown manifest version"))
    funding = data.get("funding")
    raw_channels = funding.get("channels") if isinstance(funding, dict) else None
    if not isinstance(raw_channels, list):
        problems.append(FundingProblem("funding.channels", "missing or not a list"))
        raw_channels = []
    channels = []
    for index, channel in enumerate(raw_channels):
        where = f"funding.channels[{index}]"
        if not isinstance(channel, dict):
            problems.append(FundingProblem(where, "not an object"))
            continue
        kind_of = str(channel.get("type") or "other")
        address = str(channel.get("address") or "").strip()
        if not address:
            problems.append(FundingProblem(where, "no address"))
        target = address or str(channel.get("guid") or channel.get("description") or kind_of)
        url = address if address.startswith(("https://", "http://")) else None
        channels.append(FundingChannel(kind_of, target, url, source))
    return FundingParse(tuple(channels), tuple(problems), kind)


def _platform_from_url(url: str) -> str:
    lowered = url.lower()
    for marker, platform in (
        ("github.com/sponsors", "github"),
        ("opencollective.com", "open_collective"),
        ("patreon.com", "patreon"),
        ("tidelift.com", "tidelift"),
        ("ko-fi.com", "ko_fi"),
        ("liberapay.com", "liberapay"),
        ("thanks.dev", "thanks_dev"),
        ("polar.sh", "polar"),
        ("buymeacoffee.com", "buy_me_a_coffee"),
    ):
        if marker in lowered:
            return platform
    return "custom"


def parse_npm_funding(value: Any, source: str = "npm") -> FundingParse:
    """The npm ``funding`` field: a URL string, an object ``{type, url}``, or an array of either."""
    items = value if isinstance(value, list) else [value]
    channels: list[FundingChannel] = []
    problems: list[FundingProblem] = []
    for index, item in enumerate(items):
        where = f"funding[{index}]" if isinstance(value, list) else "funding"
        if isinstance(item, str) and item.strip():
            url = item.strip()
            channels.append(FundingChannel(_platform_from_url(url), url, url, source))
        elif isinstance(item, dict) and isinstance(item.get("url"), str) and item["url"].strip():
            url = item["url"].strip()
            declared = str(item.get("type") or "").strip().lower().replace("-", "_").replace(" ", "_")
            channels.append(FundingChannel(declared or _platform_from_url(url), url, url, source))
        elif item is not None:
            problems.append(FundingProblem(where, "expected a URL or an object with a url"))
    return FundingParse(tuple(channels), tuple(problems))


def dedupe_channels(channels: list[FundingChannel]) -> tuple[FundingChannel, ...]:
    """One channel per URL (or platform and handle), keeping the first source that named it."""
    seen: set[str] = set()
    kept = []
    for channel in channels:
        key = (channel.url or f"{channel.platform}:{channel.target}").rstrip("/").lower()
        if key not in seen:
            seen.add(key)
            kept.append(channel)
    return tuple(kept)
