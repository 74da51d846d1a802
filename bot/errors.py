"""One line for any failure: what failed (host, file, key, value) and what to do about it.

The CLI prints these, and the pipeline records them as a stage's error, so an operator reads the
same sentence in the terminal, in ``upkeep status`` and in the logs. Secrets never appear: URLs
lose their password, and no request header is ever quoted.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

#: The exit codes every command keeps (docs/cli.md).
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class ConfigError(Exception):
    """A configuration file or value is wrong; the message names the key.

    Defined here, not in ``bot.config``, so the command line can catch it without importing pydantic."""


def redact_url(url: str) -> str:
    """``url`` without its password (``postgresql://user:***@host/db``)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def _urls(value: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _urls(item, f"{prefix}{key}.")
    elif isinstance(value, str) and "://" in value:
        yield prefix.rstrip("."), value


def keys_for_host(settings: Any, host: str) -> list[str]:
    """The config keys whose URL points at ``host`` (``github.api_url``), to say where to fix it."""
    try:
        dumped = settings.model_dump(mode="json")
    except AttributeError:
        return []
    return [key for key, url in _urls(dumped) if (urlsplit(url).hostname or "") == host]


def _network(exc: Exception, settings: Any) -> str | None:
    import httpx

    if not isinstance(exc, httpx.HTTPError):
        return None
    try:
        request = exc.request
    except RuntimeError:  # an httpx error raised without a request
        return None
    host = request.url.host
    where = keys_for_host(settings, host) if settings is not None else []
    fix = f"; or correct {', '.join(where)} in the config" if where else ""
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        what = f"{request.method} {request.url.path}"
        return f"{host} answered {status} to {what}: check the credentials and the URL{fix}"
    reason = str(exc) or type(exc).__name__
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "cannot be reached"
    return (
        f"{host} {kind} ({type(exc).__name__}: {reason}): check the network, DNS and any HTTPS_PROXY, "
        f"then run the command again{fix}"
    )


def _database(exc: Exception) -> str | None:
    from sqlalchemy.exc import DBAPIError, NoSuchModuleError

    if isinstance(exc, NoSuchModuleError):
        return f"{exc}: use sqlite:///PATH or postgresql://USER@HOST/DB in database.url or --database-url"
    if not isinstance(exc, DBAPIError):
        return None
    first = (str(exc.orig) if exc.orig is not None else str(exc)).strip().splitlines()[0]
    return (
        f"database: {first}: check database.url (or --database-url, UPKEEP_DATABASE_URL) and that the "
        "server runs and accepts this user"
    )


def describe_error(exc: BaseException, settings: Any = None) -> str:
    """One line naming what failed and what to do; ``settings`` lets it name the config key of a host."""
    if isinstance(exc, Exception):
        for describe in (lambda e: _network(e, settings), _database):
            line = describe(exc)
            if line is not None:
                return line
    return f"{type(exc).__name__}: {exc}"
