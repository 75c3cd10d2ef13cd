"""Batch norm over the global batch (`training.sync_batchnorm`): statistics summed across
processes, so N processes normalise as one process does. torch.nn.SyncBatchNorm serves CUDA;
on the CPU (gloo), where it refuses to run, GlobalBatchNorm does the same with two
differentiable all_reduces."""

from __future__ import annotations

import torch
import torch.distributed.nn.functional as dist_fn
import torch.nn.functional as F
from torch import nn

from composer.runtime.distributed import collective


class GlobalBatchNorm(nn.Module):
    """A batch norm (any dimension) whose training statistics are the global batch's.

    Gradients flow through the summed statistics (the all_reduce's backward sums them too),
    so with gradients averaged across processes afterwards they equal one process's."""

    def __init__(self, norm: nn.modules.batchnorm._BatchNorm) -> None:
        super().__init__()
        self.eps, self.momentum = norm.eps, norm.momentum
        self.affine, self.track = norm.affine, norm.track_running_stats
        self.weight, self.bias = norm.weight, norm.bias
        if self.track:
            self.register_buffer("running_mean", norm.running_mean)
            self.register_buffer("running_var", norm.running_var)
            self.register_buffer("num_batches_tracked", norm.num_batches_tracked)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training and self.track:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                                False, 0.0, self.eps)
        dims = [0] + list(range(2, x.dim()))
        shape = [1, -1] + [1] * (x.dim() - 2)
        local = torch.tensor([x.numel() / x.shape[1]], device=x.device, dtype=x.dtype)
        total = summed(torch.cat([x.sum(dims), local]))
        n = total[-1]
        mean = total[:-1] / n
        centred = x - mean.view(shape)
        var = summed((centred * centred).sum(dims)) / n
        if self.training and self.track:
            self._track(mean.detach(), var.detach(), n.item())
        y = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y

    def _track(self, mean: torch.Tensor, var: torch.Tensor, n: float) -> None:
        """Running statistics as torch's batch norm keeps them (unbiased variance)."""
        self.num_batches_tracked += 1
        factor = self.momentum if self.momentum is not None \
            else 1.0 / float(self.num_batches_tracked)
        with torch.no_grad():
            self.running_mean.lerp_(mean, factor)
            self.running_var.lerp_(var * (n / max(n - 1, 1)), factor)


def summed(t: torch.Tensor) -> torch.Tensor:
    """`t` summed across processes, differentiably (its gradient is summed too)."""
    return collective(dist_fn.all_reduce, t)


def synchronise_batchnorm(model: nn.Module, device: torch.device) -> nn.Module:
    """The model with every batch norm computing global-batch statistics; state_dict keys stay
    as they were, so checkpoints move between runs with and without it."""
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(model)
    for name, child in model.named_children():
        if isinstance(child, nn.modules.batchnorm._BatchNorm):
            setattr(model, name, GlobalBatchNorm(child))
        else:
            synchronise_batchnorm(child, device)
    return model
