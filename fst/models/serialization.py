"""Style-model files: network weights plus their model card.

``save_style_model`` writes an export (``.safetensors``); ``load_style_model`` and ``read_card`` read an export
or a Lightning ``.ckpt`` from training, of any registered architecture. Nothing is ever unpickled unsafely:
safetensors holds no code, and ``.ckpt`` files are read with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from fst.errors import FstError, why_unloadable
from fst.io import atomic_path
from fst.models.card import FORMAT, FORMAT_VERSION, ModelCard, card_from_v1
from fst.models.registry import build_network

DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}
NET_PREFIX = "net."  # where the LightningModule keeps the network
OVERRIDES_KEY = "fst_overrides"  # a training checkpoint's record of the command line that trained it
CARD_KEY = "fst_card"  # the card's key in an export's metadata (and in ONNX and TorchScript exports)


def save_style_model(net: nn.Module, path: str | Path, card: ModelCard, dtype: str) -> Path:
    """Write the network's weights (:func:`file_state`, in ``dtype``: float16, bfloat16 or float32) and its card,
    atomically."""
    if dtype not in DTYPES:
        raise FstError(f"export dtype must be one of {list(DTYPES)}, got {dtype!r}")
    state = {k: v.detach().to("cpu", DTYPES[dtype]).contiguous() for k, v in file_state(net).items()}
    return _write(state, path, card)


def file_state(net: nn.Module) -> dict[str, torch.Tensor]:
    """The tensors a model file holds of ``net``: its state dict, less the frozen parts that loading rebuilds from
    elsewhere (a network says which with ``file_state()``)."""
    return net.file_state() if hasattr(net, "file_state") else net.state_dict()


def update_card(path: str | Path, card: ModelCard) -> Path:
    """Rewrite an export's card, keeping its tensors exactly (e.g. to record evaluation figures)."""
    return _write(load_file(str(path)), path, card)


def _write(state: dict[str, torch.Tensor], path: str | Path, card: ModelCard) -> Path:
    metadata = {"format": f"{FORMAT}/{FORMAT_VERSION}", CARD_KEY: card.to_json()}
    path = Path(path)
    with atomic_path(path) as tmp:
        save_file(state, tmp, metadata=metadata)
    return path


def _card_from_metadata(path: Path, metadata: dict[str, str]) -> ModelCard:
    form = metadata.get("format", "")
    try:
        if form == f"{FORMAT}/1":
            return card_from_v1(metadata)
        if form.startswith(f"{FORMAT}/") and CARD_KEY in metadata:
            return ModelCard.from_json(metadata[CARD_KEY])
    except FstError as exc:
        raise FstError(f"cannot read the model card of {path}: {exc}") from None
    raise FstError(f"{path} is a safetensors file but not an fst style model (no '{FORMAT}' metadata)")


def checkpoint_card(checkpoint: dict, path: Path | str = "the checkpoint") -> ModelCard:
    """The card of a loaded Lightning checkpoint (fst 0.1's kept its training clock in a callback's state)."""
    section = checkpoint["fst"]
    try:
        if "format_version" in section:
            return ModelCard.from_dict(section)
        callbacks = checkpoint.get("callbacks", {}).values()
        seconds = next((state["train_seconds"] for state in callbacks if "train_seconds" in state), None)
        return card_from_v1({**section, "train_seconds": seconds}, steps=checkpoint.get("global_step", 0))
    except FstError as exc:
        raise FstError(f"cannot read the model card of {path}: {exc}") from None


def load_training_checkpoint(path: str | Path) -> dict:
    """A Lightning checkpoint written by fst training, loaded without running any pickled code."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FstError(f"checkpoint not found: {path}")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated files; pickles that would run code are refused here
        raise FstError(f"cannot read checkpoint {path}: {why_unloadable(path, exc)}") from None
    if not isinstance(checkpoint, dict) or "fst" not in checkpoint or "state_dict" not in checkpoint:
        raise FstError(f"{path} is not a checkpoint written by fst training (no 'fst' section)")
    return checkpoint


def _read_export(path: Path, tensors: bool) -> tuple[dict[str, torch.Tensor] | None, ModelCard]:
    if not path.is_file():
        raise FstError(f"checkpoint not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = dict(f.metadata() or {})
        card = _card_from_metadata(path, metadata)
        return (load_file(str(path)) if tensors else None), card
    except FstError:
        raise
    except Exception as exc:  # truncated files, foreign formats, ...
        raise FstError(f"cannot read checkpoint {path}: {why_unloadable(path, exc)}") from None


def _model_file(model: str | Path) -> Path:
    """A model file from its path or a shipped model's name (fst.models.zoo)."""
    from fst.models.zoo import resolve_model  # the zoo reads cards with this module

    return resolve_model(model, option="model")


def read_card(path: str | Path) -> ModelCard:
    """The card of an export or a Lightning checkpoint (or of a shipped model, by name), without building the
    network."""
    path = _model_file(path)
    if path.suffix == ".safetensors":
        return _read_export(path, tensors=False)[1]
    return checkpoint_card(load_training_checkpoint(path), path)


def load_style_model(path: str | Path) -> tuple[nn.Module, ModelCard]:
    """The network of an export or a Lightning ``.ckpt`` (or of a shipped model, by name: ``"candy"``), on the CPU,
    in fp32 and eval mode, and its card."""
    path = _model_file(path)
    if path.suffix == ".safetensors":
        state, card = _read_export(path, tensors=True)
    else:
        checkpoint = load_training_checkpoint(path)
        card = checkpoint_card(checkpoint, path)
        state = {k[len(NET_PREFIX):]: v for k, v in checkpoint["state_dict"].items() if k.startswith(NET_PREFIX)}
    try:
        net = build_network(card.architecture, card.network)
    except FstError as exc:
        raise FstError(f"checkpoint {path}: {exc}") from None
    if hasattr(net, "complete_state"):  # what the file leaves out (see save_style_model)
        state = net.complete_state(state, path)
    check_state_fits(net, state, path)
    net.load_state_dict({k: v.float() for k, v in state.items()})
    return net.eval(), card


def check_state_fits(net: nn.Module, state: dict[str, torch.Tensor], path: Path) -> None:
    """One-line errors for tensors that are missing, unexpected or of the wrong shape for ``net``."""
    expected = net.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise FstError(
            f"checkpoint {path} does not match its {type(net).__name__} config: "
            f"missing {missing[:3]}{'...' if len(missing) > 3 else ''}, "
            f"unexpected {unexpected[:3]}{'...' if len(unexpected) > 3 else ''}"
        )
    wrong_shape = [k for k, v in state.items() if v.shape != expected[k].shape]
    if wrong_shape:
        k = wrong_shape[0]
        raise FstError(f"checkpoint {path}: tensor {k} has shape {tuple(state[k].shape)}, expected {tuple(expected[k].shape)}")
