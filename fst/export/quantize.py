"""INT8 post-training static quantization of an exported ONNX style model, with ONNX Runtime (QDQ format).

The choices, measured on the shipped styles (``tools/benchmark_int8.py``, docs/performance.md "INT8"):

- Only convolutions run in INT8. Instance norm divides by statistics of the whole image, whose range a fixed
  INT8 scale cannot hold (the "quantized instance norm gives garbage" reports); ReLU, padding, the residual
  additions and upsampling are cheap memory operations that INT8 does not speed up.
- The convolutions at full and half resolution stay in float: the first (9x9 over raw RGB, where every colour
  step counts), the decoder's upsampling ones and the last (9x9 to RGB). Quantized alone, the first and the
  upsampling ones each move the output by 0.02 to 0.03 (mean absolute difference in [0, 1]), every other by
  0.002 to 0.01; and with 3 input or output channels, or at full resolution, INT8 kernels gain nothing there.
  What runs in INT8 is the bulk of the arithmetic: the encoder's strided convolutions and the residual blocks.
- Weights are int8 per output channel (symmetric), activations uint8 per tensor (asymmetric: after ReLU they
  are non-negative). Ranges are the 99.999th percentiles of the calibration activations: the min and max let
  a few outliers widen every step (mean absolute difference at 512 px 0.024 against 0.017 with percentiles).
"""

from __future__ import annotations

import ast
import contextlib
import io
import itertools
import logging
import tempfile
from pathlib import Path

import numpy as np
import torchvision.transforms.v2.functional as TF

from fst.data.images import ImageLoadError, load_image, require_image_folder
from fst.errors import FstError
from fst.io import atomic_path
from fst.models.card import ModelCard, Quantization
from fst.models.serialization import CARD_KEY

# The convolutions left in float, by role in the graph (see the module docstring for why).
KEEP_FLOAT = ("first", "upsampling", "last")
ROLES = ("first", "upsampling", "last", "other")
METHOD = "Percentile"
# Most calibration photos read: the ranges settle after a handful, and each photo costs a float forward pass.
MAX_CALIBRATION_PHOTOS = 32


def calibration_inputs(folder: str | Path, size: int, num_styles: int | None) -> list[dict[str, np.ndarray]]:
    """The network inputs that set the activation ranges: each photo as a ``size`` px square (its centre) and, for
    a multi-style network, one style after another (one-hot), so every style's scale and shift is seen. One
    size for all, as the histogram calibration methods need."""
    paths = require_image_folder(folder, "calibration")[:MAX_CALIBRATION_PHOTOS]
    inputs = []
    styles = itertools.cycle(range(num_styles or 1))
    for path in paths:
        try:
            image = TF.center_crop(TF.resize(load_image(path), size, antialias=True), size)
        except ImageLoadError as exc:
            raise FstError(f"calibration: {exc}; remove it from {folder} or choose another calibration= folder") from None
        feed = {"image": image[None].numpy()}
        if num_styles:
            feed["style"] = np.eye(num_styles, dtype=np.float32)[[next(styles)]]
        inputs.append(feed)
    return inputs


def num_styles(model) -> int | None:
    """How many style weights an ONNX style model's ``style`` input takes (a multi-style model); None without one."""
    for value in model.graph.input:
        if value.name == "style":
            return value.type.tensor_type.shape.dim[1].dim_value
    return None


def conv_layers(model) -> dict[str, tuple[str, str]]:
    """Each Conv node of an ONNX graph: its (module name in the PyTorch network, role), by node name.

    Roles: ``first``, ``upsampling`` (fed by a Resize, through padding), ``last``, ``other``. The module name
    comes from the exporter's name scopes (e.g. ``decoder.0.1.1``); the node name where there are none.
    """
    producers = {output: node for node in model.graph.node for output in node.output}
    convs = [node for node in model.graph.node if node.op_type == "Conv"]
    layers = {}
    for index, node in enumerate(convs):
        source = producers.get(node.input[0])
        while source is not None and source.op_type in ("Pad", "Cast", "Identity"):
            source = producers.get(source.input[0])
        if index == 0:
            role = "first"
        elif source is not None and source.op_type == "Resize":
            role = "upsampling"
        elif index == len(convs) - 1:
            role = "last"
        else:
            role = "other"
        layers[node.name] = (module_name(node), role)
    return layers


