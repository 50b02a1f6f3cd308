"""Fleet deraining on Ray Data: the folder job of ``edgederain derain`` spread over a Ray cluster.

``edgederain derain FOLDER -o OUT --ray auto`` (or :func:`derain_on_ray` from Python) derains the
same files the single-machine command would, with the same rules, on a pool of Ray actors that
each hold one :class:`~edgederain.runtime.DerainSession` (CPU or GPU resources per actor):

- The driver expands the inputs (files, folders, globs; or folder/file URIs of any filesystem
  ``pyarrow.fs`` opens: ``s3://``, ``gs://``, ``hdfs://``, ``file://``) and plans every output
  with :func:`edgederain.derain_files.plan` (the checks ``run_job`` makes: unsupported types,
  two inputs writing one output name, an output that would overwrite an input, an existing output
  skipped unless ``overwrite``). What must not run is reported there and never shipped.
- The rest becomes a Ray dataset of (source, output) rows; ``map_batches`` hands each actor a few
  rows and the actor runs :func:`edgederain.derain_files.run_job` on them, so reading (EXIF,
  16-bit, alpha, pixel limit, corrupt files), batching and the atomic, never-overwriting write are
  the single-machine code itself. Remote inputs are copied to the actor's local disk first.
- The model file travels through Ray's object store (``ray.put`` of its bytes), so worker nodes
  need edgederain[ray] and the execution provider installed, not the model.
- Outputs go to ``out``, a folder every actor can write (a local folder for a one-machine Ray, a
  shared filesystem on a cluster). The result is a :class:`~edgederain.derain_files.JobSummary`
  with one item per input, as ``run_job`` returns (in input order; unmatched arguments first).

Ray is an optional extra (``pip install 'edgederain[ray]'``) imported only here, inside the
functions; without it :class:`~edgederain.errors.MissingDependencyError` names the extra.

Note:
    Videos are derained whole by one actor (a video's frames are not split over actors), and a
    single output file (``-o out.png``) is not a Ray job: pass a folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from edgederain.derain_files import MEDIA_SUFFIXES, ItemResult, JobOptions, JobSummary, expand_inputs, plan
from edgederain.errors import ConfigError, EdgeDerainError, ImageWriteError, MissingDependencyError

RAY_EXTRA = "ray"


class FleetError(EdgeDerainError, RuntimeError):
    """The Ray job itself failed (an actor could not create its session, a node was lost...)."""


@dataclass(frozen=True)
class RayOptions:
    """Where and how wide the Ray job runs.

    Attributes:
        address: ``"auto"`` (the cluster this machine belongs to), a cluster address
            (``ray://head:10001``, ``head:6379``), ``"local"`` (start a Ray instance on this
            machine for the job and stop it after), or None (the Ray this process already
            initialised; a local one is started if none).
        actors: actors in the pool (each holds one session).
        cpus_per_actor / gpus_per_actor: Ray resources reserved per actor.
        files_per_call: rows ``map_batches`` hands an actor at a time.
        num_cpus: CPUs of a local instance started here (None: all).
        progress: Ray Data's progress bars on stderr.
    """

    address: str | None = None
    actors: int = 2
    cpus_per_actor: float = 1.0
    gpus_per_actor: float = 0.0
    files_per_call: int = 4
    num_cpus: int | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        if self.actors < 1 or self.files_per_call < 1:
            raise ConfigError(f"actors and files_per_call must be >= 1, got {self.actors}, {self.files_per_call}")
        if self.cpus_per_actor < 0 or self.gpus_per_actor < 0:
            raise ConfigError("cpus_per_actor and gpus_per_actor must be >= 0")


def import_ray():
    """``ray`` with Ray Data, or a MissingDependencyError naming the extra."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise MissingDependencyError(
            "deraining on Ray needs Ray Data, which is not installed: pip install 'edgederain[ray]' "
            "(ray[data]); without it, run edgederain derain without --ray"
        ) from None
    return ray


def _is_uri(arg: str) -> bool:
    return "://" in arg and not Path(arg).exists()


def _list_uri(uri: str) -> list[str]:
    """The media files a URI names (a file, or the files directly in a folder), sorted."""
    import pyarrow.fs as pafs

    try:
        fs, path = pafs.FileSystem.from_uri(uri)
        info = fs.get_file_info(path)
        if info.type == pafs.FileType.Directory:
            infos = fs.get_file_info(pafs.FileSelector(path, recursive=False))
        else:
            infos = [info] if info.type == pafs.FileType.File else []
    except Exception:  # noqa: BLE001 - an unknown scheme or unreachable store: nothing found
        return []
    scheme = uri.split("://", 1)[0]
    return sorted(f"{scheme}://{i.path}" for i in infos
                  if i.type == pafs.FileType.File and Path(i.path).suffix.lower() in MEDIA_SUFFIXES)


