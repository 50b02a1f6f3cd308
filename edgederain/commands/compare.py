"""CLI command: compare, for rainy images without ground truth (before/after sheets, no-reference
rain-removal figures; see :mod:`edgederain.compare` and ``docs/real_rain.md``).

Only typer and the standard library at module level. Exit status: 0 every input compared, 1 some
inputs failed (unreadable, corrupt, not an image: the others are compared and every failure is
listed), 2 usage error before any work (no input found, output is a file, an input folder or
unwritable, model or provider unusable), 130 Ctrl-C.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from edgederain.choices import DIFF_MODES
from edgederain.commands.common import MODEL_HELP, choice_enum, user_errors
from edgederain.commands.runtime import (
    _FALLBACK,
    _MAX_PIXELS,
    _PROVIDER,
    _THREADS,
    _TILE,
    _TILE_PAD,
    EXIT_INTERRUPTED,
    PrecisionChoice,
    ProviderChoice,
    _check_creatable,
    _max_pixels,
    _refuse_checkpoint,
    _session_config,
)

DiffChoice = choice_enum("DiffChoice", DIFF_MODES)


def compare(
    inputs: List[str] = typer.Argument(..., help="Rainy image files, folders or glob patterns."),
    output: Path = typer.Option(..., "--output", "-o", help="Folder for the sheets and reports (not an input folder)."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    provider: ProviderChoice = _PROVIDER,
    threads: int = _THREADS,
    allow_fallback: bool = _FALLBACK,
    tile: Optional[int] = _TILE,
    tile_pad: int = _TILE_PAD,
    max_pixels: Optional[int] = _MAX_PIXELS,
    max_side: Optional[int] = typer.Option(None, "--max-side", min=8, help="Downscale inputs whose longer side exceeds N before running the model."),
    amplify: float = typer.Option(4.0, "--amplify", "-k", help="Difference panel gain K: |input - output| x K."),
    diff: DiffChoice = typer.Option(DiffChoice.abs, "--diff", help="abs: |input - output| x K; signed: grey 128 + (input - output) x K."),
    row_height: int = typer.Option(240, "--row-height", min=16, help="Height of each sheet row in pixels."),
    rows_per_page: int = typer.Option(8, "--rows-per-page", min=1, help="Rows per sheet page (sheet.jpg, or sheet_1.jpg, sheet_2.jpg...)."),
    quality: int = typer.Option(85, "--quality", min=1, max=100, help="JPEG quality of the sheet pages."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or per-file notes."),
    photos: bool = typer.Option(True, "--photos/--no-photos", help="--no-photos: rows show only the difference panel (for photos you may not redistribute)."),
) -> None:
    """Before/after sheets and no-reference rain-removal figures for rainy images without ground truth.

    Writes into OUTPUT: sheet.jpg (or sheet_1.jpg, sheet_2.jpg... for many images; one row per
    image: input | output | amplified difference), report.csv and report.json (per image and mean:
    share of bright-streak energy removed, mean change, change outside the streaks), and prints
    the table. The figures measure change, not quality: read them beside the sheet
    (docs/real_rain.md). Exit status: 0 all compared, 1 some inputs failed, 2 usage error, 130 Ctrl-C.
    """
    try:
        with user_errors():
            report = _run(inputs, output, model, _session_config(
                provider, threads, allow_fallback, PrecisionChoice.f32, tile, tile_pad), provider.value,
                _options(amplify, diff, max_side, row_height, rows_per_page, quality, _max_pixels(max_pixels, tile), photos),
                quiet)
    except KeyboardInterrupt:
        typer.secho("interrupted: no report written (rerun the same command)", err=True, fg=typer.colors.YELLOW)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    _print_report(report, output)
    if report.failed:
        raise typer.Exit(1)


def _options(amplify, diff, max_side, row_height, rows_per_page, quality, max_pixels, photos=True):
    from edgederain.compare import CompareOptions

    return CompareOptions(amplify=amplify, diff=diff.value, max_side=max_side, row_height=row_height,
                          rows_per_page=rows_per_page, quality=quality, max_pixels=max_pixels, photos=photos)


def _check_output(out: Path, inputs: List[str], files: List[Path]) -> None:
    """Refuse an output that is a file or one of the input folders; check that it can be written."""
    from edgederain.errors import ImageWriteError

    if out.exists() and not out.is_dir():
        raise ImageWriteError(f"{out}: exists and is not a folder; pass a folder for the sheets and reports")
    target = out.resolve()
    folders = {Path(a).resolve() for a in inputs if Path(a).is_dir()} | {f.resolve().parent for f in files}
    if target in folders:
        raise ImageWriteError(
            f"{out}: is a folder of inputs; choose another -o so that sheets and reports never "
            "mix with or replace the inputs"
        )
    _check_creatable(out)


def _run(inputs, output, model, config, provider, options, quiet):
    import sys

    from tqdm import tqdm

    from edgederain import __version__
    from edgederain.compare import compare_images
    from edgederain.derain_files import expand_inputs
    from edgederain.errors import InputError
    from edgederain.runtime import DerainSession
    from edgederain.runtime.default_model import resolve_model

    files, unmatched = expand_inputs(inputs)
    if not files:
        reasons = "; ".join(f"{u.source}: {u.reason}" for u in unmatched)
        raise InputError(f"no input found ({reasons}); pass image files, folders or globs")
    _check_output(output, inputs, files)
    path = resolve_model(model, config)  # a packaged name becomes its file (a retired one: an error)
    if model is not None:
        _refuse_checkpoint(path)
    session = DerainSession(path, config)
    _warn_fallback(session, provider)
    settings = {"edgederain": __version__, "model": _shown(session.model_path),
                "model_sha256": _sha256(session.model_path),
                "precision": session.contract.precision, "providers": list(session.active_providers),
                "tile": None if config.tiling is None else config.tiling.tile,
                "tile_pad": None if config.tiling is None else config.tiling.pad}
    bar = tqdm(total=len(files), unit="image", disable=quiet, leave=False, file=sys.stderr)

    def progress(item) -> None:
        bar.update(1)
        if item.status == "failed" and not quiet:
            bar.write(f"failed: {item.source}: {item.reason}", file=sys.stderr)

    try:
        return compare_images(session.run, files, output, options, settings=settings, on_item=progress,
                              unmatched=[(u.source, u.reason) for u in unmatched])
    finally:
        bar.close()


def _warn_fallback(session, provider: str) -> None:
    """Say what runs when the requested provider did not become active (figures depend on it)."""
    from edgederain.runtime import Provider

    for reason in session.fallback_reasons:
        typer.secho(f"warning: {reason}", err=True, fg=typer.colors.YELLOW)
    if Provider(provider).ort_name not in session.active_providers:
        active = session.active_providers[0] if session.active_providers else "no provider"
        typer.secho(f"warning: --provider {provider} is not active: running {session.model_path} on {active}",
                    err=True, fg=typer.colors.YELLOW, bold=True)


def _shown(path: Path) -> str:
    """``path`` relative to the working folder when inside it (reports stay machine-independent)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fmt(value: float | None, scale: float = 1.0, spec: str = ".1f") -> str:
    return "n/a" if value is None else format(value * scale, spec)


