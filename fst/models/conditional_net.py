"""One network for many styles: TransformerNet with conditional instance norm (Dumoulin et al. 2017).

Every instance norm has a scale and a shift per style; the convolutions are shared. ``forward(x, style)``
takes a (B, S) tensor of style weights per image: a one-hot row paints one style, a convex mix blends the
styles by blending their scales and shifts.
"""

from __future__ import annotations

import torch
from torch import nn

from fst.models.card import ModelCard, StyleSpec
from fst.models.registry import register_architecture
from fst.models.transformer_net import (
    MIN_SIZE,
    SIZE_MULTIPLE,
    ConvLayer,
    TransformerNet,
    channels,
    check_options,
    finish,
    pad_to_multiple,
)


class ConditionalInstanceNorm2d(nn.Module):
    """Instance norm with a learned scale and shift per style, picked (or mixed) by the style weights."""

    def __init__(self, num_channels: int, num_styles: int):
        super().__init__()
        self.norm = nn.InstanceNorm2d(num_channels)  # no affine of its own: the style brings scale and shift
        self.scale = nn.Parameter(torch.ones(num_styles, num_channels))
        self.shift = nn.Parameter(torch.zeros(num_styles, num_channels))

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        y = self.norm(x)
        scale = (style @ self.scale).to(y.dtype)[:, :, None, None]
        shift = (style @ self.shift).to(y.dtype)[:, :, None, None]
        return y * scale + shift


def is_multi_style(net: nn.Module) -> bool:
    """Whether ``net`` paints several styles (takes style weights as its second input)."""
    return hasattr(net, "num_styles")


def is_per_style(name: str) -> bool:
    """Whether a parameter (or state-dict key) of a conditional network holds a row per style."""
    return name.endswith((".scale", ".shift"))


class ConvNorm(nn.Module):
    """Reflection-padded convolution (or 2x upsampling first), conditional instance norm, optional ReLU."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, stride: int, num_styles: int, relu: bool = True,
                 upsampling: str | None = None):
        super().__init__()
        if upsampling == "transposed":
            self.conv = nn.Sequential(nn.ConvTranspose2d(in_ch, out_ch, 3, stride=2, padding=1, output_padding=1))
        elif upsampling == "nearest":
            self.conv = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), ConvLayer(in_ch, out_ch, kernel_size))
        else:
            self.conv = ConvLayer(in_ch, out_ch, kernel_size, stride)
        self.norm = ConditionalInstanceNorm2d(out_ch, num_styles)
        self.relu = relu

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        y = self.norm(self.conv(x), style)
        return torch.relu(y) if self.relu else y


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, num_styles: int):
        super().__init__()
        self.first = ConvNorm(channels, channels, 3, 1, num_styles)
        self.second = ConvNorm(channels, channels, 3, 1, num_styles, relu=False)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return x + self.second(self.first(x, style), style)


@register_architecture("conditional_transformer_net")
class ConditionalTransformerNet(nn.Module):
    """TransformerNet whose instance norms are conditional on the style (``conf/model/conditional_transformer_net.yaml``).

    Args:
        num_styles: how many styles it paints (set from the training run's style list).
        width, num_residual_blocks, upsampling, output_activation: as for TransformerNet.
    """

    def __init__(self, num_styles: int, width: float, num_residual_blocks: int, upsampling: str, output_activation: str):
        super().__init__()
        check_options(width, num_residual_blocks, upsampling, output_activation)
        if num_styles < 1:
            raise ValueError(f"model.num_styles must be >= 1, got {num_styles}")
        self.config = dict(
            num_styles=int(num_styles),
            width=float(width),
            num_residual_blocks=int(num_residual_blocks),
            upsampling=upsampling,
            output_activation=output_activation,
        )
        self.num_styles = int(num_styles)
        c1, c2, c3 = channels(width)
        s = self.num_styles
        self.encoder = nn.ModuleList([ConvNorm(3, c1, 9, 1, s), ConvNorm(c1, c2, 3, 2, s), ConvNorm(c2, c3, 3, 2, s)])
        self.residuals = nn.ModuleList([ResidualBlock(c3, s) for _ in range(num_residual_blocks)])
        self.decoder = nn.ModuleList(
            [ConvNorm(c3, c2, 3, 1, s, upsampling=upsampling), ConvNorm(c2, c1, 3, 1, s, upsampling=upsampling)]
        )
        self.output = ConvLayer(c1, 3, 9)
        self.output_activation = output_activation
        self.size_multiple, self.min_size = SIZE_MULTIPLE, MIN_SIZE  # attributes, so TorchScript sees them

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        y = pad_to_multiple(x, self.size_multiple, self.min_size)
        for layer in self.encoder:
            y = layer(y, style)
        for block in self.residuals:
            y = block(y, style)
        for layer in self.decoder:
            y = layer(y, style)
        return finish(self.output(y), height, width, self.output_activation)

    def one_style_network(self) -> TransformerNet:
        """An untrained TransformerNet with this network's options: the twin that one of its styles becomes."""
        return TransformerNet(norm="instance", **{k: v for k, v in self.config.items() if k != "num_styles"})


def _convolutions(net: nn.Module) -> list[nn.Module]:
    """The style network's convolutions (not those of a style encoder's VGG, fst.models.arbitrary_net)."""
    return [m for name, m in net.named_modules()
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) and not name.startswith("style_encoder.")]


