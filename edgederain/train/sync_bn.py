"""BatchNorm with batch statistics over every process of a torch.distributed group, on any device.

``torch.nn.SyncBatchNorm`` runs on CUDA (and XPU/HPU) only; on CPU processes (the ``gloo``
backend: CI, a cluster of CPU nodes) its forward raises. :class:`AllReduceBatchNorm2d` is the
same computation written with an autograd-aware all-reduce (:class:`_AllReduceSum`, whose
backward is the all-reduce of the gradient): in training mode the per-channel mean and variance are those of the whole distributed batch, and
the backward all-reduces the gradient of those statistics (the collective's own backward), so the
gradients DDP averages are exactly those of one process that saw the whole batch.

Statistics are two-pass (global mean first, then the global sum of squared deviations), as
PyTorch's BatchNorm computes them, rather than E[x^2] - E[x]^2, which loses digits in FP32; the
price is two small all-reduces per BatchNorm layer and step. Eval mode (running statistics) and
single-process runs are plain ``BatchNorm2d``. Running statistics are updated as BatchNorm does
(momentum, unbiased variance over the global element count).

:func:`convert_sync_batchnorm` swaps every ``BatchNorm2d`` of a model for the right kind in place;
parameter and buffer names do not change, so checkpoints load into the plain network.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


class _AllReduceSum(torch.autograd.Function):
    """Sum over the processes; the gradient of each input is the sum of the outputs' gradients."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:  # noqa: D102
        out = tensor.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(out)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # noqa: D102
        out = grad.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(out)
        return out


def all_reduce(tensor: torch.Tensor) -> torch.Tensor:
    """Differentiable sum of ``tensor`` over the processes of the default group."""
    return _AllReduceSum.apply(tensor)


class AllReduceBatchNorm2d(nn.BatchNorm2d):
    """``BatchNorm2d`` whose training-mode statistics span all processes (CPU and GPU)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and _distributed()):
            return super().forward(x)
        xf = x.float()
        channels = xf.shape[1]
        count = xf.new_tensor([xf.numel() // channels], dtype=torch.float32)
        first = all_reduce(torch.cat([xf.sum(dim=(0, 2, 3)), count]))
        n = first[-1].detach()
        mean = first[:channels] / n
        centred = xf - mean.view(1, -1, 1, 1)
        var = all_reduce(centred.pow(2).sum(dim=(0, 2, 3))) / n
        if self.track_running_stats:
            self._update_running(mean.detach(), var.detach(), float(n))
        y = centred * torch.rsqrt(var + self.eps).view(1, -1, 1, 1)
        if self.affine:
            y = y * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)
        return y.to(x.dtype)

    @torch.no_grad()
    def _update_running(self, mean: torch.Tensor, var: torch.Tensor, n: float) -> None:
        self.num_batches_tracked.add_(1)
        factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        unbiased = var * (n / max(n - 1.0, 1.0))
        self.running_mean.mul_(1 - factor).add_(mean.to(self.running_mean.dtype), alpha=factor)
        self.running_var.mul_(1 - factor).add_(unbiased.to(self.running_var.dtype), alpha=factor)


def _swap(module: nn.Module) -> None:
    for name, child in module.named_children():
        if type(child) is nn.BatchNorm2d:
            new = AllReduceBatchNorm2d(
                child.num_features, child.eps, child.momentum, child.affine, child.track_running_stats,
                device=child.weight.device if child.affine else None,
            )
            new.load_state_dict(child.state_dict())
            new.train(child.training)
            setattr(module, name, new)
        else:
            _swap(child)


def convert_sync_batchnorm(model: nn.Module, device: torch.device) -> nn.Module:
    """Replace the model's BatchNorm layers in place: ``nn.SyncBatchNorm`` on CUDA, else
    :class:`AllReduceBatchNorm2d`. Returns ``model`` (the same object)."""
    if device.type == "cuda":
        for name, child in list(model.named_children()):
            setattr(model, name, nn.SyncBatchNorm.convert_sync_batchnorm(child))
        return model
    _swap(model)
    return model


__all__ = ["AllReduceBatchNorm2d", "convert_sync_batchnorm"]
