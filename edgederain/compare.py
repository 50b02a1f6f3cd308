"""Rainy images without ground truth: before/after sheets and no-reference rain-removal figures.

The engine behind ``edgederain compare`` (numpy + Pillow; the model is any callable that maps an
H x W x 3 uint8 RGB frame to the derained frame, e.g. ``DerainSession.run``). For each image:

- a sheet row: input | output | difference, each scaled to a common row height; the difference
  is ``|input - output| x amplify`` per RGB channel (``diff="abs"``) or a signed map, grey 128 +
  ``(input - output) x amplify``, so brightness the model removed is light and brightness it
  added is dark (``diff="signed"``). Rows go onto JPEG pages of at most ``rows_per_page`` rows.
- :class:`RainChange`, from the BT.601 luma Y (0..255 scale, :func:`edgederain.metrics.rgb_to_y`):

  * streak pixels: where the input's Y exceeds its local median (``median`` x ``median`` window,
    7 by default) by more than ``threshold`` levels (12): thin bright structures, where rain
    streaks are likely. ``top-hat`` = max(0, Y_in - median(Y_in)) is their excess brightness.
  * ``rain_removed``: the share of that excess the model took away,
    sum over streak pixels of min(top-hat, max(0, Y_in - Y_out)) / sum of top-hat (0..1; clipped
    per pixel, so darkening the whole frame does not count as more than the streak itself).
  * ``streak_drop``: mean of max(0, Y_in - Y_out) over streak pixels (Y levels, not clipped).
  * ``mean_change``: mean |input - output| over all pixels and RGB channels (8-bit levels), the
    over-processing indicator; ``scene_change``: the same outside the streak pixels and a 1-pixel
    border around them, i.e. how much the model alters what is probably scene.
  * ``brightness_shift``: mean(Y_out - Y_in) over the frame (negative: the output is darker).

Note:
    These figures measure change, not quality. A bright scene detail (a lit window edge, text,
    specular glints, foliage) that the model wipes out counts as rain removed, and faint or wide
    rain (veil, fog, drops on the lens) below the threshold is not counted at all. They are no
    substitute for PSNR/SSIM against ground truth (``edgederain evaluate``); read them beside the
    sheet. The method and its limits are described in ``docs/real_rain.md``.
"""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable, Literal, Sequence

import numpy as np

from edgederain.choices import DIFF_MODES, DiffMode
from edgederain.errors import ConfigError, EdgeDerainError, ImageReadError, ImageWriteError
from edgederain.io import DEFAULT_MAX_PIXELS, IMAGE_SUFFIXES, read_image, write_image
from edgederain.metrics import rgb_to_y

GAP = 4  # pixels between panels and rows, and around each page
LABEL_HEIGHT = 14  # the text band above each row and at the top of each page
FIGURES: tuple[str, ...] = (
    "streak_cover", "rain_removed", "streak_drop", "mean_change", "scene_change", "brightness_shift",
)
Model = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class StreakConfig:
    """Which pixels count as likely rain streaks: Y more than ``threshold`` levels above the
    median of a ``median`` x ``median`` window (odd, 3..31)."""

    median: int = 7
    threshold: float = 12.0

    def __post_init__(self) -> None:
        if not isinstance(self.median, int) or self.median % 2 == 0 or not 3 <= self.median <= 31:
            raise ConfigError(f"median window must be an odd int in 3..31, got {self.median!r}")
        if not (isinstance(self.threshold, (int, float)) and 0 <= self.threshold < 255):
            raise ConfigError(f"streak threshold must be in [0, 255) Y levels, got {self.threshold!r}")


@dataclass(frozen=True)
class RainChange:
    """No-reference figures for one image (see the module docstring); None where undefined
    (no streak pixels, or no scene pixels left)."""

    streak_cover: float
    rain_removed: float | None
    streak_drop: float | None
    mean_change: float
    scene_change: float | None
    brightness_shift: float


def _rank_filter(img: np.ndarray, size: int, kind: Literal["median", "max"]) -> np.ndarray:
    """Median or max filter of a uint8 H x W array with Pillow (edges replicated)."""
    from PIL import Image, ImageFilter

    f = ImageFilter.MedianFilter(size) if kind == "median" else ImageFilter.MaxFilter(size)
    return np.asarray(Image.fromarray(img, "L").filter(f))


