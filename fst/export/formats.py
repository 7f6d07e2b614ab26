"""Write a style network for other runtimes: ONNX (dynamic batch, height and width) or TorchScript, with its card."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from omegaconf import DictConfig
from torch import nn

from fst.errors import FstError
from fst.io import atomic_path
from fst.models.card import ModelCard
from fst.models.files import CARD_KEY, load_style_model
from fst.models.zoo import resolve_model

SUFFIXES = {"onnx": ".onnx", "torchscript": ".pt"}
DTYPES = {"fp32": torch.float32, "fp16": torch.float16}


def export_onnx(net: nn.Module, path: Path, card: ModelCard, dtype: torch.dtype, opset: int) -> None:
    try:
        import onnx
        import onnxscript  # noqa: F401  (torch's ONNX exporter needs it)
    except ImportError:
        raise FstError("format=onnx needs the ONNX packages: pip install 'fst[export]'") from None
    example = torch.rand(1, 3, 64, 64, dtype=dtype)
    batch, height, width = (torch.export.Dim(name, min=lo, max=16384) for name, lo in [("batch", 1), ("height", 8), ("width", 8)])
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            net,
            (example,),
            dynamo=True,
            dynamic_shapes=({0: batch, 2: height, 3: width},),
            input_names=["image"],
            output_names=["stylized"],
            opset_version=opset,
            verbose=False,
        )
        model = program.model_proto
        onnx.helper.set_model_props(model, {CARD_KEY: card.to_json()})
        onnx.save(model, tmp)


def export_torchscript(net: nn.Module, path: Path, card: ModelCard) -> None:
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TorchScript is deprecated upstream but still widely deployed
        torch.jit.script(net).save(tmp, _extra_files={f"{CARD_KEY}.json": card.to_json()})


def export(cfg: DictConfig) -> Path:
    """Export ``cfg.ckpt`` as ``conf/export.yaml`` says; return the written file."""
    if cfg.format not in SUFFIXES:
        raise FstError(f"format={cfg.format} is not one of {', '.join(SUFFIXES)}")
    if cfg.precision not in DTYPES:
        raise FstError(f"precision={cfg.precision} is not one of {', '.join(DTYPES)}")
    net, card = load_style_model(resolve_model(cfg.ckpt))
    suffix = ("" if cfg.precision == "fp32" else f".{cfg.precision}") + SUFFIXES[cfg.format]
    path = Path(cfg.output).expanduser() if cfg.output else Path("exported") / f"{card.name}{suffix}"
    if path.exists() and not cfg.overwrite:
        raise FstError(f"output exists: {path}; pass overwrite=true or another output")
    net = net.to(DTYPES[cfg.precision])
    if cfg.format == "onnx":
        export_onnx(net, path, card, DTYPES[cfg.precision], cfg.opset)
    else:
        export_torchscript(net, path, card)
    return path
