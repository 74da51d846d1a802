"""Settings: one typed object read once from a TOML file and ``UPKEEP_*`` variables.

Precedence (highest first): explicit overrides, ``UPKEEP_*`` environment variables
(nested keys with ``__``, e.g. ``UPKEEP_RESOLVE__TTL_DAYS=3``), the TOML file, defaults.
The TOML file is ``--config``, else ``$UPKEEP_CONFIG``, else ``config/upkeep.toml`` when it
exists. Secrets never come from the file: they are read from their own environment
variables into :class:`Secrets` and are never logged, stored or rendered.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.errors import ConfigError as ConfigError  # re-exported: callers import it from here too

DEFAULT_CONFIG_PATH = Path("config/upkeep.toml")
DEFAULT_GITHUB_API_URL = "https://api.github.com"
DEFAULT_GITHUB_GRAPHQL_URL = "https://api.github.com/graphql"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_ECB_URL = "https://www.ecb.europa.eu/stats/eurofxref"
DEFAULT_OPENCOLLECTIVE_URL = "https://api.opencollective.com/graphql/v2"

#: The conventional variables of forge tokens, read even before the config names them (``token_env``).
FORGE_TOKEN_NAMES = ("GITLAB_TOKEN", "FORGEJO_TOKEN")
#: TOML keys that look like secrets and are refused in the file.
SECRET_LIKE_KEYS = frozenset({"token", "github_token", "slack_bot_token", "private_key", "webhook_url", "password"})


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(_Section):
    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default is sqlite:///upkeep.db beside the config file.",
    )


class InventorySettings(_Section):
    max_file_bytes: int = Field(default=200 * 1024 * 1024, gt=0, description="Refuse larger SBOM files.")
    paths: tuple[str, ...] = Field(default=(), description="SBOM files or folders ingested by every sync.")


class GitHubSettings(_Section):
    api_url: str = DEFAULT_GITHUB_API_URL
    graphql_url: str = DEFAULT_GITHUB_GRAPHQL_URL
    orgs: tuple[str, ...] = ()
    include_forks: bool = False
    include_archived: bool = False
    app_id: int | None = Field(default=None, description="GitHub App id; its key is GITHUB_APP_PRIVATE_KEY.")
    enterprise_server: bool = Field(default=False, description="Use the synchronous SBOM route (GHES).")
    max_concurrent_reports: int = Field(default=4, ge=1, le=20)
    max_concurrent_queries: int = Field(
        default=4, ge=1, le=20, description="GraphQL queries in flight at once (contributions, signals)."
    )
    rate_limit_wait_max_seconds: int = Field(default=300, ge=0)
    requests_per_hour: int = Field(
        default=5000, ge=1, description="Pace of each credential's shared token bucket (15000: App on GHEC)."
    )
    time_compression: float = Field(
        default=1.0,
        ge=1.0,
        description="How much faster the services' clock runs (real services: 1; the sandbox's factor).",
    )
    web_host: str = Field(default="github.com", description="Host of upstream keys for repositories seen here.")
    people_per_query: int = Field(
        default=10, ge=1, le=12, description="Accounts per contributions query (13 pass GraphQL's 500,000 nodes)."
    )
    contribution_repositories: int = Field(
        default=10,
        ge=1,
        le=100,
        description="Room per contribution list on the first ask (points grow with it); fuller lists are asked again.",
    )
    report_poll_seconds: float = Field(default=1.0, ge=0, description="First wait between SBOM report polls.")
    report_poll_attempts: int = Field(default=10, ge=1, description="Polls before a report is given up for this run.")


class RegistrySettings(_Section):
    """Base URLs of package registries; point them at mirrors or the sandbox."""

    pypi: str = "https://pypi.org"
    npm: str = "https://registry.npmjs.org"
    crates: str = "https://crates.io"
    goproxy: str = "https://proxy.golang.org"
    go_vanity_scheme: Literal["https", "http"] = "https"
    go_vanity_base: str | None = Field(
        default=None, description="Fetch go-get=1 pages from here instead of the import path host (sandbox)."
    )
    maven: str = "https://repo.maven.apache.org/maven2"
    rubygems: str = "https://rubygems.org"
    nuget: str = "https://api.nuget.org"
    packagist: str = "https://repo.packagist.org"
    depsdev: str = "https://api.deps.dev"


class ResolveSettings(_Section):
    ttl_days: float = Field(default=7.0, ge=0)
    per_host_limit: int = Field(default=8, ge=1, le=128)
    global_limit: int = Field(default=32, ge=1, le=512)
    timeout_seconds: float = Field(default=20.0, gt=0)
    max_retries: int = Field(default=4, ge=0, le=10)
    use_depsdev: bool = True
    extra_forges: tuple[str, ...] = Field(default=(), description="Hosts of self-hosted forges (GitLab, Gitea).")
    overrides: dict[str, str] = Field(
        default_factory=dict, description="purl pattern (fnmatch) -> HOST/OWNER/NAME; wins over everything."
    )


class PeopleSettings(_Section):
    extra_logins: dict[str, list[str]] = Field(default_factory=dict, description="person -> extra GitHub logins")
    accounts: dict[str, list[str]] = Field(
        default_factory=dict, description='person -> accounts on other forges, "FORGE:username" ([[forges]] name)'
    )
    email_domains: tuple[str, ...] = ()
    roster_csv: str | None = None
    bots: tuple[str, ...] = ()
    review_quarters: int = Field(default=6, ge=1, le=12, description="Calendar quarters gathered for the review.")


class FundingSettings(_Section):
    opencollective_slug: str | None = None
    opencollective_url: str = DEFAULT_OPENCOLLECTIVE_URL
    ledger_csv: str | None = None
    include_people_sponsorships: bool = False
    reporting_currency: str = "USD"
    rates: dict[str, float] = Field(
        default_factory=dict, description="Fixed rates (1 unit -> reporting currency), overriding the ECB's."
    )
    ecb_rates: bool = Field(default=True, description="Fetch the ECB's daily euro reference rates into the store.")
    ecb_url: str = DEFAULT_ECB_URL


class GapSettings(_Section):
    weights_file: str = "config/gaps.toml"
    developers: int | None = Field(default=None, ge=0, description="Headcount for the Open Source Pledge figure.")
    yearly_budget: float | None = Field(default=None, ge=0, description="Overrides the pledge figure.")
    pledge_per_developer: float = 2000.0
    window_days: int = Field(default=365, ge=1)
    exclude_own: bool = Field(
        default=True, description="Leave the organisation's own repositories (github.orgs) out of the gap model."
    )
    exclude: dict[str, str] = Field(
        default_factory=dict, description="HOST/OWNER/NAME patterns (fnmatch) not scored, each with the reason why."
    )

    @field_validator("exclude")
    @classmethod
    def _patterns_name_repositories(cls, value: dict[str, str]) -> dict[str, str]:
        for pattern, reason in value.items():
            if pattern.strip().strip("/").count("/") != 2:
                raise ValueError(f"{pattern!r}: a pattern is HOST/OWNER/NAME, e.g. github.com/acme-labs/*")
            if not reason.strip():
                raise ValueError(f"{pattern!r}: say why it is not scored (the review shows the reason)")
        return value


class SlackSettings(_Section):
    api_url: str = DEFAULT_SLACK_API_URL
    channel: str | None = Field(
        default=None, description="Channel id (C…) for the digest; history lookups need the id."
    )
    always_send: bool = False
    review_url: str | None = None
    top_gaps: int = Field(default=10, ge=1, le=40, description="Gaps listed in the digest.")
    max_attempts: int = Field(default=5, ge=1, description="Failed digest posts before the outbox reports them dead.")
    retry_backoff_seconds: float = Field(default=300.0, ge=0, description="First retry delay; doubles per attempt.")
    timeout_seconds: int = Field(default=30, ge=1)


NotifyKind = Literal["slack", "mattermost", "matrix", "teams", "email"]
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


class NotifySettings(_Section):
    """One ``[[notify]]`` entry: where a digest goes. Its secret is read from the variable it names."""

    kind: NotifyKind
    target: str | tuple[str, ...] = Field(
        description="Slack/Mattermost channel id, Matrix room id, a Teams label, or the email recipients."
    )
    secret_env: str | None = Field(default=None, description="Name of the environment variable holding its secret.")
    url: str | None = Field(default=None, description="Server URL (Mattermost, Matrix, Slack API) or smtp://host:port.")
    sender: str | None = Field(default=None, description="Email: the From address.")
    username: str | None = Field(default=None, description="Email: the SMTP login (the password is the secret).")
    ca_file: str | None = Field(default=None, description="Email: a CA bundle to trust for STARTTLS (private CAs).")
    top_gaps: int = Field(default=10, ge=1, le=40)
    always_send: bool = False
    max_attempts: int = Field(default=5, ge=1)
    retry_backoff_seconds: float = Field(default=300.0, ge=0)
    timeout_seconds: int = Field(default=30, ge=1)

    @field_validator("secret_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME.match(value):
            raise ValueError(f"{value!r}: the name of an environment variable (A-Z, 0-9, _), not the secret itself")
        return value

    def target_key(self) -> str:
        """The target as the outbox names it: email recipients sorted and comma-joined."""
        if isinstance(self.target, str):
            parts = [self.target] if self.kind != "email" else self.target.split(",")
        else:
            parts = list(self.target)
        parts = [p.strip() for p in parts if p.strip()]
        return ",".join(sorted(set(parts))) if self.kind == "email" else ",".join(parts)


ForgeKind = Literal["github", "gitlab", "forgejo"]


class ForgeSettings(_Section):
    """One ``[[forges]]`` entry: a forge upkeep reads (and may write issues to). Its token is read from the
    environment variable it names, never from the file."""

    name: str = Field(description="How accounts (people.accounts) and issues.forge name this forge.")
    kind: ForgeKind
    url: str = Field(description="The web base URL, e.g. https://gitlab.com.")
    api_url: str | None = Field(default=None, description="The API base; default: url + /api/v4 (GitLab).")
    token_env: str | None = Field(default=None, description="Name of the environment variable holding a read token.")
    issue_token_env: str | None = Field(
        default=None, description="Name of the variable holding the token that writes issues (default: token_env)."
    )
    hosts: tuple[str, ...] = Field(default=(), description="Upstream hosts this forge serves, e.g. gitlab.com.")
    groups: tuple[str, ...] = Field(default=(), description="The organisation's groups (with their subgroups).")
    include_forks: bool = False
    include_archived: bool = False
    sbom_paths: tuple[str, ...] = Field(default=(), description="Committed SBOM files read from each repository.")
    sbom_assets: tuple[str, ...] = Field(
        default=("*.cdx.json", "*.spdx.json", "sbom.json", "bom.json"),
        description="Forgejo: names (shell patterns) of the latest release's assets read as its SBOM.",
    )
    funding_paths: tuple[str, ...] = Field(
        default=(".gitlab/FUNDING.yml", ".github/FUNDING.yml", "FUNDING.yml"),
        description="Where an upstream's FUNDING.yml is looked for, first found wins.",
    )
    requests_per_hour: int = Field(default=2000, ge=1)
    timeout_seconds: float = Field(default=30.0, gt=0)
    time_compression: float = Field(default=1.0, ge=1, description="The sandbox's clock factor (1: real time).")

    @field_validator("token_env", "issue_token_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME.match(value):
            raise ValueError(f"{value!r}: the name of an environment variable (A-Z, 0-9, _), not the token itself")
        return value

    @field_validator("hosts")
    @classmethod
    def _hosts_lower(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(h.strip().lower() for h in value if h.strip())

    @property
    def api_base(self) -> str:
        if self.api_url:
            return self.api_url.rstrip("/")
        suffix = {"gitlab": "/api/v4", "forgejo": "/api/v1"}.get(self.kind, "")
        return self.url.rstrip("/") + suffix


class IssueSettings(_Section):
    repository: str | None = Field(default=None, description="OWNER/NAME of the OSPO repository.")
    forge: str | None = Field(
        default=None, description="The [[forges]] name the issues go to (default: GitHub, [github])."
    )
    labels: tuple[str, ...] = ("upkeep",)
    max_attempts: int = Field(default=5, ge=1)
    max_open: int = Field(
        default=10, ge=0, description="Gap issues open at most (highest priority first); the rest: the dashboard."
    )
    creator: str | None = Field(default=None, description="Login upkeep posts as; narrows the issue listing.")
    retry_backoff_seconds: float = Field(default=300.0, ge=0, description="First retry delay; doubles per attempt.")
    seconds_between_requests: float = Field(default=0.25, ge=0, description="PyGithub pacing.")
    seconds_between_writes: float = Field(default=1.0, ge=0, description="PyGithub pacing for POST/PATCH.")


class DecisionSettings(_Section):
    """How long a person's decision on a gap holds (``docs/decisions.md``)."""

    expiry_days: int = Field(default=180, ge=1, description="A decline or done holds at least this long.")
    snooze_days: int = Field(default=90, ge=1, description="A snooze hides the upstream this long.")
    material_growth: float = Field(
        default=0.5, ge=0, description="After expiry, the gap must have grown by this fraction to come back."
    )