def streak_tophat(rgb: np.ndarray, config: StreakConfig = StreakConfig()) -> tuple[np.ndarray, np.ndarray]:
    """(top-hat, streak mask) of an H x W x 3 image: max(0, Y - median(Y)) and top-hat > threshold."""
    y = rgb_to_y(rgb)
    med = _rank_filter(np.clip(np.rint(y), 0, 255).astype(np.uint8), config.median, "median")
    tophat = np.maximum(y - med, 0.0)
    return tophat, tophat > config.threshold


def _mean(values: np.ndarray, where: np.ndarray) -> float | None:
    return float(values[where].mean()) if where.any() else None


def rain_change(rainy: np.ndarray, derained: np.ndarray, config: StreakConfig = StreakConfig()) -> RainChange:
    """The figures for one input/output pair of H x W x 3 uint8 RGB images."""
    a, b = np.asarray(rainy), np.asarray(derained)
    if a.shape != b.shape or a.ndim != 3 or a.shape[2] != 3 or a.dtype != np.uint8 or b.dtype != np.uint8:
        raise ValueError(f"expected two H x W x 3 uint8 images of one shape, got {a.shape} {a.dtype} "
                         f"and {b.shape} {b.dtype}")
    tophat, streaks = streak_tophat(a, config)
    y_in, y_out = rgb_to_y(a), rgb_to_y(b)
    drop = y_in - y_out  # > 0 where the output is darker
    fall = np.maximum(drop, 0.0)
    energy = float(tophat[streaks].sum())
    removed = float(np.minimum(fall, tophat)[streaks].sum()) / energy if energy > 0 else None
    near = _rank_filter(streaks.astype(np.uint8), 3, "max").astype(bool)
    change = np.abs(a.astype(np.int16) - b.astype(np.int16)).mean(axis=2)
    return RainChange(
        streak_cover=float(streaks.mean()), rain_removed=removed, streak_drop=_mean(fall, streaks),
        mean_change=float(change.mean()), scene_change=_mean(change, ~near),
        brightness_shift=float((y_out - y_in).mean()),
    )


def difference_map(rainy: np.ndarray, derained: np.ndarray, *, amplify: float = 4.0,
                   mode: DiffMode = "abs") -> np.ndarray:
    """|rainy - derained| x amplify (``abs``) or 128 + (rainy - derained) x amplify (``signed``)."""
    d = np.asarray(rainy, np.float32) - np.asarray(derained, np.float32)
    out = np.abs(d) * amplify if mode == "abs" else 128.0 + d * amplify
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _resize(rgb: np.ndarray, height: int, width: int) -> np.ndarray:
    from PIL import Image

    if rgb.shape[:2] == (height, width):
        return rgb
    return np.asarray(Image.fromarray(rgb).resize((width, height), Image.LANCZOS))


def limit_side(rgb: np.ndarray, max_side: int | None) -> np.ndarray:
    """Downscale (Lanczos) so that the longer side is at most ``max_side``; None: unchanged."""
    h, w = rgb.shape[:2]
    if max_side is None or max(h, w) <= max_side:
        return rgb
    s = max_side / max(h, w)
    return _resize(rgb, max(8, round(h * s)), max(8, round(w * s)))


@dataclass(frozen=True)
class SheetRow:
    """One row of a sheet: a caption and the three panels (input, output, difference)."""

    label: str
    panels: tuple[np.ndarray, np.ndarray, np.ndarray]

    @classmethod
    def scaled(cls, label: str, panels: Sequence[np.ndarray], height: int) -> "SheetRow":
        h, w = panels[0].shape[:2]
        width = max(1, round(w * height / h))
        return cls(label, tuple(_resize(p, height, width) for p in panels))  # type: ignore[arg-type]


def render_page(rows: Sequence[SheetRow], header: str) -> np.ndarray:
    """One page: ``header`` on top, then each row's caption above its three panels."""
    from PIL import Image, ImageDraw, ImageFont

    row_h = rows[0].panels[0].shape[0]
    width = GAP + max(3 * r.panels[0].shape[1] + 2 * GAP for r in rows) + GAP
    height = GAP + LABEL_HEIGHT + len(rows) * (GAP + LABEL_HEIGHT + row_h) + GAP
    page = Image.new("RGB", (width, height), (32, 32, 32))
    draw, font = ImageDraw.Draw(page), ImageFont.load_default()
    draw.text((GAP, GAP), header, fill=(255, 255, 255), font=font)
    y = GAP + LABEL_HEIGHT
    for row in rows:
        y += GAP
        draw.text((GAP, y), row.label, fill=(230, 230, 230), font=font)
        y += LABEL_HEIGHT
        x = GAP
        for panel in row.panels:
            page.paste(Image.fromarray(panel), (x, y))
            x += panel.shape[1] + GAP
        y += row_h
    return np.asarray(page)


