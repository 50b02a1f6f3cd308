"""Activation-range calibration, run in chunks, saved as ORT's reusable calibration cache.

ONNX Runtime's calibrators keep every intermediate tensor of every frame until the ranges are
computed, and in onnxruntime 1.32 the ``CalibMaxIntermediateOutputs`` option that should bound
this drops the collected data instead of merging it ("No data is collected"). So frames are fed
in chunks of :data:`CHUNK` through repeated ``collect_data`` calls (each call merges its ranges,
or histograms, before clearing), then the ranges are written with ORT's own cache format, which
``quantize_static(calibration_cache_path=...)`` loads without running calibration again.

Entropy calibration uses :data:`ENTROPY_BINS` histogram bins: with ORT's default (128 bins for
128 quantized levels) the search has a single candidate and returns MinMax's ranges.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from edgederain.calibration.reader import CalibrationFrames, data_reader
from edgederain.choices import CalibMethod

CHUNK = 4
ENTROPY_BINS = 1024
PERCENTILE_BINS = 2048


def _calibrator(model_path: Path, workdir: Path, method: str, percentile: float):
    from onnxruntime.quantization import CalibrationMethod
    from onnxruntime.quantization.calibrate import create_calibrator

    kinds = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
             "percentile": CalibrationMethod.Percentile}
    options: dict = {"symmetric": False}
    if method == "entropy":
        options["num_bins"] = ENTROPY_BINS
    if method == "percentile":
        options.update(num_bins=PERCENTILE_BINS, percentile=percentile)
    return create_calibrator(
        model_path, None, augmented_model_path=str(workdir / "augmented.onnx"),
        calibrate_method=kinds[method], providers=["CPUExecutionProvider"], extra_options=options,
    )


def calibrate_to_cache(
    model_path: Path,
    frames: CalibrationFrames,
    cache_path: Path,
    *,
    method: CalibMethod,
    percentile: float,
    workdir: Path,
    progress: bool = True,
) -> Path:
    """Measure activation ranges of ``model_path`` on ``frames``; write them to ``cache_path``."""
    from onnxruntime.quantization.calibrate import save_tensors_data
    from tqdm.auto import tqdm

    calibrator = _calibrator(model_path, workdir, method, percentile)
    input_name = calibrator.infer_session.get_inputs()[0].name
    # ORT's histogram calibrators print a line per chunk; the progress bar says the same.
    with tqdm(total=len(frames), desc=f"calibrating ({method})", unit="frame",
              disable=not progress) as bar, contextlib.redirect_stdout(io.StringIO()):
        for start in range(0, len(frames), CHUNK):
            chunk = CalibrationFrames(
                frames.tensors[start : start + CHUNK], frames.names[start : start + CHUNK],
                frames.source, frames.crop,
            )
            calibrator.collect_data(data_reader(chunk, input_name, progress=False))
            bar.update(len(chunk))
        ranges = calibrator.compute_data()
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    save_tensors_data(ranges, cache_path)
    return cache_path