def _expand(args: Sequence[str]) -> tuple[list[Path], dict[Path, str], list[ItemResult]]:
    """Local files (and URI stand-ins), URI of each stand-in, failures for unmatched arguments."""
    local, unmatched = expand_inputs([a for a in args if not _is_uri(a)])
    files, uris = list(local), {}
    for arg in (a for a in args if _is_uri(a)):
        found = _list_uri(arg)
        if not found:
            unmatched.append(ItemResult(arg, "failed", reason="no such file, or no images/videos in it"))
        for uri in found:
            stand_in = Path("/", "@remote", uri.replace("://", "/", 1))
            uris[stand_in] = uri
            files.append(stand_in)
    return files, uris, unmatched


class _DerainActor:
    """One Ray actor: a DerainSession and ``run_job`` on the rows it is handed."""

    def __init__(self, model: Any, suffix: str, config: Any, options: JobOptions) -> None:
        import ray

        from edgederain.runtime import DerainSession

        data = ray.get(model) if isinstance(model, ray.ObjectRef) else model
        self._dir = tempfile.mkdtemp(prefix="edgederain-ray-")
        # the folder (model copy, staged remote files) goes when the actor does
        weakref.finalize(self, shutil.rmtree, self._dir, True)
        path = Path(self._dir) / f"model{suffix}"
        path.write_bytes(data)
        try:
            self.session = DerainSession(path, config)
        finally:
            path.unlink(missing_ok=True)  # ONNX Runtime holds the model in memory once loaded
        self.options = options

    def __call__(self, batch: dict) -> dict:
        from edgederain.derain_files import run_job

        staged: dict[str, str] = {}
        items: list[ItemResult] = []
        for source in (str(s) for s in batch["source"]):
            try:
                staged[str(self._stage(source))] = source
            except Exception as exc:  # noqa: BLE001 - an unreadable remote file fails alone
                items.append(ItemResult(source, "failed", reason=f"cannot read it ({type(exc).__name__}: {exc})"))
        try:
            summary = run_job(self.session, [Path(p) for p in staged], self.options)
        finally:
            for local, source in staged.items():
                if local != source:  # a copy of a remote file, done with
                    shutil.rmtree(Path(local).parent, ignore_errors=True)
        items += [ItemResult(staged.get(i.source, i.source), i.status, i.output, i.reason, i.notes, i.frames)
                  for i in summary.items]
        return {
            "source": [i.source for i in items],
            "status": [i.status for i in items],
            "output": [i.output or "" for i in items],
            "reason": [i.reason for i in items],
            "notes": ["\n".join(i.notes) for i in items],
            "frames": [int(i.frames) for i in items],
        }

    def _stage(self, source: str) -> Path:
        """A local path for ``source``: itself, or a copy of a remote file under its own name."""
        if "://" not in source:
            return Path(source)
        import pyarrow.fs as pafs

        fs, path = pafs.FileSystem.from_uri(source)
        local = Path(tempfile.mkdtemp(dir=self._dir)) / Path(path).name
        with fs.open_input_stream(path) as f:
            local.write_bytes(f.read())
        return local


def _item(row: dict) -> ItemResult:
    notes = tuple(n for n in str(row["notes"]).split("\n") if n)
    return ItemResult(str(row["source"]), row["status"], row["output"] or None, str(row["reason"]), notes,
                      int(row["frames"]))


class _OutFolder:
    """The job's output folder, made by the driver before the actors start (removed again, with
    the parents it created, when nothing was written into it)."""

    def __init__(self, out: Path) -> None:
        self.created = [d for d in (out, *out.parents) if not d.exists()]
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ImageWriteError(f"{out}: cannot create the output folder ({exc.strerror or exc})") from None

    def tidy(self) -> None:
        for folder in self.created:
            try:
                folder.rmdir()
            except OSError:
                break


def _connect(ray, options: RayOptions) -> bool:
    """Initialise Ray as ``options.address`` says; True when this call started it."""
    if ray.is_initialized():
        return False
    kw: dict[str, Any] = {"log_to_driver": False, "include_dashboard": False}
    if options.address in (None, "local"):
        ray.init(num_cpus=options.num_cpus, **kw)
    else:
        try:
            ray.init(address=options.address, **kw)
        except ConnectionError as exc:
            raise ConfigError(f"cannot reach the Ray cluster at {options.address!r} ({exc}); start one "
                              "with `ray start --head` or pass --ray local") from None
    return True


