"""Derain image files, folders, globs and video files: the engine behind ``edgederain derain``.

Inputs: a file, a folder (its images and videos, not recursive), or a glob pattern. Outputs go to
a folder under the input's name, with the input's suffix unless ``suffix`` is given; a single
input may instead name an output file. The output folder (or an output file's folder) is created
when the first output is written, and removed again if the job created it and wrote nothing into
it, so a failed job leaves no empty folders behind. Every item ends as one :class:`ItemResult`:

- ``done``: written (atomically: temporary file, then rename; temporary files left in the output
  folder by an earlier run that was killed are removed when the job starts);
- ``skipped``: the output exists and ``overwrite`` is off (so an interrupted job resumes);
- ``failed``: unreadable or corrupt input, output would overwrite an input, two inputs would
  write the same output, the model refused the frame, the write failed... with the reason.

A failed item never stops the job; Ctrl-C (KeyboardInterrupt) stops it between writes and the
summary says so, with the count of inputs not reached. Grayscale, RGBA, palette and 16-bit inputs
are converted to 8-bit RGB with a note (or refused, per ``alpha`` / ``high_bit_depth``), EXIF
orientation is applied, images over ``max_pixels`` are refused; outputs are 8-bit RGB.
"""

from __future__ import annotations

import contextlib
import glob
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Literal, Sequence

import numpy as np

from edgederain.errors import EdgeDerainError, ImageWriteError
from edgederain.io import (
    DEFAULT_MAX_PIXELS,
    IMAGE_SUFFIXES,
    Policy,
    ProtectedPaths,
    read_image,
    remove_stale_temporaries,
    write_image,
)
from edgederain.video import VIDEO_SUFFIXES, is_video

Status = Literal["done", "skipped", "failed"]
MEDIA_SUFFIXES = IMAGE_SUFFIXES + VIDEO_SUFFIXES
Progress = Callable[[str, int, "int | None"], None]  # (source, frames or tiles done, total)


@dataclass(frozen=True)
class ItemResult:
    """What happened to one input."""

    source: str
    status: Status
    output: str | None = None
    reason: str = ""
    notes: tuple[str, ...] = ()
    frames: int = 0


@dataclass(frozen=True)
class JobSummary:
    """All items, in the order they finished, and their counts.

    ``interrupted``: the job was stopped (Ctrl-C) with ``remaining`` inputs not finished.
    """

    items: tuple[ItemResult, ...]
    interrupted: bool = False
    remaining: int = 0

    def count(self, status: Status) -> int:
        return sum(1 for i in self.items if i.status == status)

    @property
    def ok(self) -> bool:
        """True when nothing failed (skipped items are fine)."""
        return self.count("failed") == 0


@dataclass(frozen=True)
class JobOptions:
    """How to name and write outputs, and how to treat odd inputs."""

    out: Path
    out_is_file: bool = False
    suffix: str | None = None
    overwrite: bool = False
    batch: int = 1
    alpha: Policy = "convert"
    high_bit_depth: Policy = "convert"
    max_pixels: int | None = DEFAULT_MAX_PIXELS
    temporal: Any = None  # videos: a runtime.temporal.TemporalConfig, or None (frame by frame)
    keep_audio: bool = False
    preview: bool = False

    def __post_init__(self) -> None:
        if self.suffix is not None and self.suffix.lower() not in IMAGE_SUFFIXES:
            formats = ", ".join(s.lstrip(".") for s in IMAGE_SUFFIXES)
            raise ImageWriteError(f"--format {self.suffix.lstrip('.')!r} is not one of {formats}")
        if self.batch < 1:
            raise ImageWriteError(f"--batch must be >= 1, got {self.batch}")


def expand_inputs(args: Sequence[str]) -> tuple[list[Path], list[ItemResult]]:
    """Files from paths, folders and globs (duplicates dropped); failures for unmatched arguments."""
    files: list[Path] = []
    failures: list[ItemResult] = []
    for arg in args:
        p = Path(arg)
        if p.is_dir():
            found = sorted((q for q in p.iterdir() if q.suffix.lower() in MEDIA_SUFFIXES), key=_natural)
        elif p.exists():
            found = [p]
        elif glob.has_magic(arg):
            found = sorted((Path(m) for m in glob.glob(arg) if Path(m).is_file()), key=_natural)
        else:
            found = []
        if not found:
            failures.append(ItemResult(arg, "failed", reason="no such file, or no images/videos in it"))
        files.extend(found)
    seen: set[Path] = set()
    unique = [f for f in files if not (f.resolve() in seen or seen.add(f.resolve()))]
    return unique, failures


def _natural(p: Path) -> list:
    import re

    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", str(p))]


def output_for(src: Path, options: JobOptions) -> Path:
    """Where ``src``'s result goes."""
    if options.out_is_file:
        return options.out
    suffix = src.suffix if is_video(src) or options.suffix is None else options.suffix
    return options.out / (src.stem + suffix)


