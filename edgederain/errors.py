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