class SignalsSettings(_Section):
    """Upstream health and sovereignty signals (``upkeep gather --signals``)."""

    foundations_file: str = Field(
        default="config/foundations.toml", description="Forge owners hosted by foundations; see the file."
    )
    exits_file: str = Field(
        default="config/exits.toml", description="Open forks that are a credible exit from an upstream; see the file."
    )
    foundation_owners: tuple[str, ...] = Field(default=(), description="More foundation owners (fnmatch).")
    company_owners: tuple[str, ...] = Field(default=(), description="Owners known to be company-controlled.")
    github_hosts: tuple[str, ...] = Field(default=("github.com",), description="Upstream hosts read via GitHub.")
    batch_size: int = Field(default=50, ge=1, le=100, description="Repositories per GraphQL query.")
    ttl_days: float = Field(default=7.0, ge=0, description="A scan older than this is redone.")
    window_days: int = Field(default=365, ge=1, description="Window for activity and people signals.")
    scorecard: bool = Field(default=True, description="Read OpenSSF Scorecard scores from deps.dev.")
    depsdev_batch_size: int = Field(
        default=5000,
        ge=0,
        le=5000,
        description="deps.dev projects per GetProjectBatch request (v3alpha); 0 turns batching off (one GET each).",
    )
    funding_json: bool = Field(default=True, description="Read funding.json manifests (conditional REST).")


