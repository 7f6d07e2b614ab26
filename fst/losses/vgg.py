"""Frozen VGG16 / VGG19 feature extractors for the perceptual loss."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn
from torchvision.models import VGG16_Weights, VGG19_Weights
from torchvision.models.vgg import cfgs, make_layers

from fst.errors import FstError, one_line_reason, why_unloadable

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# torchvision's layer configurations ("D": vgg16, "E": vgg19) and their ImageNet weights.
BACKBONES = {"vgg16": ("D", VGG16_Weights.IMAGENET1K_V1), "vgg19": ("E", VGG19_Weights.IMAGENET1K_V1)}
# The environment variables that the configs read each backbone's weights from (conf/loss/, conf/evaluate.yaml).
WEIGHTS_VARIABLES = {"vgg16": "FST_VGG_WEIGHTS", "vgg19": "FST_VGG19_WEIGHTS"}


def _check_backbone(backbone: str) -> None:
    if backbone not in BACKBONES:
        raise FstError(f"loss.backbone={backbone} is not one of {', '.join(BACKBONES)}")


def vgg_features(backbone: str) -> nn.Sequential:
    """An untrained ``torchvision.models.<backbone>().features`` (built without the 120 M-parameter classifier)."""
    _check_backbone(backbone)
    return make_layers(cfgs[BACKBONES[backbone][0]], batch_norm=False)


def layer_names(backbone: str) -> dict[str, int]:
    """Map ``conv4_2`` / ``relu1_2`` / ``pool3``-style names to indices in ``<backbone>().features``.

    Read off torchvision's own layer configuration (convolution widths and "M" for max-pooling; make_layers
    puts a ReLU after every convolution), so it can never drift from torchvision's layout.
    """
    names, index, block, conv = {}, 0, 1, 1
    for entry in cfgs[BACKBONES[backbone][0]]:
        if entry == "M":
            names[f"pool{block}"] = index
            index, block, conv = index + 1, block + 1, 1
        else:
            names[f"conv{block}_{conv}"], names[f"relu{block}_{conv}"] = index, index + 1
            index, conv = index + 2, conv + 1
    return names


LAYERS: dict[str, dict[str, int]] = {backbone: layer_names(backbone) for backbone in BACKBONES}


def layer_index(backbone: str, name: str) -> int:
    _check_backbone(backbone)
    try:
        return LAYERS[backbone][name]
    except KeyError:
        raise FstError(f"unknown {backbone} layer {name!r}; use one of: {', '.join(LAYERS[backbone])}") from None


def _conv_indices(backbone: str) -> set[int]:
    return {index for name, index in LAYERS[backbone].items() if name.startswith("conv")}


def load_features_state(backbone: str, source: str) -> dict[str, torch.Tensor] | None:
    """A ``features``-keyed state dict (``0.weight``, ...) of ``backbone`` from ``source``.

    ``source`` is ``imagenet`` (torchvision's download), ``random`` (no weights, tests only), a path to a
    full VGG or features-only state dict (``.safetensors``, ``.pth``, ``.pt``) of that backbone, or None (the
    weights come later, with the model file that holds them).
    """
    if source is None:
        return None
    if source == "random":
        warnings.warn(f"loss.vgg_weights=random: the perceptual loss uses an untrained {backbone} (for tests only)", stacklevel=2)
        return None
    if source == "imagenet":
        try:
            state = BACKBONES[backbone][1].get_state_dict(progress=True)
        except Exception as exc:  # network errors come in many types
            raise FstError(
                f"could not download the {backbone} ImageNet weights ({type(exc).__name__}: {one_line_reason(exc)}); "
                f"offline, set {WEIGHTS_VARIABLES[backbone]}=/path/to/{backbone}.safetensors, a local copy of them "
                f"(or loss.vgg_weights=/path/to/{backbone}.pth)"
            ) from None
    else:
        path = Path(source).expanduser()
        if not path.is_file():
            raise FstError(f"VGG weights file not found: {path}; set loss.vgg_weights to an existing file, 'imagenet' or 'random'")
        try:
            if path.suffix == ".safetensors":
                from safetensors.torch import load_file

                state = load_file(str(path))
            else:
                state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise FstError(f"cannot read VGG weights from {path}: {why_unloadable(path, exc)}") from None
    # Accept a whole VGG state dict (features.N.*, classifier.*) or only its features (N.*).
    features = {k.removeprefix("features."): v for k, v in state.items() if not k.startswith("classifier.")}
    convs = {int(k.split(".")[0]) for k in features if k.endswith(".weight") and k.split(".")[0].isdigit()}
    if convs != _conv_indices(backbone):
        fits = [b for b in BACKBONES if _conv_indices(b) == convs]
        what = f"{fits[0]} weights" if fits else f"weights of {len(convs)} conv layers"
        raise FstError(
            f"VGG weights {source} are {what}, not {backbone}'s {len(_conv_indices(backbone))} conv layers; "
            f"set loss.vgg_weights to {backbone} weights ('imagenet' downloads them) or loss.backbone to match"
        )
    return features


class VGGFeatures(nn.Module):
    """A VGG's ``features`` truncated after the deepest layer used, frozen and always in eval mode.

    ``forward(x, layers)`` takes RGB in [0, 1], applies ImageNet normalization and returns a dict of
    the named activations; it stops after the deepest requested layer.
    """

    def __init__(self, backbone: str, layers: list[str], weights: str | None):
        super().__init__()
        self.backbone = backbone
        depth = max(layer_index(backbone, name) for name in layers) + 1
        self.features = vgg_features(backbone)[:depth]
        for name in layers:  # an in-place ReLU would overwrite a tapped convolution's output (conv4_2)
            index = layer_index(backbone, name)
            if name.startswith("conv") and index + 1 < depth:
                self.features[index + 1] = nn.ReLU(inplace=False)
        state = load_features_state(backbone, weights)
        if state is not None:
            own = self.features.state_dict()
            try:
                self.features.load_state_dict({k: state[k] for k in own})
            except RuntimeError as exc:
                raise FstError(f"VGG weights {weights} do not fit {backbone}: {str(exc).splitlines()[-1].strip()}") from None
        self.requires_grad_(False)
        self.eval()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> VGGFeatures:
        return super().train(False)  # frozen: never leaves eval mode

    def forward(self, x: torch.Tensor, layers: list[str]) -> dict[str, torch.Tensor]:
        wanted = {layer_index(self.backbone, name): name for name in layers}
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
