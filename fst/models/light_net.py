"""LightNet: a style network for real time on a CPU, a tenth of TransformerNet's work per frame.

TransformerNet spends most of its time where a CPU is slowest: the 9x9 convolutions and the upsampling decoder
run at full and half resolution, where thin layers are limited by memory traffic rather than arithmetic. LightNet
works at a quarter of the resolution throughout (as ESPCN does for super-resolution):

- the stem folds each 4x4 pixel block into 48 channels (pixel unshuffle) and a 3x3 convolution reads them;
- residual blocks at a quarter of the resolution do the painting;
- the head predicts the 48 values of each 4x4 output block and unfolds them (pixel shuffle).

Measured on a 2-core Xeon (bf16, compiled, 640x360): 106 frames/s against TransformerNet's 14, where a
half-resolution stage (pixel unshuffle by 2, a stride-2 convolution, an upsampling convolution) ran at 75-86
(docs/performance.md). ``ConditionalLightNet`` is the multi-style version (conditional instance norm, as
:mod:`fst.models.conditional_net`).
"""

from __future__ import annotations

import torch
from torch import nn

from fst.models.conditional_net import ConditionalInstanceNorm2d
from fst.models.registry import register_architecture
from fst.models.transformer_net import MIN_SIZE, OUTPUT_ACTIVATIONS, ConvLayer, finish, pad_to_multiple

SHUFFLE = 4  # the stem's pixel unshuffle and the head's pixel shuffle: the trunk runs at 1/4 of the resolution


def check_options(channels: int, num_residual_blocks: int, output_activation: str) -> None:
    """ValueErrors naming the option."""
    if channels < 1 or num_residual_blocks < 0:
        raise ValueError("model.channels must be >= 1 and model.num_residual_blocks >= 0")
    if output_activation not in OUTPUT_ACTIVATIONS:
        raise ValueError(f"model.output_activation must be one of {list(OUTPUT_ACTIVATIONS)}, got {output_activation!r}")


class _Stem(nn.Sequential):
    def __init__(self, channels: int):
        super().__init__(nn.PixelUnshuffle(SHUFFLE), ConvLayer(3 * SHUFFLE**2, channels, 3))


class _Head(nn.Sequential):
    def __init__(self, channels: int):
        super().__init__(ConvLayer(channels, 3 * SHUFFLE**2, 3), nn.PixelShuffle(SHUFFLE))


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
        channels: the trunk's channels (64: about 0.28 M parameters).
        num_residual_blocks: residual blocks in the trunk.
        output_activation: ``none`` (raw output), ``sigmoid`` or ``tanh`` (scaled to [0, 1]).
    """

    def __init__(self, channels: int, num_residual_blocks: int, output_activation: str):
        super().__init__()
        check_options(channels, num_residual_blocks, output_activation)
        self.config = dict(channels=int(channels), num_residual_blocks=int(num_residual_blocks),
                           output_activation=output_activation)
        self.stem, self.stem_norm = _Stem(channels), nn.InstanceNorm2d(channels, affine=True)
        self.residuals = nn.Sequential(*(_ResidualBlock(channels) for _ in range(num_residual_blocks)))
        self.head = _Head(channels)
        self.output_activation = output_activation
        self.size_multiple, self.min_size = SHUFFLE, MIN_SIZE  # attributes, so TorchScript sees them

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        y = torch.relu(self.stem_norm(self.stem(pad_to_multiple(x, self.size_multiple, self.min_size))))
        return finish(self.head(self.residuals(y)), height, width, self.output_activation)


@register_architecture("conditional_light_net")
class ConditionalLightNet(nn.Module):
    """LightNet with a scale and shift per style in every instance norm (``conf/model/conditional_light_net.yaml``).

    Args:
        num_styles: how many styles it paints (set from the training run's style list).
        channels, num_residual_blocks, output_activation: as for LightNet.
    """

    def __init__(self, num_styles: int, channels: int, num_residual_blocks: int, output_activation: str):
        super().__init__()
        check_options(channels, num_residual_blocks, output_activation)
        if num_styles < 1:
            raise ValueError(f"model.num_styles must be >= 1, got {num_styles}")
        self.config = dict(num_styles=int(num_styles), channels=int(channels),
                           num_residual_blocks=int(num_residual_blocks), output_activation=output_activation)
        self.num_styles = int(num_styles)
        self.stem, self.stem_norm = _Stem(channels), ConditionalInstanceNorm2d(channels, num_styles)
        self.residuals = nn.ModuleList([_ConditionalResidualBlock(channels, num_styles) for _ in range(num_residual_blocks)])
        self.head = _Head(channels)
        self.output_activation = output_activation
        self.size_multiple, self.min_size = SHUFFLE, MIN_SIZE

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        y = torch.relu(self.stem_norm(self.stem(pad_to_multiple(x, self.size_multiple, self.min_size)), style))
        for block in self.residuals:
            y = block(y, style)
        return finish(self.head(y), height, width, self.output_activation)

    def one_style_network(self) -> LightNet:
        """An untrained LightNet with this network's options: the twin that one of its styles becomes."""
        return LightNet(**{k: v for k, v in self.config.items() if k != "num_styles"})