class ReportSettings(_Section):
    """The quarterly review (``upkeep report``) and the Open Source Pledge member report beside it."""

    out_dir: str = Field(
        default="out/review", description="Where the review is written; a relative path is beside the config file."
    )
    top_gaps: int = Field(default=10, ge=1, le=100, description="Upstreams named as top gaps.")
    pledge_member_id: str | None = Field(default=None, description="The Pledge's member id; unset: no pledge.json.")
    pledge_name: str | None = Field(default=None, description="Member name (default: organisation).")
    pledge_description: str = ""
    pledge_short_description: str = ""
    pledge_url: str | None = Field(default=None, description="The organisation's open-source page.")
    pledge_join_date: date | None = Field(default=None, description="When the organisation joined the Pledge.")
    pledge_report_url: str | None = Field(default=None, description="Where this year's report is published.")


class WeightRule(_Section):
    """One ``[[usage.weight]]`` rule: which repositories it matches, and the weight they get.

    A rule matches by exactly one of: a custom property and its value (``property`` + ``value``),
    a topic, or a name pattern (fnmatch on ``owner/name``, lower-cased)."""

    weight: float = Field(ge=0, le=100, description="The repository's weight when the rule matches.")
    property: str | None = Field(default=None, description="A custom property's name; needs value.")
    value: str | None = Field(default=None, description="The custom property's value (case-insensitive).")
    topic: str | None = Field(default=None, description="A repository topic.")
    pattern: str | None = Field(default=None, description="An owner/name pattern, e.g. acme/payments-*.")

    @model_validator(mode="after")
    def _one_matcher(self) -> WeightRule:
        given = [name for name in ("property", "topic", "pattern") if getattr(self, name)]
        if len(given) != 1:
            raise ValueError("a rule matches by exactly one of property (with value), topic or pattern")
        if self.property and not self.value:
            raise ValueError(f"property {self.property!r}: give the value it must have")
        if self.value and not self.property:
            raise ValueError("value: give the property it belongs to")
        return self

    def label(self) -> str:
        """How the rule is named where a weight is explained: ``tier=critical``, ``topic:pci``, ``acme/pay-*``."""
        if self.property:
            return f"{self.property}={self.value}"
        return f"topic:{self.topic}" if self.topic else str(self.pattern)