def _print_report(report, output: Path) -> None:
    from dataclasses import asdict

    typer.echo(f"{'image':<28} {'size':>9} {'streaks %':>9} {'removed %':>9} {'drop Y':>7} "
               f"{'change':>7} {'scene':>7} {'bright':>7}")

    def line(name: str, size: str, f: dict) -> None:
        typer.echo(f"{name[:28]:<28} {size:>9} {_fmt(f['streak_cover'], 100):>9} "
                   f"{_fmt(f['rain_removed'], 100):>9} {_fmt(f['streak_drop']):>7} "
                   f"{_fmt(f['mean_change'], spec='.2f'):>7} {_fmt(f['scene_change'], spec='.2f'):>7} "
                   f"{_fmt(f['brightness_shift'], spec='+.2f'):>7}")

    for item in report.done:
        h, w = item.size
        line(Path(item.source).name, f"{w}x{h}", asdict(item.change))
    if report.done:
        line(f"mean of {len(report.done)}", "", report.means())
    for item in report.failed:
        typer.echo(f"  failed: {item.source}: {item.reason}")
    pages = ", ".join(p.name for p in report.sheets) or "no sheet"
    typer.echo(f"compared {len(report.done)}, failed {len(report.failed)}; wrote {pages}, "
               f"report.csv, report.json to {output}")


def register(app: typer.Typer) -> None:
    """Add this area's commands to ``app``."""
    app.command("compare")(compare)
