"""Frozen VGG16 feature extractor for the perceptual loss."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn
from torchvision.models import VGG16_Weights
from torchvision.models.vgg import cfgs, make_layers

from fst.errors import FstError, one_line_reason

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _vgg16_features() -> nn.Sequential:
    """An untrained ``torchvision.models.vgg16().features`` (built without the 120 M-parameter classifier)."""
    return make_layers(cfgs["D"], batch_norm=False)


def _vgg16_layer_names() -> dict[str, int]:
    """Map ``relu1_2``-style names to indices in ``torchvision.models.vgg16().features``.

    Derived from the network itself so it can never drift from torchvision's layout.
    """
    names, block, conv = {}, 1, 1
    for index, layer in enumerate(_vgg16_features()):
        if isinstance(layer, nn.Conv2d):
            names[f"conv{block}_{conv}"] = index
        elif isinstance(layer, nn.ReLU):
            names[f"relu{block}_{conv}"] = index
            conv += 1
        elif isinstance(layer, nn.MaxPool2d):
            names[f"pool{block}"] = index
            block, conv = block + 1, 1
    return names


VGG16_LAYERS: dict[str, int] = _vgg16_layer_names()


def layer_index(name: str) -> int:
    try:
        return VGG16_LAYERS[name]
    except KeyError:
        raise FstError(f"unknown VGG16 layer {name!r}; use one of: {', '.join(VGG16_LAYERS)}") from None


def load_vgg16_features_state(source: str) -> dict[str, torch.Tensor] | None:
    """Return a ``features``-keyed state dict (``0.weight``, ...) for ``source``.

    ``source`` is ``imagenet`` (torchvision download), ``random`` (no weights, tests only),
    or a path to a full VGG16 or features-only state dict (``.safetensors``, ``.pth``, ``.pt``).
    """
    if source == "random":
        warnings.warn("loss.vgg_weights=random: the perceptual loss uses an untrained VGG16 (for tests only)")
        return None
    if source == "imagenet":
        try:
            state = VGG16_Weights.IMAGENET1K_V1.get_state_dict(progress=True)
        except Exception as exc:  # network errors come in many types
            raise FstError(
                f"could not download the VGG16 ImageNet weights ({type(exc).__name__}: {one_line_reason(exc)}); "
                "set loss.vgg_weights=/path/to/vgg16.pth (or .safetensors) or the FST_VGG_WEIGHTS environment variable"
            ) from None
    else:
        path = Path(source).expanduser()
        if not path.is_file():
            raise FstError(
                f"VGG weights file not found: {path}; set loss.vgg_weights to an existing file, 'imagenet' or 'random'"
            )
        try:
            if path.suffix == ".safetensors":
                from safetensors.torch import load_file

                state = load_file(str(path))
            else:
                state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise FstError(f"cannot read VGG weights from {path}: {one_line_reason(exc)}") from None
    # Accept a whole vgg16 state dict (features.N.*, classifier.*) or only its features (N.*).
    features = {k.removeprefix("features."): v for k, v in state.items() if not k.startswith("classifier.")}
    return features


class VGG16Features(nn.Module):
    """VGG16 ``features`` truncated after the deepest layer used, frozen and always in eval mode.

    ``forward(x, layers)`` takes RGB in [0, 1], applies ImageNet normalization and returns a dict of
    the named activations; it stops after the deepest requested layer.
    """

    def __init__(self, layers: list[str], weights: str = "imagenet"):
        super().__init__()
        depth = max(layer_index(name) for name in layers) + 1
        self.features = _vgg16_features()[:depth]
        state = load_vgg16_features_state(weights)
        if state is not None:
            own = self.features.state_dict()
            missing = [k for k in own if k not in state]
            if missing:
                raise FstError(f"VGG weights {weights} lack layers needed here: {', '.join(missing)}")
            try:
                self.features.load_state_dict({k: state[k] for k in own})
            except RuntimeError as exc:
                raise FstError(f"VGG weights {weights} do not fit VGG16: {str(exc).splitlines()[-1].strip()}") from None
        self.requires_grad_(False)
        self.eval()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> VGG16Features:
        return super().train(False)  # frozen: never leaves eval mode

    def forward(self, x: torch.Tensor, layers: list[str]) -> dict[str, torch.Tensor]:
        wanted = {layer_index(name): name for name in layers}
        last = max(wanted)
        x = (x - self.mean) / self.std
        out = {}
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in wanted:
                out[wanted[index]] = x
            if index == last:
                break
        return out