class UsageSettings(_Section):
    """Repository weights and teams, read by ``upkeep sync`` from GitHub (docs/gap-model.md)."""

    team_property: str | None = Field(default=None, description="The custom property naming a repository's team.")
    team_topic_prefix: str | None = Field(
        default=None, description="A topic prefix naming the team: team-payments gives payments."
    )
    team_from_codeowners: bool = Field(
        default=False, description="Else the owning team of CODEOWNERS' * rule (@org/team gives team)."
    )
    weight: tuple[WeightRule, ...] = Field(
        default=(), description="[[usage.weight]] rules, first match wins; none: gaps.toml usage.default_repo_weight."
    )

    @field_validator("team_property", "team_topic_prefix")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank (leave the key out instead)")
        return value

    def needs_properties(self) -> bool:
        """Whether sync must read the organisation's custom property values."""
        return self.team_property is not None or any(rule.property for rule in self.weight)


class ScheduleSettings(_Section):
    timezone: str = "UTC"
    sync: str = "0 2 * * *"
    resolve: str = "30 2 * * *"
    gather: str = "0 3 * * *"
    score: str = "0 5 * * *"
    digest: str = "0 8 * * 1"
    issues: str = "0 6 * * *"
    review: str = "0 7 1 1,4,7,10 *"
    pipeline: str = Field(default="", description="The whole pipeline in one job (empty: off).")
    misfire_grace_seconds: int = Field(default=6 * 3600, ge=1)
    lease_seconds: int = Field(default=120, ge=10)