def module_name(node) -> str:
    scopes = {p.key: p.value for p in node.metadata_props}.get("pkg.torch.onnx.name_scopes")
    try:
        return ast.literal_eval(scopes)[-2]
    except (ValueError, SyntaxError, IndexError):
        return node.name


@contextlib.contextmanager
def quiet_unless_verbose(onnxruntime):
    """Silence ONNX Runtime's calibration chatter (it prints its histogram and threshold steps, and logs notices)
    unless the root logger shows INFO: fst's commands leave it there only with verbose=true, as for every other
    library's notices (fst.commands.cli.quiet_libraries), and Python's default is WARNING."""
    if logging.getLogger().isEnabledFor(logging.INFO):
        yield
        return
    onnxruntime.set_default_logger_severity(3)  # errors only, for the sessions the calibration opens
    logging.disable(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logging.disable(logging.NOTSET)
        onnxruntime.set_default_logger_severity(2)  # ONNX Runtime's default: warnings


def quantize_onnx(float_model: Path, output: Path, card: ModelCard | None, calibration: str | Path, size: int,
                  keep_float: tuple[str, ...] = KEEP_FLOAT, keep_nodes: tuple[str, ...] = (), method: str = METHOD,
                  options: dict | None = None) -> Quantization:
    """Write an INT8 copy of the float ONNX model ``float_model`` to ``output``, calibrated on the photos of
    ``calibration``; the card (when given) is written into it with the returned record of how.

    ``keep_float`` names roles (:func:`conv_layers`) and ``keep_nodes`` Conv node names left in float;
    ``method`` is ONNX Runtime's CalibrationMethod and ``options`` its quantize_static extra_options.
    """
    try:
        import onnx
        import onnxruntime
        from onnxruntime.quantization import (
            CalibrationDataReader,
            CalibrationMethod,
            QuantFormat,
            QuantType,
            quantize_static,
        )
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except ImportError:
        raise FstError("precision=int8 needs ONNX Runtime: pip install 'fst[export]'") from None
    unknown = set(keep_float) - set(ROLES)
    if unknown:
        raise FstError(f"keep_float: {', '.join(sorted(unknown))} is not a role; use {', '.join(ROLES)}")
    inputs = calibration_inputs(calibration, size, num_styles(onnx.load(str(float_model), load_external_data=False)))

    class Photos(CalibrationDataReader):
        def __init__(self):
            self.feeds = iter(inputs)

        def get_next(self):
            return next(self.feeds, None)

    with tempfile.TemporaryDirectory(prefix="fst-int8-") as work, quiet_unless_verbose(onnxruntime):
        prepared = Path(work) / "prepared.onnx"
        # Folds constants and infers the shapes the calibrator needs; the symbolic pass cannot follow the
        # dynamic padding arithmetic, and ONNX's own shape inference suffices.
        quant_pre_process(str(float_model), str(prepared), skip_symbolic_shape=True)
        layers = conv_layers(onnx.load(str(prepared)))
        excluded = [name for name, (_, role) in layers.items() if role in keep_float or name in keep_nodes]
        quantized = Path(work) / "int8.onnx"
        quantize_static(
            str(prepared), str(quantized), Photos(),
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=["Conv"],
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=excluded,
            calibrate_method=CalibrationMethod[method],
            extra_options=options,
            calibration_providers=["CPUExecutionProvider"],
        )
        record = Quantization(
            toolchain=f"onnxruntime {onnxruntime.__version__}, static QDQ",
            calibration=str(Path(calibration).expanduser()),
            photos=len(inputs),
            size=size,
            method=method,
            weights="int8, symmetric, per output channel",
            activations="uint8, asymmetric, per tensor",
            quantized=f"{len(layers) - len(excluded)} of {len(layers)} convolutions",
            kept_float=tuple(layers[name][0] for name in excluded),
        )
        model = onnx.load(str(quantized))
        if card is not None:
            onnx.helper.set_model_props(model, {CARD_KEY: card.replace(quantization=record).to_json()})
        with atomic_path(output) as tmp:
            onnx.save(model, tmp)
    return record
