"""Colour preservation: keep the photo's colours and take only the stylized luminance (Gatys et al. 2016)."""

from __future__ import annotations

import torch

# ITU-R BT.601 (JPEG) RGB <-> YCbCr, for values in [0, 1].
_RGB_TO_YCBCR = torch.tensor([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])
_YCBCR_TO_RGB = torch.linalg.inv(_RGB_TO_YCBCR)


def rgb_to_ycbcr(image: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,bjhw->bihw", _RGB_TO_YCBCR, image)


def ycbcr_to_rgb(image: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,bjhw->bihw", _YCBCR_TO_RGB, image)


def keep_colors(stylized: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Luminance-only transfer: the stylized Y channel with the content's Cb and Cr."""
    luminance = rgb_to_ycbcr(stylized)[:, :1]
    chroma = rgb_to_ycbcr(content)[:, 1:]
    return ycbcr_to_rgb(torch.cat([luminance, chroma], dim=1)).clamp(0, 1)
