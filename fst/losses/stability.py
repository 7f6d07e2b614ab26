"""A stability term that needs no flow model: stylizing a moved crop should give the moved stylization.

Each training crop is paired with a copy under a small random motion of exactly known flow (a shift, a zoom and a
rotation: an affine warp) plus a little noise, as consecutive video frames would be. A network that paints the
same scene the same way wherever it stands in the frame commutes with the motion; the term is the mean squared
difference between the stylization of the moved crop and the moved stylization, on pixels visible in both.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

# The motion between two video frames (a 25th of a second apart) at most: a few pixels, a degree, 2% of zoom.
MAX_SHIFT = 0.02  # of the crop's side
MAX_ANGLE = 1.0  # degrees
MAX_ZOOM = 0.02
NOISE = 0.01  # standard deviation of the pixel noise (sensor noise, compression)


def random_motion(images: torch.Tensor, noise: float = NOISE) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A random small affine motion per image: (the moved images with noise, the sampling grid, the mask of
    pixels visible in both frames). ``move(x) = grid_sample(x, grid)`` moves any image the same way."""
    batch = len(images)
    device = images.device
    angle = (torch.rand(batch, device=device) * 2 - 1) * math.radians(MAX_ANGLE)
    zoom = 1 + (torch.rand(batch, device=device) * 2 - 1) * MAX_ZOOM
    shift = (torch.rand(batch, 2, device=device) * 2 - 1) * MAX_SHIFT * 2  # grid coordinates span [-1, 1]
    theta = torch.stack([
        torch.stack([zoom * torch.cos(angle), -zoom * torch.sin(angle), shift[:, 0]], dim=1),
        torch.stack([zoom * torch.sin(angle), zoom * torch.cos(angle), shift[:, 1]], dim=1),
    ], dim=1)
    with torch.autocast(device.type, enabled=False):  # a bf16 grid would be off by a fraction of a pixel
        grid = F.affine_grid(theta.float(), list(images.shape), align_corners=False)
    moved = move(images.float(), grid)
    visible = move(torch.ones_like(images[:, :1], dtype=torch.float32), grid) > 0.999  # away from the borders
    if noise:
        moved = moved + noise * torch.randn_like(moved)
    return moved.to(images.dtype), grid, visible


def move(images: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Resample ``images`` with a grid from :func:`random_motion` (zeros outside)."""
    return F.grid_sample(images, grid.to(images.dtype), mode="bilinear", padding_mode="zeros", align_corners=False)


def luminance(images: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB -> (B, 1, H, W) luminance (Rec. 709 weights)."""
    weights = torch.tensor([0.2126, 0.7152, 0.0722], device=images.device, dtype=torch.float32)
    return (images.float() * weights[:, None, None]).sum(dim=1, keepdim=True)


def luminance_change(moved: torch.Tensor, images: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """The moved photo's luminance minus the moved luminance of the photo: what the motion does not explain."""
    return luminance(moved) - move(luminance(images), grid)


def temporal_difference(stylized_moved: torch.Tensor, stylized: torch.Tensor, grid: torch.Tensor, visible: torch.Tensor,
                        allowed_change: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared difference, over visible pixels, of the moved crop's stylization and the moved stylization.

    ``allowed_change`` ((B, 1, H, W), e.g. :func:`luminance_change`) is subtracted from every channel's change first:
    the output may change that much (ReCoNet's luminance-aware output term)."""
    change = stylized_moved.float() - move(stylized.float(), grid)
    if allowed_change is not None:
        change = change - allowed_change
    return (change.pow(2) * visible).sum() / (visible.sum() * stylized.shape[1]).clamp(min=1)


def feature_difference(features_moved: torch.Tensor, features: torch.Tensor, grid: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
    """:func:`temporal_difference` of a network's (B, C, h, w) feature maps, for a motion given at the image's size.

    The grid holds normalized coordinates, so resizing it gives the same motion at the features' resolution (exact
    for an affine motion); a feature counts as visible where its whole footprint is.
    """
    size = features.shape[-2:]
    with torch.autocast(grid.device.type, enabled=False):
        small_grid = F.interpolate(grid.permute(0, 3, 1, 2).float(), size=size, mode="bilinear", align_corners=False)
        small_visible = F.interpolate(visible.float(), size=size, mode="area") > 0.999
    return temporal_difference(features_moved, features, small_grid.permute(0, 2, 3, 1), small_visible)