def _precheck(src: Path, dst: Path, inputs: ProtectedPaths, claimed: set[Path],
              options: JobOptions) -> ItemResult | None:
    """A result for items that must not run (unsupported, collisions, existing output)."""
    if src.suffix.lower() not in MEDIA_SUFFIXES:
        return ItemResult(str(src), "failed", reason=f"unsupported file type {src.suffix or '(none)'}")
    if is_video(src) != is_video(dst):
        kind = "a video" if is_video(src) else "an image"
        return ItemResult(str(src), "failed", str(dst), f"{kind} needs an output of the same kind")
    if dst in inputs:
        return ItemResult(str(src), "failed", str(dst), "output would overwrite an input; choose another -o")
    key = dst.resolve()
    if key in claimed:
        return ItemResult(str(src), "failed", str(dst), "another input already writes this output name")
    claimed.add(key)
    if dst.exists() and not options.overwrite:
        return ItemResult(str(src), "skipped", str(dst), "output exists (pass --overwrite to replace)")
    return None


def plan(inputs: Sequence[Path], options: JobOptions) -> tuple[list[tuple[Path, Path]], list[ItemResult]]:
    """The checks :func:`run_job` makes before running anything, for a job that runs elsewhere
    (``edgederain.fleet``): ((input, output) pairs to run, results of the inputs that must not
    run: unsupported, output collisions, an output over an input, existing outputs), in order."""
    protected, claimed = ProtectedPaths(inputs), set()
    todo: list[tuple[Path, Path]] = []
    early: list[ItemResult] = []
    for src in inputs:
        dst = output_for(src, options)
        result = _precheck(src, dst, protected, claimed, options)
        if result is None:
            todo.append((src, dst))
        else:
            early.append(result)
    return todo, early


@dataclass
class _Pending:
    """Images read and waiting to be run as one batch."""

    items: list[tuple[Path, Path, Any]] = field(default_factory=list)

    def fits(self, rgb: np.ndarray, batch: int) -> bool:
        return not self.items or (len(self.items) < batch and self.items[0][2].rgb.shape == rgb.shape)


class _Folders:
    """Output folders created by the job; :meth:`tidy` removes those left empty."""

    def __init__(self) -> None:
        self.created: list[Path] = []

    def ensure(self, folder: Path) -> None:
        missing = []
        for f in (folder, *folder.parents):
            if f.exists():
                break
            missing.append(f)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ImageWriteError(f"{folder}: cannot create the output folder ({exc.strerror or exc})") from None
        self.created.extend(reversed(missing))

    def tidy(self) -> None:
        for f in reversed(self.created):
            try:
                f.rmdir()  # only succeeds when empty
            except OSError:
                pass


@dataclass
class _Job:
    """What every item of one job shares."""

    session: Any
    inputs: list[Path]
    options: JobOptions
    on_progress: Progress | None
    folders: _Folders = field(default_factory=_Folders)
    pending: _Pending = field(default_factory=_Pending)
    protected: ProtectedPaths = field(default_factory=ProtectedPaths)


def _flush(job: _Job) -> list[ItemResult]:
    """Run the pending images as one batch and write them; a failure fails each of them."""
    items = list(job.pending.items)
    job.pending.items.clear()
    if not items:
        return []
    said: list[str] = []
    try:
        with warnings_as_notes(said):
            if len(items) == 1:
                outs = [_run_image(job, items[0][0], items[0][2].rgb)]
            else:
                outs = job.session.run(np.stack([loaded.rgb for _, _, loaded in items]))
    except Exception as exc:  # noqa: BLE001 - a batch job reports and continues
        return [ItemResult(str(s), "failed", str(d), _reason(s, exc), ld.notes + tuple(said))
                for s, d, ld in items]
    return [_write(job, src, dst, rgb, loaded.notes + tuple(said))
            for (src, dst, loaded), rgb in zip(items, outs)]


