"""Export a per-style model for other runtimes: ONNX (dynamic batch, height and width) or TorchScript:
``python scripts/export.py ckpt=<style>.safetensors format=onnx [precision=fp16] [output=...]``."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import torch
from omegaconf import DictConfig

from fst.checkpoint import load_style_model
from fst.config import command
from fst.errors import FstError
from fst.io import atomic_path

log = logging.getLogger(__name__)
SUFFIXES = {"onnx": ".onnx", "torchscript": ".pt"}
DTYPES = {"fp32": torch.float32, "fp16": torch.float16}


def export_onnx(net: torch.nn.Module, path: Path, dtype: torch.dtype, opset: int) -> None:
    example = torch.rand(1, 3, 64, 64, dtype=dtype)
    batch, height, width = (torch.export.Dim(name, min=lo, max=16384) for name, lo in [("batch", 1), ("height", 8), ("width", 8)])
    try:
        import onnxscript  # noqa: F401  (torch's ONNX exporter needs it)
    except ImportError:
        raise FstError("format=onnx needs the ONNX packages: pip install -e '.[export]'") from None
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            net,
            (example,),
            dynamo=True,
            dynamic_shapes={"x": {0: batch, 2: height, 3: width}},
            input_names=["image"],
            output_names=["stylized"],
            opset_version=opset,
            verbose=False,
        )
        program.save(tmp)


def export_torchscript(net: torch.nn.Module, path: Path) -> None:
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TorchScript is deprecated upstream but still widely deployed
        torch.jit.script(net).save(tmp)


def export(cfg: DictConfig) -> Path:
    if cfg.format not in SUFFIXES:
        raise FstError(f"format={cfg.format} is not one of {', '.join(SUFFIXES)}")
    if cfg.precision not in DTYPES:
        raise FstError(f"precision={cfg.precision} is not one of {', '.join(DTYPES)}")
    net, metadata = load_style_model(cfg.ckpt)
    ckpt = Path(cfg.ckpt)
    suffix = ("" if cfg.precision == "fp32" else f".{cfg.precision}") + SUFFIXES[cfg.format]
    path = Path(cfg.output) if cfg.output else ckpt.with_name(ckpt.stem + suffix)
    if path.exists() and not cfg.overwrite:
        raise FstError(f"output exists: {path}; pass overwrite=true or another output")
    net = net.to(DTYPES[cfg.precision])
    if cfg.format == "onnx":
        export_onnx(net, path, DTYPES[cfg.precision], cfg.opset)
    else:
        export_torchscript(net, path)
    log.info("exported %s (%s, style %s)", path, cfg.precision, metadata.get("style"))
    return path


@command("export")
def main(cfg: DictConfig) -> None:
    print(f"fst: wrote {export(cfg)}")


if __name__ == "__main__":
    main()
