"""How a style network runs: the one definition of the stylizing options, their defaults, their help and their checks.

:class:`StylizeOptions` is the input of :class:`fst.inference.stylizer.Stylizer` and the keyword arguments of
``fst.Model.stylize``; the commands (stylize, evaluate, the app) use it as their structured config, so
``fst-stylize --help`` shows the help written here.
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
class StylizeOptions:
    device: str = option("auto", "auto (cuda > mps > cpu) | cpu | cuda | cuda:N | mps")
    precision: str = option("auto", "auto (bf16 on GPUs with bf16, else fp16; on CPU bf16 where native, else fp32) "
                                    "| fp32 | bf16 | fp16 | int8 (CPU)")
    backend: str = option("auto", "torch | onnxruntime (CPU; fp32 or int8) | auto: onnxruntime for precision=int8, "
                                  "else torch")
    calibration: str | None = option(None, "precision=int8: photos that set the INT8 ranges (up to 32 are read); "
                                           "null: $FST_DATA_DIR/content/eval, else the demo photos shipped with fst")
    calibration_size: int = option(256, "precision=int8: the side of the square centre crops calibrated on, in pixels")
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
        if not (isinstance(self.calibration_size, int) and self.calibration_size > 0):
            raise FstError(f"calibration_size must be > 0, got {self.calibration_size}")
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
    from fst.resources import DEMO_PHOTOS

    data = os.environ.get("FST_DATA_DIR")
    return Path(data) / "content" / "eval" if data else DEMO_PHOTOS
