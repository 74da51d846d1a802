"""``upkeep sandbox``: serve the generated world on loopback, or print its ground truth."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.app import CliError, app

if TYPE_CHECKING:
    from bot.sandbox.model import World

sandbox_app = typer.Typer(help="A generated world with fake GitHub, registries, Open Collective and Slack.")
app.add_typer(sandbox_app, name="sandbox", no_args_is_help=True)


class Scale(StrEnum):
    """The sandbox world's sizes (``bot.sandbox.generate.SCALES``), offered as choices."""

    small = "small"
    medium = "medium"
    large = "large"


ScaleOption = Annotated[
    Scale, typer.Option("--scale", help="small (fast), medium (500 repositories) or large (benchmark size).")
]
SeedOption = Annotated[int, typer.Option("--seed", help="Same seed, same world.")]
HostileOption = Annotated[
    bool,
    typer.Option("--hostile-text", help="Put pings, markup, fake markers and formulas in every free-text field."),
]


def _world(scale: Scale, seed: int, hostile_text: bool = False) -> World:
    from bot.sandbox import generate_world

    try:
        world = generate_world(seed, scale.value)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    if hostile_text:
        from bot.sandbox.hostile import hostile

        world = hostile(world)
    return world


@sandbox_app.command("serve")
def serve(
    scale: ScaleOption = Scale.small,
    seed: SeedOption = 7,
    port: Annotated[int, typer.Option("--port", help="TCP port on 127.0.0.1 (0: a free one).")] = 0,
    latency_ms: Annotated[float, typer.Option("--latency-ms", help="Added to every request.")] = 0.0,
    fault_rate: Annotated[float, typer.Option("--fault-rate", help="Share of requests that fail (0..1).")] = 0.0,
    enterprise_server: Annotated[
        bool,
        typer.Option("--enterprise-server", help="Act as GitHub Enterprise Server: only the synchronous SBOM route."),
    ] = False,
    hostile_text: HostileOption = False,
    limits: Annotated[
        str, typer.Option("--limits", help="GitHub limit profile: personal-token, app-installation(-ghec), off.")
    ] = "personal-token",
    time_compression: Annotated[
        float, typer.Option("--time-compression", help="The limits' clock runs this much faster (1: real time).")
    ] = 60.0,
    headerless_share: Annotated[
        float | None, typer.Option("--headerless-share", help="Share of secondary limits answered without headers.")
    ] = None,
) -> None:
    """Serve the world until Ctrl-C; print the base URLs, a config snippet and the fake tokens."""
    from bot.sandbox import Knobs, SandboxServer, sandbox_environment, sandbox_toml

    world = _world(scale, seed, hostile_text)
    try:
        knobs = Knobs(
            latency_ms=latency_ms,
            fault_rate=fault_rate,
            limits=limits,
            time_compression=time_compression,
            headerless_share=headerless_share,
        )
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    try:
        options = {"GitHubRestService": {"enterprise_server": True}} if enterprise_server else None
        server = SandboxServer(world, knobs=knobs, port=port, service_options=options)
    except OSError as exc:
        raise CliError(
            f"--port {port}: cannot listen on 127.0.0.1: {exc.strerror or exc}; choose another port"
        ) from exc
    base = server.base_url
    typer.echo(
        f"sandbox world: scale={scale.value} seed={seed} ({len(world.internal_repos)} repositories, "
        f"{len(world.packages)} packages, {len(world.upstreams)} upstream repositories)"
    )
    flavour = " (GitHub Enterprise Server: synchronous SBOM route)" if enterprise_server else ""
    typer.echo(f"  GitHub REST      {base}/api/v3{flavour}")
    typer.echo(f"  GitHub GraphQL   {base}/api/graphql")
    typer.echo(f"  Slack Web API    {base}/slack/api/")
    typer.echo(f"  Open Collective  {base}/opencollective/graphql/v2")
    typer.echo(f"  GitLab           {base}/gitlab/api/v4 (groups: {', '.join(sorted(world.gitlab_groups))})")
    typer.echo(f"  Forgejo          {base}/forgejo/api/v1 (organisations: {', '.join(sorted(world.forgejo_orgs))})")
    registries = "pypi|npm|crates|goproxy|govanity|maven2|rubygems|nuget|packagist|depsdev"
    typer.echo(f"  registries       {base}/registry/<{registries}>")
    typer.echo(f"  SBOM downloads   {server.alt_base_url}/sbom-downloads")
    profile = knobs.profile
    typer.echo(
        f"  limits           {profile.name}: {profile.description}; clock x{time_compression:g} "
        f"(set github.time_compression = {time_compression:g}); {profile.headerless_share:.0%} of secondary "
        "limits without headers"
    )
    typer.echo("\n# config snippet (e.g. config/sandbox.toml)\n")
    typer.echo(sandbox_toml(base, world, enterprise_server=enterprise_server))
    typer.echo("# fake tokens the sandbox accepts (export them; they are not secrets)")
    for name, value in sandbox_environment(world).items():
        typer.echo(f"export {name}={value}")
    token = world.tokens["github"][0]
    typer.echo(f"\ntry: curl -H 'Authorization: Bearer {token}' {base}/api/v3/orgs/{world.orgs[0]}/repos")
    typer.echo("serving; Ctrl-C stops")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        typer.echo("stopped")


@sandbox_app.command("truth")
def truth_command(
    scale: ScaleOption = Scale.small,
    seed: SeedOption = 7,
    as_json: Annotated[bool, typer.Option("--json", help="The whole truth as JSON.")] = False,
    hostile_text: HostileOption = False,
) -> None:
    """Print the world's ground truth (a summary, or everything with --json)."""
    from bot.sandbox import truth, world_truth_json

    world = _world(scale, seed, hostile_text)
    if as_json:
        typer.echo(world_truth_json(world), nl=False)
        return
    facts = truth(world)
    unresolved = sum(1 for p in facts["packages"] if p["true_upstream"] is None)
    typer.echo(f"world {scale.value}/{seed} at {facts['now']}")
    typer.echo(f"  packages     {len(facts['packages'])} ({unresolved} without an upstream)")
    typer.echo(f"  upstreams    {len(facts['upstreams'])}")
    typer.echo(f"  people       {sum(1 for p in facts['people'] if p['counts'])} counted of {len(facts['people'])}")
    typer.echo(f"  contributors {len(facts['contributions']['trailing_12_months'])} in the trailing 12 months")
    typer.echo(f"  funded       {len(facts['money'])} upstreams received money in the window")
    typer.echo("  under-invested: " + ", ".join(facts["under_invested"]))
