"""TransformerNet: the feed-forward image transformation network of Johnson et al. (2016),
with Ulyanov et al.'s instance normalization.

The network maps an RGB image in [0, 1] to a stylized RGB image of exactly the same size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from fst.models.registry import register_architecture

NORMS = {"instance": lambda c: nn.InstanceNorm2d(c, affine=True), "batch": nn.BatchNorm2d}
UPSAMPLINGS = ("nearest", "transposed")
OUTPUT_ACTIVATIONS = ("none", "sigmoid", "tanh")

# The encoder halves the resolution twice, so the network needs H and W divisible by 4; the 9x9
# reflection padding needs at least 8 pixels.
SIZE_MULTIPLE = 4
MIN_SIZE = 8


class ReflectionPad2d(nn.ReflectionPad2d):
    """Reflection padding in the input's own dtype.

    Autocast runs reflection padding in float32, so under bf16/fp16 autocast every layer would pad a float32
    copy and cast it back for the convolution: 6% slower and 280 MB more memory per 4x256 px batch on CPU.
    Padding only copies values, so the input's dtype loses nothing.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.jit.is_scripting():  # TorchScript has no autocast here
            return F.pad(x, self.padding, mode="reflect")
        with torch.autocast(x.device.type, enabled=False):
            return F.pad(x, self.padding, mode="reflect")


class ConvLayer(nn.Sequential):
    """Reflection-padded convolution (padding keeps the size at stride 1)."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, stride: int = 1):
        super().__init__(
            ReflectionPad2d(kernel_size // 2),
            nn.Conv2d(in_ch, out_ch, kernel_size, stride),
        )


class ConvNormReLU(nn.Sequential):
    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, stride: int, norm: str):
        super().__init__(ConvLayer(in_ch, out_ch, kernel_size, stride), NORMS[norm](out_ch), nn.ReLU(inplace=True))


class ResidualBlock(nn.Module):
    """Two 3x3 conv + norm layers with an identity shortcut (He et al. 2016, as used by Johnson)."""

    def __init__(self, channels: int, norm: str):
        super().__init__()
        self.body = nn.Sequential(
            ConvNormReLU(channels, channels, 3, 1, norm),
            ConvLayer(channels, channels, 3),
            NORMS[norm](channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class UpsampleConvNormReLU(nn.Sequential):
    """Doubles the resolution: nearest upsample + conv (no checkerboard artifacts) or a transposed conv."""

    def __init__(self, in_ch: int, out_ch: int, norm: str, upsampling: str):
        if upsampling == "nearest":
            layers = [nn.Upsample(scale_factor=2, mode="nearest"), ConvLayer(in_ch, out_ch, 3)]
        else:
            layers = [nn.ConvTranspose2d(in_ch, out_ch, 3, stride=2, padding=1, output_padding=1)]
        super().__init__(*layers, NORMS[norm](out_ch), nn.ReLU(inplace=True))


@register_architecture("transformer_net")
class TransformerNet(nn.Module):
    """Johnson et al.'s image transformation network (its options are ``conf/model/transformer_net.yaml``).

    Args:
        width: channel multiplier (1.0 gives 32-64-128 channels and about 1.68 M parameters).
        num_residual_blocks: residual blocks at the lowest resolution.
        norm: ``instance`` (Ulyanov et al.) or ``batch``.
        upsampling: ``nearest`` (upsample + conv) or ``transposed`` (transposed conv).
        output_activation: ``none`` (raw output), ``sigmoid`` or ``tanh`` (scaled to [0, 1]).
    """

    def __init__(self, width: float, num_residual_blocks: int, norm: str, upsampling: str, output_activation: str):
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"model.norm must be one of {sorted(NORMS)}, got {norm!r}")
        check_options(width, num_residual_blocks, upsampling, output_activation)
        # Everything needed to rebuild this network; stored in exported checkpoints.
        self.config = dict(
            width=float(width),
            num_residual_blocks=int(num_residual_blocks),
            norm=norm,
            upsampling=upsampling,
            output_activation=output_activation,
        )
        c1, c2, c3 = channels(width)
        self.encoder = nn.Sequential(
            ConvNormReLU(3, c1, 9, 1, norm),
            ConvNormReLU(c1, c2, 3, 2, norm),
            ConvNormReLU(c2, c3, 3, 2, norm),
        )
        self.residuals = nn.Sequential(*(ResidualBlock(c3, norm) for _ in range(num_residual_blocks)))
        self.decoder = nn.Sequential(
            UpsampleConvNormReLU(c3, c2, norm, upsampling),
            UpsampleConvNormReLU(c2, c1, norm, upsampling),
            ConvLayer(c1, 3, 9),
        )
        self.output_activation = output_activation
        self.size_multiple, self.min_size = SIZE_MULTIPLE, MIN_SIZE  # attributes, so TorchScript sees them

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        y = self.decoder(self.residuals(self.encoder(pad_to_multiple(x, self.size_multiple, self.min_size))))
        return finish(y, height, width, self.output_activation)


def check_options(width: float, num_residual_blocks: int, upsampling: str, output_activation: str) -> None:
    """ValueErrors naming the option, for the options every TransformerNet variant shares."""
    if upsampling not in UPSAMPLINGS:
        raise ValueError(f"model.upsampling must be one of {list(UPSAMPLINGS)}, got {upsampling!r}")
    if output_activation not in OUTPUT_ACTIVATIONS:
        raise ValueError(f"model.output_activation must be one of {list(OUTPUT_ACTIVATIONS)}, got {output_activation!r}")
    if width <= 0 or num_residual_blocks < 0:
        raise ValueError("model.width must be > 0 and model.num_residual_blocks >= 0")


def channels(width: float) -> tuple[int, int, int]:
    """The three channel counts of the encoder stages: 32-64-128 times ``width``."""
    return tuple(max(1, round(c * width)) for c in (32, 64, 128))


def pad_to_multiple(x: torch.Tensor, multiple: int, smallest: int) -> torch.Tensor:
    """Pad the bottom and right so both sides are multiples of ``multiple`` and at least ``smallest``."""
    height, width = x.shape[-2:]
    if height < smallest or width < smallest:  # too small to reflect: replicate up to the minimum
        pad = [0, max(-width % multiple, smallest - width), 0, max(-height % multiple, smallest - height)]
        return F.pad(x, pad, mode="replicate")
    # always pad (often by 0), so an exported graph pads every input size correctly
    return F.pad(x, [0, -width % multiple, 0, -height % multiple], mode="reflect")


def finish(y: torch.Tensor, height: int, width: int, output_activation: str) -> torch.Tensor:
    """Crop the padding of :func:`pad_to_multiple` away and apply the output activation."""
    y = y[..., :height, :width]
    if output_activation == "sigmoid":
        return torch.sigmoid(y)
    if output_activation == "tanh":
        return (torch.tanh(y) + 1) / 2
    return y
