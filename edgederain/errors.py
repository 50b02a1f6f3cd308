"""Exception types a user can cause. Every message says what to do about it."""

from __future__ import annotations


class EdgeDerainError(Exception):
    """Base class of every error edgederain raises on purpose."""


class ConfigError(EdgeDerainError, ValueError):
    """A configuration value or preset is invalid or unknown."""


class ContractError(EdgeDerainError, ValueError):
    """A model's I/O contract is missing, malformed or of an unsupported schema version."""


class ImageReadError(EdgeDerainError, OSError):
    """An image file could not be read or has a layout we refuse to guess about."""


class ImageWriteError(EdgeDerainError, OSError):
    """An output image could not be written (unwritable path, would overwrite an input...)."""


class InputError(EdgeDerainError, ValueError):
    """An array handed to the runtime has the wrong dtype, shape, layout or values."""


class ProviderError(EdgeDerainError, RuntimeError):
    """A requested ONNX Runtime execution provider is not available or did not activate."""


class CheckpointError(EdgeDerainError, ValueError):
    """A checkpoint is missing, of the wrong type, or describes an unknown model."""


class ExportError(EdgeDerainError, RuntimeError):
    """An ONNX export could not be produced, or the exported model failed its precision's gate."""


class GateError(ExportError):
    """A model was built or measured but failed a verification gate (the CLI exits 1, not 2).

    ``gates`` holds the reports of the gates that failed (name, measured figures, threshold).
    """

    def __init__(self, message: str, *, gates: tuple = ()) -> None:
        super().__init__(message)
        self.gates = tuple(gates)


class CalibrationError(EdgeDerainError, ValueError):
    """INT8 calibration data is missing, too small or unreadable, or quantization failed."""


class VerificationError(EdgeDerainError, ValueError):
    """A model or reference given to verification cannot be loaded or compared."""


class DatasetError(EdgeDerainError, ValueError):
    """A training or evaluation dataset is missing, empty, unpaired or inconsistent."""


class ModelNotFoundError(EdgeDerainError, FileNotFoundError):
    """No model file was given or found where one was expected."""


class MissingDependencyError(EdgeDerainError, ImportError):
    """An optional dependency (onnxruntime, PyAV, the OpenVINO plugin...) is not installed."""


class ModelLoadError(EdgeDerainError, ValueError):
    """A model file exists but ONNX Runtime cannot load it (not ONNX, corrupt, unsupported ops)."""


class FrameMemoryError(EdgeDerainError, MemoryError):
    """A frame needs more memory than the runtime's budget allows or than ONNX Runtime could get."""


class EdgeDerainWarning(UserWarning):
    """Base class of the warnings edgederain emits (the run goes on; something deserves a look)."""


class ProviderFallbackWarning(EdgeDerainWarning):
    """A requested execution provider is not running; the session fell back (allow_fallback=True)."""


class AutoTilingWarning(EdgeDerainWarning):
    """A frame too large for the memory budget is being run in tiles although no tiling was set."""
