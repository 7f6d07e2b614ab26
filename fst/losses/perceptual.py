"""Perceptual loss of Johnson et al. (2016): content, Gram style and total variation terms."""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from fst.errors import FstError
from fst.losses.vgg import VGG16Features, layer_index


class _Gram(torch.autograd.Function):
    """F Fᵀ of (B, C, N) features in float32, keeping only the features themselves for backward.

    Autograd's own bmm would keep a float32 copy of every feature map for backward (125 MB for a 4x256 px
    batch) and spend two matrix products there; the gradient of a symmetric product needs one:
    d(F Fᵀ) = (G + Gᵀ) F for an incoming gradient G.
    """

    @staticmethod
    def forward(ctx, flat: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(flat)
        flat = _at_least_float32(flat)
        return torch.bmm(flat, flat.transpose(1, 2))

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (flat,) = ctx.saved_tensors
        with torch.autocast(grad.device.type, enabled=False):
            return torch.bmm(grad + grad.transpose(1, 2), _at_least_float32(flat)).to(flat.dtype)


def _at_least_float32(x: torch.Tensor) -> torch.Tensor:
    return x.to(torch.promote_types(x.dtype, torch.float32))


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """Gram matrix of (B, C, H, W) features normalized by C*H*W, always computed in float32.

    Under bf16/fp16 autocast the sums over H*W lose too much precision, so autocast is disabled here.
    """
    batch, channels, height, width = features.shape
    with torch.autocast(features.device.type, enabled=False):
        return _Gram.apply(features.reshape(batch, channels, height * width)) / (channels * height * width)


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between vertically and horizontally neighbouring pixels."""
    image = image.float()
    dy = image[..., 1:, :] - image[..., :-1, :]
    dx = image[..., :, 1:] - image[..., :, :-1]
    return dy.pow(2).mean() + dx.pow(2).mean()


class PerceptualLoss(nn.Module):
    """Weighted sum of content, style and total-variation losses against a frozen VGG16.

    Call :meth:`set_style` once with the style image; its Gram matrices are kept as buffers and
    reused every step. ``forward(output, content)`` returns the weighted terms and their total.
    """

    def __init__(
        self,
        content_layer: str = "relu2_2",
        style_layers: Mapping[str, float] | None = None,
        content_weight: float = 1.0,
        style_weight: float = 1e5,
        tv_weight: float = 0.0,
        vgg_weights: str = "imagenet",
    ):
        super().__init__()
        if style_layers is None:
            style_layers = {"relu1_2": 1.0, "relu2_2": 1.0, "relu3_3": 1.0, "relu4_3": 1.0}
        style_layers = dict(style_layers)
        for name, value in {"content_weight": content_weight, "style_weight": style_weight, "tv_weight": tv_weight}.items():
            if value < 0:
                raise FstError(f"loss.{name} must be >= 0, got {value}")
        if not style_layers:
            raise FstError("loss.style_layers is empty; name at least one VGG16 layer, e.g. relu2_2: 1.0")
        for name, value in style_layers.items():
            layer_index(name)
            if value < 0:
                raise FstError(f"loss.style_layers.{name} must be >= 0, got {value}")
        layer_index(content_layer)
        # The loss definition (no weights path), recorded in exported checkpoints.
        self.config = dict(
            content_layer=content_layer,
            style_layers=style_layers,
            content_weight=content_weight,
            style_weight=style_weight,
            tv_weight=tv_weight,
        )
        self.content_layer = content_layer
        self.style_layers = style_layers
        self.content_weight, self.style_weight, self.tv_weight = content_weight, style_weight, tv_weight
        self.vgg = VGG16Features([content_layer, *style_layers], weights=vgg_weights)
        self._feature_layers = list(dict.fromkeys([content_layer, *style_layers]))
        for name in style_layers:
            self.register_buffer(f"style_gram_{name}", None, persistent=False)

    @torch.no_grad()
    def set_style(self, style_image: torch.Tensor) -> None:
        """Compute the style targets from one (1, 3, H, W) image in [0, 1]."""
        features = self.vgg(style_image, list(self.style_layers))
        for name in self.style_layers:
            setattr(self, f"style_gram_{name}", gram_matrix(features[name]))

    def style_grams(self) -> dict[str, torch.Tensor]:
        grams = {name: getattr(self, f"style_gram_{name}") for name in self.style_layers}
        if any(g is None for g in grams.values()):
            raise RuntimeError("PerceptualLoss.set_style() must be called before computing the loss")
        return grams

    @torch.no_grad()
    def content_target(self, content: torch.Tensor) -> torch.Tensor:
        """The photo's features at the content layer (no graph; VGG16 runs only up to that layer)."""
        return self.vgg(content, [self.content_layer])[self.content_layer]

    def forward(self, output: torch.Tensor, content: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.terms(output, self.content_target(content))

    def terms(self, output: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """The weighted loss terms and their total, given the content target of :meth:`content_target`."""
        features = self.vgg(output, self._feature_layers)
        # The MSE of the difference keeps one float32 map for backward; F.mse_loss would keep both inputs.
        content_loss = (features[self.content_layer].float() - target.float()).pow(2).mean()
        target_grams = self.style_grams()
        style_loss = torch.zeros((), device=output.device)
        for name, weight in self.style_layers.items():
            gram = gram_matrix(features[name])
            style_loss = style_loss + weight * F.mse_loss(gram, target_grams[name].expand_as(gram))
        tv_loss = total_variation(output)
        terms = {
            "content": self.content_weight * content_loss,
            "style": self.style_weight * style_loss,
            "tv": self.tv_weight * tv_loss,
        }
        terms["total"] = terms["content"] + terms["style"] + terms["tv"]
        return terms