class Settings(BaseSettings):
    """The whole configuration. Sections mirror the TOML tables of ``config/upkeep.example.toml``."""

    model_config = SettingsConfigDict(env_prefix="UPKEEP_", env_nested_delimiter="__", extra="forbid", frozen=True)

    config_path: Path | None = Field(default=None, description="Where the TOML came from (set by the loader).")
    organisation: str = "example"
    database: DatabaseSettings = DatabaseSettings()
    inventory: InventorySettings = InventorySettings()
    github: GitHubSettings = GitHubSettings()
    registries: RegistrySettings = RegistrySettings()
    resolve: ResolveSettings = ResolveSettings()
    people: PeopleSettings = PeopleSettings()
    funding: FundingSettings = FundingSettings()
    gaps: GapSettings = GapSettings()
    slack: SlackSettings = SlackSettings()
    notify: tuple[NotifySettings, ...] = ()
    forges: tuple[ForgeSettings, ...] = ()
    issues: IssueSettings = IssueSettings()
    decisions: DecisionSettings = DecisionSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    signals: SignalsSettings = SignalsSettings()
    report: ReportSettings = ReportSettings()
    usage: UsageSettings = UsageSettings()

    @field_validator("organisation")
    @classmethod
    def _organisation_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML content arrives through init kwargs (see load_settings), below the environment.
        return env_settings, init_settings

    @model_validator(mode="after")
    def _forges_consistent(self) -> Settings:
        names = [f.name for f in self.forges]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"forges: name {twice[0]!r} is used by more than one [[forges]] entry")
        served: dict[str, str] = {}
        for forge in self.forges:
            for host in forge.hosts:
                if host in served:
                    raise ValueError(f"forges: host {host!r} is served by both {served[host]!r} and {forge.name!r}")
                served[host] = forge.name
        if self.issues.forge is not None and self.issues.forge not in names:
            raise ValueError(
                f"issues.forge: {self.issues.forge!r} names no [[forges]] entry (known: {names or 'none'})"
            )
        chosen = next((f for f in self.forges if f.name == self.issues.forge), None)
        if chosen is not None and chosen.kind == "github":
            raise ValueError(
                f"issues.forge: {chosen.name!r} is a github forge; GitHub issues go where [issues].forge is unset"
            )
        for person, accounts in self.people.accounts.items():
            for account in accounts:
                forge_name, sep, user = account.partition(":")
                if not sep or not user or forge_name not in names:
                    raise ValueError(
                        f"people.accounts.{person}: {account!r} is not FORGE:username with FORGE a [[forges]] name"
                    )
        return self

    def notify_secret_names(self) -> list[str]:
        """The environment variables the ``[[notify]]`` and ``[[forges]]`` entries read their secrets from."""
        forge_names = {n for f in self.forges for n in (f.token_env, f.issue_token_env) if n}
        return sorted({entry.secret_env for entry in self.notify if entry.secret_env} | forge_names)

    def database_url(self) -> str:
        """The database URL, defaulting to ``upkeep.db`` beside the config file."""
        if self.database.url:
            return self.database.url
        base = self.config_path.parent if self.config_path else Path.cwd()
        return f"sqlite:///{(base / 'upkeep.db').resolve()}"

    def review_dir(self) -> Path:
        """``report.out_dir``, a relative one taken beside the config file (like the database), else the cwd."""
        path = Path(self.report.out_dir).expanduser()
        if path.is_absolute():
            return path
        base = self.config_path.parent if self.config_path else Path.cwd()
        return (base / path).resolve()