@contextlib.contextmanager
def warnings_as_notes(notes: list[str]) -> Iterator[None]:
    """Collect the warnings edgederain itself emits (automatic tiling, provider fallback...) into
    ``notes``, once each, so they are reported with the item; other warnings pass through."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            others = [w for w in caught if not _ours(w.category)]
            notes.extend(dict.fromkeys(str(w.message) for w in caught if _ours(w.category) and
                                       str(w.message) not in notes))
    for w in others:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _ours(category: type) -> bool:
    return category.__module__.split(".")[0] == "edgederain"


def _run_image(job: _Job, src: Path, rgb: np.ndarray) -> np.ndarray:
    """One frame, reporting tile progress when the session runs it in tiles."""
    plan = job.session.tile_plan(*rgb.shape[:2]) if hasattr(job.session, "tile_plan") else None
    if plan is None or job.on_progress is None or not _takes_progress(job.session):
        return job.session.run(rgb)
    return job.session.run(rgb, progress=lambda done, total: job.on_progress(str(src), done, total))


def _takes_progress(session: Any) -> bool:
    import inspect

    try:
        return "progress" in inspect.signature(session.run).parameters
    except (TypeError, ValueError):
        return False


def _write(job: _Job, src: Path, dst: Path, rgb: np.ndarray, notes: tuple[str, ...]) -> ItemResult:
    try:
        job.folders.ensure(dst.parent)
        write_image(dst, rgb, protect=job.protected, overwrite=True)
    except ImageWriteError as exc:
        return ItemResult(str(src), "failed", str(dst), _reason(dst, exc), notes)
    return ItemResult(str(src), "done", str(dst), notes=notes, frames=1)


def _run_video(job: _Job, src: Path, dst: Path) -> ItemResult:
    """One video through :func:`edgederain.derain_video.derain_video`; a broken input keeps the
    frames before the break and fails the item with their count."""
    from edgederain.derain_video import derain_video

    o = job.options
    said: list[str] = []
    job.folders.ensure(dst.parent)
    with warnings_as_notes(said):
        result = derain_video(job.session, src, dst, temporal=o.temporal, batch=o.batch if o.batch > 1 else None,
                              keep_audio=o.keep_audio, preview=o.preview, on_progress=job.on_progress)
    notes = tuple(said) + result.notes
    if result.broken is not None:
        kept = (f"; kept the {result.frames} frames before it in {dst} (pass --overwrite to redo it)"
                if result.frames else "; nothing written")
        return ItemResult(str(src), "failed", str(dst), _reason(src, result.broken) + kept, notes, result.frames)
    if result.frames == 0:
        return ItemResult(str(src), "failed", str(dst), "video has no frames", notes)
    return ItemResult(str(src), "done", str(dst), notes=notes, frames=result.frames)


def _reason(src: Path, exc: Exception) -> str:
    """The error's message without the file name the summary already shows."""
    text = str(exc) if isinstance(exc, EdgeDerainError) else f"{type(exc).__name__}: {exc}"
    prefix = f"{src}: "
    return text[len(prefix):] if text.startswith(prefix) else text


def _guarded(src: Path, dst: Path, fn: Callable[[], list[ItemResult]]) -> list[ItemResult]:
    """Run one item's work; any error becomes a failed result so the job goes on."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - a batch job reports and continues
        return [ItemResult(str(src), "failed", str(dst), _reason(src, exc))]


def run_job(session: Any, inputs: list[Path], options: JobOptions, *,
            on_result: Callable[[ItemResult], None] = lambda r: None,
            on_progress: Progress | None = None) -> JobSummary:
    """Derain every input with ``session``; ``on_result`` is called as each item finishes.

    ``on_progress(source, done, total)`` is called after each frame of a video and, when the
    session reports it, each tile of a tiled image (``total`` is None when unknown).
    """
    results: list[ItemResult] = []
    job = _Job(session, inputs, options, on_progress, protected=ProtectedPaths(inputs))

    def emit(batch: list[ItemResult]) -> None:
        for r in batch:
            results.append(r)
            on_result(r)

    remove_stale_temporaries(options.out.parent if options.out_is_file else options.out)
    try:
        _each_input(job, emit)
        emit(_guarded(Path("(batch)"), Path("(batch)"), lambda: _flush(job)))
    except KeyboardInterrupt:
        finished = {r.source for r in results}
        remaining = sum(1 for src in inputs if str(src) not in finished)
        return JobSummary(tuple(results), interrupted=True, remaining=remaining)
    finally:
        job.folders.tidy()
    return JobSummary(tuple(results))


def _each_input(job: _Job, emit: Callable[[list[ItemResult]], None]) -> None:
    claimed: set[Path] = set()
    for src in job.inputs:
        dst = output_for(src, job.options)
        early = _precheck(src, dst, job.protected, claimed, job.options)
        if early is not None:
            emit([early])
        elif is_video(src):
            emit(_guarded(src, dst, lambda: _flush(job)))
            emit(_guarded(src, dst, lambda: [_run_video(job, src, dst)]))
        else:
            emit(_guarded(src, dst, lambda: _queue_image(job, src, dst)))


def _queue_image(job: _Job, src: Path, dst: Path) -> list[ItemResult]:
    o = job.options
    loaded = read_image(src, alpha=o.alpha, high_bit_depth=o.high_bit_depth, max_pixels=o.max_pixels)
    done: list[ItemResult] = []
    if not job.pending.fits(loaded.rgb, o.batch):
        done = _flush(job)
    job.pending.items.append((src, dst, loaded))
    if len(job.pending.items) >= o.batch:
        done += _flush(job)
    return done
