"""A GitHub App installed on every organisation of the world: JWT-authenticated App endpoints and
installation tokens, as GitHub serves them.

An App authenticates as itself with a short-lived RS256 JWT (``iss`` = the App id, ``iat`` and
``exp`` at most ten minutes apart), finds its installation on an organisation
(``GET /orgs/{org}/installation``) and exchanges the JWT for an installation token
(``POST /app/installations/{id}/access_tokens``), which then works like any token for an hour.

The App's key pair is made once per process, never stored: the world stays the same for the same
seed, and no private key sits in the repository. :func:`app_private_key_pem` hands the private half
to whatever plays upkeep's environment (``GITHUB_APP_PRIVATE_KEY``).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.sandbox.model import World

APP_ID = 424242
APP_SLUG = "upkeep-sandbox"
TOKEN_LIFETIME = timedelta(hours=1)
JWT_MAX_LIFETIME = timedelta(minutes=10)
CLOCK_SKEW = timedelta(seconds=60)


@cache
def _key_pair() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def app_private_key_pem() -> str:
    """The App's private key, PEM (PKCS#1, as GitHub hands it out), for the environment of a sandbox run."""
    return (
        _key_pair()
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
        .decode()
    )


def installation_id(org: str) -> int:
    """A stable installation id per organisation."""
    return 7_000_000 + sum(ord(c) * (i + 1) for i, c in enumerate(org.lower())) % 1_000_000