@dataclass
class SheetWriter:
    """Collects rows and writes pages: ``sheet.jpg`` when everything fits on one page, else
    ``sheet_1.jpg``, ``sheet_2.jpg``... (pages of earlier runs with other names are removed)."""

    folder: Path
    header: str
    rows_per_page: int = 8
    quality: int = 85
    written: list[Path] = field(default_factory=list)
    _rows: list[SheetRow] = field(default_factory=list)

    def add(self, row: SheetRow) -> None:
        if len(self._rows) == self.rows_per_page:
            self._write(f"sheet_{len(self.written) + 1}.jpg")
        self._rows.append(row)

    def close(self) -> list[Path]:
        if self._rows:
            self._write("sheet.jpg" if not self.written else f"sheet_{len(self.written) + 1}.jpg")
        keep = {p.name for p in self.written}
        for old in list(self.folder.glob("sheet.jpg")) + list(self.folder.glob("sheet_*.jpg")):
            if old.name not in keep and (old.stem == "sheet" or old.stem[6:].isdigit()):
                old.unlink()
        return list(self.written)

    def _write(self, name: str) -> None:
        page = render_page(self._rows, self.header)
        self.written.append(write_image(self.folder / name, page, jpeg_quality=self.quality))
        self._rows.clear()


@dataclass(frozen=True)
class CompareOptions:
    """Settings of one comparison run (validated)."""

    amplify: float = 4.0
    diff: DiffMode = "abs"
    max_side: int | None = None
    row_height: int = 240
    rows_per_page: int = 8
    quality: int = 85
    streaks: StreakConfig = StreakConfig()
    max_pixels: int | None = DEFAULT_MAX_PIXELS
    photos: bool = True  # False: rows show the difference panel only (for photos that may not be shared)

    def __post_init__(self) -> None:
        if not (isinstance(self.amplify, (int, float)) and 0 < self.amplify <= 255):
            raise ConfigError(f"--amplify must be in (0, 255], got {self.amplify!r}")
        if self.diff not in DIFF_MODES:
            raise ConfigError(f"--diff must be one of {DIFF_MODES}, got {self.diff!r}")
        for name, low in (("max_side", 8), ("row_height", 16), ("rows_per_page", 1)):
            value = getattr(self, name)
            if value is None and name == "max_side":
                continue
            if not isinstance(value, int) or value < low:
                raise ConfigError(f"--{name.replace('_', '-')} must be an int >= {low}, got {value!r}")
        if not 1 <= self.quality <= 100:
            raise ConfigError(f"--quality must be 1..100, got {self.quality!r}")


@dataclass(frozen=True)
class CompareItem:
    """One input: ``done`` with its figures, or ``failed`` with the reason."""

    source: str
    status: Literal["done", "failed"]
    reason: str = ""
    size: tuple[int, int] | None = None  # (height, width) the model ran at
    original_size: tuple[int, int] | None = None
    change: RainChange | None = None

    def row(self) -> dict:
        out = {"source": self.source, "name": Path(self.source).name}
        out["height"], out["width"] = self.size or (None, None)
        out["original_height"], out["original_width"] = self.original_size or (None, None)
        out.update(asdict(self.change) if self.change else dict.fromkeys(FIGURES))
        return out


