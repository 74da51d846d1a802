"""One resolver for an upstream named on the command line: key, URL, OWNER/NAME or NAME alone."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from bot.cli.app import CliError
from bot.cli.upstreams import resolve_upstream, suggestions
from bot.store.engine import session_scope
from bot.store.renames import save_renames
from bot.store.tables import UpstreamRow, utcnow

KEYS = ("github.com/psf/requests", "github.com/nodejs/node", "github.com/acme/node", "gitlab.com/group/tool")


@pytest.fixture
def known(engine: Engine) -> Engine:
    with session_scope(engine) as session:
        for key in KEYS:
            host, owner, name = key.split("/")
            session.add(UpstreamRow(key=key, host=host, owner=owner, name=name))
    return engine


@pytest.mark.parametrize(
    "text",
    [
        "github.com/psf/requests",
        "GitHub.com/PSF/Requests/",
        "https://github.com/psf/requests",
        "https://github.com/psf/requests.git",
        "git+https://github.com/psf/requests.git",
        "git@github.com:psf/requests.git",
        "https://github.com/psf/requests/tree/main/src",
        "psf/requests",
        "requests",
    ],
)
def test_every_way_of_naming_it_gives_one_key(known: Engine, text: str) -> None:
    assert resolve_upstream(known, text) == "github.com/psf/requests"


def test_other_forges_and_ambiguous_names(known: Engine) -> None:
    assert resolve_upstream(known, "https://gitlab.com/group/tool") == "gitlab.com/group/tool"
    with pytest.raises(CliError) as caught:
        resolve_upstream(known, "node")
    assert "2 upstreams have that name: github.com/acme/node, github.com/nodejs/node" in str(caught.value)


def test_unknown_names_suggest_close_matches_and_exit_2(known: Engine) -> None:
    with pytest.raises(CliError) as caught:
        resolve_upstream(known, "https://github.com/psf/requestz")
    assert caught.value.exit_code == 2
    assert "unknown upstream (github.com/psf/requestz); did you mean github.com/psf/requests?" in str(caught.value)
    assert suggestions("github.com/nodejs/pulsepulse", KEYS) == []
    assert suggestions("github.com/nodejs/nod", KEYS)[0] == "github.com/nodejs/node"


def test_an_old_name_is_followed(known: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    with session_scope(known) as session:
        save_renames(
            session, {"github.com/kennethreitz/requests": "github.com/psf/requests"}, source="test", now=utcnow()
        )
    assert resolve_upstream(known, "kennethreitz/requests") == "github.com/psf/requests"
    assert "github.com/kennethreitz/requests is now github.com/psf/requests" in capsys.readouterr().out
