"""``upkeep demo``: the whole pipeline against the sandbox world; see :mod:`bot.demo`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.app import app
from bot.cli.sandbox import Scale


@app.command("demo")
def demo_command(
    out: Annotated[Path, typer.Option(help="Folder for everything the demo produces.")] = Path("demo-out"),
    scale: Annotated[
        Scale, typer.Option(help="The world's size: small (fast), medium (500 repositories) or large (benchmark size).")
    ] = Scale.small,
    seed: Annotated[int, typer.Option(help="The world's seed; the same seed gives the same world.")] = 7,
    latency_ms: Annotated[float, typer.Option(help="Latency the sandbox adds to every request.")] = 0.0,
    fault_rate: Annotated[float, typer.Option(help="Share of requests the sandbox answers with a fault.")] = 0.0,
    fresh: Annotated[bool, typer.Option(help="Start a new world even if OUT holds one.")] = False,
    as_app: Annotated[
        bool, typer.Option("--as-app", help="Authenticate as the world's GitHub App instead of with a token.")
    ] = False,
    hostile_text: Annotated[
        bool,
        typer.Option("--hostile-text", help="A world with pings, markup, fake markers and formulas in its text."),
    ] = False,
) -> None:
    """Run every stage against a generated world served on loopback; no configuration or tokens needed."""
    from bot.demo import DemoOptions, run_demo

    result = run_demo(
        DemoOptions(
            out=out,
            scale=scale.value,
            seed=seed,
            latency_ms=latency_ms,
            fault_rate=fault_rate,
            fresh=fresh,
            as_app=as_app,
            hostile_text=hostile_text,
        ),
        echo=typer.echo,
    )
    typer.echo("")
    for name, info in result.run.stages.items():
        typer.echo(f"  {name:8} {info.get('status'):7} {info.get('seconds', 0):>7} s")
    typer.echo("")
    if result.top_gaps:
        typer.echo("top gaps (where the organisation under-invests):")
        for n, gap in enumerate(result.top_gaps, 1):
            typer.echo(
                f"  {n}. {gap['upstream']:45} gap {gap['gap']:+.3f}  risk x{gap['risk']:.2f}  "
                f"recommended {gap['currency']} {gap['recommended']:,.0f}/year"
            )
    state = "continued the previous demo's world" if result.resumed else "fresh world"
    typer.echo(f"\ndeliveries this run: {result.deliveries} ({state})")
    if result.resumed and result.deliveries == 0:
        typer.echo("nothing new was delivered: every message and issue was already there (exactly once)")
    typer.echo(f"open {result.files['index.md']} to see what was produced")
    if result.run.status != "ok":
        raise typer.Exit(1)
