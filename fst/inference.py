"""The stylization engine shared by every entry point: precision, memory format, compilation, tiling of
huge images with consistent instance-norm statistics, style strength and colour preservation."""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from fst.errors import FstError
from fst.hardware import cpu_has_fast_bf16
from fst.models.transformer_net import SIZE_MULTIPLE

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def pick_device(name: str) -> torch.device:
    """``auto`` picks cuda, then mps, then cpu."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise FstError(f"device={name!r} is not a device; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise FstError(f"device={name}: CUDA is not available here; use device=auto or device=cpu")
    return device


def default_precision(device: torch.device) -> str:
    """The fastest precision that keeps the output visually identical to fp32 on this device."""
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if device.type == "cpu":
        return "bf16" if cpu_has_fast_bf16() else "fp32"  # emulated bf16 is slower than fp32
    return "fp32"


# --- instance-norm statistics, so that tiles of one image are normalized alike -----------------------


def _instance_norms(net: nn.Module) -> list[nn.InstanceNorm2d]:
    return [m for m in net.modules() if isinstance(m, nn.InstanceNorm2d)]


def record_norm_stats(net: nn.Module, image: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per-channel (mean, var) at the input of every InstanceNorm layer, for one (1, 3, H, W) image."""
    stats = []

    def record(module, args):
        var, mean = torch.var_mean(args[0].float(), dim=(2, 3), unbiased=False, keepdim=True)
        stats.append((mean, var))

    hooks = [layer.register_forward_pre_hook(record) for layer in _instance_norms(net)]
    try:
        net(image)
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


# --- tiling --------------------------------------------------------------------------------------------


