"""LightNet: a style network for real time on a CPU, an eighth of TransformerNet's work per frame.

TransformerNet spends most of its time where a CPU is slowest: the 9x9 convolutions and the upsampling decoder
run at full and half resolution, where thin layers are limited by memory traffic rather than arithmetic. LightNet
never works above a quarter of the resolution (as ESPCN does for super-resolution):

- the stem folds each 4x4 pixel block into 48 channels (pixel unshuffle) and a 3x3 convolution reads them;
- a stride-2 convolution takes that to an eighth of the resolution, where wide residual blocks paint (wide
  layers keep a CPU's vector units busy, and each 3x3 convolution there sees 24 pixels across);
- an upsampling convolution brings the painting back to a quarter, added to the stem's features (the photo's
  edges), and the head unfolds it in two sub-pixel steps (a convolution, then pixel shuffle by 2, twice), so that
  the brush strokes are drawn at half resolution instead of copied as one 4x4 block per position.

Measured on a 2-core Xeon (bf16, compiled, 640x360) in docs/performance.md, against TransformerNet's 14 frames/s.
``ConditionalLightNet`` is the multi-style version (conditional instance norm, as :mod:`fst.models.conditional_net`).
"""

from __future__ import annotations

import torch
from torch import nn

from fst.models.conditional_net import ConditionalInstanceNorm2d
from fst.models.registry import register_architecture
from fst.models.transformer_net import OUTPUT_ACTIVATIONS, ConvLayer, finish, pad_to_multiple

SHUFFLE = 4  # the stem's pixel unshuffle; the head undoes it in two pixel shuffles by 2
HALF_RES_CHANNELS = 16  # the head's features at half resolution
# The trunk runs at 1/8 of the resolution: sides are padded to multiples of 8, and at least 16 pixels so that
# the trunk's reflection padding has 2 pixels to reflect.
SIZE_MULTIPLE = 8
MIN_SIZE = 16


def check_options(channels: list[int], num_residual_blocks: int, output_activation: str) -> None:
    """ValueErrors naming the option."""
    if len(channels) != 2 or min(channels) < 1:
        raise ValueError(f"model.channels must be two channel counts (a quarter, an eighth of the resolution), got {channels}")
    if num_residual_blocks < 0:
        raise ValueError(f"model.num_residual_blocks must be >= 0, got {num_residual_blocks}")
    if output_activation not in OUTPUT_ACTIVATIONS:
        raise ValueError(f"model.output_activation must be one of {list(OUTPUT_ACTIVATIONS)}, got {output_activation!r}")


def _stem(outer: int) -> nn.Sequential:
    return nn.Sequential(nn.PixelUnshuffle(SHUFFLE), ConvLayer(3 * SHUFFLE**2, outer, 3))


def _upsampling(inner: int, outer: int) -> nn.Sequential:
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), ConvLayer(inner, outer, 3))