def copy_convolutions(target: nn.Module, source: nn.Module) -> None:
    """Every convolution of ``source`` into its twin in ``target`` (networks of the same layout, whatever their norms)."""
    for into, out_of in zip(_convolutions(target), _convolutions(source), strict=True):
        into.load_state_dict(out_of.state_dict())


def conditional_norms(net: nn.Module) -> list[ConditionalInstanceNorm2d]:
    return [m for m in net.modules() if isinstance(m, ConditionalInstanceNorm2d)]


@torch.no_grad()
def to_single_style(net: nn.Module, style: torch.Tensor) -> nn.Module:
    """The one-style network (TransformerNet for a ConditionalTransformerNet) that paints ``style`` (a (S,) vector
    of weights) exactly as the multi-style ``net`` does.

    The convolutions are shared, so they carry over; each conditional norm's style-weighted scale and shift
    become the affine weights of a plain instance norm.
    """
    plain = net.one_style_network()
    plain_norms = [m for m in plain.modules() if isinstance(m, nn.InstanceNorm2d)]
    norms = conditional_norms(net)
    copy_convolutions(plain, net)
    style = style.to(norms[0].scale)
    for target, source in zip(plain_norms, norms, strict=True):
        target.weight.copy_(style @ source.scale)
        target.bias.copy_(style @ source.shift)
    return plain.eval()


def extract_style(net: nn.Module, card: ModelCard, weights: torch.Tensor, name: str) -> tuple[nn.Module, ModelCard]:
    """A one-style model (network and card) that paints ``weights`` of a multi-style model's styles.

    A single style keeps its own spec and loss weight; a mix becomes a new style called ``name``.
    """
    plain = to_single_style(net, weights)
    chosen = [spec for spec, w in zip(card.styles, weights.tolist()) if w > 0]
    style = chosen[0] if len(chosen) == 1 else StyleSpec(name=name)
    changes = dict(architecture=plain.architecture, network=dict(plain.config), styles=(style,), evaluation=None)
    return plain, card.replace(name=style.name, **changes)


@torch.no_grad()
def add_styles(net: nn.Module, count: int) -> nn.Module:
    """``net`` with ``count`` more styles: the same weights, and each new style's scale and shift starting at the
    mean of the existing styles' (a neutral start for learning a new painting)."""
    grown = type(net)(**{**net.config, "num_styles": net.num_styles + count})
    state = net.state_dict()
    for key, value in grown.state_dict().items():
        if is_per_style(key):
            value.copy_(torch.cat([state[key], state[key].mean(dim=0, keepdim=True).expand(count, -1)]))
        else:
            value.copy_(state[key])
    return grown


@torch.no_grad()
def keep_styles(net: nn.Module, card: ModelCard, indices: tuple[int, ...]) -> tuple[nn.Module, ModelCard]:
    """Only the styles ``indices`` of a multi-style model: a one-style model for one, else a smaller multi-style one."""
    if len(indices) == 1:
        weights = torch.nn.functional.one_hot(torch.tensor(indices[0]), net.num_styles).float()
        return extract_style(net, card, weights, card.styles[indices[0]].name)
    kept = type(net)(**{**net.config, "num_styles": len(indices)})
    rows = list(indices)
    kept.load_state_dict({k: v[rows] if is_per_style(k) else v for k, v in net.state_dict().items()})
    styles = tuple(card.styles[i] for i in indices)
    return kept.eval(), card.replace(network=dict(kept.config), styles=styles, evaluation=None)
