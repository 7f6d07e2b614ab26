"""The options of fst's library entry points, each defined once with its default, its help and its check.

:class:`StylizeOptions` is how a network runs (:class:`fst.inference.stylizer.Stylizer`, ``fst.Model.stylize``),
:class:`ExportOptions` what ``fst.export.formats.export`` writes, :class:`AppOptions` the web app's. The commands
use them as their structured configs (fst/schemas.py), so ``--help`` and the docs' option tables show the help
written here. This module imports nothing heavy: every command's ``--help`` reads it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from fst.errors import FstError

REQUIRED = "???"  # a required option: the value OmegaConf reads as missing, so the commands ask for it
PRECISION_CHOICES = ("auto", "fp32", "bf16", "fp16", "int8")
BACKEND_CHOICES = ("auto", "torch", "onnxruntime")


def option(default: Any, help: str) -> Any:
    """A dataclass field with its default and the one line that ``--help`` and the docs show for it."""
    return field(default=default, metadata={"help": help})


def describe(cls: type) -> list[tuple[str, Any, str]]:
    """(name, default, help) of each documented option of a dataclass of options."""
    return [(f.name, f.default, f.metadata["help"]) for f in fields(cls) if "help" in f.metadata]


@dataclass
class CalibrationOptions:
    """The photos that set an INT8 model's activation ranges (stylize's and export's ``precision=int8``)."""

    calibration: str | None = option(None, "precision=int8: photos that set the INT8 ranges (up to 32 are read); "
                                           "null: $FST_DATA_DIR/content/eval, else the demo photos shipped with fst")
    calibration_size: int = option(256, "precision=int8: the side of the square centre crops calibrated on, in pixels")

    def check(self) -> None:
        if not (isinstance(self.calibration_size, int) and self.calibration_size > 0):
            raise FstError(f"calibration_size must be > 0, got {self.calibration_size}")


@dataclass
class StylizeOptions(CalibrationOptions):
    device: str = option("auto", "auto (cuda > mps > cpu) | cpu | cuda | cuda:N | mps")
    precision: str = option("auto", "auto (bf16 on GPUs with bf16, else fp16; on CPU bf16 where native, else fp32) "
                                    "| fp32 | bf16 | fp16 | int8 (CPU)")
    backend: str = option("auto", "torch | onnxruntime (CPU; fp32 or int8) | auto: onnxruntime for precision=int8, "
                                  "else torch")
    channels_last: bool | None = option(None, "NHWC memory format; null = on CUDA only")
    compile: bool = option(False, "torch.compile the network (faster after a warm-up per input size)")
    tile_size: int = option(2048, "images with a side above this are stylized in overlapping tiles (bounded memory)")
    tile_overlap: int = option(128, "pixels shared by neighbouring tiles, blended with feathered weights")
    stats_size: int | None = option(None, "long side of the copy that tiled images take instance-norm statistics "
                                          "from (null: tile_size)")
    strength: float = option(1.0, "0 returns the input unchanged, 1 the full style; in between blends them")
    preserve_color: bool = option(False, "keep the input's colours: stylize luminance only (Gatys et al. 2016)")
    stroke_size: Any = option("auto", "strokes k times bigger (paint at 1/k size, restore the photo's detail); auto: "
                                      "images over 1536 px are painted at 1536")

    def check(self) -> None:
        """A one-line FstError for the first value out of range."""
        if self.precision not in PRECISION_CHOICES:
            raise FstError(f"precision={self.precision}: use {', '.join(PRECISION_CHOICES)}")
        if self.backend not in BACKEND_CHOICES:
            raise FstError(f"backend={self.backend}: use {', '.join(BACKEND_CHOICES)}")
        super().check()
        if self.tile_size < 64:
            raise FstError(f"tile_size must be >= 64, got {self.tile_size}")
        if not 0 <= self.tile_overlap <= self.tile_size // 2:
            raise FstError(f"tile_overlap must be between 0 and tile_size/2, got {self.tile_overlap}")
        if self.stats_size is not None and self.stats_size <= 0:
            raise FstError(f"stats_size must be > 0, got {self.stats_size}")
        if not 0 <= self.strength <= 1:
            raise FstError(f"strength must be between 0 and 1, got {self.strength}")
        size = self.stroke_size
        if not (size == "auto" or (isinstance(size, (int, float)) and not isinstance(size, bool) and size > 0)):
            raise FstError(f"stroke_size must be auto or a number > 0, got {size}")