@torch.no_grad()
def _init_as_nearest_upsampling(conv: nn.Conv2d, factor: int) -> None:
    """ICNR initialisation: the sub-pixels of each output pixel start equal, so that a convolution followed by
    pixel shuffle begins as a convolution followed by nearest upsampling. Without it the freshly initialised head
    paints a checkerboard the size of its shuffle, which the style loss takes long to unlearn."""
    kernel = conv.weight[: conv.out_channels // factor**2].clone()
    conv.weight.copy_(kernel.repeat_interleave(factor**2, dim=0))
    conv.bias.copy_(conv.bias[: conv.out_channels // factor**2].repeat_interleave(factor**2))


def _head(outer: int) -> nn.Sequential:
    head = nn.Sequential(
        ConvLayer(outer, HALF_RES_CHANNELS * 4, 3), nn.PixelShuffle(2), nn.ReLU(),
        ConvLayer(HALF_RES_CHANNELS, 3 * 4, 3), nn.PixelShuffle(2),
    )
    for layer in (head[0], head[3]):
        _init_as_nearest_upsampling(layer[-1], 2)
    return head


class _ResidualBlock(nn.Module):
    """Two 3x3 convolutions, each followed by instance norm (and a ReLU after the first), with a shortcut."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1, self.norm1 = ConvLayer(channels, channels, 3), nn.InstanceNorm2d(channels, affine=True)
        self.conv2, self.norm2 = ConvLayer(channels, channels, 3), nn.InstanceNorm2d(channels, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.norm2(self.conv2(torch.relu(self.norm1(self.conv1(x)))))


class _ConditionalResidualBlock(nn.Module):
    def __init__(self, channels: int, num_styles: int):
        super().__init__()
        self.conv1, self.norm1 = ConvLayer(channels, channels, 3), ConditionalInstanceNorm2d(channels, num_styles)
        self.conv2, self.norm2 = ConvLayer(channels, channels, 3), ConditionalInstanceNorm2d(channels, num_styles)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return x + self.norm2(self.conv2(torch.relu(self.norm1(self.conv1(x), style))), style)


@register_architecture("light_net")
class LightNet(nn.Module):
    """The one-style light network (its options are ``conf/model/light_net.yaml``).

    Args:
        channels: ``[outer, inner]``: the channels at a quarter and at an eighth of the resolution.
        num_residual_blocks: residual blocks at an eighth of the resolution.
        output_activation: ``none`` (raw output), ``sigmoid`` or ``tanh`` (scaled to [0, 1]).
    """

    def __init__(self, channels: list[int], num_residual_blocks: int, output_activation: str):
        super().__init__()
        channels = [int(c) for c in channels]
        check_options(channels, num_residual_blocks, output_activation)
        self.config = dict(channels=channels, num_residual_blocks=int(num_residual_blocks), output_activation=output_activation)
        outer, inner = channels
        self.stem, self.stem_norm = _stem(outer), nn.InstanceNorm2d(outer, affine=True)
        self.down, self.down_norm = ConvLayer(outer, inner, 3, stride=2), nn.InstanceNorm2d(inner, affine=True)
        self.residuals = nn.Sequential(*(_ResidualBlock(inner) for _ in range(num_residual_blocks)))
        self.up, self.up_norm = _upsampling(inner, outer), nn.InstanceNorm2d(outer, affine=True)
        self.head = _head(outer)
        self.output_activation = output_activation
        self.size_multiple, self.min_size = SIZE_MULTIPLE, MIN_SIZE  # attributes, so TorchScript sees them

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        edges = torch.relu(self.stem_norm(self.stem(pad_to_multiple(x, self.size_multiple, self.min_size))))
        y = self.residuals(torch.relu(self.down_norm(self.down(edges))))
        y = edges + torch.relu(self.up_norm(self.up(y)))
        return finish(self.head(y), height, width, self.output_activation)


@register_architecture("conditional_light_net")
class ConditionalLightNet(nn.Module):
    """LightNet with a scale and shift per style in every instance norm (``conf/model/conditional_light_net.yaml``).

    Args:
        num_styles: how many styles it paints (set from the training run's style list).
        channels, num_residual_blocks, output_activation: as for LightNet.
    """

    def __init__(self, num_styles: int, channels: list[int], num_residual_blocks: int, output_activation: str):
        super().__init__()
        channels = [int(c) for c in channels]
        check_options(channels, num_residual_blocks, output_activation)
        if num_styles < 1:
            raise ValueError(f"model.num_styles must be >= 1, got {num_styles}")
        self.config = dict(num_styles=int(num_styles), channels=channels, num_residual_blocks=int(num_residual_blocks),
                           output_activation=output_activation)
        self.num_styles = int(num_styles)
        outer, inner = channels
        self.stem, self.stem_norm = _stem(outer), ConditionalInstanceNorm2d(outer, num_styles)
        self.down, self.down_norm = ConvLayer(outer, inner, 3, stride=2), ConditionalInstanceNorm2d(inner, num_styles)
        self.residuals = nn.ModuleList([_ConditionalResidualBlock(inner, num_styles) for _ in range(num_residual_blocks)])
        self.up, self.up_norm = _upsampling(inner, outer), ConditionalInstanceNorm2d(outer, num_styles)
        self.head = _head(outer)
        self.output_activation = output_activation
        self.size_multiple, self.min_size = SIZE_MULTIPLE, MIN_SIZE

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        edges = torch.relu(self.stem_norm(self.stem(pad_to_multiple(x, self.size_multiple, self.min_size)), style))
        y = torch.relu(self.down_norm(self.down(edges), style))
        for block in self.residuals:
            y = block(y, style)
        y = edges + torch.relu(self.up_norm(self.up(y), style))
        return finish(self.head(y), height, width, self.output_activation)

    def one_style_network(self) -> LightNet:
        """An untrained LightNet with this network's options: the twin that one of its styles becomes."""
        return LightNet(**{k: v for k, v in self.config.items() if k != "num_styles"})
