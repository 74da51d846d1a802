"""How the sandbox's fake services plug into its router and server.

A service is a plain ``httpx.Request -> httpx.Response`` function mounted under a path
prefix, so the same code answers ``httpx.MockTransport`` in unit tests and the threaded
loopback server for PyGithub, slack-sdk and the demo. The router (``server.py``) strips the
prefix, applies the knobs (latency, faults, rate limits), adds ``ETag`` to GET answers and
turns a matching ``If-None-Match`` into ``304``, and logs every request.

Mount points, relative to the sandbox base URL (``http://127.0.0.1:PORT``):

==========================  =================================================
``/api/v3``                 GitHub REST (GitHub Enterprise Server layout)
``/api/graphql``            GitHub GraphQL
``/sbom-downloads``         temporary SBOM download host (served on ``alt_base_url``)
``/slack/api``              Slack Web API
``/mattermost``             Mattermost API v4 (``/api/v4/posts``, ``/api/v4/channels/{id}/posts``)
``/matrix``                 Matrix client-server API (``/_matrix/client/v3/...``)
``/teams``                  a Teams Workflows webhook (``/workflows/{flow}?sig=...``)
``/opencollective/graphql/v2``  Open Collective GraphQL v2
``/registry/pypi``          PyPI JSON API (``/pypi/{name}/json``)
``/registry/npm``           npm registry
``/registry/crates``        crates.io API (``/api/v1/crates/{name}``)
``/registry/goproxy``       Go module proxy
``/registry/govanity``      vanity import path pages (``/{import path}?go-get=1``)
``/registry/maven2``        Maven Central layout
``/registry/rubygems``      RubyGems API
``/registry/nuget``         NuGet v3 (flat container + registration)
``/registry/packagist``     Packagist p2
``/registry/depsdev``       deps.dev API v3 (and v3alpha ``projectbatch``)
``/ecb``                    ECB euro reference rates (``/stats/eurofxref/eurofxref-hist.xml``, ...)
``/gitlab``                 GitLab REST v4 (``/api/v4/projects/...``, ``/groups/...``, ``/users/...``)
``/forgejo``                Forgejo API v1 (``/api/v1/repos/...``, ``/orgs/...``, ``/users/...``)
==========================  =================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import httpx


@dataclass(frozen=True)
class ServiceContext:
    """Where the world is served, for absolute URLs in answers (``Link``, ``sbom_url``, ...)."""

    base_url: str  # e.g. http://127.0.0.1:8123 (no trailing slash)
    alt_base_url: str  # another origin on the same server (http://localhost:8123), e.g. for downloads


class Service(Protocol):
    """One fake remote service."""

    prefix: str  # the mount point, e.g. "/api/v3"

    def handle(self, request: httpx.Request, path: str, context: ServiceContext) -> httpx.Response:
        """Answer ``request``; ``path`` is the URL path below ``prefix`` (starting with ``/``)."""
        ...