@dataclass(frozen=True)
class CompareReport:
    """Every item, the mean figures over the done ones, the sheet pages and the settings."""

    items: tuple[CompareItem, ...]
    sheets: tuple[Path, ...]
    settings: dict

    @property
    def done(self) -> list[CompareItem]:
        return [i for i in self.items if i.status == "done"]

    @property
    def failed(self) -> list[CompareItem]:
        return [i for i in self.items if i.status == "failed"]

    def means(self) -> dict[str, float | None]:
        """Unweighted mean of each figure over the images where it is defined."""
        out: dict[str, float | None] = {}
        for name in FIGURES:
            vals = [getattr(i.change, name) for i in self.done if getattr(i.change, name) is not None]
            out[name] = float(np.mean(vals)) if vals else None
        return out

    def to_dict(self) -> dict:
        return {
            "schema": 1, "settings": self.settings,
            "images": [i.row() for i in self.done], "mean": self.means(), "count": len(self.done),
            "failed": [{"source": i.source, "reason": i.reason} for i in self.failed],
            "sheets": [p.name for p in self.sheets],
        }

    def write(self, folder: Path) -> tuple[Path, Path]:
        """report.csv (one row per image, then a ``(mean)`` row) and report.json in ``folder``."""
        csv_path, json_path = folder / "report.csv", folder / "report.json"
        rows = [i.row() for i in self.done] + [{"source": "(mean)", "name": "(mean)", **self.means()}]
        names = list(CompareItem("", "done").row())
        try:
            with open(csv_path, "w", newline="", encoding="utf-8") as f:
                writer = csv.DictWriter(f, fieldnames=names, restval="")
                writer.writeheader()
                writer.writerows({k: _csv_value(v) for k, v in r.items()} for r in rows)
            json_path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            raise ImageWriteError(f"{folder}: could not write the report ({exc})") from None
        return csv_path, json_path


def _csv_value(v: object) -> object:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.6g}"
    return "" if v is None else v


def _label(item: CompareItem) -> str:
    c, (h, w) = item.change, item.size
    assert c is not None
    removed = "n/a" if c.rain_removed is None else f"{100 * c.rain_removed:.0f}%"
    scene = "n/a" if c.scene_change is None else f"{c.scene_change:.1f}"
    return (f"{Path(item.source).name} {w}x{h}: streaks {100 * c.streak_cover:.1f}% of pixels, "
            f"removed {removed}; mean change {c.mean_change:.1f}, scene {scene}")


def _one(model: Model, src: Path, options: CompareOptions) -> tuple[CompareItem, np.ndarray, np.ndarray]:
    if src.suffix.lower() not in IMAGE_SUFFIXES:
        raise ImageReadError(f"{src}: not an image ({src.suffix or 'no suffix'}); compare reads "
                             f"{', '.join(IMAGE_SUFFIXES)} (extract video frames first)")
    rgb = read_image(src, max_pixels=options.max_pixels).rgb
    small = limit_side(rgb, options.max_side)
    out = np.asarray(model(small))
    change = rain_change(small, out, options.streaks)
    item = CompareItem(str(src), "done", size=small.shape[:2], original_size=rgb.shape[:2], change=change)
    return item, small, out


def compare_images(model: Model, files: Sequence[Path], folder: str | os.PathLike, options: CompareOptions, *,
                   settings: dict | None = None, unmatched: Sequence[tuple[str, str]] = (),
                   on_item: Callable[[CompareItem], None] = lambda item: None) -> CompareReport:
    """Run ``model`` over ``files``, write the sheet pages and report.csv / report.json into
    ``folder`` (created when needed); an input that fails is reported and the run goes on.

    ``unmatched``: (argument, reason) of command-line inputs that named nothing, reported as failed;
    ``settings``: extra entries (model, providers...) for the report's settings."""
    out_dir = Path(folder)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImageWriteError(f"{out_dir}: cannot create the output folder ({exc.strerror or exc})") from None
    header = ("input | output | " if options.photos else "") + (
        "|input - output|" if options.diff == "abs" else "signed input - output")
    sheets = SheetWriter(out_dir, f"{header} x {options.amplify:g}", options.rows_per_page, options.quality)
    items = [CompareItem(source, "failed", reason) for source, reason in unmatched]
    for src in files:
        try:
            item, rgb, out = _one(model, Path(src), options)
            diff = difference_map(rgb, out, amplify=options.amplify, mode=options.diff)
            panels = (rgb, out, diff) if options.photos else (diff,)
            sheets.add(SheetRow.scaled(_label(item), panels, options.row_height))
        except Exception as exc:  # noqa: BLE001 - a batch reports the input and goes on
            text = str(exc) if isinstance(exc, EdgeDerainError) else f"{type(exc).__name__}: {exc}"
            item = CompareItem(str(src), "failed", text.removeprefix(f"{src}: "))
        items.append(item)
        on_item(item)
    pages = sheets.close()
    record = {**(settings or {}), **{f.name: getattr(options, f.name) for f in fields(options)}}
    record["streaks"] = asdict(options.streaks)
    report = CompareReport(tuple(items), tuple(pages), record)
    report.write(out_dir)
    return report
