"""Seamless tiling of huge images: every tile is normalized with the whole image's instance-norm statistics."""

from __future__ import annotations

import contextlib
import functools

import torch
from torch import nn


def _instance_norms(net: nn.Module) -> list[nn.InstanceNorm2d]:
    return [m for m in net.modules() if isinstance(m, nn.InstanceNorm2d)]


def record_norm_stats(net: nn.Module, image: torch.Tensor, *inputs: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per-channel (mean, var) at the input of every InstanceNorm layer, for one (1, 3, H, W) image (and the
    network's other inputs, such as a multi-style network's style weights)."""
    stats = []

    def record(module, args):
        var, mean = torch.var_mean(args[0].float(), dim=(2, 3), unbiased=False, keepdim=True)
        stats.append((mean, var))

    hooks = [layer.register_forward_pre_hook(record) for layer in _instance_norms(net)]
    try:
        net(image, *inputs)
    finally:
        for hook in hooks:
            hook.remove()
    return stats


def _normalize_with(layer: nn.InstanceNorm2d, mean: torch.Tensor, var: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    y = (x - mean.to(x.dtype)) * torch.rsqrt(var + layer.eps).to(x.dtype)
    if layer.affine:
        y = y * layer.weight.view(1, -1, 1, 1).to(x.dtype) + layer.bias.view(1, -1, 1, 1).to(x.dtype)
    return y


@contextlib.contextmanager
def fixed_norm_stats(net: nn.Module, stats: list[tuple[torch.Tensor, torch.Tensor]]):
    """Make the InstanceNorm layers use the given statistics (the first ``len(stats)`` layers, in order)."""
    layers = _instance_norms(net)[: len(stats)]
    for layer, (mean, var) in zip(layers, stats):
        layer.forward = functools.partial(_normalize_with, layer, mean, var)
    try:
        yield
    finally:
        for layer in layers:
            del layer.forward


def spans(length: int, tile: int, overlap: int, multiple: int) -> list[tuple[int, int]]:
    """(start, end) of the tiles along one side. Starts are multiples of ``multiple``, the network's stride, so
    each tile sees the same pixel grid as the whole image would; the last tile runs to the image's end."""
    if length <= tile:
        return [(0, length)]
    step = max(multiple, (tile - overlap) // multiple * multiple)
    starts = list(range(0, length - tile, step))
    last = (length - tile) // multiple * multiple
    if last > starts[-1]:
        starts.append(last)
    return [(start, start + tile) for start in starts[:-1]] + [(starts[-1], length)]


def feather(start: int, end: int, length: int, overlap: int) -> torch.Tensor:
    """1-D blending weights of one tile: a short linear cross-fade (16 px) in the middle of each overlap
    with a neighbour, so each pixel comes from the tile where it lies farthest from an edge (where the
    tile's own padding shows)."""
    margin = max(0, overlap // 2 - 8)
    ramp = overlap - 2 * margin
    size = end - start
    position = torch.arange(size, dtype=torch.float32)
    weight = torch.ones(size)
    if start > 0:  # a neighbour before
        weight = torch.minimum(weight, ((position - margin + 1) / (ramp + 1)).clamp(0, 1))
    if end < length:  # a neighbour after
        weight = torch.minimum(weight, ((size - position - margin) / (ramp + 1)).clamp(0, 1))
    return weight
