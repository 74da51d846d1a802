"""Checks made before a command writes anything: is there work, and are the credentials it needs set?

``upkeep run`` and ``upkeep worker`` call these so a misconfigured deployment exits 2 at once with
the reason, instead of recording an empty run or failing at 02:00 when the first job fires.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from bot.config import Secrets, Settings

#: Which worker jobs each pipeline stage amounts to, for the credential check of ``upkeep run``.
STAGE_JOBS: dict[str, tuple[str, ...]] = {
    "sync": ("sync",),
    "resolve": ("resolve",),
    "gather": ("gather",),
    "score": ("score",),
    "report": ("review",),
    "deliver": ("digest", "issues"),
}


def _has_github_credentials(settings: Settings, secrets: Secrets) -> bool:
    if settings.github.app_id is not None:
        return secrets.github_app_private_key is not None or secrets.github_token is not None
    return secrets.github_token is not None


def _forge_secret(secrets: Secrets, name: str) -> bool:
    return secrets.named_secret(name) is not None or bool(os.environ.get(name, "").strip())


def missing_credentials(settings: Settings, secrets: Secrets, jobs: Iterable[str]) -> list[str]:
    """One reason per job whose configured work needs a credential that is not in the environment."""
    jobs = set(jobs)
    if "pipeline" in jobs:
        jobs |= {"sync", "digest", "issues"}
    github = _has_github_credentials(settings, secrets)
    how = (
        "set GITHUB_APP_PRIVATE_KEY (github.app_id is set) or GITHUB_TOKEN"
        if settings.github.app_id is not None
        else "set GITHUB_TOKEN, or github.app_id and GITHUB_APP_PRIVATE_KEY"
    )
    reasons = []
    if "sync" in jobs and settings.github.orgs and not github:
        reasons.append(f"sync reads github.orgs ({', '.join(settings.github.orgs)}) but no GitHub credential: {how}")
    for forge in settings.forges:  # a [[forges]] entry's token is read from the variable it names
        if forge.kind == "github" or not forge.groups or not forge.token_env or _forge_secret(secrets, forge.token_env):
            continue
        if "sync" in jobs:
            reasons.append(f"sync reads forges.{forge.name}.groups but {forge.token_env} is not set: set it (read_api)")
    on_forge = next((f for f in settings.forges if f.name == settings.issues.forge), None)
    if "issues" in jobs and settings.issues.repository and on_forge is not None:
        variable = on_forge.issue_token_env or on_forge.token_env
        if not variable or not _forge_secret(secrets, variable):
            reasons.append(
                f"issues writes to issues.repository ({settings.issues.repository}) on forge {on_forge.name} "
                f"but {variable or 'no token_env'} is not set: set it (api scope on that project only)"
            )
    elif "issues" in jobs and settings.issues.repository and not github:
        reasons.append(
            f"issues writes to issues.repository ({settings.issues.repository}) but no GitHub credential: {how}"
        )
    if (
        "digest" in jobs
        and settings.slack.channel
        and secrets.slack_bot_token is None
        and secrets.slack_webhook_url is None
    ):
        reasons.append(
            f"digest posts to slack.channel ({settings.slack.channel}) but neither SLACK_BOT_TOKEN nor "
            "SLACK_WEBHOOK_URL is set: set one, or remove slack.channel"
        )
    return reasons


def _store_has_sboms(url: str) -> bool:
    """Whether the store already holds SBOM documents, read without creating or upgrading it."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from bot.store.engine import make_engine

    if url.startswith("sqlite"):
        database = make_url(url).database
        if not database or database == ":memory:" or not Path(database).expanduser().exists():
            return False
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT 1 FROM sbom_documents LIMIT 1")).first() is not None
    except SQLAlchemyError:
        return False
    finally:
        engine.dispose()


def nothing_to_do(settings: Settings) -> str | None:
    """Why ``upkeep run`` has nothing to work on, or None: no SBOM source configured and none stored."""
    if settings.github.orgs or settings.inventory.paths:
        return None
    url = settings.database_url()
    if _store_has_sboms(url):
        return None
    where = str(settings.config_path) if settings.config_path else "no config file (use --config or UPKEEP_CONFIG)"
    return (
        f"nothing to do: {where} sets neither [github].orgs nor [inventory].paths, and the store holds no "
        "SBOMs; set one of them, or read SBOM files first with `upkeep ingest PATH`"
    )