class Secrets(BaseModel):
    """Credentials, only ever from the environment. ``repr`` and ``str`` never show them."""

    model_config = ConfigDict(frozen=True)

    github_token: SecretStr | None = None
    github_app_private_key: SecretStr | None = None
    slack_bot_token: SecretStr | None = None
    slack_webhook_url: SecretStr | None = None
    opencollective_token: SecretStr | None = None
    #: secrets that ``[[notify]]`` entries name by their variable (``secret_env``)
    named: dict[str, SecretStr] = Field(default_factory=dict)
    api_tokens: tuple[SecretStr, ...] = ()  # UPKEEP_API_TOKENS, comma-separated: bearer tokens of `upkeep serve`

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None, *, names: Iterable[str] = ()) -> Secrets:
        """The fixed secrets, and each variable in ``names`` (see :meth:`Settings.notify_secret_names`) that is set."""
        env = dict(os.environ if environ is None else environ)

        def get(name: str) -> SecretStr | None:
            value = env.get(name, "").strip()
            return SecretStr(value) if value else None

        return cls(
            github_token=get("GITHUB_TOKEN"),
            github_app_private_key=get("GITHUB_APP_PRIVATE_KEY"),
            slack_bot_token=get("SLACK_BOT_TOKEN"),
            slack_webhook_url=get("SLACK_WEBHOOK_URL"),
            opencollective_token=get("OPENCOLLECTIVE_TOKEN"),
            named={name: value for name in (*names, *FORGE_TOKEN_NAMES) if (value := get(name)) is not None},
            api_tokens=tuple(SecretStr(t.strip()) for t in env.get("UPKEEP_API_TOKENS", "").split(",") if t.strip()),
        )

    def named_secret(self, name: str | None) -> SecretStr | None:
        """The secret in variable ``name`` (read when the secrets were), or None."""
        return self.named.get(name) if name else None

    def values(self) -> list[str]:
        """Every secret value that is set, for redaction filters."""
        fields = (
            self.github_token,
            self.github_app_private_key,
            self.slack_bot_token,
            self.slack_webhook_url,
            self.opencollective_token,
        )
        return [f.get_secret_value() for f in (*fields, *self.named.values(), *self.api_tokens) if f is not None]