def derain_on_ray(
    inputs: Sequence[str],
    out: str | os.PathLike,
    *,
    model: str | os.PathLike | None = None,
    session_config: Any = None,
    suffix: str | None = None,
    ray_options: RayOptions = RayOptions(),
    on_result: Callable[[ItemResult], None] = lambda r: None,
    **settings: Any,
) -> JobSummary:
    """Derain ``inputs`` into the folder ``out`` on Ray actors; see the module docstring.

    ``settings`` are the other fields of :class:`~edgederain.derain_files.JobOptions`
    (``overwrite``, ``batch``, ``alpha``, ``high_bit_depth``, ``max_pixels``...), meaning what the
    options of ``edgederain derain`` mean; ``model`` is a path or a packaged model's name (None:
    the default). ``on_result`` is called on the driver as each result arrives.
    """
    from edgederain.runtime import SessionConfig
    from edgederain.runtime.default_model import resolve_model
    from edgederain.runtime.modelfile import check_model_file

    ray = import_ray()
    out = Path(out)
    if out.suffix.lower() in MEDIA_SUFFIXES or (out.exists() and not out.is_dir()):
        raise ImageWriteError(f"{out}: a Ray job writes into a folder; pass a folder for the outputs")
    config = session_config if session_config is not None else SessionConfig()
    path = check_model_file(resolve_model(model, config))
    options = JobOptions(out, False, suffix, **settings)
    files, uris, unmatched = _expand(inputs)
    todo, early = plan(files, options)
    shown = [ItemResult(uris.get(Path(r.source), r.source), r.status, r.output, r.reason, r.notes, r.frames)
             for r in early]
    for r in (*unmatched, *shown):
        on_result(r)
    results: list[ItemResult] = []
    if not todo:
        return JobSummary((*unmatched, *shown))
    started = _connect(ray, ray_options)
    try:
        folder = _OutFolder(out)
    except ImageWriteError:
        if started:
            ray.shutdown()
        raise
    try:
        # actors see absolute paths (their working folder is not the driver's); results name
        # the inputs and outputs as the single-machine command does
        names = {uris.get(src) or str(src.absolute()): (uris.get(src, str(src)), str(dst)) for src, dst in todo}
        remote = JobOptions(out.absolute(), False, suffix, **settings)

        def named(r: ItemResult) -> ItemResult:
            source, output = names.get(r.source, (r.source, r.output))
            result = ItemResult(source, r.status, output if r.output else None, r.reason, r.notes, r.frames)
            on_result(result)
            return result

        try:
            _run(ray, list(names), path, config, remote, ray_options, lambda r: results.append(named(r)))
        except ray.exceptions.RayError as exc:
            raise FleetError(f"the Ray job stopped after {len(results)} of {len(todo)} inputs: {_cause(exc)}; "
                             "outputs written so far are kept (rerun to resume)") from None
    except KeyboardInterrupt:
        return JobSummary((*unmatched, *shown, *results), interrupted=True, remaining=len(todo) - len(results))
    finally:
        folder.tidy()
        if started:
            ray.shutdown()
    order = {uris.get(src, str(src)): k for k, (src, _) in enumerate(todo)}
    results.sort(key=lambda r: order.get(r.source, len(order)))
    return JobSummary((*unmatched, *shown, *results))


def _cause(exc: BaseException) -> str:
    """The innermost error's last line (Ray wraps an actor's exception in its own)."""
    import re

    text = str(exc)
    ours = re.findall(r"edgederain\.errors\.\w+: (.+)", text)
    if ours:
        return ours[-1].strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else type(exc).__name__


def _run(ray, sources: list[str], model: Path, config, options: JobOptions, ray_options: RayOptions,
         on_result: Callable[[ItemResult], None]) -> None:
    import ray.data

    ray.data.DataContext.get_current().enable_progress_bars = ray_options.progress
    rows = [{"source": s} for s in sources]
    blocks = max(1, min(len(rows), ray_options.actors * 4))
    ds = ray.data.from_items(rows, override_num_blocks=blocks)
    ds = ds.map_batches(
        _DerainActor,
        batch_size=ray_options.files_per_call,
        batch_format="numpy",
        concurrency=ray_options.actors,
        num_cpus=ray_options.cpus_per_actor,
        num_gpus=ray_options.gpus_per_actor or None,
        fn_constructor_kwargs={
            "model": ray.put(model.read_bytes()), "suffix": model.suffix, "config": config, "options": options,
        },
    )
    for row in ds.iter_rows():
        on_result(_item(row))


__all__ = ["RAY_EXTRA", "FleetError", "RayOptions", "derain_on_ray", "import_ray"]
