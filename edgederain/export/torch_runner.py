"""A PyTorch network as a parity :data:`edgederain.parity.Runner` (the FP32 gate's reference)."""

from __future__ import annotations

import numpy as np
import torch

from edgederain.model.net import DerainNet


class TorchRunner:
    """``net.infer`` on CPU in FP32, numpy in and out."""

    def __init__(self, net: DerainNet) -> None:
        self.net = net.eval()

    def __call__(self, x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return self.net.infer(torch.from_numpy(np.ascontiguousarray(x))).numpy()
