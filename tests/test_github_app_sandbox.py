"""upkeep as a GitHub App: JWT, installation per organisation, installation tokens, end to end.

The sandbox's GitHub accepts the App's JWTs on the App routes and the installation tokens it
issues everywhere else. In the end-to-end test the world's plain token is withdrawn, so any part
of upkeep that reached for ``GITHUB_TOKEN`` instead of the App would be refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlmodel import Session, SQLModel, select

from bot.config import Secrets, load_settings
from bot.pipeline import StageContext
from bot.sandbox import SandboxServer, generate_world, ledger_csv, roster_csv, sandbox_environment, sandbox_settings
from bot.sandbox.github_app import APP_ID, app_private_key_pem, installation_id
from bot.sandbox.model import World
from bot.stages import REGISTRY
from bot.store.engine import make_engine
from bot.store.tables import ContributionRow, OutboxRow, PackageResolutionRow, UpstreamSignalRow


def app_jwt(key: str | rsa.RSAPrivateKey | None = None, *, iss: object = APP_ID, age: int = 0, lasts: int = 540) -> str:
    issued = int(datetime.now(UTC).timestamp()) - age
    claims = {
        "iat": issued - 60,
        "exp": issued + lasts,
        "iss": str(iss),
    }  # PyJWT wants iss as text, as PyGithub sends it
    return jwt.encode(claims, key or app_private_key_pem(), "RS256")


@pytest.fixture
def served() -> Iterator[tuple[World, str]]:
    world = generate_world(7, "small")
    with SandboxServer(world) as server:
        yield world, server.base_url


def test_an_app_jwt_buys_an_installation_token_that_works_everywhere(served: tuple[World, str]) -> None:
    world, base = served
    org = world.orgs[0]
    with httpx.Client(base_url=f"{base}/api/v3") as client:
        as_app = {"Authorization": f"Bearer {app_jwt()}"}
        installation = client.get(f"/orgs/{org}/installation", headers=as_app)
        assert installation.status_code == 200
        assert installation.json()["id"] == installation_id(org) and installation.json()["app_id"] == APP_ID
        minted = client.post(f"/app/installations/{installation_id(org)}/access_tokens", headers=as_app)
        assert minted.status_code == 201
        token = minted.json()["token"]
        expires = datetime.fromisoformat(minted.json()["expires_at"].replace("Z", "+00:00"))
        assert timedelta(minutes=55) < expires - datetime.now(UTC) <= timedelta(hours=1)
        members = client.get(f"/orgs/{org}/members", headers={"Authorization": f"Bearer {token}"})
        assert members.status_code == 200 and members.json()
        assert client.get(f"/orgs/{org}/members", headers=as_app).status_code == 401  # a JWT is no token
        assert client.get("/orgs/nobody/installation", headers=as_app).status_code == 404
    graphql = httpx.post(
        f"{base}/api/graphql", json={"query": "{ viewer { login } }"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert graphql.status_code == 200 and "errors" not in graphql.json()


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda: app_jwt(rsa.generate_private_key(public_exponent=65537, key_size=2048)), "could not be decoded"),
        (lambda: app_jwt(iss=APP_ID + 1), "Integration not found"),
        (lambda: app_jwt(age=3600), "'Expiration time'"),
        (lambda: app_jwt(lasts=3600), "too far in the future"),
        (lambda: "not.a.jwt", "could not be decoded"),
    ],
)
def test_jwts_github_would_refuse_are_refused(served: tuple[World, str], make: object, says: str) -> None:
    world, base = served
    token = make()  # type: ignore[operator]
    answer = httpx.get(f"{base}/api/v3/orgs/{world.orgs[0]}/installation", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401 and says in answer.json()["message"]


def test_the_whole_pipeline_runs_as_the_app_without_a_token(served: tuple[World, str], tmp_path: Path) -> None:
    world, base = served
    world.tokens["github"] = []  # only the App's installation tokens are accepted from here on
    roster, ledger = tmp_path / "roster.csv", tmp_path / "ledger.csv"
    roster.write_text(roster_csv(world), encoding="utf-8")
    ledger.write_text(ledger_csv(world), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'store.db'}"
    overrides = {
        **sandbox_settings(base, world, app=True),
        "database.url": url,
        "people.roster_csv": str(roster),
        "funding.ledger_csv": str(ledger),
        "issues.seconds_between_requests": 0,
        "issues.seconds_between_writes": 0,
    }
    settings = load_settings(None, overrides=overrides)
    environment = sandbox_environment(world, app=True)
    assert "GITHUB_TOKEN" not in environment
    secrets = Secrets.from_environment(environment)
    engine = make_engine(url)
    SQLModel.metadata.create_all(engine)
    context = StageContext(settings, secrets, engine, world.now)

    for name in ("sync", "resolve", "gather", "score", "deliver"):
        REGISTRY[name](context)

    assert world.tokens["github"], "the App minted installation tokens"
    with Session(engine) as session:
        assert session.exec(select(PackageResolutionRow)).first() is not None  # SBOMs synced and resolved
        assert session.exec(select(UpstreamSignalRow).where(UpstreamSignalRow.missing == False)).first()  # noqa: E712
        assert session.exec(select(ContributionRow)).first() is not None
        delivered = session.exec(select(OutboxRow).where(OutboxRow.channel == "github")).all()
    assert delivered and all(row.state == "delivered" for row in delivered)
    opened = world.issues[world.ospo_repo]
    assert opened and len(opened) == len(delivered)
    engine.dispose()
