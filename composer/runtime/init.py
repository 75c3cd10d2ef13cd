"""Weight initialisers that generated models call right after building a node's module.

A node's weights are those of the layers that compute with them (convolutions, linear and
attention projections); its batch or layer norms keep torch's start (scale 1, shift 0) unless
they are the whole node, and then the initialiser sets their scale. Every bias starts at zero.
This is what pytorch/examples' DCGAN and torchvision's ResNet do by hand. Self-contained
(torch only) so that export can copy it into a standalone file.
"""

from __future__ import annotations

import torch
from torch import nn

NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm, nn.LayerNorm,
         nn.GroupNorm, nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d)


def init_parts(module: nn.Module) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """(the weights an initialiser sets, every bias) of a node's module."""
    weights: list[torch.Tensor] = []
    scales: list[torch.Tensor] = []
    biases: list[torch.Tensor] = []
    for layer in module.modules():
        for name, tensor in layer.named_parameters(recurse=False):
            if "bias" in name:
                biases.append(tensor)
            elif isinstance(layer, NORMS):
                scales.append(tensor)
            else:
                weights.append(tensor)
    return weights or scales, biases


def _zero_biases(biases: list[torch.Tensor]) -> None:
    for bias in biases:
        nn.init.zeros_(bias)


@torch.no_grad()
def init_normal(module: nn.Module, *, mean: float, std: float) -> None:
    """Weights from N(mean, std), biases zero (DCGAN: N(0, 0.02) for convolutions, N(1, 0.02)
    for batch-norm scales)."""
    weights, biases = init_parts(module)
    for weight in weights:
        nn.init.normal_(weight, mean, std)
    _zero_biases(biases)


@torch.no_grad()
def init_xavier_uniform(module: nn.Module, *, gain: float) -> None:
    """Weights uniform in +-gain * sqrt(6 / (fan_in + fan_out)), biases zero."""
    weights, biases = init_parts(module)
    for weight in weights:
        nn.init.xavier_uniform_(weight, gain)
    _zero_biases(biases)


@torch.no_grad()
def init_kaiming_normal(module: nn.Module, *, mode: str, nonlinearity: str, a: float) -> None:
    """Weights from N(0, gain / sqrt(fan)), biases zero (torchvision's ResNet: fan_out, relu)."""
    weights, biases = init_parts(module)
    for weight in weights:
        nn.init.kaiming_normal_(weight, a=a, mode=mode, nonlinearity=nonlinearity)
    _zero_biases(biases)


@torch.no_grad()
def init_zeros(module: nn.Module) -> None:
    """Weights and biases zero."""
    weights, biases = init_parts(module)
    for tensor in weights + biases:
        nn.init.zeros_(tensor)


@torch.no_grad()
def init_ones(module: nn.Module) -> None:
    """Weights one, biases zero."""
    weights, biases = init_parts(module)
    for weight in weights:
        nn.init.ones_(weight)
    _zero_biases(biases)
