"""Torch-free inference on ONNX Runtime: numpy frames in, derained numpy frames out.

Importing this package needs only numpy; ONNX Runtime is imported when a session is created.

>>> from edgederain.runtime import DerainSession, SessionConfig     # doctest: +SKIP
>>> session = DerainSession("derain.onnx", SessionConfig.for_provider("cpu", threads=2))
>>> clean = session.run(frame)          # uint8 H x W x 3 RGB (or float32 [0, 1], or batches)

Video and camera loops: :class:`DerainStream` (frames in order, optional temporal stabilising with
:class:`TemporalConfig`), described in ``docs/video.md``.
"""

from edgederain.runtime.config import SessionConfig
from edgederain.runtime.providers import (
    CPUOptions,
    CUDAOptions,
    OpenVINOOptions,
    Provider,
    ProviderConfig,
    TensorRTOptions,
)
from edgederain.runtime.session import DerainSession, SessionInfo
from edgederain.runtime.stream import DerainStream, StreamStats
from edgederain.runtime.temporal import TemporalConfig
from edgederain.runtime.tiling import TileConfig

__all__ = [
    "CPUOptions",
    "CUDAOptions",
    "DerainSession",
    "DerainStream",
    "OpenVINOOptions",
    "Provider",
    "ProviderConfig",
    "SessionConfig",
    "SessionInfo",
    "StreamStats",
    "TemporalConfig",
    "TensorRTOptions",
    "TileConfig",
]
