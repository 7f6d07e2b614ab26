"""The per-style checkpoint: TransformerNet weights plus metadata, in safetensors.

``export_style_model`` writes it; ``load_style_model`` reads it or a Lightning ``.ckpt``.
Nothing is ever unpickled unsafely: safetensors holds no code, and ``.ckpt`` files are read
with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from fst import __version__
from fst.errors import FstError, one_line_reason
from fst.io import atomic_path
from fst.models.transformer_net import TransformerNet

FORMAT = "fst-style-model/1"
DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}
NET_PREFIX = "net."  # where the LightningModule keeps the TransformerNet


def export_style_model(
    net: TransformerNet,
    path: str | Path,
    *,
    style: str,
    steps: int,
    loss: dict,
    dtype: str = "float16",
    style_size: int | None = None,
    image_size: int | None = None,
    batch_size: int | None = None,
    train_seconds: float | None = None,
    hardware: str | None = None,
    optimizer: dict | None = None,
) -> Path:
    """Write the network's weights (``dtype``) and the metadata needed to use and evaluate them."""
    if dtype not in DTYPES:
        raise FstError(f"export.dtype must be one of {list(DTYPES)}, got {dtype!r}")
    state = {k: v.detach().to("cpu", DTYPES[dtype]).contiguous() for k, v in net.state_dict().items()}
    metadata = {
        "format": FORMAT,
        "model_config": json.dumps(net.config),
        "style": style,
        "steps": str(steps),
        "loss": json.dumps(loss),
        "fst_version": __version__,
    }
    if style_size:
        metadata["style_size"] = str(style_size)  # the painting's long side in the style loss
    if image_size:
        metadata["image_size"] = str(image_size)  # the side of the training crops
    if batch_size:
        metadata["batch_size"] = str(batch_size)  # images per optimizer step (all devices), so steps x this = images seen
    if train_seconds is not None:
        metadata["train_seconds"] = f"{train_seconds:.0f}"  # wall time over all resumed runs
    if hardware:
        metadata["hardware"] = hardware
    if optimizer:
        metadata["optimizer"] = json.dumps(optimizer)  # e.g. {"name": "Adam", "lr": 0.001, "lr_scheduler": ...}
    path = Path(path)
    with atomic_path(path) as tmp:
        save_file(state, tmp, metadata=metadata)
    return path


def read_metadata(path: str | Path) -> dict:
    """The metadata of an exported checkpoint, with JSON fields decoded."""
    with safe_open(str(path), framework="pt") as f:
        metadata = dict(f.metadata() or {})
    for key in ("model_config", "loss", "optimizer"):
        if key in metadata:
            metadata[key] = json.loads(metadata[key])
    for key in ("steps", "style_size", "image_size", "batch_size", "train_seconds"):
        if key in metadata:
            metadata[key] = int(metadata[key])
    return metadata


def _read_safetensors(path: Path) -> tuple[dict, dict]:
    from safetensors.torch import load_file

    metadata = read_metadata(path)
    if metadata.get("format") != FORMAT:
        raise FstError(f"{path} is a safetensors file but not an fst style model (no '{FORMAT}' metadata)")
    return load_file(str(path)), metadata


def load_training_checkpoint(path: str | Path) -> dict:
    """A Lightning checkpoint written by fst training, loaded without running any pickled code."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FstError(f"checkpoint not found: {path}")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated files; pickles that would run code are refused here
        raise FstError(f"cannot read checkpoint {path} (refused or damaged): {one_line_reason(exc)}") from None
    if not isinstance(checkpoint, dict) or "fst" not in checkpoint or "state_dict" not in checkpoint:
        raise FstError(f"{path} is not a checkpoint written by fst training (no 'fst' section)")
    return checkpoint


def _read_lightning_checkpoint(path: Path) -> tuple[dict, dict]:
    checkpoint = load_training_checkpoint(path)
    state = {k[len(NET_PREFIX):]: v for k, v in checkpoint["state_dict"].items() if k.startswith(NET_PREFIX)}
    metadata = dict(checkpoint["fst"], steps=checkpoint.get("global_step", 0))
    return state, metadata


def load_style_model(path: str | Path) -> tuple[TransformerNet, dict]:
    """Rebuild the TransformerNet from an exported ``.safetensors`` or a Lightning ``.ckpt`` (on CPU, fp32)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FstError(f"checkpoint not found: {path}; pass ckpt=<style>.safetensors or a training .ckpt")
    try:
        if path.suffix == ".safetensors":
            state, metadata = _read_safetensors(path)
        else:
            state, metadata = _read_lightning_checkpoint(path)
    except FstError:
        raise
    except Exception as exc:  # truncated files, foreign pickles refused by weights_only, ...
        raise FstError(f"cannot read checkpoint {path}: {one_line_reason(exc)}") from None
    try:
        net = TransformerNet(**metadata["model_config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise FstError(f"checkpoint {path} has an invalid model_config: {exc}") from None
    expected = net.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise FstError(
            f"checkpoint {path} does not match its TransformerNet config: "
            f"missing {missing[:3]}{'...' if len(missing) > 3 else ''}, "
            f"unexpected {unexpected[:3]}{'...' if len(unexpected) > 3 else ''}"
        )
    wrong_shape = [k for k, v in state.items() if v.shape != expected[k].shape]
    if wrong_shape:
        k = wrong_shape[0]
        raise FstError(f"checkpoint {path}: tensor {k} has shape {tuple(state[k].shape)}, expected {tuple(expected[k].shape)}")
    net.load_state_dict({k: v.float() for k, v in state.items()})
    return net.eval(), metadata