def take_options(values: dict, cls: type = StylizeOptions) -> tuple[Any, dict]:
    """The options of ``cls`` found among ``values`` (e.g. a command's whole config), and the rest."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in names}), {k: v for k, v in values.items() if k not in names}


def default_calibration() -> Path:
    """The photos ``precision=int8`` calibrates on when ``calibration`` is not given."""
    from fst.resources import DEMO_PHOTOS  # finding the resources touches the disk: only when calibrating

    data = os.environ.get("FST_DATA_DIR")
    return Path(data) / "content" / "eval" if data else DEMO_PHOTOS


@dataclass
class TemporalOptions:
    """Videos and GIFs without flicker (``temporal=flow``): the previous output, carried onto each frame by the
    optical flow of the input frames, is blended with the frame's own stylization where a forward-backward check
    finds the flow reliable. The arguments of :class:`fst.inference.temporal.TemporalBlend`."""

    strength: float = option(0.25, "how much of the carried paint a reliable pixel keeps (0: each frame alone; "
                                  "higher: steadier, blurrier)")
    flow: str = option("dis", "the optical flow: dis | dis_fast | farneback (OpenCV; no downloaded weights)")
    scene_cut: float = option(0.3, "a frame with fewer reliable pixels than this fraction starts afresh (a cut, a "
                                   "flash)")
    scale: float = option(0.5, "the flow is estimated at this fraction of the frame size")
    detail_sigma: float = option(3.0, "the blend keeps the strokes' contrast: detail finer than a blur of this sigma "
                                      "(pixels) is restored to one frame's strength (0: a plain blend, softer)")

    def check(self) -> None:
        """TemporalBlend checks its arguments where it takes them."""


# --- fst-export ---

SUFFIXES = {"onnx": ".onnx", "torchscript": ".pt", "safetensors": ".safetensors"}
PRECISIONS = ("fp32", "fp16", "int8")


@dataclass
class ExportOptions(CalibrationOptions):
    """What fst-export writes (``fst-export --help`` shows the help written here)."""

    ckpt: str = option(REQUIRED, "a shipped model's name, a .safetensors export or a training .ckpt")
    format: str = option("onnx", "onnx (dynamic batch, height and width; inputs \"image\" and, for a multi-style model, "
                                 "\"style\"; output \"stylized\") | torchscript | safetensors (a one-style model file: "
                                 "with style=, one style or a mix of a multi-style model)")
    style: Any = option(None, "of a multi-style model: export only this style (candy) or mix (candy:0.3,udnie:0.7), "
                              "as a one-style model")
    precision: str = option("fp32", "fp32 | fp16 (halves the file; run it on a GPU) | int8 (format=onnx, for ONNX "
                                    "Runtime on CPUs; calibrated on photos)")
    output: str | None = option(None, "default: exported/<style>[.fp16|.int8].onnx (or .pt) in the current folder")
    overwrite: bool = option(False, "replace an existing output")
    opset: int = option(18, "ONNX opset")

    def check(self) -> None:
        super().check()
        if self.format not in SUFFIXES:
            raise FstError(f"format={self.format}: use {', '.join(SUFFIXES)}")
        if self.precision not in PRECISIONS:
            raise FstError(f"precision={self.precision}: use {', '.join(PRECISIONS)}")


# --- the web app ---

@dataclass
class AppOptions(StylizeOptions):
    host: str = option("127.0.0.1", "the address to serve on; 0.0.0.0 lets other machines of the network in")
    port: int | None = option(7860, "null: the first free port from 7860 on")
    share: bool = option(False, "a public gradio.live link as well (through Gradio's servers; anyone with the link "
                                "can use the app)")
    models: str | None = option(None, "a folder of your own style models (.safetensors, searched recursively), shown "
                                      "after the shipped ones")
    paintings: str | None = option(None, "a style's thumbnail is its painting <paintings>/<style>.jpg when there, else "
                                         "a sample photo in that style; null: $FST_DATA_DIR/styles when set")
    size: int | None = option(None, "the page's starting output size: the long side in pixels; null keeps the "
                                     "input's size")
    max_upload_mb: float = option(200, "larger uploads are refused before they are stored")
    concurrency: int = option(1, "requests stylized at once (on a CPU one request already uses every core); the rest "
                                 "wait in the queue")
    queue_size: int = option(32, "requests that may wait; more are told to come back later")
    keep_minutes: float = option(60, "uploads and results are deleted this long after they were made; all of them "
                                     "when the app stops")
    batch_size: int = option(4, "video frames stylized together")
    webcam_size: int = option(320, "the long side of the live webcam frames, in pixels (smaller is more frames per "
                                   "second)")
    webcam_model: str | None = option("multi_style_fast", "the light network the webcam paints the chosen style (or "
                                                          "mix) with, when it paints it (fst-models lists them); null: "
                                                          "the chosen model itself")
    # The page's "steady paint" box (TemporalOptions, its steadiness slider setting the strength); None hides it.
    temporal: TemporalOptions | None = None

    def check(self) -> None:
        super().check()
        if self.port is not None and not 0 < self.port < 65536:
            raise FstError(f"port must be between 1 and 65535, got {self.port}")
        for name in ("size", "max_upload_mb", "concurrency", "queue_size", "keep_minutes", "batch_size", "webcam_size"):
            value = getattr(self, name)
            if not (value is None and name == "size") and not (value is not None and value > 0):
                raise FstError(f"{name} must be > 0, got {value}")
        # The app builds a network per request, so each request would compile it again.
        if self.compile:
            raise FstError("compile=true does not suit the app: it builds the network anew for every request and "
                           "would compile it each time; leave compile=false")

    @property
    def painting_folder(self) -> str | None:
        data = os.environ.get("FST_DATA_DIR")
        return self.paintings if self.paintings is not None else f"{data}/styles" if data else None

    def stylizer_options(self, **changes) -> StylizeOptions:
        """The stylizer's options of this app, with the page's choices (``changes``) applied."""
        values = {item.name: getattr(self, item.name) for item in fields(StylizeOptions)}
        return StylizeOptions(**{**values, **changes})
