"""Colour and detail: keep the photo's colours (Gatys et al. 2016), or its fine detail over a painting made smaller."""

from __future__ import annotations

import torch
import torch.nn.functional as F

# How much of the photo's lost detail goes back over a painting made smaller (stroke_size > 1).
DETAIL_WEIGHT = 1.0

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


def restore_detail(stylized: torch.Tensor, photo: torch.Tensor, painted_size: list[int]) -> torch.Tensor:
    """``stylized``, painted at ``painted_size`` and scaled up to the photo's size, with the luminance detail the
    photo loses at that size added back, so edges and texture stay sharp under larger strokes."""
    low = F.interpolate(F.interpolate(photo, size=painted_size, mode="area"), size=photo.shape[-2:], mode="bicubic", align_corners=False)
    detail = rgb_to_ycbcr(photo - low)[:, :1]  # the transform is linear: the luminance of the difference
    return (stylized + DETAIL_WEIGHT * detail).clamp(0, 1)
