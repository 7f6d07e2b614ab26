"""Write a style model for other runtimes: ONNX (dynamic batch, height and width) or TorchScript, with its card;
or, from a multi-style model, a one-style model file of one of its styles or a mix."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import torch
from torch import nn

from fst.errors import FstError
from fst.export.quantize import quantize_onnx
from fst.io import atomic_path, check_writable
from fst.models.card import ModelCard
from fst.models.conditional_net import extract_style, is_multi_style
from fst.models.mixing import chosen_style
from fst.models.serialization import CARD_KEY, load_style_model, read_card, save_style_model
from fst.models.zoo import resolve_model
from fst.options import SUFFIXES, ExportOptions, default_calibration

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "int8": torch.float32}  # int8: quantized from fp32


def example_inputs(net: nn.Module, dtype: torch.dtype) -> tuple[torch.Tensor, ...]:
    """An image batch, and for a multi-style network its style weights (its second input)."""
    image = torch.rand(1, 3, 64, 64, dtype=dtype)
    if not is_multi_style(net):
        return (image,)
    return image, torch.full((1, net.num_styles), 1 / net.num_styles, dtype=dtype)


def export_onnx(net: nn.Module, path: Path, card: ModelCard | None, dtype: torch.dtype, opset: int) -> None:
    """Write ``net`` as ONNX with dynamic batch, height and width, and ``card`` (when given) in its metadata."""
    try:
        import onnx
        import onnxscript  # noqa: F401  (torch's ONNX exporter needs it)
    except ImportError:
        raise FstError("format=onnx needs the ONNX packages: pip install 'fst[export]'") from None
    inputs = example_inputs(net, dtype)
    batch, height, width = (torch.export.Dim(name, min=lo, max=16384) for name, lo in [("batch", 1), ("height", 8), ("width", 8)])
    shapes = ({0: batch, 2: height, 3: width}, {0: batch})[: len(inputs)]
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            net,
            inputs,
            dynamo=True,
            dynamic_shapes=shapes,
            input_names=["image", "style"][: len(inputs)],
            output_names=["stylized"],
            opset_version=opset,
            verbose=False,
        )
        model = program.model_proto
        if card is not None:
            onnx.helper.set_model_props(model, {CARD_KEY: card.to_json()})
        onnx.save(model, tmp)


def export_torchscript(net: nn.Module, path: Path, card: ModelCard) -> None:
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TorchScript is deprecated upstream but still widely deployed
        torch.jit.script(net).save(tmp, _extra_files={f"{CARD_KEY}.json": card.to_json()})


def export(options: ExportOptions) -> Path:
    """Write the model ``options.ckpt`` as ``options`` say; return the written file."""
    options.check()
    model = resolve_model(options.ckpt)
    card = read_card(model)
    if options.format == "safetensors" and card.multi_style and options.style is None:
        raise FstError("format=safetensors writes one style of a multi-style model: pick it with style=<name> or a mix")
    if options.precision == "int8" and options.format != "onnx":
        raise FstError(f"precision=int8 is for format=onnx (ONNX Runtime runs it); format={options.format} takes fp32 or fp16")
    net, card = load_style_model(model) if card.arbitrary else (None, card)  # it encodes the painting
    weights, name = chosen_style(card, options.style, required=False, net=net)
    suffix = ("" if options.precision == "fp32" else f".{options.precision}") + SUFFIXES[options.format]
    path = Path(options.output).expanduser() if options.output else Path("exported") / f"{name}{suffix}"
    if path.exists() and not options.overwrite:
        raise FstError(f"output exists: {path}; pass overwrite=true or another output")
    check_writable(path, "output")
    if net is None:
        net, card = load_style_model(model)
    if weights is not None:
        net, card = extract_style(net, card, weights, name)
    if options.format == "safetensors":
        return save_style_model(net, path, card, dtype={"fp32": "float32", "fp16": "float16"}[options.precision])
    net = net.to(DTYPES[options.precision])
    if options.format == "onnx" and options.precision == "int8":
        with tempfile.TemporaryDirectory(prefix="fst-export-") as work:
            export_onnx(net, Path(work) / "fp32.onnx", card, torch.float32, options.opset)
            calibration = options.calibration or default_calibration()
            quantize_onnx(Path(work) / "fp32.onnx", path, card, calibration, options.calibration_size)
    elif options.format == "onnx":
        export_onnx(net, path, card, DTYPES[options.precision], options.opset)
    else:
        export_torchscript(net, path, card)
    return path