class SandboxApp:
    """The App's side of GitHub: checks its JWTs and issues installation tokens the fakes accept."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.installations = {installation_id(org): org for org in world.orgs}
        self._lock = threading.Lock()
        self._issued = 0
        #: token -> what it may do: its permissions and, when narrowed, its repositories (names in the org)
        self.grants: dict[str, Grant] = {}

    def narrow(self, installation: int, body: dict[str, Any]) -> Grant | str:
        """The grant a token request asks for (``permissions``, ``repositories``), or why GitHub refuses it (422).

        A request may only narrow: a permission the App lacks, or a level above the App's, is refused,
        and so is a repository the installation cannot see."""
        asked = body.get("permissions") or {}
        if not isinstance(asked, dict):
            return "Invalid request. For 'properties/permissions', is not an object."
        for name, level in asked.items():
            if name not in PERMISSIONS or LEVELS.get(str(level), 99) > LEVELS[PERMISSIONS[name]]:
                return "The permissions requested are not granted to this installation."
        repositories = body.get("repositories")
        org = self.installations[installation]
        if repositories is not None:
            if not isinstance(repositories, list) or not all(isinstance(r, str) for r in repositories):
                return "Invalid request. For 'properties/repositories', is not an array of strings."
            known = {r.full_name.lower() for r in self.world.internal_repos}
            if any(f"{org}/{name}".lower() not in known for name in repositories):
                return NOT_VISIBLE
        permissions = {str(k): str(v) for k, v in asked.items()} or dict(PERMISSIONS)
        names = tuple(str(r).lower() for r in repositories) if repositories is not None else None
        return Grant(org, permissions, names)

    def denied(self, token: str | None, method: str, path: str) -> str | None:
        """Why an installation token may not make this REST call (GitHub's 403 wording), or None."""
        grant = self.grants.get(token or "")
        if grant is None:
            return None  # a personal token, or no token: the routes' own checks apply
        repo = re.fullmatch(r"/repos/([^/]+)/([^/]+)(/.*)?", path)
        rest = (repo.group(3) or "") if repo else ""
        writing = method not in ("GET", "HEAD", "OPTIONS")
        elsewhere = repo is not None and (
            repo.group(1).lower() != grant.org.lower() or repo.group(2).lower() not in (grant.repositories or ())
        )
        if writing and grant.repositories is not None and elsewhere:
            return NOT_ACCESSIBLE
        if rest.startswith(("/issues", "/labels")):
            needed = "write" if writing else "read"
            if LEVELS.get(grant.permissions.get("issues", ""), 0) < LEVELS[needed]:
                return NOT_ACCESSIBLE
            return None
        if writing:
            return NOT_ACCESSIBLE  # the App writes nothing but issues
        if rest.startswith(("/contents", "/dependency-graph", "/commits", "/releases", "/license")):
            return None if grant.permissions.get("contents") else NOT_ACCESSIBLE
        if re.fullmatch(r"/orgs/[^/]+/members", path):
            return None if grant.permissions.get("members") else NOT_ACCESSIBLE
        if re.fullmatch(r"/orgs/[^/]+/properties/values", path):
            return None if grant.permissions.get("organization_custom_properties") else NOT_ACCESSIBLE
        return None

    def check_jwt(self, token: str | None, *, now: datetime | None = None) -> str | None:
        """Why ``token`` is no valid JWT of this App (GitHub's wording), or None when it is one."""
        if not token or token.count(".") != 2:
            return "A JSON web token could not be decoded"
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                _key_pair().public_key(),
                algorithms=["RS256"],
                options={"require": ["iat", "exp", "iss"], "verify_exp": False, "verify_iat": False},
            )
        except jwt.PyJWTError:
            return "A JSON web token could not be decoded"
        moment = now or datetime.now(UTC)
        issued = datetime.fromtimestamp(float(claims["iat"]), UTC)
        expires = datetime.fromtimestamp(float(claims["exp"]), UTC)
        if str(claims["iss"]) != str(APP_ID):
            return f"Integration not found for iss {claims['iss']}"
        if expires <= moment - CLOCK_SKEW:
            return "'Expiration time' claim ('exp') must be a numeric value representing the future time"
        if issued > moment + CLOCK_SKEW:
            return "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
        if expires - issued > JWT_MAX_LIFETIME + CLOCK_SKEW:
            return "'Expiration time' claim ('exp') is too far in the future"
        return None

    def issue_token(
        self, installation: int, *, now: datetime | None = None, grant: Grant | None = None
    ) -> tuple[str, datetime]:
        """A new installation token, accepted by the REST and GraphQL fakes from now on, limited to ``grant``."""
        with self._lock:
            self._issued += 1
            token = f"sandbox-installation-token-{installation}-{self._issued}"
            self.world.tokens.setdefault("github", []).append(token)
            self.grants[token] = grant or Grant(self.installations[installation], dict(PERMISSIONS), None)
        return token, (now or datetime.now(UTC)).replace(microsecond=0) + TOKEN_LIFETIME

    def app_json(self, api: str, html: str) -> dict[str, Any]:
        return {
            "id": APP_ID,
            "slug": APP_SLUG,
            "node_id": "A_kwDOsandbox",
            "client_id": "Iv1.sandbox00000000",
            "owner": {"login": self.world.orgs[0], "type": "Organization"},
            "name": "upkeep (sandbox)",
            "description": "The sandbox world's App for upkeep",
            "external_url": f"{html}/apps/{APP_SLUG}",
            "html_url": f"{html}/apps/{APP_SLUG}",
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "permissions": PERMISSIONS,
            "events": [],
        }

    def installation_json(self, installation: int, api: str, html: str) -> dict[str, Any]:
        org = self.installations[installation]
        return {
            "id": installation,
            "account": {"login": org, "type": "Organization"},
            "repository_selection": "all",
            "access_tokens_url": f"{api}/app/installations/{installation}/access_tokens",
            "repositories_url": f"{api}/installation/repositories",
            "html_url": f"{html}/organizations/{org}/settings/installations/{installation}",
            "app_id": APP_ID,
            "app_slug": APP_SLUG,
            "target_id": installation,
            "target_type": "Organization",
            "permissions": PERMISSIONS,
            "events": [],
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "single_file_name": None,
        }


#: What upkeep's App needs: read the organisations' repositories and members, write issues.
PERMISSIONS = {
    "contents": "read",
    "metadata": "read",
    "members": "read",
    "issues": "write",
    "organization_custom_properties": "read",
}
LEVELS = {"read": 1, "write": 2, "admin": 3}
NOT_ACCESSIBLE = "Resource not accessible by integration"
NOT_VISIBLE = "There is at least one repository that does not exist or is not accessible to the parent installation."


@dataclass(frozen=True)
class Grant:
    """What one installation token may do: the permissions it was given, and its repositories (None: all)."""

    org: str
    permissions: dict[str, str]
    repositories: tuple[str, ...] | None
