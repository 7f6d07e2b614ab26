"""fst-export's options: the one definition of each, its default, its help and its check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fst.errors import FstError
from fst.inference.options import REQUIRED, option

SUFFIXES = {"onnx": ".onnx", "torchscript": ".pt", "safetensors": ".safetensors"}
PRECISIONS = ("fp32", "fp16", "int8")


@dataclass
class ExportOptions:
    """What fst-export writes (``fst-export --help`` shows the help written here)."""

    ckpt: str = option(REQUIRED, "a shipped model's name, a .safetensors export or a training .ckpt")
    format: str = option("onnx", "onnx (dynamic batch, height and width; inputs \"image\" and, for a multi-style model, "
                                 "\"style\"; output \"stylized\") | torchscript | safetensors (a one-style model file: "
                                 "with style=, one style or a mix of a multi-style model)")
    style: Any = option(None, "of a multi-style model: export only this style (candy) or mix (candy:0.3,udnie:0.7), "
                              "as a one-style model")
    precision: str = option("fp32", "fp32 | fp16 (halves the file; run it on a GPU) | int8 (format=onnx, for ONNX "
                                    "Runtime on CPUs; calibrated on photos)")
    calibration: str | None = option(None, "precision=int8: photos that set the INT8 ranges (up to 32 are read); "
                                           "null: $FST_DATA_DIR/content/eval, else the demo photos shipped with fst")
    calibration_size: int = option(256, "precision=int8: the side of the square centre crops calibrated on, in pixels")
    output: str | None = option(None, "default: exported/<style>[.fp16|.int8].onnx (or .pt) in the current folder")
    overwrite: bool = option(False, "replace an existing output")
    opset: int = option(18, "ONNX opset")

    def check(self) -> None:
        if self.format not in SUFFIXES:
            raise FstError(f"format={self.format}: use {', '.join(SUFFIXES)}")
        if self.precision not in PRECISIONS:
            raise FstError(f"precision={self.precision}: use {', '.join(PRECISIONS)}")
        if self.calibration_size <= 0:
            raise FstError(f"calibration_size must be > 0, got {self.calibration_size}")
