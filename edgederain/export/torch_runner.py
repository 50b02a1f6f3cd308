"""A PyTorch network with ``DerainSession``'s runner shape; called, a parity ``Runner`` on tensors."""

from __future__ import annotations

import numpy as np
import torch

from edgederain.model.net import DerainNet
from edgederain.runtime.preprocess import frames_to_tensor, from_model_output, validate_frames


class TorchRunner:
    """``net.infer`` on CPU in FP32, numpy in and out."""

    def __init__(self, net: DerainNet) -> None:
        self.net = net.eval()

    def run_tensor(self, x: np.ndarray) -> np.ndarray:
        """Float32 N x 3 x H x W in [0, 1] -> the network's float32 output."""
        with torch.inference_mode():
            return self.net.infer(torch.from_numpy(np.ascontiguousarray(x))).numpy()

    def run(self, frames: np.ndarray) -> np.ndarray:
        """Frames in, frames out, converted exactly as :meth:`DerainSession.run` converts them."""
        kind = validate_frames(frames)
        return from_model_output(self.run_tensor(frames_to_tensor(frames, kind)), kind)

    __call__ = run_tensor