def find_config_path(explicit: str | Path | None, environ: dict[str, str] | None = None) -> Path | None:
    """Pick the TOML file: explicit path, else ``$UPKEEP_CONFIG``, else ``config/upkeep.toml`` if present."""
    env = os.environ if environ is None else environ
    if explicit:
        return Path(explicit)
    if env.get("UPKEEP_CONFIG"):
        return Path(env["UPKEEP_CONFIG"])
    return DEFAULT_CONFIG_PATH if DEFAULT_CONFIG_PATH.exists() else None


def _refuse_secrets(data: dict[str, Any], path: Path, prefix: str = "") -> None:
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if key.lower() in SECRET_LIKE_KEYS:
            raise ConfigError(
                f"{path}: {dotted}: secrets are read only from the environment "
                "(GITHUB_TOKEN, SLACK_BOT_TOKEN, GITHUB_APP_PRIVATE_KEY, ...), never from the config file"
            )
        if isinstance(value, dict) and key != "overrides":
            _refuse_secrets(value, path, f"{dotted}.")
        elif isinstance(value, list):  # arrays of tables, e.g. [[notify]]
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    _refuse_secrets(item, path, f"{dotted}[{i}].")


#: What a value of each pydantic error type should have been, in the words of a TOML file.
_EXPECTED = {
    "tuple_type": 'a list, e.g. ["a", "b"]',
    "list_type": 'a list, e.g. ["a", "b"]',
    "dict_type": "a table of keys and values",
    "model_type": "a table of keys and values",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": 'a quoted string, e.g. "text"',
    "date_type": "a date, e.g. 2026-01-31",
    "date_from_datetime_parsing": "a date, e.g. 2026-01-31",
}


def _known_keys(location: tuple[Any, ...], root: type[BaseModel]) -> list[str]:
    """The keys allowed at the table that holds ``location`` (for "did you mean")."""
    import typing

    model: Any = root
    for part in location[:-1]:
        if isinstance(part, int):  # an entry of an array of tables, e.g. [[usage.weight]]
            continue
        field = getattr(model, "model_fields", {}).get(part)
        model = getattr(field, "annotation", None) if field is not None else None
        items = [a for a in typing.get_args(model) if a is not Ellipsis]
        if items and not hasattr(model, "model_fields"):  # tuple[WeightRule, ...]: the entries' model
            model = items[0]
        if model is None:
            return []
    return [name for name in getattr(model, "model_fields", {}) if name != "config_path"]


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def describe_validation_error(error: ValidationError, origin: str, model: type[BaseModel] | None = None) -> str:
    """One line per problem: ``origin: dotted.key: what is wrong, what was given, what to write``.

    ``model`` (default :class:`Settings`) is what was validated, for the keys an unknown one is near."""
    import difflib

    lines = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"]) or "(top level)"
        kind = item["type"]
        if kind == "extra_forbidden":
            close = difflib.get_close_matches(
                str(item["loc"][-1]), _known_keys(tuple(item["loc"]), model or Settings), n=1
            )
            message = "unknown key" + (f" (did you mean {close[0]}?)" if close else "")
        elif kind in _EXPECTED:
            message = f"expected {_EXPECTED[kind]}, got {_shown(item['input'])}"
        elif "input" in item and not isinstance(item["input"], dict):
            message = f"{item['msg']}, got {_shown(item['input'])}"
        else:
            message = item["msg"]
        lines.append(f"{origin}: {location}: {message}")
    return "\n".join(lines)


def load_settings(
    config: str | Path | None = None, *, overrides: dict[str, Any] | None = None, search: bool = True
) -> Settings:
    """Read the settings once; raise :class:`ConfigError` naming the file and key on any mistake.

    ``search=False`` ignores ``$UPKEEP_CONFIG`` and ``config/upkeep.toml`` (the demo runs on defaults)."""
    path = find_config_path(config) if search or config else None
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"{path}: config file not found") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
        _refuse_secrets(data, path)
        data["config_path"] = path
    for key, value in (overrides or {}).items():
        section, _, leaf = key.partition(".")
        if leaf:
            data.setdefault(section, {})[leaf] = value
        else:
            data[key] = value
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, str(path) if path else "settings")) from exc