def _spans(length: int, tile: int, overlap: int) -> list[tuple[int, int]]:
    """(start, end) of the tiles along one side. Starts are multiples of 4, the network's stride, so each
    tile sees the same pixel grid as the whole image would; the last tile runs to the image's end."""
    if length <= tile:
        return [(0, length)]
    step = max(SIZE_MULTIPLE, (tile - overlap) // SIZE_MULTIPLE * SIZE_MULTIPLE)
    starts = list(range(0, length - tile, step))
    last = (length - tile) // SIZE_MULTIPLE * SIZE_MULTIPLE
    if last > starts[-1]:
        starts.append(last)
    return [(start, start + tile) for start in starts[:-1]] + [(starts[-1], length)]


def _feather(start: int, end: int, length: int, overlap: int) -> torch.Tensor:
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


@dataclass
class Stylizer:
    """Runs a TransformerNet on (B, 3, H, W) images in [0, 1] and returns images of the same size.

    Args:
        net: the trained network (any device; moved to ``device``).
        device: where to run.
        precision: ``fp32``, ``bf16`` or ``fp16`` autocast (``auto``: per device, see default_precision).
        channels_last: NHWC memory format (``None``: on CUDA only, where cuDNN is faster with it).
        compile: ``torch.compile`` the network; the first call of each input size is slow.
        tile_size: images with a side above this are stylized in overlapping tiles of this size.
        tile_overlap: overlap between neighbouring tiles, in pixels.
        stats_size: tiled images take their instance-norm statistics from a copy downscaled to this long
            side (default: the tile size, so that pass needs no more memory than a tile).
        strength: 1 = full style, 0 = the input unchanged; in between blends the two.
        preserve_color: keep the input's colours, taking only the stylized luminance (Gatys et al. 2016).
    """

    net: nn.Module
    device: torch.device = torch.device("cpu")
    precision: str = "auto"
    channels_last: bool | None = None
    compile: bool = False
    tile_size: int = 2048
    tile_overlap: int = 128
    stats_size: int | None = None
    strength: float = 1.0
    preserve_color: bool = False

    def __post_init__(self):
        if self.precision == "auto":
            self.precision = default_precision(self.device)
        if self.precision not in PRECISIONS:
            raise FstError(f"precision={self.precision} is not one of auto, {', '.join(PRECISIONS)}")
        if self.precision == "fp16" and self.device.type == "cpu":
            raise FstError("precision=fp16 needs a GPU; on CPU use precision=bf16 or fp32")
        if not 0 <= self.strength <= 1:
            raise FstError(f"strength must be between 0 and 1, got {self.strength}")
        if self.tile_size < 64 or not 0 <= self.tile_overlap <= self.tile_size // 2:
            raise FstError("tile_size must be >= 64 and tile_overlap between 0 and tile_size/2")
        if self.channels_last is None:
            self.channels_last = self.device.type == "cuda"
        self.net = self.net.to(self.device).eval().requires_grad_(False)
        if self.channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)
        # Static shapes: each new input size compiles once (torch 2.15's inductor fails on this network's
        # symbolic padding arithmetic), which suits videos and same-size batches.
        self._run = torch.compile(self.net, dynamic=False) if self.compile else self.net

    def _autocast(self):
        dtype = PRECISIONS[self.precision]
        return torch.autocast(self.device.type, dtype=dtype, enabled=dtype is not None)

    def _forward(self, images: torch.Tensor) -> torch.Tensor:
        images = images.to(self.device, non_blocking=True)
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        with self._autocast():
            return self._run(images).float().clamp_(0, 1)

    @torch.inference_mode()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """Stylize a batch; returns a float32 CPU tensor of the input's shape."""
        if self.strength == 0:
            return images.clone()
        height, width = images.shape[-2:]
        if max(height, width) > self.tile_size:
            stylized = torch.cat([self.tiled(image.unsqueeze(0)) for image in images])
        else:
            try:
                stylized = self._forward(images).cpu()
            except torch.OutOfMemoryError:  # too big for the GPU at once: tiles fit
                torch.cuda.empty_cache()
                stylized = torch.cat([self.tiled(image.unsqueeze(0), tile_size=512) for image in images])
        return self._finish(stylized, images.cpu().float())

    def tiled(self, image: torch.Tensor, tile_size: int | None = None) -> torch.Tensor:
        """Stylize one (1, 3, H, W) image tile by tile; peak memory depends on the tile size, not the image.

        Every tile is normalized with the instance-norm statistics of the whole image (measured on a copy
        downscaled to ``stats_size``), so tiles agree and feathered blending leaves no seam.
        """
        tile = min(tile_size or self.tile_size, *image.shape[-2:])
        overlap = min(self.tile_overlap, tile // 2)
        height, width = image.shape[-2:]
        scale = min(1.0, (self.stats_size or tile) / max(height, width))
        small = image if scale == 1 else F.interpolate(image, scale_factor=scale, mode="area")
        with self._autocast():
            stats = record_norm_stats(self.net, small.to(self.device))
        output = torch.zeros(1, 3, height, width)
        total = torch.zeros(1, 1, height, width)
        with fixed_norm_stats(self.net, stats):
            for top, bottom in _spans(height, tile, overlap):
                for left, right in _spans(width, tile, overlap):
                    crop = image[..., top:bottom, left:right]
                    # the eager network: compiled graphs do not see the patched norm layers
                    with self._autocast():
                        result = self.net(crop.to(self.device)).float().clamp_(0, 1).cpu()
                    weight = _feather(top, bottom, height, overlap)[:, None] * _feather(left, right, width, overlap)[None, :]
                    output[..., top:bottom, left:right] += result * weight
                    total[..., top:bottom, left:right] += weight
        return output / total

    def _finish(self, stylized: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
        if self.preserve_color:
            stylized = keep_colors(stylized, content)
        if self.strength < 1:
            stylized = torch.lerp(content, stylized, self.strength)
        return stylized


# --- colour ----------------------------------------------------------------------------------------------

# ITU-R BT.601 (JPEG) RGB <-> YCbCr, for values in [0, 1].
_RGB_TO_YCBCR = torch.tensor([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])
_YCBCR_TO_RGB = torch.linalg.inv(_RGB_TO_YCBCR)


def rgb_to_ycbcr(image: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,bjhw->bihw", _RGB_TO_YCBCR, image)


def ycbcr_to_rgb(image: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,bjhw->bihw", _YCBCR_TO_RGB, image)


def keep_colors(stylized: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Luminance-only transfer: the stylized Y channel with the content's Cb and Cr."""
    luminance = rgb_to_ycbcr(stylized)[:, :1]
    chroma = rgb_to_ycbcr(content)[:, 1:]
    return ycbcr_to_rgb(torch.cat([luminance, chroma], dim=1)).clamp(0, 1)
