"""The stylization engine shared by every entry point: precision, memory format, compilation, tiling of
huge images with consistent instance-norm statistics, style strength and colour preservation."""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from fst.errors import FstError
from fst.inference.color import keep_colors, restore_detail
from fst.inference.device import PRECISIONS, default_precision, pick_device
from fst.inference.onnx_runtime import ONNX_PRECISIONS, OnnxNetwork, check_onnxruntime, onnx_model
from fst.inference.tiling import feather, fixed_norm_stats, record_norm_stats, spans
from fst.options import StylizeOptions, default_calibration

log = logging.getLogger(__name__)

# stroke_size=auto paints images at this long side at most: the strokes of the shipped styles then look like the
# painting's on a large print, while smaller images are painted at their own size (see docs/stylize.md, "Stroke size").
AUTO_LONG_SIDE = 1536


class Stylizer:
    """Runs a style network on (B, 3, H, W) images in [0, 1] and returns images of the same size.

    Args:
        net: the trained network (any device; moved to the options' device).
        options: how it runs (:class:`fst.options.StylizeOptions`: device, precision, backend, tiling,
            strength, colour, stroke size).
        style: for a multi-style network, the (S,) weights of its styles to paint (:func:`style_weights`).

    Precision ``int8`` runs on ONNX Runtime on the CPU, quantized from fp32 (:mod:`fst.export.quantize`);
    ``stroke_size`` ``k`` stylizes the image at 1/k of its size, scales the painting back up and restores the
    photo's fine detail over it, so that the strokes look as big on a 6000 px photo as the network paints them on
    a small one (``auto`` paints at a long side of ``AUTO_LONG_SIDE`` at most).
    """

    def __init__(self, net: nn.Module, options: StylizeOptions | None = None, style: torch.Tensor | None = None):
        self.options = options = options if options is not None else StylizeOptions()
        options.check()
        self.style = style
        on_cpu_only = options.backend == "onnxruntime" or (options.backend == "auto" and options.precision == "int8")
        self.device = pick_device("cpu" if options.device == "auto" and on_cpu_only else options.device)
        self.backend = options.backend
        if self.backend == "auto":
            self.backend = "onnxruntime" if options.precision == "int8" else "torch"
        self.precision = options.precision
        if self.precision == "auto":
            self.precision = "fp32" if self.backend == "onnxruntime" else default_precision(self.device)
        self.channels_last = self.device.type == "cuda" if options.channels_last is None else options.channels_last
        if self.backend == "onnxruntime":
            self._check_onnxruntime_options()
        elif self.precision == "int8":
            raise FstError("precision=int8 runs on ONNX Runtime: drop backend=torch (or set backend=onnxruntime)")
        if self.precision == "fp16" and self.device.type == "cpu":
            raise FstError("precision=fp16 needs a GPU; on CPU use precision=bf16 or fp32")
        num_styles = getattr(net, "num_styles", None)
        if num_styles is None and style is not None:
            raise FstError("style= picks a style of a multi-style model; this model paints one style")
        if num_styles is not None and (style is None or style.shape != (num_styles,)):
            raise FstError(f"this model paints {num_styles} styles: give it their {num_styles} weights (style=...)")
        self.net = net.to(self.device).eval().requires_grad_(False)
        if self.channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)
        if self.backend == "onnxruntime":
            calibration = options.calibration or default_calibration()
            self._run = OnnxNetwork(onnx_model(self.net, self.precision, calibration, options.calibration_size))
        else:
            # Static shapes: each new input size compiles once (torch 2.15's inductor fails on this network's
            # symbolic padding arithmetic), which suits videos and same-size batches.
            self._run = torch.compile(self.net, dynamic=False) if options.compile else self.net
        self._tiles_noted = False

    def _check_onnxruntime_options(self) -> None:
        check_onnxruntime()
        if self.device.type != "cpu":
            raise FstError(f"backend=onnxruntime runs on the CPU: add device=cpu (or use backend=torch on {self.device.type})")
        if self.precision not in ONNX_PRECISIONS:
            raise FstError(f"backend=onnxruntime runs precision=fp32 or int8, not {self.precision}")
        if self.options.compile:
            raise FstError("compile=true is for backend=torch; ONNX Runtime optimizes its graph itself: drop compile=true")
        if self.channels_last:
            raise FstError("channels_last=true is for backend=torch: drop it")

    def _autocast(self):
        # Tiles of an ONNX Runtime stylizer (fp32 or int8) run the PyTorch network in fp32.
        dtype = PRECISIONS.get(self.precision)
        return torch.autocast(self.device.type, dtype=dtype, enabled=dtype is not None)

    def _forward(self, images: torch.Tensor) -> torch.Tensor:
        images = images.to(self.device, non_blocking=True)
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        with self._autocast():
            return self._run(images, *self._style_input(images)).float().clamp_(0, 1)

    def _style_input(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """A multi-style network's second input: the style weights for every image; nothing for others."""
        if self.style is None:
            return ()
        return (self.style.to(images.device, torch.float32).expand(len(images), -1),)

    @torch.inference_mode()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """Stylize a batch; returns a float32 CPU tensor of the input's shape."""
        if self.options.strength == 0:
            return images.clone()
        images = images.cpu().float()
        size = images.shape[-2:]
        factor = self.stroke_factor(*size)
        if factor == 1:
            return self._finish(self._paint(images), images)
        painted_size = [max(self.net.min_size, round(side / factor)) for side in size]
        small = F.interpolate(images, size=painted_size, mode="area" if factor > 1 else "bicubic", align_corners=None if factor > 1 else False)
        stylized = F.interpolate(self._paint(small.clamp(0, 1)), size=size, mode="bicubic", align_corners=False)
        return self._finish(restore_detail(stylized, images, painted_size), images)

    def stroke_factor(self, height: int, width: int) -> float:
        """How many times smaller than the image the network paints it (``stroke_size``)."""
        if self.options.stroke_size == "auto":
            return max(1.0, max(height, width) / AUTO_LONG_SIDE)
        return float(self.options.stroke_size)

    def _paint(self, images: torch.Tensor) -> torch.Tensor:
        """The network's painting of a batch at its own size, tile by tile when it is large."""
        if max(images.shape[-2:]) > self.options.tile_size:
            return torch.cat([self.tiled(image.unsqueeze(0)) for image in images])
        try:
            return self._forward(images).cpu()
        except torch.OutOfMemoryError:  # too big for the GPU at once: tiles fit
            torch.cuda.empty_cache()
            return torch.cat([self.tiled(image.unsqueeze(0), tile_size=512) for image in images])

    def tiled(self, image: torch.Tensor, tile_size: int | None = None) -> torch.Tensor:
        """Stylize one (1, 3, H, W) image tile by tile; peak memory depends on the tile size, not the image.

        Every tile is normalized with the instance-norm statistics of the whole image (measured on a copy
        downscaled to ``stats_size``), so tiles agree and feathered blending leaves no seam.
        """
        if self.backend == "onnxruntime" and not self._tiles_noted:
            log.info("fst: tiled images run the PyTorch network in fp32 (ONNX Runtime cannot share instance-norm statistics across tiles)")
            self._tiles_noted = True
        tile = min(tile_size or self.options.tile_size, *image.shape[-2:])
        overlap = min(self.options.tile_overlap, tile // 2)
        height, width = image.shape[-2:]
        scale = min(1.0, (self.options.stats_size or tile) / max(height, width))
        small = image if scale == 1 else F.interpolate(image, scale_factor=scale, mode="area")
        with self._autocast():
            small = small.to(self.device)
            stats = record_norm_stats(self.net, small, *self._style_input(small))
        output = torch.zeros(1, 3, height, width)
        total = torch.zeros(1, 1, height, width)
        rows, columns = spans(height, tile, overlap, self.net.size_multiple), spans(width, tile, overlap, self.net.size_multiple)
        tiles = [(row, column) for row in rows for column in columns]
        with fixed_norm_stats(self.net, stats):
            for (top, bottom), (left, right) in tqdm(tiles, desc="tiles", unit="tile", leave=False, disable=len(tiles) < 2):
                crop = image[..., top:bottom, left:right]
                # the eager network: compiled graphs do not see the patched norm layers
                with self._autocast():
                    crop = crop.to(self.device)
                    result = self.net(crop, *self._style_input(crop)).float().clamp_(0, 1).cpu()
                weight = feather(top, bottom, height, overlap)[:, None] * feather(left, right, width, overlap)[None, :]
                output[..., top:bottom, left:right] += result * weight
                total[..., top:bottom, left:right] += weight
        return output / total

    def _finish(self, stylized: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
        if self.options.preserve_color:
            stylized = keep_colors(stylized, content)
        if self.options.strength < 1:
            stylized = torch.lerp(content, stylized, self.options.strength)
        return stylized
