"""Stylizing with ONNX Runtime (``backend=onnxruntime``): the network exported to ONNX in fp32, or quantized to
INT8 (``precision=int8``), made once per model and options and kept in fst's cache folder."""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

import torch
from torch import nn

from fst.data.images import require_image_folder
from fst.errors import FstError
from fst.export.formats import export_onnx
from fst.export.quantize import quantize_onnx

log = logging.getLogger(__name__)
ONNX_PRECISIONS = ("fp32", "int8")
OPSET = 18


def cache_dir() -> Path:
    """``FST_CACHE_DIR``, else ``$XDG_CACHE_HOME/fst`` (``~/.cache/fst``)."""
    if os.environ.get("FST_CACHE_DIR"):
        return Path(os.environ["FST_CACHE_DIR"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "fst"


def fingerprint(net: nn.Module, *extra) -> str:
    """A hash of the network's class, options and weights, and of ``extra``: the cache key of its ONNX files."""
    digest = hashlib.sha256(type(net).__qualname__.encode())
    digest.update(json.dumps([getattr(net, "config", None), *extra], sort_keys=True, default=str).encode())
    for name, tensor in net.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:24]


def onnx_model(net: nn.Module, precision: str, calibration: str | Path, calibration_size: int) -> Path:
    """The network as an ONNX file in ``precision`` (fp32, or int8 calibrated on the photos of ``calibration``),
    exported (and quantized) on first use and cached under :func:`cache_dir`."""
    extra = [precision, OPSET]
    if precision == "int8":
        photos = require_image_folder(calibration, "calibration")
        extra += [calibration_size, [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in photos]]
    path = cache_dir() / "onnx" / f"{fingerprint(net, *extra)}.{precision}.onnx"
    if path.exists():
        return path
    log.info("fst: making the %s ONNX model (once; cached in %s)", precision, path.parent)
    float_net = copy.deepcopy(net).float().cpu().eval()
    with tempfile.TemporaryDirectory(prefix="fst-onnx-") as work:
        exported = path if precision == "fp32" else Path(work) / "fp32.onnx"
        export_onnx(float_net, exported, None, torch.float32, OPSET)
        if precision == "int8":
            quantize_onnx(exported, path, None, calibration, calibration_size)
    return path


class OnnxNetwork:
    """An ONNX Runtime session that is called like the PyTorch network: (B, 3, H, W) images, and a
    multi-style network's (B, S) style weights, in; the stylized batch out."""

    def __init__(self, path: Path, threads: int | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.log_severity_level = 3  # errors only: its notices about unused initializers are not the user's
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def __call__(self, images: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        feeds = {"image": images.float().contiguous().numpy()}
        if style is not None:
            feeds["style"] = style.float().contiguous().numpy()
        return torch.from_numpy(self.session.run(None, feeds)[0])


def check_onnxruntime() -> None:
    """One line, up front, when the packages that export and run the ONNX model are missing."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
        import onnxscript  # noqa: F401  (torch's ONNX exporter needs it)
    except ImportError as exc:
        raise FstError(f"backend=onnxruntime (and precision=int8) needs {exc.name}: pip install 'fst[export]'") from None
