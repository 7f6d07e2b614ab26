"""Perceptual loss of Johnson et al. (2016): content, Gram style and total variation terms, for one or many styles."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from fst.errors import FstError
from fst.losses.vgg import VGGFeatures, layer_index

# The Gram energy (the style layers' weighted mean square of Gram entries) of a painting that takes the style weight
# as it is (painting_weights): candy's and starry_night's are 1.8e-3, udnie's 2.3e-4 and mosaic's 3.2e-3 (VGG16,
# relu1_2 to relu4_3 at 384 px).
REFERENCE_GRAM_ENERGY = 1e-3


def painting_weights(grams: dict[str, torch.Tensor], layers: Mapping[str, float]) -> torch.Tensor:
    """(B,) factors on the style weight for paintings of (B, C, C) Gram matrices at ``layers``: paintings differ in
    Gram energy (the layers' weighted mean square of Gram entries) by orders of magnitude, and one weight for all
    would let a few drive every step. The shipped styles' hand-tuned weights fall about as the square root of their
    energy rises (udnie's 2.3e-4 takes 1e5, mosaic's 3.2e-3 takes 2e4); so does this factor, within [1/4, 4]."""
    energy = sum(weight * grams[name].float().pow(2).mean(dim=(1, 2)) for name, weight in layers.items())
    return (REFERENCE_GRAM_ENERGY / energy.clamp(min=1e-12)).sqrt().clamp(0.25, 4.0)


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
    """Weighted sum of content, style and total-variation losses against a frozen VGG.

    Its options are ``conf/loss/*.yaml`` (and a model card's ``loss``). Call :meth:`set_styles` once with the
    style images: their Gram matrices are kept as buffers and reused every step. ``forward(output, content,
    style_ids)`` returns the weighted terms and their total; ``style_ids`` picks each batch item's style.

    Args:
        backbone: ``vgg16`` or ``vgg19``.
        content_layer: the layer whose features the output must share with the photo, e.g. ``relu2_2``.
        style_layers: layer name -> weight of its Gram-matrix loss.
        content_weight, style_weight, tv_weight: the weights of the three terms.
        temporal_weight: the weight of the stability term on the output (fst.losses.stability) that training adds
            when it is > 0.
        temporal_feature_weight: the weight of the same term on the network's features at its lowest resolution
            (the last residual block's output); 0: none.
        temporal_luminance: the output may change as much as the photo's luminance does (ReCoNet's luminance-aware
            output term) instead of not at all.
        temporal_both_frames: the perceptual loss counts the moved crop's stylization too (twice the VGG work), not
            only the crop's.
        vgg_weights: ``imagenet`` (torchvision's download), a local weights file, or ``random`` (tests).
    """

    def __init__(
        self,
        backbone: str,
        content_layer: str,
        style_layers: Mapping[str, float],
        content_weight: float,
        style_weight: float,
        tv_weight: float,
        temporal_weight: float,
        temporal_feature_weight: float,
        temporal_luminance: bool,
        temporal_both_frames: bool,
        vgg_weights: str,
    ):
        super().__init__()
        style_layers = dict(style_layers)
        weights = {"content_weight": content_weight, "style_weight": style_weight, "tv_weight": tv_weight,
                   "temporal_weight": temporal_weight, "temporal_feature_weight": temporal_feature_weight}
        for name, value in weights.items():
            if value < 0:
                raise FstError(f"loss.{name} must be >= 0, got {value}")
        if not style_layers:
            raise FstError("loss.style_layers is empty; name at least one VGG layer, e.g. relu2_2: 1.0")
        for name, value in style_layers.items():
            layer_index(backbone, name)
            if value < 0:
                raise FstError(f"loss.style_layers.{name} must be >= 0, got {value}")
        layer_index(backbone, content_layer)
        # The loss definition (no weights path): a model card's LossSpec.
        self.config = dict(
            backbone=backbone,
            content_layer=content_layer,
            style_layers=style_layers,
            content_weight=content_weight,
            style_weight=style_weight,
            tv_weight=tv_weight,
            temporal_weight=temporal_weight,
            temporal_feature_weight=temporal_feature_weight,
            temporal_luminance=bool(temporal_luminance),
            temporal_both_frames=bool(temporal_both_frames),
        )
        self.content_layer = content_layer
        self.temporal_weight, self.temporal_feature_weight = temporal_weight, temporal_feature_weight
        self.temporal_luminance, self.temporal_both_frames = bool(temporal_luminance), bool(temporal_both_frames)
        self.style_layers = style_layers
        self.content_weight, self.style_weight, self.tv_weight = content_weight, style_weight, tv_weight
        self.vgg = VGGFeatures(backbone, [content_layer, *style_layers], weights=vgg_weights)
        self._feature_layers = list(dict.fromkeys([content_layer, *style_layers]))
        for name in style_layers:
            self.register_buffer(f"style_gram_{name}", None, persistent=False)
        self.register_buffer("style_weights", None, persistent=False)

    @torch.no_grad()
    def set_styles(self, images: list[torch.Tensor], style_weights: list[float | None] | None = None) -> None:
        """Compute the style targets from (1, 3, H, W) images in [0, 1], one per style (sizes may differ).

        ``style_weights`` gives each style its own weight; ``None`` entries use ``style_weight``.
        """
        grams = {name: [] for name in self.style_layers}
        for image in images:
            features = self.vgg(image, list(self.style_layers))
            for name in self.style_layers:
                grams[name].append(gram_matrix(features[name])[0])
        for name, per_style in grams.items():
            setattr(self, f"style_gram_{name}", torch.stack(per_style))  # (styles, C, C)
        weights = [self.style_weight if w is None else w for w in (style_weights or [None] * len(images))]
        self.style_weights = torch.tensor(weights, dtype=torch.float32, device=images[0].device)

    def set_style(self, image: torch.Tensor) -> None:
        """Compute the style target of a single style from a (1, 3, H, W) image in [0, 1]."""
        self.set_styles([image])

    @torch.no_grad()
    def content_target(self, content: torch.Tensor) -> torch.Tensor:
        """The photo's features at the content layer (no graph; the VGG runs only up to that layer)."""
        return self.vgg(content, [self.content_layer])[self.content_layer]

    def forward(
        self, output: torch.Tensor, content: torch.Tensor, style_ids: torch.Tensor | None = None, per_item: bool = False
    ) -> dict[str, torch.Tensor]:
        return self.terms(output, self.content_target(content), style_ids, per_item)

    @torch.no_grad()
    def style_targets(self, paintings: torch.Tensor, layers: list[str] = ()) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """The Gram targets of a (B, 3, H, W) batch of paintings, one per item, for :meth:`terms`' ``style_grams``,
        and their VGG features at ``layers`` too (one VGG pass for both)."""
        features = self.vgg(paintings, list(dict.fromkeys([*self.style_layers, *layers])))
        return {name: gram_matrix(features[name]) for name in self.style_layers}, features

    def terms(
        self, output: torch.Tensor, target: torch.Tensor, style_ids: torch.Tensor | None = None, per_item: bool = False,
        style_grams: dict[str, torch.Tensor] | None = None,
    ) -> dict[str, torch.Tensor]:
        """The weighted loss terms and their total, given the content target of :meth:`content_target`.

        ``style_ids`` (B,) gives each item's style; ``None`` means the first style for all. ``per_item`` adds
        ``style_per_item``, each item's weighted style loss (what ``style`` averages), for per-style logging.
        ``style_grams`` (:meth:`style_targets`) gives each item a painting of its own instead, each weighed
        ``style_weight`` times its :func:`painting_weights`.
        """
        if self.style_weights is None and style_grams is None:
            raise RuntimeError("PerceptualLoss.set_styles() must be called before computing the loss")
        if style_ids is None:
            style_ids = torch.zeros(len(output), dtype=torch.long, device=output.device)
        features = self.vgg(output, self._feature_layers)
        # The MSE of the difference keeps one float32 map for backward; F.mse_loss would keep both inputs.
        content_loss = (features[self.content_layer].float() - target.float()).pow(2).mean()
        style_items = torch.zeros(len(output), device=output.device)
        for name, weight in self.style_layers.items():
            gram = gram_matrix(features[name])
            wanted = style_grams[name] if style_grams is not None else getattr(self, f"style_gram_{name}")[style_ids]
            style_items = style_items + weight * (gram - wanted).pow(2).mean(dim=(1, 2))
        if style_grams is None:
            style_losses = self.style_weights[style_ids] * style_items
        else:  # paintings differ in Gram energy by orders of magnitude: each one's term relative to its own
            style_losses = self.style_weight * painting_weights(style_grams, self.style_layers) * style_items
        terms = {
            "content": self.content_weight * content_loss,
            "style": style_losses.mean(),
            "tv": self.tv_weight * total_variation(output),
        }
        terms["total"] = terms["content"] + terms["style"] + terms["tv"]
        if per_item:
            terms["style_per_item"] = style_losses.detach()
        return terms
