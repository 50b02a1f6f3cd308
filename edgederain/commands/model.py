"""CLI commands: model-info (parameters, MACs and the layer summary of a preset)."""

from __future__ import annotations

import json

import typer

from edgederain.commands.common import user_errors


def model_info(
    variant: str = typer.Option("thesis", "--variant", "-v", help="Model preset name."),
    height: int = typer.Option(320, help="Input height for the MAC count."),
    width: int = typer.Option(480, help="Input width for the MAC count."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Print parameters, conv MACs at HEIGHT x WIDTH and the per-block summary of a preset."""
    with user_errors():
        from edgederain.model import RainAutoencoder, build_model, get_preset
        from edgederain.model.summary import block_rows, conv_macs, count_parameters

        config = get_preset(variant)
        net = build_model(config)
        macs, convs = conv_macs(net, height, width)
        info = {
            "variant": variant,
            "config": config.to_dict(),
            "parameters": count_parameters(net),
            "autoencoder_parameters": count_parameters(RainAutoencoder(config)),
            "input": [1, 3, height, width],
            "macs": macs,
            "gmacs": round(macs / 1e9, 3),
            "blocks": [
                {"name": r.name, "type": r.kind, "parameters": r.params, "macs": r.macs}
                for r in block_rows(net, convs)
            ],
        }
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    typer.echo(f"preset {variant}: {config.to_dict()}")
    typer.echo(f"{'block':<20}{'type':<16}{'params':>12}{'GMAC':>10}")
    for b in info["blocks"]:
        typer.echo(f"{b['name']:<20}{b['type']:<16}{b['parameters']:>12,}{b['macs'] / 1e9:>10.3f}")
    typer.echo(f"{'total':<36}{info['parameters']:>12,}{info['gmacs']:>10.3f}")
    typer.echo(f"rain autoencoder (training only): {info['autoencoder_parameters']:,} parameters")
    typer.echo(f"MACs counted over Conv layers for a 1x3x{height}x{width} input")


def register(app: typer.Typer) -> None:
    """Add this area's commands to ``app``."""
    app.command("model-info")(model_info)
